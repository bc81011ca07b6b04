"""
The sellers of a file a buyer does not buy it from: those it has no way
to fetch it from.  A file comes over a connection of its own to its
seller, not along the path its purchase took, so a buyer whose network
lets out only the way it reaches its tracker (a transport plugin's
tracker address, where a firewall lets only HTTP(S) out) pays nobody held
at a relay it has no way of that kind to (a public node's relay without
that transport's port): its file could never come (L{wayOutTo}).  Whoever the tracker's word on is
not fresh is asked about first, and bought from once it names a way.
"""

from twisted.logger import Logger

from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.base.lately import Recent
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.reach.ways import wayOutTo
from twisted_bazaar.wire.ids import shortId

#: Questions to the tracker (``whereis``) under way at once: offers from
#: many fresh keys cost it no more.
MOST_ASKING = 8
#: Sellers (with their relay) each said once to be out of reach.
TOLD_KEPT = 1024


class OutOfReach:
    """
    Which offers of a file a buyer's node has a way to fetch from
    (L{reachable}), asking the tracker where the others are.

    @ivar asking: seller id -> the question about it under way.
    """

    log = Logger()

    def __init__(self, node):
        self.node = node
        self.asking = {}
        #: Sellers whose question was answered: still no way, they are said.
        self._answered = Recent(TOLD_KEPT)
        self._told = Recent(TOLD_KEPT)

    def reachable(self, offers):
        """offers, less those of a file whose seller this node has no way
        to (L{wayOutTo}), each said once in an info line; one whose seller
        the tracker's word is not fresh on is left out until the tracker
        answered where it is."""
        where = self.node.whereabouts
        kept = []
        for offer in offers:
            way = offer.sha256 is None or wayOutTo(where, offer.seller, offer.relay)
            if way:
                kept.append(offer)
                continue
            if way is False or offer.seller in self._answered:
                self._tell(offer, where.tracker().trackerWay.kind)
            if way is None:
                self._ask(where, offer.seller)
        return kept

    def _tell(self, offer, kind):
        """Say once that a seller is left out: of a buy, or of a running
        download's sellers (L{Sellers.add
        <twisted_bazaar.roles.files.sellers.Sellers.add>}), whose buy is done."""
        told = (offer.seller, offer.relay)
        if told in self._told:
            return
        self._told.add(told)
        self.log.info(
            "{item}: leaving out seller {seller} (no buy from it, no bytes fetched from "
            "it): it is held at the relay at {relay}, which the tracker names no {kind} "
            "way to, and this node reaches its tracker by {kind}: its file could not come",
            item=offer.record.item if offer.record is not None else offer.sha256,
            seller=shortId(offer.seller), relay=offer.relay, kind=kind)

    def _ask(self, where, seller):
        if seller in self.asking or len(self.asking) >= MOST_ASKING:
            return
        d = self.asking[seller] = where.book.ask(seller)

        def answered(_):
            self._answered.add(seller)

        def done(result):
            self.asking.pop(seller, None)
            return result

        d.addBoth(done)
        d.addCallbacks(answered, lambda reason: reason.trap(TrackerGone) and None)
        d.addErrback(ignoreCancelled)

    def stop(self):
        """Give up the questions under way."""
        for d in list(self.asking.values()):
            d.cancel()
