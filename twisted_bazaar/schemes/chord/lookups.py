"""
A Chord node's own lookups: which node holds a key, who sells an item (a
buyer's find, turned into offers), and the answers that end them; a
find takes a detour (L{twisted_bazaar.schemes.chord.detouring}) when
routing did not answer usefully.  L{Lookups} is a part of
L{ChordDiscovery <twisted_bazaar.schemes.chord.node.ChordDiscovery>},
reaching the scheme through L{IRingHost
<twisted_bazaar.schemes.chord.upkeep.IRingHost>}; the routing itself is
L{KeyRouter <twisted_bazaar.schemes.chord.routing.KeyRouter>}'s.
"""

from twisted.internet import defer

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.core.market import recordedOffers
from twisted_bazaar.core.records import recordFault
from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.base.lately import Recent
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.schemes.chord.messages import (
    ChordFind,
    ChordFound,
    ChordRecords,
    ChordRequest,
    ChordStored,
)
from twisted_bazaar.schemes.chord.namers import peersIn
from twisted_bazaar.schemes.chord.ring import keyOf, place, strictlyBetween

#: Sellers found to refuse to sell that a node remembers.
REFUSING_KEPT = 256


class Lookups:
    """
    Locate keys, find sellers, and end lookups with their answers.

    @ivar host: the L{IRingHost <twisted_bazaar.schemes.chord.upkeep.IRingHost>}.
    @ivar detouring: the node's L{Detouring
        <twisted_bazaar.schemes.chord.detouring.Detouring>}, which a find's
        detour takes.
    @ivar _refusing: sellers a buyer on this node found to refuse to sell
        (L{refusedToSell}): made when first needed.
    """

    __slots__ = ("host", "detouring", "_refusing")

    def __init__(self, host, detouring):
        self.host = host
        self.detouring = detouring
        self._refusing = None

    def canFind(self):
        host = self.host
        return host.joined and not host.stopped

    def locate(self, key, timeout=None):
        """Which node holds key?  A Deferred firing with the L{ChordFound}
        (its ``hops`` say how far it went), or None."""
        host = self.host
        return host.router.start(lambda i: ChordFind(i, key, ()),
                                 timeout or host.settings.lookup_timeout)

    def request(self, item, timeout=None):
        """
        Who sells item?  A Deferred firing with the first L{ChordRecords}
        that names a valid signed record of it, or else the last of those
        from as many distinct holders as the request reaches (the empty
        answer of one holder, which may hide the item, is not the end), or
        None.
        """
        host = self.host
        clock = host.node.clock

        def settles(answer):
            return any(recordFault(record, wallSeconds(clock), item=item, alive=True) is None
                       for record in answer.sellers)

        holders = host.settings.holders
        return host.router.start(lambda i: ChordRequest(i, item, (), holders
                                                        if holders > 1 else None),
                                 timeout or host.settings.lookup_timeout,
                                 settles=settles, wanted=host.router.reachable())

    def find(self, item, wait):
        node = self.host.node
        if not self.canFind():
            return defer.succeed([])
        node.events.findStarted(item)
        # Routing has the whole lookup timeout, whatever the caller's
        # wait: a detour must follow silence (a node on the way dropped
        # the request), not a slow route (a long ring, links still to
        # open), where it would only open more.
        asked = self.request(item, max(wait, self.host.settings.lookup_timeout))
        asked.addCallback(self._orDetour, item)
        finished = defer.Deferred(lambda d: asked.cancel())
        asked.addCallback(self._offers, item, finished)
        asked.addErrback(ignoreCancelled)
        return finished

    def refusedToSell(self, seller_id):
        """A buyer here found seller_id refuses to sell: its records are
        nothing to go on with (L{_goesOn})."""
        if self._refusing is None:
            self._refusing = Recent(REFUSING_KEPT)
        self._refusing.add(seller_id)

    def _goesOn(self, answer, item):
        """
        Has a holder's answer something a find can go on with: nothing at
        all (nobody sells the item), or a record that is valid and of a
        seller this node did not fail to reach when it last dialled it,
        nor found to refuse to sell?  A node may answer with a made-up
        seller of its own, signed, where nothing listens, or one that
        takes buys and never sells.
        """
        if not answer.sellers:
            return True
        node = self.host.node
        now = wallSeconds(node.clock)
        unreachable, refusing = node.unreachable, self._refusing or ()
        return any(recordFault(record, now, item=item, alive=True) is None
                   and not unreachable(record.seller) and record.seller not in refusing
                   for record in answer.sellers)

    def _orDetour(self, answer, item):
        """
        The records a find goes on with: those routing brought, if a
        holder answered with something to go on with (L{_goesOn}); else
        (no answer came: a node on the way dropped the request; or
        nothing to go on with did: a node on the way, or a holder,
        answered with a made-up seller) those and the holders' that a
        detour reaches, where only an answer with something to go on with
        counts as a holder's.
        """
        if answer is None:
            records = []
        else:
            records = list(answer.sellers)
            if self._goesOn(answer, item):
                return records
        host = self.host
        if not host.settings.paths:
            return records
        d = self.detouring.detourTo(keyOf(item),
                                    lambda i: ChordRequest(i, item, (), direct=True),
                                    counts=lambda answer: self._goesOn(answer, item))

        def merged(answers):
            # With what this node holds of the item itself: a detour asks
            # every node but its origin, and a store's detour may have
            # left the item here (past silent holders, say).
            held = [each.record for each in host.records.sellers(
                item, wallSeconds(host.node.clock))]
            sellers = {record.seller: record for record in records}
            for each in [held] + [answer.sellers for answer in answers]:
                for record in each:
                    sellers.setdefault(record.seller, record)
            return list(sellers.values())

        return d.addCallback(merged)

    def _offers(self, records, item, finished):
        """The sellers' records the holders named: each checked, as a
        storing node checks it, before it is an offer."""
        node = self.host.node
        offers = [offer for offer in recordedOffers(
            node, item, [(record, None, None, self.host.naming.recordNamer(record))
                         for record in records])
            if offer.port]
        node.rng.shuffle(offers)
        for offer in offers:
            node.events.offerArrived(item, offer)
        node.events.offersFound(item, offers)
        finished.callback(offers)

    def placeFound(self, link, message):
        """The answer to a lookup of a place on the ring (the peers it
        names, the link's word: L{Naming}); one that answers no lookup of
        this node's names nobody (it would push the namers of real
        entries out of their bounded table)."""
        host = self.host
        if not host.router.awaits(message):
            return
        host.naming.named(peersIn(message), groupOf(link))
        host.router.answered(message)

    def holderAnswered(self, link, message):
        """A holder's answer to a lookup of records, or to a store: taken
        if it answers a lookup of this node's and could hold the key
        (L{_fromAHolder}).  Unrequested records name no seller: they
        would push the namers of real ones out of their bounded table."""
        host = self.host
        if not host.router.awaits(message):
            return
        if not self._fromAHolder(message):
            host.log.debug("ignored {type} {id}: its holder {holder} lies before the "
                           "key, on the way to it", type=message.TYPE, id=message.id,
                           holder=shortId(message.holder))
            return
        if type(message) is ChordRecords and message.sellers:
            host.naming.named(message.sellers, groupOf(link))
        host.router.answered(message)

    #: The answers to this node's lookups, delivered at the end of their
    #: path (handed on by the scheme, the node's observer:
    #: L{ChordDiscovery.delivers
    #: <twisted_bazaar.schemes.chord.node.ChordDiscovery.delivers>}):
    #: message class -> function(lookups, link, message).
    delivers = {ChordFound: placeFound, ChordRecords: holderAnswered,
                ChordStored: holderAnswered}

    def _fromAHolder(self, answer):
        """
        Could the node that answered hold the key of the answer's item?
        Every holder lies at or after the key; every node a lookup passes
        on its way from here lies before it, strictly between this node
        and the key.  So an answer from such a node (one on the way that
        answers instead of passing the request on) is not a holder's,
        with one exception: when no node this one knows lies between the
        key and this node, this node's own place would hold the key.  The
        ring may not have this node in that place (it has just joined, or
        it is a client off the ring, whose id does not solve the ring's
        puzzle), and then the key's holders are this node's first
        successors, which lie between it and the key all the same: an
        answer from one of them is a holder's.
        """
        host = self.host
        me, key, holder = place(host.node.id), keyOf(answer.item), answer.holder
        if not strictlyBetween(place(holder), me, key):
            return True
        ring = host.ring
        if ring is None or any(strictlyBetween(place(peer.id), key, me)
                               for peer in ring.known()):
            return False
        return any(peer.id == holder
                   for peer in ring.successors[:host.settings.holders])
