"""
The node's side of the index scheme (Napster style): sellers
``register``/``unregister`` items with the tracker, buyers ``lookup`` an
item and buy directly from the sellers named, in the order given.  Each
register carries the seller's signed record of the item, and each seller
found comes with its record, which the buyer checks: the tracker can
leave sellers out, but not make one up, nor describe a seller's file.
A seller registers its items again (with records signed anew) every half
of a record's validity, so that the records the tracker hands out live;
and an item's ``register`` or ``unregister`` the tracker has not
acknowledged within ACK_WAIT, again (the tracker drops one past its rate,
and a lossy link one anywhere), not only at that renewal.
"""

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.base.slotservice import SlotService
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.base.words import namedFew
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.wire.trade import BuyOK
from twisted_bazaar.core.market import IDiscovery, fileIn, recordedOffers
from twisted_bazaar.reach.peerhosts import trackersGroup
from twisted_bazaar.core.records import RecordBook
from twisted_bazaar.schemes.index.messages import (
    MAX_ITEMS_PER_NODE,
    Ack,
    Found,
    Listing,
    Lookup,
    Register,
    Unregister,
)

#: The items of a node that registers none, or has none listed: one
#: shared empty set (an empty set is 216 bytes).
NO_ITEMS = frozenset()
#: Items listed one by one (`the tracker's index lists ITEM`) until
#: every ack is in; the rest are said in one line then: a seller of
#: 1,024 items logged 1,024 lines at start.
SAY_LISTED = 20
#: Items no longer listed named in the one line that says them, once
#: every ack is in (``... no longer lists fig, kiwi, pear and 40 more``):
#: a seller whose stock went logged a line an item.
SAY_GONE = 3


class _Listed(set):
    """
    The items the current tracker acknowledged (a seller's alone: made
    at its first), how many of them since its acks were last all in
    were said one by one, and not, and those it no longer lists since
    (``gone``, None for none: never more than it listed).
    """

    __slots__ = ("said", "unsaid", "gone")

    def __init__(self):
        super().__init__()
        self.said = self.unsaid = 0
        self.gone = None

    def listing(self, item):
        """item is listed: whether it is said one by one (L{SAY_LISTED})."""
        self.add(item)
        if self.said < SAY_LISTED:
            self.said += 1
            return True
        self.unsaid += 1
        return False

    def rest(self):
        """Every ack is in: the items listed and not said one by one (the
        count starts again)."""
        unsaid, self.said, self.unsaid = self.unsaid, 0, 0
        return unsaid

    def delisted(self, item):
        """item is no longer listed: said with the others (L{dropped})."""
        self.discard(item)
        if self.gone is None:
            self.gone = []
        self.gone.append(item)

    def dropped(self):
        """The items no longer listed since this was last asked, in the
        order their acks came."""
        gone, self.gone = self.gone or (), None
        return gone


#: Seconds a register or unregister waits for its ack before the item's
#: state is sent again: once, until every ack came or the next renewal
#: (one the tracker refuses, past its limits, is never acked, and each
#: refusal is an error the node counts against it).
ACK_WAIT = 10.0
#: L{IndexDiscovery._ackCall} once the items unacked were sent again.
_RESENT = "resent"


class _Lookup:
    """Everyone waiting for the answer about one item."""

    def __init__(self):
        self.waiters = []
        self.pause = None


class _Registered(set):
    """The items a seller registered, and C{waiting}: those in stock past
    the tracker's room for one node's, registered as registered ones run
    out.  Kept here, not on L{IndexDiscovery}, so that a node that sells
    nothing (most of a simulated market) holds none of it."""

    __slots__ = ("waiting",)

    def __init__(self):
        set.__init__(self)
        self.waiting = NO_ITEMS

    def wait(self, item):
        """item waits for room."""
        if self.waiting is NO_ITEMS:
            self.waiting = set()
        self.waiting.add(item)


