"""
A seller's closes and copies: the buys it promised never to sell, and
the copies of shared files it sold, each remembered for as long as any
buy of its key and id it could sell then might still sell
(MAX_EXPIRY_AHEAD from when it is made, plus CLOSED_GRACE), and charged
meanwhile to whoever asked for it (L{RememberedShares}).  A close is
answered only once it is on disk; closes are written in groups, one
write in flight at a time.
"""

from twisted_bazaar.base.sparing import NO_MEMBERS, ownSet
from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.base.words import plural
from twisted_bazaar.net.eviction import groupOf, namedGroupOf
from twisted_bazaar.roles.seller.shares import RememberedShares
from twisted_bazaar.store import Closed, Remembered

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


class Closes:
    """
    @ivar closed: the L{Closed} buys never to be sold, a L{Remembered}
        (on disk, or being written).
    @ivar copies: the copies of shared files sold and still remembered
        (and in the ledger), a L{Remembered}.
    @ivar remembered: the L{RememberedShares} of closes and copies, each
        charged to the address group of its buyer's link, or if its buy
        or ask was relayed, to the relays' share.
    @ivar limit: the most closed buys and copies remembered at once.
    """

    def __init__(self, seller, ledger, limit):
        """
        @param ledger: the seller's (buyer key, buy id) -> L{Sale}, from
            which forgotten copies leave.
        """
        self.seller = seller
        self.node = seller.node
        self.store = seller.store
        self.ledger = ledger
        self.limit = limit
        self.closed = Remembered(self.store.closed())
        self.copies = Remembered(sale for sale in ledger.values() if sale.copy)
        self.remembered = RememberedShares(limit)
        for entry in [*self.closed, *self.copies]:
            self.remembered.hold(entry.ledgerKey, RESTORED)
        #: Closes not yet on disk: (buyer key, buy id) -> L{Closed} waiting
        #: for the next write, the keys of those being written, and the
        #: (key, answer)s that wait for them.
        self._unclosed = {}
        #: Closes the store refused: closed in memory (nothing sells their
        #: buys) but not promised, until a later ask or buy of one writes
        #: it again; (buyer key, buy id) -> L{Closed}.
        self._unwritten = {}
        # The shared empty set until written (L{twisted_bazaar.base.sparing}):
        # a seller that sells nothing never writes a close.
        self._writing = NO_MEMBERS
        self._close_waiters = []
        self._waiting_paths = NO_MEMBERS

    @property
    def log(self):
        """The seller's log: every line is the seller's."""
        return self.seller.log

    @property
    def busy(self):
        """Whether a write is in flight or a close waits for one."""
        return bool(self._writing or self._unclosed)

    def now(self):
        """This seller's wall clock, in ms since the epoch."""
        return int(wallSeconds(self.node.clock) * 1000)

    def coveredUntil(self):
        """The latest expiry of a buy this seller could sell now (ms):
        what a close or a copy made now must be remembered for."""
        return self.now() + int(MAX_EXPIRY_AHEAD * 1000)

    def forgetBefore(self, now=None):
        """Closes and copies remembered for buys that expired before this
        (ms) can be forgotten: every such buy is refused by its expiry,
        even with this seller's clock CLOSED_GRACE behind.  ``now``: this
        seller's clock (L{now}) when the caller read it already."""
        return (self.now() if now is None else now) - int(CLOSED_GRACE * 1000)

    def forget(self, now=None):
        """
        Forget the closes and copies no buy needs any more, before each
        buy or ask is looked up (so one arriving after them finds them
        gone, and is answered by its expiry): their units go back to the
        account, and copies leave the ledger (their files' counts of
        copies sold keep them, L{FileShop}).  The store forgets them at
        its next write (L{forgetBefore}).  A heap finds them: nothing is
        scanned.  ``now``: as for L{forgetBefore}.
        """
        before = self.forgetBefore(now)
        due = self.closed.expiries
        if due and due[0][0] < before:
            unwritten = self._unwritten
            for entry in self.closed.forget(before):
                self.remembered.release(entry.ledgerKey)
                unwritten.pop(entry.ledgerKey, None)
        due = self.copies.expiries
        if due and due[0][0] < before:
            for sale in self.copies.forget(before):
                self.remembered.release(sale.ledgerKey)
                del self.ledger[sale.ledgerKey]

    def addCopy(self, sale, charge):
        """Remember a copy sold, charged to ``charge`` (L{admitted})."""
        self.copies.add(sale)
        self.remembered.hold(sale.ledgerKey, *charge)

    def forgetCopy(self, key):
        """A copy's sale was undone: remember it no longer."""
        self.copies.discard(key)
        self.remembered.release(key)

    def close(self, message, link, code, info):
        """
        Promise never to sell the buy of message (delivered on link), on
        disk, then answer it ``code``: at once if it is closed already; ``notyet`` if whoever
        it is charged to may have no more remembered (L{admitted}).
        The close covers every buy of its key and id that expires by
        MAX_EXPIRY_AHEAD from now (all this seller could sell now),
        whatever message names.
        """
        answering = self.seller.answering
        answer = answering.error(message, code, info)
        key = (message.key, message.id)
        if key not in self.closed:
            charge = self.admitted(message, link, "closing")
            if charge is None:
                return
            entry = Closed(message.key, message.id, self.coveredUntil())
            self.closed.add(entry)
            self.remembered.hold(key, *charge)
            self._unclosed[key] = entry
            self._writeCloses()
        elif key in self._unwritten:
            # Its write failed: it is answered only once it is on disk.
            self._unclosed[key] = self._unwritten.pop(key)
            self._writeCloses()
        if key in self._writing or key in self._unclosed:
            # One answer a path: a repeat of the buy while its close is
            # being written is answered by the one waiting (each waited
            # before, and was sent).
            if (key, answer.path) not in self._waiting_paths:
                ownSet(self, "_waiting_paths").add((key, answer.path))
                self._close_waiters.append((key, answer))
        else:
            self.seller.answers.answer(answer)

    def admitted(self, message, link, doing):
        """
        Whom a close or copy for message is charged to, (address group,
        relayed, the dialler's group its link's relay names or None), if
        it may have one more remembered; else None, and
        message is answered ``notyet``.  Straight from its buyer, or from
        a buyer linked to this seller with its key proven, it is the group
        of the buyer's link; else, relayed (a path longer than buyer and
        seller), the group of the relay it came from, in the relays'
        share (L{RememberedShares}: nothing remembered gives way, so a
        group holding as many as there is room left is refused).
        """
        remembered = self.remembered
        node = self.node
        relayed = len(message.path) > 2
        if relayed:
            own = node.linkTo(message.path[0])
            if own is not None and node.isProven(own):
                link, relayed = own, False
        group = groupOf(link) if link is not None else ""
        named = None if relayed or link is None else namedGroupOf(link)
        if remembered.admits(group, relayed, named):
            return group, relayed, named
        held, room = remembered.held(group, relayed), remembered.room(relayed)
        answering = self.seller.answering
        if answering.refusalLog.admit("buys and asks answered notyet (--closed-limit)"):
            self.log.warn("not {doing} buy {id}: {whose} {held} of the {used} closed "
                          "buys and copies remembered, and only {room} more fit "
                          "(--closed-limit {limit}); answering notyet",
                          doing=doing, id=message.id, held=held, room=room,
                          whose=("those relayed by its relay's address group hold"
                                 if relayed else "its address group holds"),
                          used=remembered.used, limit=self.limit)
        if remembered.admits(group, relayed):
            why = ("the buyers whose circuits the relay of your link says come from "
                   "your address group hold as many closed buys and copies here as "
                   "they have room left for, through that relay")
        elif relayed:
            why = (f"the buys relayed to this seller by your last relay's address "
                   f"group hold {held} closed buys and copies here already, as many as "
                   "it has room left for relayed ones (a buy sent straight to the "
                   "seller is charged to your own address group)")
        else:
            why = (f"your address group holds {held} closed buys and copies here "
                   "already, as many as this seller has room left for")
        answering.notYet(message, why)
        return None

    def _writeCloses(self):
        """Write the closes made since the last write; one write is in
        flight at a time, and closes made meanwhile wait for the next."""
        if self._writing or not self._unclosed:
            return
        closes, self._unclosed = list(self._unclosed.values()), {}
        self._writing = {entry.ledgerKey for entry in closes}
        d = self.store.closeBuys(closes, self.forgetBefore())
        d.addCallbacks(self._closesWritten, self._closesNotWritten,
                       errbackArgs=(closes,))

    def _waitingPaths(self):
        """The (key, path) of each answer waiting for its close's write."""
        return {(key, answer.path) for key, answer in self._close_waiters} or NO_MEMBERS

    def _closesWritten(self, _):
        self._writing = NO_MEMBERS
        pending = self._unclosed
        ready = [answer for key, answer in self._close_waiters if key not in pending]
        self._close_waiters = [(key, answer) for key, answer in self._close_waiters
                               if key in pending]
        self._waiting_paths = self._waitingPaths()
        if not self.seller.stopped:
            for answer in ready:
                self.seller.answers.answer(answer)
        self._writeCloses()
        self.seller.checkIdle()

    def _closesNotWritten(self, reason, closes):
        """Not on disk: the buys stay closed in this process, but are not
        answered; their buyers will ask again, and each ask or buy of one
        writes it again (L{close})."""
        self.log.warn("could not close {buys}: {why}", buys=plural(len(closes), "buy"),
                      why=reason.getErrorMessage())
        for entry in closes:
            self._unwritten[entry.ledgerKey] = entry
        written = self._writing
        self._close_waiters = [(key, answer) for key, answer in self._close_waiters
                               if key not in written]
        self._waiting_paths = self._waitingPaths()
        self._writing = NO_MEMBERS
        self._writeCloses()
        self.seller.checkIdle()
