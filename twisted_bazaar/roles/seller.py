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
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.words import counted
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import keyOwns, signedBy
from twisted_bazaar.base.logthrottle import LogThrottle
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK, quantityField, quantityOf
from twisted_bazaar.core.market import IShop, discoveryOf
from twisted_bazaar.roles.files.options import sharedFolder
from twisted_bazaar.roles.files.shop import FileShop
from twisted_bazaar.base.options import boundedInt, seconds
from twisted_bazaar.roles import IRolePlugin, Role, RoleOption
from twisted_bazaar.identity.signer import Signer
from twisted_bazaar.store import Closed, Remembered, Sale, StoreError, takenItems
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.roles.shares import RememberedShares

#: Default seconds a unit stays reserved for a buyer after its search.
DEFAULT_LEASE = 10.0
#: Of an item's stock, the share that may be reserved at once (all buyers
#: together: none of them proves who it is), and the share the searches
#: of one link may hold.  The rest is sold to whoever buys first, so that
#: searches in made-up names cannot keep every unit from a real buyer.
RESERVED_SHARE = 2
LINK_SHARE = 4
#: Seconds ahead of this seller's clock a buy may expire: one that
#: expires later is refused (``notyet``), so that the closed buys it must
#: remember span a bounded window.
MAX_EXPIRY_AHEAD = 600.0
#: Seconds a closed buy is remembered past the latest expiry it covers
#: (MAX_EXPIRY_AHEAD after the close): room for this seller's clock to
#: step back without a closed buy becoming sellable.
CLOSED_GRACE = 300.0
#: Closed buys and copies of shared files sold remembered at most, shared
#: among the address groups that asked for them (see L{RememberedShares}:
#: a buyer's own group, or for a relayed buy, the relays' share): a group
#: holding as many as there is room left gets ``notyet`` for a buy or ask
#: that would close another or buy a copy, while a group holding fewer
#: still gets its close or copy.
DEFAULT_CLOSED_LIMIT = 100_000
#: The address group the closes and copies restored from --data-dir are
#: charged to: which links asked for them is not stored.
RESTORED = "(restored)"
#: What a buy's expiry can say (L{Seller._expiry}).
EXPIRED, TOO_FAR = "expired", "too far ahead"


