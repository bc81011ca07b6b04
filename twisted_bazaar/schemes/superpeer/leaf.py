"""
The leaf's side of the scheme.

A leaf registers its whole inventory with each super-peer it links to
(``leafRegister``, with the port it listens on), then sends only what
changes (``leafUpdate``); each is acknowledged (``leafAck``).  A leaf
with nothing to list registers nothing: its link serves its queries at
once, and it registers with each of its super-peers only once it has
stock (a restock, a new shop or shared file): most leaves of a market
buy and never sell, and their registers were most of a search's cost.
It asks one super-peer at a time (``leafQuery``) and takes its
``leafHits``, judging each super-peer by what its answers come to
(L{Standing}): it asks those whose answers gave it something, and lets
go of one whose answers came to nothing L{STRIKES} times in a row.  When
a super-peer's link closes, its queries go to another super-peer at once,
and the topology links to a new one, which gets the whole inventory
again.  Sales never pass through a super-peer, so none is lost with it.
Registers and updates describe the shared files among the items they
name (``files``), so that buyers can fetch them.
A super-peer that does not acknowledge within L{ACK_TIMEOUT} (doubling up
to L{ACK_TIMEOUT_MAX}) gets the whole inventory again: a register
replaces, so repeating one is harmless.  An inventory too large for one
frame (many shared files, long names) goes as a register of its first
part and updates adding the rest (L{parts}); the leaf is registered
once the last is acknowledged.  Each item goes with the leaf's signed
record of it (L{RecordBook}), which describes a shared file; every half
of a record's validity the leaf sends its whole inventory again as
updates, with its records signed anew, so that the records its
super-peers hand out live.
"""

import json

from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.base.sparing import NO_MEMBERS, NOTHING, own, ownSet
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.words import plural
from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.core.market import fileIn
from twisted_bazaar.core.records import RecordBook
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.fitting import frameLimit, packed
from twisted_bazaar.schemes.superpeer.standing import STRIKES, Standing
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF,
    MAX_ITEMS,
    LeafAck,
    LeafHits,
    LeafQuery,
    LeafRegister,
    LeafUpdate,
)


#: Seconds a super-peer has to acknowledge a register or update.
ACK_TIMEOUT = 2.0
ACK_TIMEOUT_MAX = 30.0


def parts(items, records, limit, empty):
    """
    items (item -> units) and their records (item -> L{Record}) split
    into (items, records or None) parts, in item order, each of which
    makes a message of at most ``limit`` bytes when put in ``empty`` (a
    register or update with empty items and records, its other fields as
    they will be sent), by L{packed}.  An item that would not fit alone
    is left out, logged.
    """

    def cost(entry):
        item, units = entry
        name = len(json.dumps(item, ensure_ascii=False).encode("utf-8"))
        cost = name + len(str(units)) + 2
        record = records.get(item)
        if record is not None:
            cost += name + len(json.dumps(record.asDict(), ensure_ascii=False,
                                          separators=(",", ":")).encode("utf-8")) + 2
        return cost

    found, over = packed(sorted(items.items()), cost, empty, limit)
    for item, _ in over:
        LeafSide.log.error("not registering {item!r}: its entry alone is over the "
                           "{limit}-byte frame limit", item=item[:64], limit=limit)
    return [(dict(part), {item: records[item] for item, _ in part
                          if records.get(item) is not None} or None)
            for part in found]


class _Awaited:
    """The last register or update sent to one super-peer, not yet
    acknowledged."""

    def __init__(self, seq, timer, delay):
        self.seq = seq
        self.timer = timer
        self.delay = delay


class _Find:
    """One query in progress: where it went, its Deferred and timer."""

    def __init__(self, item, superpeer, finished, timer):
        self.item = item
        self.superpeer = superpeer
        self.finished = finished
        self.timer = timer


