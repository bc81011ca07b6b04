"""
Tests for L{twisted_bazaar.reach.punch.udp.runs}: how a punch ends, met
(which side dials the QUIC link over the path), with its link closed
under it, or its path lost, between two nodes in memory
(L{tests.reach.punch.helpers}).
"""

from twisted.internet.address import IPv4Address
from twisted.logger import capturedLogs

from twisted_bazaar.transports.path import Path, SEEN, UDP
from twisted_bazaar.reach.punch.udp.runs import LINGER
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.testing.capabilities import overQuic, relayed
from twisted_bazaar.testing.udpnat import RANDOM
from twisted_bazaar.reach.punch.udp.plan import HARD_SOCKETS

from tests import records
from tests.helpers import linkPeer
from tests.reach.punch.helpers import HOME, UdpPunchingTestCase


class CrossedTests(UdpPunchingTestCase):
    def test_theOpenerOfTheLinkStandingDials(self):
        """The two nodes linked each other at once, and the link B opened
        (its opener's id the lower) took the place of the one A asked the
        punch on: B, the opener of the link that stands, dials the QUIC
        link over the met path, from its socket that met; A dials none
        (before, neither did)."""
        self.alice, self.bob = records.identity(2), records.identity(3)
        self.assertLess(self.bob.id, self.alice.id)
        self.checked()
        self.tcpFailed()
        self.go()
        relayed(linkPeer(self.a.node, self.bob, inbound=True).transport, HOME["b"][1])
        relayed(linkPeer(self.b.node, self.alice, inbound=False).transport, HOME["a"][1])
        self.elapse(1.0)
        self.assertEqual(self.a.sockets.links[self.a.sockets.main].dials, [])
        [(host, port, link, expected, _)] = self.b.sockets.links[self.b.sockets.main].dials
        self.assertEqual((host, port), (HOME["a"][1], self.reach["a"].seen_port))
        self.assertEqual(expected, decode(self.alice.key))
        self.assertFalse(link.inbound)


    def lostMidPunch(self):
        """B's router draws a port for each destination; the relayed link
        B's punch was taken on closes 0.05 s into it (the two nodes had
        linked each other at once, and each side kept the other's)."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        self.elapse(0.05)
        del self.b.node.links[self.alice.id]
        self.b.node.events.linkRemoved(self.alice.id)

    def test_theLinkClosedMidPunch(self):
        """B's punch runs on when the link it was taken on closes, and
        meets; A, whose link stands, dials over the path.  Before, B's
        punch ended there saying nothing, after one round of its
        sockets' probes, and A's missed (natbed's 268 s `bazaar buy`)."""
        self.lostMidPunch()
        relayed(linkPeer(self.b.node, self.alice, inbound=True).transport, HOME["a"][1])
        self.b.linkUp()
        self.elapse(5.0)
        [path] = self.b.node.whereabouts.book.pathsOf(self.alice.id, UDP)
        self.assertEqual((path.host, path.port), (HOME["a"][1], self.reach["a"].seen_port))
        [(host, _, _, _, _)] = self.a.sockets.links[self.a.sockets.main].dials
        self.assertEqual(host, HOME["b"][1])

    def test_theLinkClosedForGood(self):
        """No link comes again: B's met path lingers LINGER seconds as any
        met path with no link does, then it is forgotten, every socket of
        the punch closed, no timer left."""
        self.lostMidPunch()
        self.elapse(5.0)
        self.assertEqual(len(self.b.node.whereabouts.book.pathsOf(self.alice.id, UDP)), 1)
        self.clock.advance(LINGER)
        self.assertEqual(list(self.b.node.whereabouts.book.pathsOf(self.alice.id, UDP)), [])
        self.assertEqual(len(self.b.punching.table), 0)
        self.assertEqual(len(self.b.sockets.closed), HARD_SOCKETS - 1)
        for side in (self.a, self.b):
            side.punching.nodeStopping()
        self.assertNoTimers()


class FakeQuicLink:
    """A link over QUIC to ``peer`` (an address): records why it was
    dropped."""

    def __init__(self, peer):
        self.peer = peer
        self.dropped = []
        self.transport = overQuic(self)

    def getPeer(self):
        return self.peer

    def drop(self, reason):
        self.dropped.append(reason)


class PathLostTests(UdpPunchingTestCase):
    """Nothing answers a dial over a punched path any more."""

    def met(self):
        """A and B punched; A's QUIC link runs over the met path."""
        self.checked()
        self.tcpFailed()
        self.go()
        self.elapse(1.0)
        [(host, port, _, _, _)] = self.a.sockets.links[self.a.sockets.main].dials
        self.path = Path(UDP, host, port, word=SEEN)
        link = self.link = FakeQuicLink(IPv4Address("UDP", host, port))
        self.a.node.links[self.bob.id] = link
        self.a.node.events.linkReplaced(self.bob.id)

    def lose(self, path):
        [held] = self.a.node.whereabouts.book.pathsOf(self.bob.id, UDP)
        with capturedLogs() as events:
            held.lost(self.bob.id, path, "no QUIC answer from there within 5 s")
        return events

    def test_dropped(self):
        """The path leaves the book, its socket with it, and the QUIC link over it
        is dropped (L{Link.drop}: not closed only, whose end would wait
        for an acknowledgement that cannot come), saying why."""
        self.met()
        events = self.lose(self.path)
        self.assertEqual(list(self.a.node.whereabouts.book.pathsOf(self.bob.id, UDP)), [])
        self.assertEqual(self.link.dropped, ["its UDP path carries nothing now"])
        [line] = [event for event in events if "carries nothing" in event["log_format"]]
        self.assertEqual(line["why"], "no QUIC answer from there within 5 s")

    def test_aLinkOverAnotherWay(self):
        """A link to the peer that is not over that path (over TCP, or
        another UDP path) stays; the path goes."""
        self.met()
        self.link.peer = IPv4Address("UDP", self.path.host, self.path.port + 1)
        self.lose(self.path)
        self.assertEqual(list(self.a.node.whereabouts.book.pathsOf(self.bob.id, UDP)), [])
        self.assertEqual(self.link.dropped, [])

    def test_anotherPath(self):
        """Silence at a path that is not the punch's (gone already, or
        another) changes nothing."""
        self.met()
        self.lose(Path(UDP, self.path.host, self.path.port + 1, word=SEEN))
        self.assertEqual(list(self.a.node.whereabouts.book.pathsOf(self.bob.id, UDP)),
                         [self.path])
        self.assertEqual(self.link.dropped, [])
