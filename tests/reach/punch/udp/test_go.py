"""
Tests for L{twisted_bazaar.reach.punch.udp.go}: what a side sends for a
tracker's ``udppunchgo``, or why nothing, on a fake clock.
"""

import random

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udp.go import planFor
from twisted_bazaar.reach.punch.udp.mapping import FRESH, KNOWN, MappingCheck
from twisted_bazaar.wire.udpreach import UdpPunchGo, UdpReached

PEER = 0x1234
PEER_HOST = "203.0.113.9"


class OwnMappingTests(SynchronousTestCase):
    """A go is answered while this side's own udpreach is under KNOWN
    seconds old (the tracker's bound for the peer's aim), not only
    FRESH."""

    def setUp(self):
        self.clock = task.Clock()
        self.check = MappingCheck(self.clock, lambda: None)
        self.check.freshen(lambda: True)
        self.check.reached(UdpReached("198.51.100.7", 4433, 4433))
        self.go = UdpPunchGo(PEER, PEER_HOST, 5000, 5000, 77)

    def planned(self):
        return planFor(self.go, PEER_HOST, self.check, None, random.Random(1))

    def test_staleButKnown(self):
        """Past FRESH, with a check asked and not yet answered (a link
        came up and freshened it), the go still gets its plan: the
        simultaneous one of two easy routers."""
        self.clock.advance(FRESH + 5)
        self.assertIs(self.check.freshen(lambda: True), False)
        plan, why = self.planned()
        self.assertEqual((plan.strategy, plan.host, plan.sockets, why),
                         ("simultaneous", PEER_HOST, 1, ""))

    def test_unknown(self):
        """KNOWN seconds on, the tracker would aim the peer at nothing of
        this side's: no plan, saying why."""
        self.clock.advance(KNOWN)
        self.assertEqual(self.planned(),
                         (None, "this node's own UDP mapping is not known now"))
