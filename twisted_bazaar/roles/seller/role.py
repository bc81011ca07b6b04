"""
The seller role: answers searches for what it has, holds a unit for the
buyer who asked, and sells each buy exactly once: as many units as it
asks for, or as it has left (docs/protocol.md §11).  A buy is known by its
buyer's key and its id (docs/protocol.md §11), and sells only before it
expires.  An ``ask`` about a buy is answered from the ledger and never
sells.  Every answer that says a buy will never sell (``soldout``,
``unsold``, ``expired``) closes it first, on disk, for as long as any buy
of that key and id it could sell then might still sell: an ask's or a
buy's ``expires`` is its buyer's word, not the buy's, so a close lasts
MAX_EXPIRY_AHEAD (plus CLOSED_GRACE) from when it is made, whatever
expiry, if any, the message named.  So a buy's signed bytes, replayed at
any time, never sell a unit its buyer was told was not sold.

A copy of a shared file takes nothing from anyone, so its sale is
remembered only as long as a close is, and charged like one: after that,
every buy it could have sold has expired (answered ``expired``: the
seller answers for that copy no longer), and it lives on only in its
file's count of copies sold.  A counted sale is kept for good: the stock
bounds them.

The L{Seller} wires its parts: L{Leases} (the units held for searches),
L{Answering} (what a buy or ask gets), L{Closes} (closes and copies
remembered), L{Ledger} (the sales and their commits) and L{AnswerQueue}
(answers signed, and sent once their sales are on disk).
"""

from twisted.internet import defer
from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from twisted_bazaar.core.market import IShop, discoveryOf
from twisted_bazaar.identity.signer import Signer
from twisted_bazaar.net.limits import BUY_BUCKET
from twisted_bazaar.roles import Role
from twisted_bazaar.roles.seller.answering import Answering
from twisted_bazaar.roles.trades import TradeLog
from twisted_bazaar.roles.seller.closes import DEFAULT_CLOSED_LIMIT, Closes
from twisted_bazaar.roles.seller.ledger import Ledger
from twisted_bazaar.roles.seller.signing import AnswerQueue
from twisted_bazaar.roles.seller.stock import DEFAULT_LEASE, Leases, startingStock
from twisted_bazaar.store import StoreError, WriterGone, takenItems
from twisted_bazaar.wire.trade import Ask, Buy