@implementer(IShop)
class Seller(Role):
    """
    @ivar stock: item -> units not yet sold (reserved units included):
        the counted goods, of ``--sell`` and restocks.  Shared files are
        not stock: their copies never run out (L{FileShop}).
    @ivar ledger: (buyer key, buy id) -> L{Sale}; a repeated buy is
        answered from here.  Counted sales stay for good; copies of
        shared files only while L{copies} remembers them.
    @ivar closed: the L{Closed} buys never to be sold, a L{Remembered}
        (on disk, or being written).
    @ivar copies: the copies of shared files sold and still remembered
        (and in the ledger), a L{Remembered}.
    @ivar remembered: the L{RememberedShares} of closes and copies, each
        charged to the address group of its buyer's link, or if its buy
        or ask was relayed, to the relays' share.
    """

    log = Logger()

    def stockHeld(self):
        return dict(self.stock)

    def __init__(self, node, stock, lease=DEFAULT_LEASE, signer=None,
                 closed_limit=DEFAULT_CLOSED_LIMIT):
        """
        @param signer: the L{Signer} of the answers; by default one for the
            node's key and clock: on a thread of its own in a daemon whose
            ledger is in memory, inline otherwise.  A durable seller already
            has the store's writer thread working beside the reactor; on two
            cores a third thread cost it more in waits for the GIL than it
            saved (docs/benchmarks.md, "Signing off the reactor").
        @param closed_limit: the most closed buys and copies sold
            remembered at once.
        """
        super().__init__(node)
        self.store = node.store
        seeded = self.store.seededWith()
        if seeded is None:
            # Sales made before the seed is on disk are committed after it:
            # the store writes in order.
            self.stock = dict(stock)
            self.store.seedInventory(stock).addErrback(self._notSeeded)
        else:
            self.stock = self.store.inventory()
            if seeded != stock:
                self.log.warn("--sell {given} differs from the stock this data dir "
                              "began with ({seeded}); keeping what is left: {left} "
                              "(start it with --restock to set the stock to --sell, or "
                              "restock it as it runs: bazaar restock --data-dir DIR)",
                              given=_describe(stock), seeded=_describe(seeded),
                              left=_describe(self.stock))
        self.lease = lease
        self.ledger = {sale.ledgerKey: sale for sale in self.store.sales()}
        self.closed = Remembered(self.store.closed())
        self.copies = Remembered(sale for sale in self.ledger.values() if sale.copy)
        self.closed_limit = closed_limit
        self.remembered = RememberedShares(closed_limit)
        for entry in [*self.closed, *self.copies]:
            self.remembered.hold(entry.ledgerKey, RESTORED)
        #: Closes not yet on disk: (buyer key, buy id) -> L{Closed} waiting
        #: for the next write, the keys of those being written, and the
        #: (key, answer)s that wait for them.
        self._unclosed = {}
        self._writing = set()
        self._close_waiters = []
        self._reservations = {}
        self._held = {}
        #: (buyer, item) -> the neighbour its reservation's search came
        #: through; (neighbour, item) -> units held for such searches.
        self._via = {}
        self._held_via = {}
        self._unsaved = []
        self._uncommitted = set()
        self._committing = False
        #: Each answer leaves once it is signed and its sale (if any) is on
        #: disk: (sale, buyOK) signed and waiting for the commit, and
        #: (sale or None, answer) waiting for the signer.
        self._answers = []
        self._unsigned = []
        self._signing = False
        self._sign_call = None
        self.signer = signer or Signer.forClock(node.identity, node.clock,
                                                 threaded=not self.store.durable)
        self._flush_call = None
        self._stopped = False
        #: Deferreds of stopService, fired once no commit is in flight and
        #: nothing is unsaved.
        self._idle_waiters = []
        #: Sales logged one by one up to a few per interval, the rest
        #: summed up (every one with --verbose).
        self.saleLog = LogThrottle(node.clock, self._logUnlogged,
                                   verbose=node.config.link.verbose)
        #: Buys and asks refused unheard (unsigned), and closes refused
        #: (the closed buys at their limit): a few lines per interval, the
        #: rest summed up, so that a flood of them writes no flood of lines.
        self.refusalLog = LogThrottle(node.clock, self._logRefusals)
        #: The shared folder's files (a L{twisted_bazaar.roles.files.shop.FileShop}),
        #: with --share.
        self.files = None
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
            L{StoreError} once the seller is stopping).
        """
        if self._stopped:
            return defer.fail(StoreError("this seller is stopping"))
        was = {item: self.stock.get(item, 0) for item in stock}
        now = {item: was[item] + units if add else units for item, units in stock.items()}
        unsaved = takenItems(self._unsaved)
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

    def _notSeeded(self, reason):
        self.log.critical("could not record the starting stock: {why}; no sale "
                          "can be recorded", why=reason.getErrorMessage())

    def free(self, item):
        """Units of item that nobody holds a reservation for."""
        return self.stock.get(item, 0) - self._held.get(item, 0)

    # -- IShop: what discovery asks ---------------------------------------------

    def inventory(self):
        """The stock, and the shared files (by name and by content) with
        units that never run out: what discovery offers."""
        if self.files is None:
            return dict(self.stock)
        return {**self.files.offered, **self.stock}

    def _isFile(self, item):
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
        (refreshing a hold it already has) if the limits allow, else offer
        it unheld, to be bought while free.  False when none is free.

        A buyer holds at most one unit of an item; all buyers together at
        most 1/RESERVED_SHARE of its stock, and those whose searches came
        through one neighbour (``via``) at most 1/LINK_SHARE of it (at
        least one unit).
        """
        if self._stopped:
            return False
        if self._isFile(item):
            return True  # a copy is always there: nothing to hold
        key = (buyer, item)
        lease = self._reservations.get(key)
        if lease is not None:
            lease.reset(self.lease)
            return True
        if self.free(item) <= 0:
            return False
        stock = self.stock[item]
        link = (via, item)
        if (self._held.get(item, 0) < stock // RESERVED_SHARE
                and self._held_via.get(link, 0) < max(1, stock // LINK_SHARE)):
            _count(self._held, item, 1)
            _count(self._held_via, link, 1)
            self._via[key] = via
            self._reservations[key] = self.node.clock.callLater(
                self.lease, self._release, key)
        return True

    def _release(self, key):
        """A reservation lapsed, or was used: the unit is free again."""
        call = self._reservations.pop(key, None)
        if call is None:
            return
        if call.active():
            call.cancel()
        item = key[1]
        _count(self._held, item, -1)
        _count(self._held_via, (self._via.pop(key), item), -1)

    # -- buys ------------------------------------------------------------------

    def delivered(self, message):
        kind = type(message)
        if kind is Buy:
            self._sell(message)
        elif kind is Ask:
            self._answerAsk(message)

    def _trusted(self, message):
        """
        A buy or ask signed by the buyer it names, or handed over by that
        buyer itself on a link where it proved its key; either way naming
        the buyer's key, which its answer names in turn (a seller without
        a key checks nothing).
        """
        node, buyer, key = self.node, message.path[0], message.key
        if node.identity is None:
            return True
        if key is not None and (keyOwns(key, buyer)
                                if node.fromProvenAuthor(message, buyer)
                                else signedBy(message, buyer)):
            return True
        if self.refusalLog.admit(f"{message.TYPE}s not signed by their buyers"):
            self.log.info("ignoring a {type} not signed by node {buyer}",
                          type=message.TYPE, buyer=shortId(buyer))
        return False

    def _logRefusals(self, counts, interval):
        self.log.info("in the last {interval:g} s, also: {what}", interval=interval,
                      what=", ".join(f"{n} {what}" for what, n in sorted(counts.items())))

    def _answer(self, message, sale=None):
        """
        Sign an answer and route it; a buyOK (given with its sale) leaves
        only once the sale is committed.  Inline, that is at once; with a
        threaded signer, this turn's answers are signed as one batch on the
        next turn, while the sales are committed.
        """
        self._unsigned.append((sale, message))
        if self.signer.inline:
            self._signBatch()
        elif self._sign_call is None and not self._signing:
            self._sign_call = self.node.clock.callLater(0, self._signBatch)

    def _signBatch(self):
        """Sign the answers waiting; one batch is signed at a time, and
        answers made meanwhile wait for the next."""
        self._sign_call = None
        if self._signing or not self._unsigned:
            return
        batch, self._unsigned = self._unsigned, []
        self._signing = True
        d = self.signer.signAll([message for _, message in batch])
        d.addCallbacks(self._signed, self._notSigned, callbackArgs=(batch,),
                       errbackArgs=(batch,))

    def _signed(self, answers, batch):
        self._signing = False
        for (sale, _), answer in zip(batch, answers):
            if sale is not None and self.ledger.get(sale.ledgerKey) is not sale:
                continue  # the sale was undone: its buyer will ask again
            if sale is not None and sale.ledgerKey in self._uncommitted:
                self._answers.append((sale, answer))
            else:
                self.node.route(answer)
        self._signBatch()
        self._checkIdle()

    def _notSigned(self, reason, batch):
        """Not signed (the signer failed): the answers are dropped, and
        the buyers will ask again."""
        self._signing = False
        self.log.critical("could not sign {n} answers: {why}", n=len(batch),
                          why=reason.getErrorMessage())
        self._signBatch()
        self._checkIdle()

    # -- what a buy or an ask finds ----------------------------------------------

    def _saleOf(self, message):
        """
        The sale of the buy a buy or ask names, or None.  A sale recorded
        before sales named their buyer's key (schema 1) is the sale of
        the buy with its id from the buyer id it names.
        """
        sale = self.ledger.get((message.key, message.id))
        if sale is None and message.key is not None:
            legacy = self.ledger.get((None, message.id))
            if legacy is not None and legacy.buyer == message.path[0]:
                return legacy
        return sale

    def _now(self):
        """This seller's clock, in ms since the epoch."""
        return int(self.node.clock.seconds() * 1000)

    def _expiry(self, message):
        """What the expiry of the buy of a buy or ask says by this
        seller's clock: EXPIRED (none, or passed: never to be sold),
        TOO_FAR (further ahead than MAX_EXPIRY_AHEAD, beyond the window
        the closed buys cover), or None (it may be sold)."""
        expires, now = message.expires, self._now()
        if expires is None or expires <= now:
            return EXPIRED
        if expires > now + int(MAX_EXPIRY_AHEAD * 1000):
            return TOO_FAR
        return None

    def _refuse(self, message, code, info):
        """Answer an error about the buy of message, at once."""
        self._answer(self._error(message, code, info))

    def _error(self, message, code, info):
        return wire.Error(code, info, message.id, message.path[::-1],
                          buyer_key=message.key)

    def _answerAsk(self, ask):
        """
        Say what became of a buy, and never sell: ``buyOK`` from the
        ledger; else, once the buy is closed (on disk), ``expired`` when
        the ask names no expiry or a past one, ``unsold`` otherwise (the
        buy it asks about may name another expiry: the close covers every
        one this seller could sell); or ``notyet`` when it expires too
        far ahead.  ``expired``, not ``unsold``: a copy of a shared file
        sold for a buy that has expired may be forgotten, and the seller
        no longer answers for it.
        """
        if not self._trusted(ask):
            return
        self._forget()
        sale = self._saleOf(ask)
        if sale is not None:
            self._confirm(sale, ask)
            return
        if self._stopped:
            return
        expiry = self._expiry(ask)
        if expiry is TOO_FAR:
            self._notYet(ask, _tooFar(ask))
        elif expiry is EXPIRED:
            self._close(ask, "expired", _expired(ask, self._isFile(ask.item)))
        else:
            self._close(ask, "unsold", f"buy {ask.id} was not sold, and never will be")

    def _notYet(self, message, why):
        self._refuse(message, "notyet", f"{why}: not sold, and will not be while "
                     "it is refused so; ask again once it has expired")

    def _close(self, message, code, info):
        """
        Promise never to sell the buy of message, on disk, then answer it
        ``code``: at once if it is closed already; ``notyet`` if whoever
        it is charged to may have no more remembered (L{_admitted}).
        The close covers every buy of its key and id that expires by
        MAX_EXPIRY_AHEAD from now (all this seller could sell now),
        whatever message names.
        """
        answer = self._error(message, code, info)
        key = (message.key, message.id)
        if key not in self.closed:
            charge = self._admitted(message, "closing")
            if charge is None:
                return
            entry = Closed(message.key, message.id, self._coveredUntil())
            self.closed.add(entry)
            self.remembered.hold(key, *charge)
            self._unclosed[key] = entry
            self._writeCloses()
        if key in self._writing or key in self._unclosed:
            self._close_waiters.append((key, answer))
        else:
            self._answer(answer)

    def _coveredUntil(self):
        """The latest expiry of a buy this seller could sell now (ms):
        what a close or a copy made now must be remembered for."""
        return self._now() + int(MAX_EXPIRY_AHEAD * 1000)

    def _forgetBefore(self):
        """Closes and copies remembered for buys that expired before this
        (ms) can be forgotten: every such buy is refused by its expiry,
        even with this seller's clock CLOSED_GRACE behind."""
        return self._now() - int(CLOSED_GRACE * 1000)

    def _forget(self):
        """
        Forget the closes and copies no buy needs any more, before each
        buy or ask is looked up (so one arriving after them finds them
        gone, and is answered by its expiry): their units go back to the
        account, and copies leave the ledger (their files' counts of
        copies sold keep them, L{FileShop}).  The store forgets them at
        its next write (L{_forgetBefore}).  A heap finds them: nothing is
        scanned.
        """
        before = self._forgetBefore()
        for entry in self.closed.forget(before):
            self.remembered.release(entry.ledgerKey)
        for sale in self.copies.forget(before):
            self.remembered.release(sale.ledgerKey)
            del self.ledger[sale.ledgerKey]

    def _admitted(self, message, doing):
        """
        Whom a close or copy for message is charged to, (address group,
        relayed), if it may have one more remembered; else None, and
        message is answered ``notyet``.  Straight from its buyer, or from
        a buyer linked to this seller with its key proven, it is the group
        of the buyer's link; else, relayed (a path longer than buyer and
        seller), the group of the relay it came from, in the relays'
        share (L{RememberedShares}: nothing remembered gives way, so a
        group holding as many as there is room left is refused).
        """
        remembered = self.remembered
        node = self.node
        link = node.paths.deliveredOn
        relayed = len(message.path) > 2
        if relayed:
            own = node.links.get(message.path[0])
            if own is not None and node.isProven(own):
                link, relayed = own, False
        group = groupOf(link) if link is not None else ""
        if remembered.admits(group, relayed):
            return group, relayed
        held, room = remembered.held(group, relayed), remembered.room(relayed)
        if self.refusalLog.admit("buys and asks answered notyet (--closed-limit)"):
            self.log.warn("not {doing} buy {id}: {whose} {held} of the {used} closed "
                          "buys and copies remembered, and only {room} more fit "
                          "(--closed-limit {limit}); answering notyet",
                          doing=doing, id=message.id, held=held, room=room,
                          whose=("those relayed by its relay's address group hold"
                                 if relayed else "its address group holds"),
                          used=remembered.used, limit=self.closed_limit)
        if relayed:
            why = (f"the buys relayed to this seller by your last relay's address "
                   f"group hold {held} closed buys and copies here already, as many as "
                   "it has room left for relayed ones (a buy sent straight to the "
                   "seller is charged to your own address group)")
        else:
            why = (f"your address group holds {held} closed buys and copies here "
                   "already, as many as this seller has room left for")
        self._notYet(message, why)
        return None

    def _writeCloses(self):
        """Write the closes made since the last write; one write is in
        flight at a time, and closes made meanwhile wait for the next."""
        if self._writing or not self._unclosed:
            return
        closes, self._unclosed = list(self._unclosed.values()), {}
        self._writing = {entry.ledgerKey for entry in closes}
        d = self.store.closeBuys(closes, self._forgetBefore())
        d.addCallbacks(self._closesWritten, self._closesNotWritten,
                       errbackArgs=(closes,))

    def _closesWritten(self, _):
        self._writing = set()
        pending = self._unclosed
        ready = [answer for key, answer in self._close_waiters if key not in pending]
        self._close_waiters = [(key, answer) for key, answer in self._close_waiters
                               if key in pending]
        if not self._stopped:
            for answer in ready:
                self._answer(answer)
        self._writeCloses()
        self._checkIdle()

    def _closesNotWritten(self, reason, closes):
        """Not on disk: the buys stay closed in this process, but are not
        answered; their buyers will ask again."""
        self.log.warn("could not close {n} buys: {why}", n=len(closes),
                      why=reason.getErrorMessage())
        written = self._writing
        self._close_waiters = [(key, answer) for key, answer in self._close_waiters
                               if key not in written]
        self._writing = set()
        self._writeCloses()
        self._checkIdle()

    def _sameContent(self, buy):
        """Whether this seller shares the content a buy of a file names
        (its sha256 and size) under its item; a buy that names none
        buys the item as it is."""
        if buy.sha256 is None and buy.size is None:
            return True
        described = self.describe(buy.item)
        return described is not None and (described["sha256"], described["size"]) == (
            buy.sha256, buy.size)

    def _sell(self, buy):
        """
        Sell what it can of a buy's quantity (one unit of a shared file),
        once: a buy sold before gets its buyOK again, with the same count;
        a closed one ``soldout`` again; one expiring too far ahead is
        refused (``notyet``) and nothing is recorded; one expired (or
        naming no expiry) is closed, then answered ``expired``; one that
        finds no unit (or not the content it names) is closed, then
        answered ``soldout``.
        """
        if not self._trusted(buy):
            return
        self._forget()
        sale = self._saleOf(buy)
        if sale is None:
            if self._stopped:
                # No new sale while stopping: the buyer will ask again.
                return
            buyer, item = buy.path[0], buy.item
            if (buy.key, buy.id) in self.closed:
                self._close(buy, "soldout", f"buy {buy.id} is closed")
                return
            expiry = self._expiry(buy)
            if expiry is EXPIRED:
                self._close(buy, "expired", _expired(buy, self._isFile(buy.item)))
                return
            if expiry is TOO_FAR:
                self._notYet(buy, _tooFar(buy))
                return
            if not self._sameContent(buy):
                self._close(buy, "soldout", f"{item} is not shared here as that "
                            "content")
                return
            if self._isFile(item):
                # One copy, whatever the quantity: a file never runs out.
                # Remembered, and charged, as long as a close would be.
                charge = self._admitted(buy, "selling a copy for")
                if charge is None:
                    return
                sale = Sale(buy.id, item, buyer, self.node.clock.seconds(), buy.key,
                            buy.sha256, buy.size, 1, copy=True,
                            expires=self._coveredUntil())
                self.copies.add(sale)
                self.remembered.hold(sale.ledgerKey, *charge)
            else:
                if (buyer, item) in self._reservations:
                    # The unit held for this buyer is one of those it buys.
                    self._release((buyer, item))
                free = self.free(item)
                if free <= 0:
                    self._close(buy, "soldout", f"no {item} left to sell")
                    return
                units = min(quantityOf(buy), free)
                self.stock[item] -= units
                sale = Sale(buy.id, item, buyer, self.node.clock.seconds(), buy.key,
                            buy.sha256, buy.size, units)
            self.ledger[sale.ledgerKey] = sale
            self._unsaved.append(sale)
            self._uncommitted.add(sale.ledgerKey)
        self._confirm(sale, buy)

    def _confirm(self, sale, message):
        """Answer buyOK for a sale, once it is on disk (signed meanwhile),
        to the buyer of message (a buy or an ask)."""
        self._answer(BuyOK(sale.buy_id, sale.item, message.path[::-1],
                           buyer_key=message.key, sha256=sale.sha256, size=sale.size,
                           count=quantityField(sale.units)),
                     sale)
        if sale.ledgerKey not in self._uncommitted:
            return
        if self._stopped or (not self.store.durable and self.signer.inline):
            self._flush()
        elif self._flush_call is None and not self._committing:
            # Group commit: every sale made in this turn of the reactor is
            # written in one transaction.  In memory too when the answers
            # wait for the signer's thread anyway: one commit per turn
            # costs less than one per sale.
            self._flush_call = self.node.clock.callLater(0, self._flush)

    def _flush(self):
        """
        Commit the sales made since the last commit.  One commit is in
        flight at a time; sales made meanwhile wait for the next one.
        """
        self._flush_call = None
        if self._committing or not self._unsaved:
            return
        sales, self._unsaved = self._unsaved, []
        self._committing = True
        d = defer.maybeDeferred(self.store.commitSales, sales, self._forgetBefore())
        d.addCallbacks(self._committed, self._notCommitted, callbackArgs=(sales,),
                       errbackArgs=(sales,))

    def _committed(self, _, sales):
        self._committing = False
        self._uncommitted.difference_update(sale.ledgerKey for sale in sales)
        if self.files is not None:
            self.files.sold(sale for sale in sales if sale.copy)
        self._logSales(sales)
        self._answerCommitted()
        for item in sorted({sale.item for sale in sales if not sale.copy}):
            if not self.stock[item]:
                self.discovery.stockChanged(item, 0)
        self._flush()
        self._checkIdle()

    def _logSales(self, sales):
        """A line per sale while sales are few; under load, most are
        counted and summed up (see L{LogThrottle}): logging each would
        cost more than selling."""
        log = self.saleLog
        if not log.spare():
            for sale in sales:
                log.admit(sale.item, sale.units)
            return
        # Stock left after each sale of this commit, the last first (a
        # copy of a shared file leaves the file as it was: None).
        left, later = [], {}
        for sale in reversed(sales):
            if sale.copy:
                left.append(None)
                continue
            after = later.get(sale.item, 0)
            left.append(self.stock[sale.item] + after)
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
        if item in self.stock or self.files is None:
            return f"{self.stock.get(item, 0)} left"
        return "copies of a shared file"

    def _notCommitted(self, reason, sales):
        """The store failed: undo the sales and drop their answers; the
        buyers will ask again."""
        self._committing = False
        self.log.critical("could not record {n} sales: {why}", n=len(sales),
                          why=reason.getErrorMessage())
        for sale in sales:
            # A copy whose write took over 15 minutes is forgotten already.
            self.ledger.pop(sale.ledgerKey, None)
            self._uncommitted.discard(sale.ledgerKey)
            if sale.copy:
                self.copies.discard(sale.ledgerKey)
                self.remembered.release(sale.ledgerKey)
            else:
                self.stock[sale.item] += sale.units
        self._answers = [(sale, answer) for sale, answer in self._answers
                         if self.ledger.get(sale.ledgerKey) is sale]
        self._answerCommitted()
        self._flush()
        self._checkIdle()

    def _answerCommitted(self):
        """Send every signed buyOK whose sale is now on disk."""
        uncommitted = self._uncommitted
        ready = [answer for sale, answer in self._answers
                 if sale.ledgerKey not in uncommitted]
        self._answers = [(sale, answer) for sale, answer in self._answers
                         if sale.ledgerKey in uncommitted]
        for answer in ready:
            self.node.route(answer)

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
        self._checkIdle()
        return d

    def _stop(self):
        self._stopped = True
        self.saleLog.close()
        self.refusalLog.close()
        for key in list(self._reservations):
            self._release(key)
        for call in (self._flush_call, self._sign_call):
            if call is not None and call.active():
                call.cancel()
        self._flush_call = self._sign_call = None
        self._flush()
        self._signBatch()

    def _checkIdle(self):
        if (self._committing or self._unsaved or self._signing or self._unsigned
                or self._writing or self._unclosed or not self._idle_waiters):
            return
        waiters, self._idle_waiters = self._idle_waiters, []
        stopped = self.signer.stop()
        for d in waiters:
            stopped.addCallback(lambda _, d=d: d.callback(None))


def _tooFar(message):
    return (f"buy {message.id} expires more than {MAX_EXPIRY_AHEAD:g} s ahead of "
            "this seller's clock")


def _expired(message, copy):
    """The info of ``expired`` about message's buy: of a shared file
    (``copy``), a copy sold for it may be forgotten, so it says no more
    than that none will be sold."""
    if copy:
        return (f"buy {message.id} has expired (or names no expiry): no copy will be "
                "sold for it, and one sold over 15 minutes ago is answered for no "
                "longer")
    return (f"buy {message.id} has expired (or names no expiry): not sold, and never "
            "will be")


def _count(counts, key, change):
    """Add change to counts[key], dropping keys that reach 0."""
    value = counts.get(key, 0) + change
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)


def _describe(stock):
    return ", ".join(f"{item}={units}" for item, units in sorted(stock.items()))


def parseSell(text):
    """``ITEM=COUNT`` -> (item, count), with a reason for bad input."""
    item, sep, count = text.partition("=")
    if not sep or not item:
        raise ValueError(f"wants ITEM=COUNT, not {text!r}")
    if len(item.encode("utf-8")) > wire.MAX_ITEM_BYTES:
        raise ValueError(f"item name longer than {wire.MAX_ITEM_BYTES} bytes")
    try:
        units = int(count)
    except ValueError:
        raise ValueError(f"{item}= wants a whole number of units, not {count!r}")
    if units < 0:
        raise ValueError(f"{item}= cannot be negative ({units})")
    return item, units


@implementer(IPlugin, IRolePlugin)
class SellerPlugin:
    """The ``seller`` role, as twistd and the simulator find it."""

    name = "seller"
    description = "sell the units given with --sell, and the files of --share DIR"
    options = (
        RoleOption("sell", "ITEM=COUNT to offer (repeatable)", parseSell,
                   repeatable=True),
        RoleOption("lease", "seconds a unit stays reserved for a buyer",
                   seconds, DEFAULT_LEASE),
        RoleOption("closed-limit", "most closed buys (asked about and not sold, "
                   "sold out or expired) and copies of shared files sold "
                   "remembered, each for 15 minutes (a copy then counted only), "
                   "shared among address groups (one alone gets half; relayed buys "
                   "are charged apart, by their relay's group, to a share of their "
                   "own); a group holding as many as are left is answered notyet",
                   boundedInt(1), DEFAULT_CLOSED_LIMIT),
        RoleOption("share", "DIR whose files to sell, each named by its file name "
                   "(watched for changes)", sharedFolder),
        RoleOption("transfer-port", "port to serve shared files on (0: any free "
                   "port)", boundedInt(0, 65535), 0),
        RoleOption("transfer-rate", "most bytes a second sent to one buyer of a "
                   "shared file (0: no limit)", boundedInt(0), 0),
    )

    def configure(self, config):
        stock = {}
        for item, units in config["sell"]:
            if item in stock:
                raise ValueError(f"--sell names {item} twice")
            stock[item] = units
        folder = config.get("share")
        if not stock and folder is None:
            raise ValueError("the seller role needs at least one --sell ITEM=COUNT "
                             "or --share DIR")
        for option in ("transfer-port", "transfer-rate"):
            if config.get(option) and folder is None:
                raise ValueError(f"--{option} needs --share DIR")
        settings = {"stock": stock, "lease": config["lease"]}
        limit = config.get("closed-limit", DEFAULT_CLOSED_LIMIT)
        if limit != DEFAULT_CLOSED_LIMIT:
            settings["closed_limit"] = limit
        if folder is not None:
            settings.update(share=folder, transfer_port=config.get("transfer-port", 0),
                            transfer_rate=config.get("transfer-rate", 0))
        return settings

    def build(self, node, settings):
        settings = dict(settings)
        folder = settings.pop("share", None)
        port = settings.pop("transfer_port", 0)
        rate = settings.pop("transfer_rate", 0)
        seller = Seller(node, **settings)
        if folder is not None:
            # Its files are a role of their own, plugged in after the
            # seller (and so stopped before it).
            node.addRole(seller)
            node.addRole(FileShop(node, seller, folder, port, transfer_rate=rate))
        return seller