class LeafSide(NodeObserver):
    """
    @ivar told: item -> units the super-peers were last told.
    @ivar registered: super-peers that acknowledged this leaf's register.
    @ivar quiet: super-peers linked to which this leaf sent no register,
        having had nothing to list since the link came: their links serve
        its queries as they are.
    """

    # Slots, not a dict: a simulation holds one a node.
    __slots__ = ("node", "shops", "told", "registered", "quiet", "book", "_renewing", "_renewal",
                 "onServing", "_seq", "_registering", "_awaited", "_finds", "_standing", "letGo")

    log = Logger()

    def __init__(self, node, shops):
        self.node = node
        self.shops = shops
        # Its tables and sets are the shared empty ones until written
        # (base/sparing.py): a leaf of a large market is registered, or
        # quiet, with its two super-peers, not both, and most never search.
        self.told = NOTHING
        self.registered = NO_MEMBERS
        self.quiet = NO_MEMBERS
        self.book = RecordBook(node.identity, node.clock)
        self._renewing = False
        self._renewal = None
        #: Told ``onServing(peer)`` when a link to a super-peer serves (it
        #: took this leaf's register, or the leaf has nothing to list), if
        #: set (the topology, whose backoff then starts over).
        self.onServing = None
        self._seq = 0
        #: super-peer -> (seq of the register it has yet to acknowledge,
        #: whether it took one before).
        self._registering = NOTHING
        #: super-peer -> the L{_Awaited} acknowledgement.
        self._awaited = NOTHING
        #: query id -> L{_Find}.
        self._finds = NOTHING
        #: Its super-peers' L{Standing}: made at the first find (most
        #: leaves of a large market never search).
        self._standing = None
        #: Told ``letGo(peer, why)`` to close the link to a super-peer whose
        #: answers came to nothing, if set (the topology's; see
        #: L{twisted_bazaar.schemes.superpeer.topology.SuperPeerLinks.letGo}).
        self.letGo = None
        node.takeFrom(self)
        node.addObserver(self)

    def superpeers(self):
        return self.node.peersOf(LEAF)

    def _next(self):
        self._seq += 1
        return self._seq

    def units(self, item):
        return sum(shop.inventory().get(item, 0) for shop in self.shops)

    def records(self, items):
        """item -> this leaf's signed record of it, for the items in stock
        among items (describing the file the shop that has it shares)."""
        node = self.node
        return {item: self.book.record(item, node.config.host, node.port,
                                       fileIn(self.shops, item), node.relay)
                for item in items if self.units(item) > 0}

    def inventory(self):
        """item -> units in stock, over every shop."""
        stock = {}
        for shop in self.shops:
            for item, units in shop.inventory().items():
                if units > 0:
                    stock[item] = stock.get(item, 0) + units
        return stock

    # -- registering ---------------------------------------------------------------

    def serving(self):
        """Super-peers whose link serves this leaf's queries: those that
        took its register, and those it has nothing to list with."""
        return self.registered | self.quiet

    def serves(self, peer_id, registered):
        """Note that the link to super-peer peer_id serves this leaf: it
        took its register (registered), or the leaf has nothing to list
        (quiet)."""
        ownSet(self, "registered" if registered else "quiet").add(peer_id)

    def linkAdded(self, peer_id):
        link = self.node.linkTo(peer_id)
        if link is None or link.purpose != LEAF:
            return
        if self.inventory():
            self._register(link)
            return
        self.serves(peer_id, registered=False)
        self.log.info("linked to super-peer {peer} (nothing to list)",
                      peer=shortId(peer_id))
        if self.onServing is not None:
            self.onServing(peer_id)

    def _register(self, link, delay=ACK_TIMEOUT):
        stock = self.inventory()
        if len(stock) > MAX_ITEMS:
            self.log.warn("registering {n} of {total} items: a super-peer indexes "
                          "at most {n} per leaf", n=MAX_ITEMS, total=len(stock))
            stock = dict(sorted(stock.items())[:MAX_ITEMS])
        self.told = stock
        self.quiet.discard(link.peer_id)
        # A register of a super-peer that took one before (the node is
        # reached another way, or an update went unacknowledged) is said
        # as one again: a leaf on an IPv6 bed logged "registered with
        # super-peer X" three times, its relay changing twice.
        again = link.peer_id in self.registered
        self.registered.discard(link.peer_id)
        host, port = self.node.config.host, self.node.port
        first, *rest = parts(stock, self.records(stock), frameLimit(link),
                             LeafRegister(wire.ID_LIMIT - 1, host, port, {}, {}))
        seq = self._next()
        link.send(LeafRegister(seq, host, port, *first, relay=self.node.relay))
        for items, records in rest:
            seq = self._next()
            link.send(LeafUpdate(seq, items, records))
        own(self, "_registering")[link.peer_id] = (seq, again)
        self._await(link.peer_id, seq, delay)
        self._renewLater()

    def _await(self, peer, seq, delay=None):
        """peer is to acknowledge seq, or get the whole inventory again."""
        awaited = self._awaited.get(peer)
        if awaited is not None:
            awaited.timer.cancel()
            delay = delay or awaited.delay
        delay = delay or ACK_TIMEOUT
        timer = self.node.clock.callLater(delay, self._unacknowledged, peer)
        own(self, "_awaited")[peer] = _Awaited(seq, timer, delay)

    def _unacknowledged(self, peer):
        awaited = self._awaited.pop(peer)
        link = self.node.linkTo(peer)
        if link is not None and link.purpose == LEAF:
            self.log.info("super-peer {peer} did not acknowledge {seq}; registering "
                          "again", peer=shortId(peer), seq=awaited.seq)
            self._register(link, min(2 * awaited.delay, ACK_TIMEOUT_MAX))

    def _forgetAwaited(self, peer):
        awaited = self._awaited.pop(peer, None)
        if awaited is not None and awaited.timer.active():
            awaited.timer.cancel()

    def inventoryChanged(self, items):
        """Tell every super-peer what changed among items (a sale, a
        sell-out, a restock, a new shop); one this leaf had nothing to
        list with gets its first register once it has something."""
        changes = {}
        for item in items:
            units = self.units(item)
            if units != self.told.get(item, 0):
                changes[item] = units
                if units:
                    own(self, "told")[item] = units
                else:
                    del self.told[item]
        self._tell(changes)
        if self.told and self.quiet:
            for peer in sorted(self.quiet):
                self._register(self.node.linkTo(peer))
        self._renewLater()

    def _tell(self, changes):
        """Send changes (item -> units) to every super-peer that has a
        register of this leaf, as updates that fit in a frame, each item
        with its record."""
        superpeers = [peer for peer in self.superpeers() if peer not in self.quiet]
        if changes and superpeers:
            limit = min(frameLimit(self.node.linkTo(peer)) for peer in superpeers)
            for items, records in parts(changes, self.records(changes), limit,
                                        LeafUpdate(wire.ID_LIMIT - 1, {}, {})):
                update = LeafUpdate(self._next(), items, records)
                for peer in superpeers:
                    self.node.linkTo(peer).send(update)
                    self._await(peer, update.seq)

    def start(self):
        """Send records again from now on (see L{_renewLater})."""
        self._renewing = True
        self._renewLater()

    def _renewLater(self):
        """While the leaf sells anything, send every item in stock again
        with its record (signed anew once a quarter of its validity has
        gone) every half of a record's validity, so that the records its
        super-peers hand out live."""
        if self._renewing and self.told and (self._renewal is None
                                              or not self._renewal.active()):
            self._renewal = self.node.clock.callLater(self.book.renewal, self._renew)

    def relayChanged(self):
        """The node is reached another way: it registers again with each
        super-peer, naming the relay (or none), each record too."""
        for peer in sorted(self.registered | set(self._registering)):
            link = self.node.linkTo(peer)
            if link is not None:
                self._register(link)

    def _renew(self):
        self._renewal = None
        self._tell(dict(self.told))
        self._renewLater()

    def _acked(self, link, ack):
        awaited = self._awaited.get(link.peer_id)
        if awaited is not None and awaited.seq == ack.seq:
            self._forgetAwaited(link.peer_id)
        seq, again = self._registering.get(link.peer_id, (None, False))
        if seq == ack.seq:
            del self._registering[link.peer_id]
            self.serves(link.peer_id, registered=True)
            self.log.info("registered {again}with super-peer {peer} ({items})",
                          again="again " if again else "", peer=shortId(link.peer_id),
                          n=ack.items, items=plural(ack.items, "item"))
            if self.onServing is not None:
                self.onServing(link.peer_id)

    def linkRemoved(self, peer_id):
        if self._standing is not None:
            self._standing.forget(peer_id)
        self._registering.pop(peer_id, None)
        self._forgetAwaited(peer_id)
        let_go = self._standing is not None and self._standing.closing(peer_id)
        if peer_id in self.registered or peer_id in self.quiet:
            self.registered.discard(peer_id)
            self.quiet.discard(peer_id)
            if self.node.stopping:
                # This node closes its own links as it stops (its wants
                # met, say): no loss to tell at info.
                self.log.debug("closed the link to super-peer {peer} (stopping)",
                               peer=shortId(peer_id))
            elif let_go:
                # Its "letting super-peer go" line said so already.
                self.log.debug("closed the link to super-peer {peer} (let go)",
                               peer=shortId(peer_id))
            else:
                self.log.info("lost super-peer {peer}", peer=shortId(peer_id))
        for query_id, find in list(self._finds.items()):
            if find.superpeer == peer_id:
                self._send(query_id, find)

    # -- querying --------------------------------------------------------------------

    def canFind(self):
        return bool(self.superpeers())

    def find(self, item, wait):
        """
        Ask a super-peer who sells item; wait at most ``wait`` seconds.

        @return: a Deferred firing with [(seller, host, port, record,
            namedBy)], namedBy the address group of the super-peer's link
            that named it; empty when no super-peer answered; cancelling
            it forgets the query.
        """
        node = self.node
        standing = self.standing()
        self._judged(standing.searchingAgain(item),
                     f"no seller it named of {item[:64]!r} could be bought from")
        query_id = node.rng.randrange(1, wire.ID_LIMIT)
        finished = defer.Deferred(lambda d: self._end(query_id))
        timer = node.clock.callLater(wait, self._silent, query_id)
        find = own(self, "_finds")[query_id] = _Find(item, None, finished, timer)
        self._send(query_id, find)
        return finished

    def _send(self, query_id, find):
        """Send (or send again) a query to a super-peer, those whose link
        serves (L{serving}) first; with none, it ends with no sellers."""
        linked = self.superpeers()
        serving = self.serving()
        choices = [peer for peer in linked if peer in serving] or linked
        if not choices:
            self._answer(query_id, ())
            return
        find.superpeer = self.standing().choose(choices, self.node.rng)
        self.node.linkTo(find.superpeer).send(LeafQuery(query_id, find.item))

    def standing(self):
        """This leaf's L{Standing} of its super-peers."""
        if self._standing is None:
            node = self.node
            self._standing = Standing(
                node.unreachable,
                lambda peer: (link := node.linkTo(peer)) is not None and link.purpose == LEAF)
        return self._standing

    def soldNothing(self, seller_id):
        if self._standing is not None:
            self._standing.soldNothing(seller_id)

    refusedToSell = soldNothing

    def _judged(self, superpeer, why):
        """Let superpeer go (if not None): its answers came to nothing
        L{STRIKES} times in a row, the last as why says."""
        if superpeer is not None and self.letGo is not None:
            if self.letGo(superpeer, f"its last {STRIKES} answers came to nothing (the "
                                     f"last: {why})"):
                self.standing().lettingGo.add(superpeer)

    def _silent(self, query_id):
        """A query's wait ran out, its super-peer silent."""
        find = self._finds[query_id]
        self._answer(query_id, ())
        if self.standing().silent(find.superpeer):
            self._judged(find.superpeer, f"no answer to a query for {find.item[:64]!r} "
                                         f"in time")

    def _hits(self, link, hits):
        find = self._finds.get(hits.id)
        if find is not None and find.item == hits.item:
            sellers = [seller for seller in hits.sellers if seller[0] != self.node.id]
            fruitless = self.standing().answered(link.peer_id, find.item,
                                                 [seller[0] for seller in sellers])
            namer = groupOf(link)
            self._answer(hits.id, [tuple(seller) + (namer,) for seller in sellers])
            if fruitless:
                self._judged(link.peer_id, f"no seller of {find.item[:64]!r} named")

    #: What a leaf takes on its links to super-peers (L{Node.takeFrom}).
    takes = {LeafAck: _acked, LeafHits: _hits}

    def _end(self, query_id):
        find = self._finds.pop(query_id, None)
        if find is not None and find.timer.active():
            find.timer.cancel()
        return find

    def _answer(self, query_id, sellers):
        find = self._end(query_id)
        if find is not None:
            find.finished.callback([seller for seller in sellers
                                    if seller[0] != self.node.id])

    def stop(self):
        """End every query in progress, with no sellers, wait for no
        acknowledgement, and send no records again."""
        self._renewing = False
        if self._renewal is not None and self._renewal.active():
            self._renewal.cancel()
        self._renewal = None
        for peer in list(self._awaited):
            self._forgetAwaited(peer)
        for query_id in list(self._finds):
            self._answer(query_id, ())
