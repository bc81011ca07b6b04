"""
A seller's ledger: every sale it made, by its buy, and their commits.
Sales are committed in groups, a few commits in flight at a time (a
durable store commits the next while the last one syncs:
L{twisted_bazaar.store.syncing}); a sale's buyOK leaves only once the
sale is on disk (L{AnswerQueue}), and a sale whose commit failed is
undone.  Sales are logged one by one while they
are few, and summed up under load.
"""

from twisted.internet import defer
from twisted.logger import LogLevel

from twisted_bazaar.base.logthrottle import LogThrottle
from twisted_bazaar.base.sparing import NO_MEMBERS, ownSet
from twisted_bazaar.base.words import counted, plural
from twisted_bazaar.store import WriterGone
from twisted_bazaar.store.records import SaleBook
from twisted_bazaar.wire.ids import shortId

#: Group commits in flight at once, at most: handed to the store's writer
#: process (L{twisted_bazaar.store.writer}), which commits those it holds
#: while the last batch syncs.  The sales made meanwhile wait for the next.
COMMITS_IN_FLIGHT = 3


class Ledger:
    """
    @ivar ledger: (buyer key, buy id) -> L{Sale}, a
        L{twisted_bazaar.store.records.SaleBook}; a repeated buy is
        answered from here.  Counted sales stay for good; copies of
        shared files only while the seller's copies remember them.
    @ivar saleLog: sales logged one by one up to a few per interval, the
        rest summed up (every one with --verbose).
    """

    def __init__(self, seller, sales):
        """@param sales: the sales on disk already."""
        self.seller = seller
        self.store = seller.store
        self.clock = seller.node.clock
        self.ledger = SaleBook(sales)
        #: Sales not yet handed to the store, and the keys of those not
        #: yet on disk (read by the answers waiting for them).
        self._unsaved = []
        self.uncommitted = NO_MEMBERS
        #: Commits in flight.
        self._committing = 0
        self._flush_call = None
        self.saleLog = LogThrottle(self.clock, self._logUnlogged,
                                   verbose=seller.node.config.link.verbose)

    @property
    def log(self):
        """The seller's log: every line is the seller's."""
        return self.seller.log

    @property
    def busy(self):
        """Whether a commit is in flight or a sale waits for one."""
        return bool(self._committing or self._unsaved)

    def unsaved(self):
        """The sales not yet handed to the store."""
        return self._unsaved

    def uncommittedUnits(self):
        """item -> units of the counted sales not yet on disk: still the
        seller's to show until their commit, which may fail (and undo
        them).  Counted from the ledger's rows (L{SaleBook.countedUnits})."""
        return self.ledger.countedUnits(self.uncommitted)

    def uncommittedIds(self):
        """The buy ids of the sales not yet on disk."""
        return {key[1] for key in self.uncommitted}

    def record(self, sale):
        """A new sale: in the ledger at once, on disk at the next commit."""
        self.ledger[sale.ledgerKey] = sale
        self._unsaved.append(sale)
        ownSet(self, "uncommitted").add(sale.ledgerKey)

    def commitSoon(self, sale, now):
        """
        Have ``sale`` committed if it is not on disk yet: at once with
        ``now``, else in this turn's group commit (every sale made in this
        turn of the reactor is written in one transaction).
        """
        if sale.ledgerKey not in self.uncommitted:
            return
        if now:
            self.flush()
        elif self._flush_call is None and self._committing < COMMITS_IN_FLIGHT:
            self._flush_call = self.clock.callLater(0, self.flush)

    def flush(self):
        """
        Commit the sales made since the last commit.  Up to
        L{COMMITS_IN_FLIGHT} commits are in flight at a time; sales made
        while that many are wait for the next one.
        """
        self._flush_call = None
        if self._committing >= COMMITS_IN_FLIGHT or not self._unsaved:
            return
        sales, self._unsaved = self._unsaved, []
        self._committing += 1
        d = defer.maybeDeferred(self.store.commitSales, sales,
                                self.seller.closes.forgetBefore())
        d.addCallbacks(self._committed, self._notCommitted, callbackArgs=(sales,),
                       errbackArgs=(sales,))

    def cancelFlush(self):
        """Cancel the group commit waiting for the end of this turn."""
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None

    def _committed(self, _, sales):
        """A group commit is on disk: its sales' answers leave, in one
        pass over its sales (not a callback chain a sale)."""
        seller = self.seller
        self._committing -= 1
        self.uncommitted.difference_update([sale.ledgerKey for sale in sales])
        if seller.files is not None:
            seller.files.sold(sale for sale in sales if sale.copy)
        self._logSales(sales)
        seller.answers.sendCommitted(sales)
        stock = seller.stock
        for item in sorted({sale.item for sale in sales if not sale.copy}):
            if not stock[item]:
                seller.discovery.stockChanged(item, 0)
        self.flush()
        seller.checkIdle()

    def _notCommitted(self, reason, sales):
        """The store failed: undo the sales and drop their answers; the
        buyers will ask again."""
        seller = self.seller
        self._committing -= 1
        # With the store's writer gone, the daemon ends saying so, once, as
        # critical: each write that fails with it is a consequence.
        level = LogLevel.warn if reason.check(WriterGone) else LogLevel.critical
        self.log.emit(level, "could not record {sales}: {why}",
                      sales=plural(len(sales), "sale"), why=reason.getErrorMessage())
        for sale in sales:
            # A copy whose write took over 15 minutes is forgotten already.
            self.ledger.pop(sale.ledgerKey, None)
            self.uncommitted.discard(sale.ledgerKey)
            if sale.copy:
                seller.closes.forgetCopy(sale.ledgerKey)
            else:
                seller.stock[sale.item] += sale.units
        seller.answers.dropUndone(sales)
        seller.trades.forget({sale.buy_id for sale in sales})
        self.flush()
        seller.checkIdle()

    def _logSales(self, sales):
        """A line per sale while sales are few; under load, most are
        counted and summed up (see L{LogThrottle}): logging each would
        cost more than selling."""
        log = self.saleLog
        if not log.spare():
            # None is logged this time: counted by item, one admit each.
            units = {}
            for sale in sales:
                units[sale.item] = units.get(sale.item, 0) + sale.units
            for item, count in units.items():
                log.admit(item, count)
            return
        # Stock left after each sale of this commit, the last first (a
        # copy of a shared file leaves the file as it was: None), as on
        # disk: the sales of commits still in flight not taken off.
        stock, left, later = self.seller.stockHeld(), [], {}
        for sale in reversed(sales):
            if sale.copy:
                left.append(None)
                continue
            after = later.get(sale.item, 0)
            left.append(stock.get(sale.item, 0) + after)
            later[sale.item] = after + sale.units
        for sale, remaining in zip(sales, reversed(left)):
            if not log.admit(sale.item, sale.units):
                continue
            if remaining is None:
                self.log.info("sold {item} to {buyer} (a copy of a shared file)",
                              item=sale.item, buyer=shortId(sale.buyer))
            else:
                self.log.info("sold {what} to {buyer} ({left} left)",
                              what=counted(sale.item, sale.units), units=sale.units,
                              item=sale.item, buyer=shortId(sale.buyer), left=remaining)

    def _logUnlogged(self, counts, interval):
        self.log.info("sold {n} more units in the last {interval:g} s, not logged "
                      "one by one: {items} (--verbose logs every sale)",
                      n=sum(counts.values()), interval=interval,
                      items=", ".join(f"{item} x{units} ({self._left(item)})"
                                      for item, units in sorted(counts.items())))

    def _left(self, item):
        """What is left of item, in words: its units, or that it is a
        shared file (whose copies never run out)."""
        stock = self.seller.stockHeld()
        if item in stock or self.seller.files is None:
            return f"{stock.get(item, 0)} left"
        return "copies of a shared file"
