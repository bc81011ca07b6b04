"""
A Chord node's own lookups: which node holds a key, who sells an item (a
buyer's find, turned into offers), and the answers that end them.  A mixin
of L{ChordDiscovery <twisted_bazaar.schemes.chord.node.ChordDiscovery>},
whose state it uses; the routing itself is L{KeyRouter
<twisted_bazaar.schemes.chord.routing.KeyRouter>}'s.
"""

from twisted.internet import defer

from twisted_bazaar.core.market import recordedOffers
from twisted_bazaar.core.records import recordFault
from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.schemes.chord.messages import (
    ChordFind,
    ChordFound,
    ChordRecords,
    ChordRequest,
    ChordStored,
)


class Lookups:
    """
    Locate keys, find sellers, and end lookups with their answers.
    """

    def canFind(self):
        return self.joined and not self.stopped

    def locate(self, key, timeout=None):
        """Which node holds key?  A Deferred firing with the L{ChordFound}
        (its ``hops`` say how far it went), or None."""
        return self.router.start(lambda i: ChordFind(i, key, ()),
                                 timeout or self.settings.lookup_timeout)

    def request(self, item, timeout=None):
        """
        Who sells item?  A Deferred firing with the first L{ChordRecords}
        that names a valid signed record of it, or else the last of those
        from as many distinct holders as the request reaches (the empty
        answer of one holder, which may hide the item, is not the end), or
        None.
        """
        now = self.node.clock.seconds

        def settles(answer):
            return any(recordFault(record, now(), item=item, alive=True) is None
                       for record in answer.sellers)

        holders = self.settings.holders
        return self.router.start(lambda i: ChordRequest(i, item, (), holders
                                                        if holders > 1 else None),
                                 timeout or self.settings.lookup_timeout,
                                 settles=settles, wanted=self.router.reachable())

    def find(self, item, wait):
        node = self.node
        if not self.canFind():
            return defer.succeed([])
        node.events.findStarted(item)
        asked = self.request(item, wait)
        finished = defer.Deferred(lambda d: asked.cancel())
        asked.addCallback(self._offers, item, finished)
        asked.addErrback(ignoreCancelled)
        return finished

    def _offers(self, answer, item, finished):
        """The sellers' records a holder named: each checked, as a
        storing node checks it, before it is an offer."""
        node = self.node
        records = answer.sellers if answer is not None else ()
        offers = [offer for offer in recordedOffers(
            node, item, [(record, None, None) for record in records]) if offer.port]
        node.rng.shuffle(offers)
        for offer in offers:
            node.events.offerArrived(item, offer)
        node.events.offersFound(item, offers)
        finished.callback(offers)

    def delivered(self, message):
        if type(message) in (ChordFound, ChordRecords, ChordStored):
            self.router.answered(message)