@implementer(IShop)
class Seller(Role):
    """
    @ivar stock: item -> units not yet sold (reserved units included):
        the counted goods, of ``--sell`` and restocks.  Shared files are
        not stock: their copies never run out (L{FileShop}).
    @ivar leases: the L{Leases} of the units held for buyers.
    @ivar sales: the L{Ledger} of sales, committing them.
    @ivar ledger: (buyer key, buy id) -> L{Sale} (the ledger's); a
        repeated buy is answered from here.
    @ivar closes: the L{Closes} of buys never to be sold and copies of
        shared files sold; its C{closed}, C{copies} and C{remembered}
        (whom each is charged to) are the seller's too.
    @ivar answering: the L{Answering} of buys and asks.
    @ivar answers: the L{AnswerQueue} of answers being signed and sent;
        its C{signer} is the seller's too.
    @ivar lease: seconds a unit stays held for a buyer after its search.
    @ivar files: the shared folder's files (a L{FileShop}), with --share.
    @ivar stopped: whether the seller is stopping (it sells no more).
    @ivar writing: whether its store takes writes (it sells only then).
    @ivar trades: the L{TradeLog} of its last sales.
    """

    log = Logger()

    def stockHeld(self):
        """The stock as on disk: a sale's units leave it once its commit
        is done, not when the sale is made (an operator, the web view and
        the metrics are told of no sale its store has not recorded)."""
        stock = dict(self.stock)
        for item, units in self.sales.uncommittedUnits().items():
            stock[item] = stock.get(item, 0) + units
        return stock

    def tradesHeld(self, now):
        """The sales on disk: one whose commit is in flight is told once
        it is done (a buyer tells its purchases so too)."""
        entries = self.trades.entries(now)
        if not self.sales.uncommitted:
            return entries
        writing = self.sales.uncommittedIds()
        return tuple(entry for entry in entries if entry[1] not in writing)

    def __init__(self, node, stock, lease=DEFAULT_LEASE, signer=None,
                 closed_limit=DEFAULT_CLOSED_LIMIT):
        """
        @param signer: the L{Signer} of the answers; by default one for the
            node's key and clock: in a daemon, each turn's buyOKs under one
            batch signature, on the reactor's thread (a thread of its own
            cost more in waits for the GIL than it saved once a batch
            needs one Ed25519 signature: docs/benchmarks.md, "Where a
            purchase's time goes"); on a plain clock, each answer alone,
            at once.
        @param closed_limit: the most closed buys and copies sold
            remembered at once.
        """
        super().__init__(node)
        self.store = node.store
        self.stock = startingStock(self.store, stock, self.log, self._notSeeded)
        self.lease = lease
        self.leases = Leases(node.clock, self.stock, lease)
        self.sales = Ledger(self, self.store.sales())
        self.ledger = self.sales.ledger
        self.saleLog = self.sales.saleLog
        self.closes = Closes(self, self.ledger, closed_limit)
        self.closed, self.copies = self.closes.closed, self.closes.copies
        self.remembered = self.closes.remembered
        self.answers = AnswerQueue(self, signer or Signer.forClock(
            node.identity, node.clock))
        self.signer = self.answers.signer
        self.answering = Answering(self)
        self.refusalLog = self.answering.refusalLog
        self.stopped = False
        #: Whether its store takes writes (L{IStore.whenWriting}; at once
        #: in memory): until then a new buy or ask is refused ``notyet``,
        #: since its sale or close could not be recorded and its answer
        #: would wait, silent, for a writer process still loading.  The
        #: Deferred is the store's write; a writer that cannot start ends
        #: the daemon (openStore's onBroken).
        self.writing = False
        self.store.whenWriting().addCallbacks(self._nowWriting, lambda failure: None)
        #: The last sales, with the path each buy took, for the operator.
        self.trades = TradeLog(node.clock)
        #: Deferreds of stopService, fired once no commit is in flight and
        #: nothing is unsaved.
        self._idle_waiters = []
        self.files = None
        #: Why no circuit through the relay this node is reached by seems
        #: to open (L{relayCircuits}), else None: no shared file is sold
        #: while it holds, as none could be delivered.
        self.undeliverable = None
        self.discovery = discoveryOf(node)
        self.discovery.advertise(self)

    def restock(self, stock, add=False):
        """
        Set (or, with ``add``, raise) items' units on a running seller,
        keeping the ledger: the store gets the new counts (plus the sales
        made but not yet handed to it, which it takes off afterwards, in
        order) and discovery the news.  A write that fails is undone here.

        @return: a Deferred firing with {item: units before} once the
            change is on disk (failing with the store's error, or
            L{StoreError} once the seller is stopping or while its store
            takes no writes yet).
        """
        if self.stopped:
            return defer.fail(StoreError("this seller is stopping"))
        if not self.writing:
            # Else it would wait for the writer, longer than its asker.
            return defer.fail(StoreError("this seller's store does not take writes "
                                         "yet (it is starting); restock again in a "
                                         "few seconds"))
        was = {item: self.stock.get(item, 0) for item in stock}
        now = {item: was[item] + units if add else units for item, units in stock.items()}
        unsaved = takenItems(self.sales.unsaved())
        self.stock.update(now)
        for item, units in sorted(now.items()):
            self.discovery.stockChanged(item, units)

        def undo(reason):
            for item, units in now.items():
                self.stock[item] += was[item] - units
                self.discovery.stockChanged(item, self.stock[item])
            return reason

        d = self.store.restock({item: units + unsaved.get(item, 0)
                                for item, units in now.items()})
        return d.addCallbacks(lambda _: was, undo)

    def _nowWriting(self, _):
        self.writing = True

    def _notSeeded(self, reason):
        # The store's writer gone: the daemon ends, saying so once (critical).
        level = LogLevel.warn if reason.check(WriterGone) else LogLevel.critical
        self.log.emit(level, "could not record the starting stock: {why}; no sale can "
                      "be recorded", why=reason.getErrorMessage())

    def free(self, item):
        """Units of item that nobody holds a reservation for."""
        return self.leases.free(item)

    # -- IShop: what discovery asks ---------------------------------------------

    def inventory(self):
        """The stock, and the shared files (by name and by content) with
        units that never run out: what discovery offers."""
        if self.files is None:
            return dict(self.stock)
        return {**self.files.offered, **self.stock}

    def isFile(self, item):
        """Whether item is a shared file here (a counted item of the same
        name is sold as counted)."""
        return (item not in self.stock and self.files is not None
                and item in self.files.offered)

    def describe(self, item):
        """What an offer of item carries besides the address (a shared
        file's size, sha256 and transfer port), or None."""
        return self.files.describe(item) if self.files is not None else None

    def offerTo(self, item, buyer, via=None):
        """
        Offer ``buyer`` a unit of ``item``: hold one for it for the lease
        if the limits allow (L{Leases.offer}), else offer it unheld, to be
        bought while free.  False when none is free, and while stopping.
        """
        if self.stopped:
            return False
        if self.isFile(item):
            return True  # a copy is always there: nothing to hold
        return self.leases.offer(item, buyer, via)

    def relayCircuits(self, relay, why):
        self.undeliverable = None if why is None else (
            f"no circuit through this node's relay at {relay} opens ({why})")

    # -- buys ------------------------------------------------------------------

    def _buy(self, link, buy):
        # Rated here, where a buy costs a write and a signature, not on
        # every link that hands it on (net/limits.py BUY_BUCKET).
        if link.withinRate(BUY_BUCKET, buy.TYPE):
            self.answering.sell(buy, link)

    def _ask(self, link, ask):
        self.answering.answerAsk(ask, link)

    #: Buys and asks, delivered, each with the link it came on.
    delivers = {Buy: _buy, Ask: _ask}

    # -- stopping ------------------------------------------------------------------

    def nodeStopping(self):
        self._stop()

    def stopService(self):
        """
        Stop selling: release every reservation (and its timer), commit
        what is unsaved once the commit in flight is done, answer what is
        signed, and stop the signer's thread.

        @return: a Deferred that fires when no commit or signing is in
            flight, every sale made is committed (or, if the store failed,
            undone), every answer made is sent, and the signer's thread is
            gone.  Safe to call more than once, and after nodeStopping.
        """
        super().stopService()
        self._stop()
        d = defer.Deferred()
        self._idle_waiters.append(d)
        self.checkIdle()
        return d

    def _stop(self):
        self.stopped = True
        self.saleLog.close()
        self.refusalLog.close()
        self.leases.releaseAll()
        self.sales.cancelFlush()
        self.answers.cancelSigning()
        self.sales.flush()
        self.answers.signBatch()

    def checkIdle(self):
        """Fire the waiters of stopService once no part has work in
        flight (and the signer's thread is stopped)."""
        if (self.sales.busy or self.answers.busy or self.closes.busy
                or not self._idle_waiters):
            return
        waiters, self._idle_waiters = self._idle_waiters, []
        stopped = self.signer.stop()
        for d in waiters:
            stopped.addCallback(lambda _, d=d: d.callback(None))