@implementer(IDiscovery)
class IndexDiscovery(SlotService, NodeObserver):
    """Registrations and lookups through the tracker."""

    name = "index"
    superpeer = None
    log = Logger()

    # Slots, not a dict: a simulated node holds one (32 bytes less).
    __slots__ = ("node", "shops", "registered", "listed", "_unacked", "_lookups",
                 "_asked", "_book", "_renewal", "_ackCall")

    def __init__(self, node):
        SlotService.__init__(self)
        self.node = node
        #: The shops it registers the items of (L{advertise}): a list from
        #: the first (most simulated nodes sell nothing).
        self.shops = ()
        # Its tables are the shared empty ones until written (most
        # simulated nodes never sell nor look up: two empty sets and two
        # dicts were 560 bytes of each).
        self.registered = NO_ITEMS
        #: Items the current tracker acknowledged (so lists: a buyer's
        #: lookup names this seller), each said once in the log.
        self.listed = NO_ITEMS
        #: item -> registers and unregisters of it sent to the current
        #: tracker and not yet acknowledged: its acks come in order, so
        #: the index is as this node last asked once none is left.
        self._unacked = NOTHING
        #: item -> the L{_Lookup} waiting for a found.
        self._lookups = NOTHING
        #: item -> when its last lookup went out, for pacing.
        self._asked = NOTHING
        #: L{book}, made at the first record.
        self._book = None
        self._renewal = None
        #: The timer of the acks awaited (L{ACK_WAIT}), _RESENT once they
        #: were sent again, or None.
        self._ackCall = None
        node.addObserver(self)

    @property
    def membership(self):
        return self.node.membership

    @property
    def book(self):
        """The node's records (L{RecordBook}), made when it first registers
        an item."""
        book = self._book
        if book is None:
            book = self._book = RecordBook(self.node.identity, self.node.clock)
        return book

    def _send(self, message):
        sent = self.canFind() and self.membership.send(message)
        if sent and type(message) in (Register, Unregister):
            unacked = own(self, "_unacked")
            unacked[message.item] = unacked.get(message.item, 0) + 1
            if self._ackCall is None and self.running:
                self._ackCall = self.node.clock.callLater(ACK_WAIT, self._unanswered)
        return sent

    def _stopAckCall(self):
        """No ack awaited (or a new round of them): the timer goes, and
        unacked items may be sent again."""
        if self._ackCall not in (None, _RESENT):
            self._ackCall.cancel()
        self._ackCall = None

    def _unanswered(self):
        """ACK_WAIT passed with registers or unregisters unacknowledged:
        each such item's state is sent again, once, as if the ones before
        were lost (an ack of one of them that comes late changes nothing)."""
        self._ackCall = _RESENT
        self._sayGone()
        items = sorted(self._unacked)
        self._unacked = NOTHING
        for item in items:
            if item in self.registered:
                self._register(item)
            else:
                self._send(Unregister(item))

    # -- selling ---------------------------------------------------------------

    def advertise(self, shop):
        self.shops = [*self.shops, shop]
        for item, units in sorted(shop.inventory().items()):
            self.stockChanged(item, units)

    def stockChanged(self, item, units):
        """Register an item that is in stock, withdraw one that ran out.
        The tracker takes at most MAX_ITEMS_PER_NODE items of a node and
        counts each register past them as an error (enough of them cut
        the link, and the node registered everything again, for ever):
        an item past them waits, said once, and takes the place of one
        that runs out."""
        in_stock = any(shop.inventory().get(item, 0) > 0 for shop in self.shops)
        if in_stock and item not in self.registered:
            if len(self.registered) >= MAX_ITEMS_PER_NODE:
                self._wait(item)
                return
            if self.registered is NO_ITEMS:
                self.registered = _Registered()
            self.registered.add(item)
            self._register(item)
            self._renewLater()
        elif not in_stock and item in self._unlisted:
            self._unlisted.discard(item)
        elif not in_stock and item in self.registered:
            self.registered.discard(item)
            self._send(Unregister(item))
            if self._unlisted:
                waiting = min(self._unlisted)
                self._unlisted.discard(waiting)
                self.stockChanged(waiting, 1)

    @property
    def _unlisted(self):
        """Items in stock past the tracker's room for this node's
        (MAX_ITEMS_PER_NODE), not registered until one registered runs
        out (L{_Registered})."""
        return getattr(self.registered, "waiting", NO_ITEMS)

    def _wait(self, item):
        """item is in stock past the tracker's room for this node's items:
        kept unregistered, said once as the first such item comes."""
        if item in self._unlisted:
            return
        if not self._unlisted:
            self.log.warn(
                "the index tracker lists at most {most} items of one node, and "
                "this node has {most} registered: {item} and any more it sells "
                "are not registered, so no buyer finds them here (a shared file "
                "is two items, its name and its content; sell the rest from "
                "another node)", most=MAX_ITEMS_PER_NODE, item=item)
        self.registered.wait(item)

    def trackerRegistered(self):
        """A (new) tracker knows us: tell it everything we sell again."""
        self.membership.parts.takeFrom(self)
        self.listed = NO_ITEMS
        self._unacked = NOTHING
        self._stopAckCall()
        for item in sorted(self.registered):
            self._register(item)

    def relayChanged(self):
        """The node is reached another way: register every item again,
        its record naming the relay (or none)."""
        for item in sorted(self.registered):
            self._register(item)

    def _renewLater(self):
        """While it sells anything, register every item again (its record
        signed anew) every half of a record's validity, so that the
        records the tracker hands out live."""
        if self.running and (self._renewal is None or not self._renewal.active()):
            self._renewal = self.node.clock.callLater(self.book.renewal, self._renew)

    def _renew(self):
        self._renewal = None
        self._stopAckCall()
        if self.registered:
            for item in sorted(self.registered):
                self._register(item)
            self._renewLater()

    def _register(self, item):
        """Register item with the tracker, if there is one, with the
        seller's record of it (which describes the file, if the shop that
        has it in stock shares one)."""
        if not self.canFind():
            return
        node = self.node
        self._send(Register(item, self.book.record(item, node.config.host, node.port,
                                                   fileIn(self.shops, item),
                                                   node.relay)))

    # -- buying ------------------------------------------------------------------

    def canFind(self):
        return self.membership is not None and self.membership.isRegistered

    def find(self, item, wait):
        node = self.node
        lookup = self._lookups.get(item)
        first = lookup is None
        if first:
            lookup = own(self, "_lookups")[item] = _Lookup()

        def cancel(d):
            self._drop(item, waiter)

        finished = defer.Deferred(cancel)
        waiter = (finished, None)
        node.events.findStarted(item)
        pause = 0.0
        if first:
            # One lookup per item per window, as flooding sends one search,
            # unless a purchase came in between: a seller that says soldout
            # to every buy must not make its buyers spin on the tracker.
            last = self._asked.get(item, float("-inf"))
            pause = max(0.0, last + wait - node.clock.seconds())
            if pause:
                lookup.pause = node.clock.callLater(pause, self._lookup, item)
        waiter = (finished, node.clock.callLater(pause + wait, self._timedOut, item,
                                                 finished))
        lookup.waiters.append(waiter)
        if first and not pause:
            self._lookup(item)
        return finished

    def _drop(self, item, waiter):
        """A waiter leaves (cancelled, or timed out); the lookup goes when
        nobody waits for it."""
        lookup = self._lookups.get(item)
        if lookup is None:
            return
        for each in list(lookup.waiters):
            if each[0] is waiter[0]:
                lookup.waiters.remove(each)
                if each[1] is not None and each[1].active():
                    each[1].cancel()
        if not lookup.waiters:
            del self._lookups[item]
            if lookup.pause is not None and lookup.pause.active():
                lookup.pause.cancel()

    def _timedOut(self, item, finished):
        self._drop(item, (finished, None))
        self.node.events.offersFound(item, [])
        finished.callback([])

    def _lookup(self, item):
        """Ask the tracker who sells item; without one, nobody does."""
        lookup = self._lookups.get(item)
        if lookup is None:
            return
        lookup.pause = None
        if not self._send(Lookup(item)):
            self._answer(item, ())
            return
        own(self, "_asked")[item] = self.node.clock.seconds()

    def _bought(self, link, message):
        """A buyOK: its item is found, and asked for again from scratch."""
        self._asked.pop(message.item, None)

    delivers = {BuyOK: _bought}

    def _answer(self, item, sellers, namedBy=None):
        """The sellers of item the tracker named (``namedBy``: its
        connection's address group), as offers to those who wait."""
        node = self.node
        offers = recordedOffers(node, item, [(record, host, port, namedBy)
                                             for _, host, port, record in sellers])
        for offer in offers:
            node.events.offerArrived(item, offer)
        node.events.offersFound(item, offers)
        lookup = self._lookups.pop(item, None)
        for finished, timer in lookup.waiters if lookup else ():
            if timer is not None and timer.active():
                timer.cancel()
            finished.callback(list(offers))

    # -- answers from the tracker ---------------------------------------------------

    def _found(self, link, message):
        self._answer(message.item, message.sellers, trackersGroup(self.node.membership))

    def _acked(self, link, message):
        """A register or an unregister taken.  Once the last one sent of an
        item is, the log says, once, that buyers' lookups now name this
        seller for it (the first ack of an item in stock), or no longer
        do (the ack of its unregister, once it ran out: with the others
        that went, once every ack is in, L{_sayGone})."""
        item = message.item
        if self._unacked.get(item, 0) > 1:
            self._unacked[item] -= 1
            return
        self._unacked.pop(item, None)
        if not self._unacked:
            self._stopAckCall()
        if item in self.registered and item not in self.listed:
            if self.listed is NO_ITEMS:
                self.listed = _Listed()
            if self.listed.listing(item):
                self.log.info("the tracker's index lists {item}", item=item)
        elif item not in self.registered and item in self.listed:
            self.listed.delisted(item)
        if not self._unacked:
            self._sayRest()

    def _sayRest(self):
        """Every ack is in: the items listed and not said one by one, in
        one line (the next listed are said one by one again), and those
        no longer listed."""
        unsaid = 0 if self.listed is NO_ITEMS else self.listed.rest()
        if unsaid:
            self.log.info("the tracker's index lists {n} more items, {total} in all",
                          n=unsaid, total=len(self.listed))
        self._sayGone()

    def _sayGone(self):
        """The items no longer listed since last said, in one line: when
        every ack is in, or an ack awaited for ACK_WAIT did not come."""
        gone = () if self.listed is NO_ITEMS else self.listed.dropped()
        if gone:
            self.log.info("the tracker's index no longer lists {items}",
                          items=namedFew(gone, SAY_GONE))

    def _listed(self, link, message):
        """A ``listing``: the answer to a ``list`` this node never asks
        (a client's question), so it is dropped unread and unlogged.  It
        was logged whole, a line of up to a frame a message, as often as
        a tracker (a lying one among several) sent it."""

    #: What it takes from the tracker (L{Membership.takeFrom}).
    fromTracker = {Found: _found, Ack: _acked, Listing: _listed}

    # -- IService --------------------------------------------------------------------

    def startService(self):
        super().startService()
        self._renewLater()

    def stopService(self):
        """End every lookup in progress, with no offers, and register
        nothing again."""
        super().stopService()
        if self._renewal is not None and self._renewal.active():
            self._renewal.cancel()
        self._renewal = None
        self._stopAckCall()
        for item in list(self._lookups):
            lookup = self._lookups[item]
            for finished, _ in list(lookup.waiters):
                self._drop(item, (finished, None))
                finished.callback([])

