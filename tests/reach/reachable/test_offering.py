"""
The relay offering service (L{twisted_bazaar.reach.reachable.offering}): a node with
a relay of its own offers it to its tracker once found public.
"""

import random

from tests.core.test_membership import MembershipCase, reach
from twisted_bazaar.daemon.build import plugRelayOffer, plugReservations
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.transports.relay.limits import NODE_LIMITS


class OfferTests(MembershipCase):
    def setUp(self):
        super().setUp()
        self.node.identity = Identity.fromRandom(random.Random(3))
        plugReservations(self.node)
        self.offering = plugRelayOffer(self.node, NODE_LIMITS)
        self.offering.relay.port = 7702
        self.register()

    def test_publicNodeOffers(self):
        """A node with a relay found reachable offers it, once per tracker
        connection."""
        self.tracker.say(reach(True))
        self.tracker.say(reach(True))
        self.assertEqual(self.tracker.heard(), [{"type": "relayOffer", "port": 7702,
                                                 "slots": NODE_LIMITS.reservations}])

    def test_unreachableOffersNothing(self):
        """Found unreachable, it offers nothing (it reserves instead)."""
        self.tracker.say(reach(False))
        self.assertEqual(self.tracker.heard(), [{"type": "relayReserve"}])

    def test_offeredAgainToANewConnection(self):
        """A new tracker connection (the last one lost) is told of the
        relay anew."""
        self.tracker.say(reach(True))
        self.tracker.heard()
        self.tracker.link.transport.loseConnection()
        self.tracker = self.connectTracker()
        self.register()
        self.tracker.say(reach(True))
        self.assertEqual(self.tracker.heard(), [{"type": "relayOffer", "port": 7702,
                                                 "slots": NODE_LIMITS.reservations}])

    def test_notBeforeItListens(self):
        """A relay whose port does not listen yet (or any more) is not
        offered; it is once it listens."""
        self.offering.relay.port = 0
        self.tracker.say(reach(True))
        self.assertEqual(self.tracker.heard(), [])
        self.offering.relay.port = 7702
        self.tracker.say(reach(True))
        self.assertEqual(len(self.tracker.heard()), 1)

