"""
Tests for L{twisted_bazaar.reach.reachable.incoming}: the ``relayIncoming`` a
node at home acts on are bounded per relay and in all, none is acted on
while the process's descriptors are near its limit, and what is declined
opens nothing and logs through the peer log; driven through the node's
tracker session, its relay the tracker's.
"""

import random

from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure

from tests.core.test_membership import MembershipCase, reach
from twisted_bazaar.daemon.build import plugReservations
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.reach.reachable.incoming import (
    ACCEPT_RATE,
    DIALLER_RATE,
    RELAY_ACCEPTS,
    RESERVE,
    IncomingAccepts,
    processDescriptors,
)

RELAY = "192.0.2.1:7701"
#: A victim's address, which the lying relay says every dialler is at.
VICTIM = "203.0.113.66"
#: An honest dialler, of an address group of its own.
HONEST = "192.0.2.77"


def strangers(n):
    """Hosts of n address groups (198.51.0.0/16, 198.52.0.0/16 ...)."""
    return [f"198.{51 + i}.100.7" for i in range(n)]


class AcceptsTests(MembershipCase):
    def setUp(self):
        super().setUp()
        self.node.identity = Identity.fromRandom(random.Random(3))
        self.service = plugReservations(self.node)
        self.register()
        self.open = 20
        self.tracker.say(reach(False))
        self.tracker.heard()
        self.tracker.say({"type": "relayReserved", "relay": RELAY})
        self.service.reservation.circuits.accepts = IncomingAccepts(
            self.clock, descriptors=lambda: (self.open, 1024))

    def incoming(self, n, host=VICTIM):
        """The relay announces n circuits, their diallers at host (or, a
        list, at each in turn); what the node logged."""
        hosts = [host] if isinstance(host, str) else host
        with capturedLogs() as events:
            for i in range(n):
                self.tracker.say({"type": "relayIncoming", "circuit": f"c{i}",
                                  "purpose": "node", "host": hosts[i % len(hosts)],
                                  "port": 40000 + i})
        return [formatEvent(e) for e in events]

    def test_perRelay(self):
        """A relay that sends ~25,000 relayIncoming (here 200) gets 16
        connections opened at once, the rest declined, said through the
        peer log (a few lines, not one each); once an accept ends (its
        circuit opened or failed), one more is made."""
        lines = self.incoming(200, strangers(20))
        requests = self.node.connector.requests
        self.assertEqual(len(requests), RELAY_ACCEPTS)
        declined = [line for line in lines if line.startswith("declined a relayed")]
        self.assertTrue(declined)
        self.assertLess(len(declined), 20)
        self.assertIn(f"{RELAY_ACCEPTS} circuits from this relay are being accepted "
                      "already", declined[0])
        requests[0].deferred.errback(Failure(ConnectionError("refused")))
        self.incoming(2)
        self.assertEqual(len(requests), RELAY_ACCEPTS + 1)

    def test_inAll(self):
        """Accepts of all relays together are bounded too."""
        accepts = IncomingAccepts(self.clock, lambda: None, capacity=20, per_relay=16)
        hosts = strangers(16)
        for i in range(16):
            self.assertIsNone(accepts.take("192.0.2.1:7701", ("a", i), hosts[i]))
        for i in range(4):
            self.assertIsNone(accepts.take("198.51.100.5:4000", ("b", i), hosts[i]))
        self.assertEqual(accepts.take("198.51.100.5:4000", ("b", 5), hosts[5]),
                         "20 circuits are being accepted already, its most")
        accepts.release(("a", 0))
        self.assertIsNone(accepts.take("198.51.100.5:4000", ("b", 5), hosts[5]))

    def drop(self):
        """Every accept made so far fails (its circuit was dropped): the
        hosts the relay named for those not ended before."""
        named = []
        for request in self.node.connector.requests:
            if not request.deferred.called:
                named.append(request.link.seen)
                request.deferred.errback(Failure(ConnectionError("no circuit")))
        return named

    def test_perSecond(self):
        """An honest relay announces the circuits strangers of eight
        address groups open and drop at once, 300 in one second: each
        accept ends at once (the circuit is gone), so the bound in flight
        is never reached.  The node used to open 300 connections to the
        relay in that second, past its own group's rate there (100 a
        second), which then closed its own dials to the relay, its probe
        of it among them (tests/reach/reachable/test_relayprobe.py,
        test_ownRateAtTheRelay).  It acts on ACCEPT_RATE a second, in
        bursts of twice that, however many groups the relay names; the
        rest declined, said through the peer log."""
        requests = self.node.connector.requests
        lines = []
        hosts = strangers(8)
        for i in range(300):
            lines += self.incoming(1, hosts[i % len(hosts)])
            for request in requests[-1:]:
                if not request.deferred.called:
                    request.deferred.errback(Failure(ConnectionError("no circuit")))
            self.clock.advance(1 / 300)
        # The burst, and the rate for the rest of the second.
        self.assertGreater(len(requests), 2 * ACCEPT_RATE)
        self.assertLessEqual(len(requests), 3 * ACCEPT_RATE)
        opened = len(requests)
        self.assertTrue(any(f"announces more than {ACCEPT_RATE:g} circuits a second"
                            in line for line in lines), lines[-3:])
        self.clock.advance(1)
        self.incoming(1)
        self.assertEqual(len(requests), opened + 1)

    def test_oneDiallersGroupSpendsOnlyItsPart(self):
        """
        One stranger's address group (ten free keys, each within the
        relay's ten circuits a second) opens 100 circuits a second to the
        node through its honest relay and drops them, for 10 s, while an
        honest dialler of another group opens one a second.  The relay's
        rate was one bucket for every dialler: the stranger's circuits,
        four times as fast as it fills, took nearly every token, and the
        honest dialler's circuits were
        declined (1 of its 10 accepted), the relay closing each after its
        10 s.  Now a group of diallers the relay names gets DIALLER_RATE
        a second of the relay's ACCEPT_RATE, declined past it before the
        relay's rate is spent: every honest circuit is accepted, and the
        stranger gets its part, no more.
        """
        honest, stranger = [], []
        for second in range(10):
            for i in range(100):
                self.incoming(1, strangers(1)[0])
                if i == 50:
                    self.incoming(1, HONEST)
                for host in self.drop():
                    (honest if host == HONEST else stranger).append(host)
                self.clock.advance(0.01)
        self.assertEqual(len(honest), 10)
        self.assertLessEqual(len(stranger), 2 * DIALLER_RATE + 10 * DIALLER_RATE + 1)

    def test_aGroupPastItsPartSpendsNothingOfTheRelays(self):
        """Four groups at their part take the relay's whole rate: the
        relay's word divides it, never widens it (a relay that names a
        new group for each circuit still gets ACCEPT_RATE a second)."""
        accepted = 0
        for second in range(5):
            for i in range(400):
                self.incoming(1, f"10.{i % 200}.0.{second}")
                accepted += len(self.drop())
                self.clock.advance(1 / 400)
        self.assertLessEqual(accepted, 2 * ACCEPT_RATE + 5 * ACCEPT_RATE + 1)
        self.assertGreaterEqual(accepted, 5 * ACCEPT_RATE)

    def test_aFloodListsNoDescriptors(self):
        """
        A relay announces 1,000 circuits in a second, each accept ending at
        once: a lying public node's relay, which nothing bounds in what it
        sends on a reservation connection, or strangers' circuits through
        an honest relay.  The node counted its open descriptors (a listing
        of /proc/self/fd: 51 us a relayIncoming in all at 56 open, 187 us
        at 506, where any message costs some 16) for each one before its
        rates declined it: a few thousand a second held its reactor.  It
        counts them only for an accept the rates let through.
        """
        counted = []

        def descriptors():
            counted.append(True)
            return (self.open, 1024)

        self.service.reservation.circuits.accepts = IncomingAccepts(self.clock, descriptors)
        hosts = strangers(8)
        for i in range(1000):
            self.incoming(1, hosts[i % len(hosts)])
            self.drop()
            self.clock.advance(0.001)
        opened = len(self.node.connector.requests)
        self.assertLessEqual(opened, 3 * ACCEPT_RATE)
        self.assertEqual(len(counted), opened)

    def test_descriptorsKept(self):
        """Within RESERVE descriptors of the process's limit the node acts
        on no relayIncoming: they are kept for its own dials."""
        self.open = 1024 - RESERVE
        lines = self.incoming(3)
        self.assertEqual(self.node.connector.requests, [])
        self.assertTrue(any(f"the last {RESERVE} are kept for its own dials" in line
                            for line in lines), lines)
        self.open = 1024 - RESERVE - 1
        self.incoming(1)
        self.assertEqual(len(self.node.connector.requests), 1)

    def test_chargedToTheRelay(self):
        """The circuit's connection is charged to the relay's address, not
        to the host the relay names (a label): its transport's peer is the
        relay, its relayedFrom the relay's word."""
        self.incoming(1)
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("192.0.2.1", 7701))
        end = request.link
        self.assertEqual((end.peer.host, end.peer.port), ("192.0.2.1", 7701))
        self.assertEqual(end.seen, VICTIM)

    def test_processDescriptors(self):
        """The process's own count and limit, as the daemon sees them."""
        counted = processDescriptors()
        if counted is not None:
            self.assertGreater(counted[1], counted[0])
            self.assertGreater(counted[0], 0)
