"""
Tests of L{twisted_bazaar.testing.udpnat}'s routers that keep conntrack's
entries for what came unasked: when they forget them, and what looking
them over costs.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udp.plan import UNASKED
from twisted_bazaar.testing.udpnat import PORT_RESTRICTED, UdpRouter

HOST = ("192.168.1.2", 5000)


def _router():
    return UdpRouter("203.0.113.1", PORT_RESTRICTED, random.Random(1), conntrack=True)


def _peer(i):
    return (f"198.51.100.{i % 250 + 1}", 6000 + i)


class ForgetTests(SynchronousTestCase):
    def test_unaskedHeldUntilItsTime(self):
        """A pair that came unasked takes the host's own first datagram
        of it to another port until L{UNASKED} s have passed; from then
        it leaves from its mapping's port."""
        for when, drawn in ((UNASKED - 0.01, True), (UNASKED, False)):
            router = _router()
            self.assertIsNone(router.inbound(HOST[1], _peer(1), 0.0))
            port = router.outbound(HOST, _peer(1), when)
            self.assertEqual(port != HOST[1], drawn, (when, port))

    def test_unaskedAgainLivesOn(self):
        """A pair that comes unasked again is held L{UNASKED} s from
        then."""
        router = _router()
        router.inbound(HOST[1], _peer(1), 0.0)
        router.inbound(HOST[1], _peer(1), 20.0)
        self.assertNotEqual(router.outbound(HOST, _peer(1), 45.0), HOST[1])
        router = _router()
        router.inbound(HOST[1], _peer(1), 0.0)
        router.inbound(HOST[1], _peer(1), 20.0)
        self.assertEqual(router.outbound(HOST, _peer(1), 20.0 + UNASKED), HOST[1])

    def test_flowForgotten(self):
        """The host's flow whose last datagram is L{UNASKED} s old is
        forgotten: an answer then is dropped, one before comes in (and
        keeps it)."""
        router = _router()
        router.outbound(HOST, _peer(1), 0.0)
        self.assertEqual(router.inbound(HOST[1], _peer(1), UNASKED - 1), HOST)
        self.assertEqual(router.inbound(HOST[1], _peer(1), 2 * UNASKED - 2), HOST)
        self.assertIsNone(router.inbound(HOST[1], _peer(1), 3 * UNASKED - 2))


class CostTests(SynchronousTestCase):
    def test_lookedOverOnlyWhenOneIsDue(self):
        """
        2,000 pairs come unasked over 20 s, then one datagram 35 s in:
        the router compares an entry's age with L{UNASKED} at most twice
        an entry (it looked each over at every datagram: 2 million
        comparisons, 25 CPU-s of a test of the punch's races), and
        forgets the pairs 30 s old then, not the others.
        """
        ages = []

        class Moment(float):
            def __sub__(self, other):
                ages.append(other)
                return float(self) - other

        router = _router()
        count = 2000
        for i in range(count):
            router.inbound(HOST[1], _peer(i), Moment(i * 0.01))
        router.inbound(HOST[1], _peer(count), Moment(35.0))
        self.assertLessEqual(len(ages), 2 * count)
        self.assertEqual(router.outbound(HOST, _peer(100), 35.0), HOST[1])
        self.assertNotEqual(router.outbound(HOST, _peer(count - 1), 35.0), HOST[1])
