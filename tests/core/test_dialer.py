"""
Tests of L{twisted_bazaar.core.dialer}: the one way a node reaches a
peer (its candidates, best first, and what hands over from one to the
next), the wait for a punch it owns, and the connectors it dials through
(each an L{IConnector}).
"""

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.core.dialer import CANDIDATES, FILES, Dialer, Peer
from twisted_bazaar.core.node import DIRECT
from twisted_bazaar.daemon.services import EndpointConnector
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.net.connector import IConnector
from twisted_bazaar.testing.memory import MemoryConnector, MemoryNetwork
from twisted_bazaar.traversal.connector import RelayedConnector
from twisted_bazaar.traversal.punch import PunchFailed

from tests import records
from tests.helpers import FakeConnector, RecordingConnector, dialingNode, makeNode

SELLER = records.identity(3)
RELAY = "198.51.100.1:7701"


class FakePunching:
    """A node's punches as the dialer sees them: which peers' links wait
    (``waiting``), the transfers asked for, and the peers told arrived."""

    def __init__(self):
        self.waiting = set()
        self.punches = []
        self.arrivals = []
        self.settled = None

    def settledWith(self, settled):
        self.settled = settled

    def waitsFor(self, peer_id):
        return peer_id in self.waiting

    def arrived(self, peer_id):
        self.arrivals.append(peer_id)

    def transfer(self, peer_id, key, protocol):
        d = defer.Deferred()
        self.punches.append((peer_id, key, protocol, d))
        return d


class ConnectorInterfaceTests(SynchronousTestCase):
    def test_everyConnectorIsOne(self):
        """The daemon's, the memory network's and the relayed one, which
        declares what it takes from the connector it wraps."""
        memory = MemoryConnector(MemoryNetwork(), "node1")
        for connector in (EndpointConnector(task.Clock()), memory,
                          RelayedConnector(memory, task.Clock())):
            self.assertTrue(verifyObject(IConnector, connector))

    def test_relayedConnectorForwardsOnlyWhatItDeclares(self):
        """No attribute of the wrapped connector leaks through unnamed."""
        memory = MemoryConnector(MemoryNetwork(), "node1")
        relayed = RelayedConnector(memory, task.Clock())
        self.assertEqual((relayed.channel, relayed.peerLog), (None, None))
        self.assertFalse(hasattr(relayed, "from_host"))


class CandidateTests(SynchronousTestCase):
    """A connection of the dialler's protocol (a transfer client)."""

    def setUp(self):
        self.punching = FakePunching()
        self.node = dialingNode(None, punching=self.punching)
        self.connector = self.node.dialer.connector = RecordingConnector()
        self.made = []

    def protocol(self):
        self.made.append(object())
        return self.made[-1]

    def dial(self, relay=RELAY):
        return self.node.dial(Peer(SELLER.id, "203.0.113.7", 9002, relay, SELLER.key),
                              FILES, self.protocol)

    def test_directWithoutARelay(self):
        """A peer that names no relay is dialled at its address, its key
        expected: never punched to."""
        self.dial(relay=None)
        self.assertEqual(self.punching.punches, [])
        [(host, port, protocol, expected, through, _)] = self.connector.dials
        self.assertEqual((host, port, protocol, expected, through),
                         ("203.0.113.7", 9002, self.made[0], decode(SELLER.key), {}))

    def test_punchedBeforeRelayed(self):
        """A peer at home is punched to first: connected, nothing goes
        through its relay."""
        dialled = self.dial()
        [(peer, key, protocol, d)] = self.punching.punches
        self.assertEqual((peer, key, protocol), (SELLER.id, SELLER.key, self.made[0]))
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)
        self.assertEqual(self.connector.dials, [])

    def test_aFailedPunchHandsOverToTheRelay(self):
        """A punch that fails hands over to the relay, with a fresh
        protocol and the key expected."""
        dialled = self.dial()
        self.punching.punches[0][3].errback(PunchFailed("no direct connection"))
        [(host, port, protocol, expected, through, d)] = self.connector.dials
        self.assertEqual((protocol, expected, through),
                         (self.made[1], decode(SELLER.key),
                          {"relay": RELAY, "target": SELLER.id, "purpose": FILES}))
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)

    def test_otherFailuresEndTheDial(self):
        """Only a failed punch hands over: a cancelled one ends the dial,
        which dials nothing else."""
        dialled = self.dial()
        dialled.cancel()
        self.failureResultOf(dialled, defer.CancelledError)
        self.assertEqual(self.connector.dials, [])

    def test_noPunchingGoesThroughTheRelay(self):
        node = dialingNode(None)
        connector = node.dialer.connector = RecordingConnector()
        node.dial(Peer(SELLER.id, "203.0.113.7", 9002, RELAY, SELLER.key), FILES,
                  self.protocol)
        [(_, _, _, _, through, _)] = connector.dials
        self.assertEqual(through["relay"], RELAY)

    def test_aCandidateOfItsOwnComesFirst(self):
        """The candidates are an ordered list: one put before the others
        (a LAN address, say) is tried first, and the next only when it
        does not apply."""
        tried = []

        class Nearby:
            handsOver = ()

            def attempt(self, dialer, peer, purpose, protocol):
                tried.append(peer.id)
                return defer.succeed("nearby") if peer.host == "10.0.0.9" else None

        node = dialingNode(None)
        node.dialer.candidates = (Nearby(),) + CANDIDATES
        connector = node.dialer.connector = RecordingConnector()
        near = node.dial(Peer(1, "10.0.0.9", 9002), FILES, self.protocol)
        self.assertEqual(self.successResultOf(near), "nearby")
        node.dial(Peer(2, "203.0.113.7", 9002), FILES, self.protocol)
        self.assertEqual((tried, len(connector.dials)), ([1, 2], 1))


class LinkTests(SynchronousTestCase):
    """A link of the overlay: the dialer opens it, directly or through the
    peer's relay, and holds its asker back while a punch may replace it."""

    def setUp(self):
        self.node = makeNode(1)
        self.punching = FakePunching()
        self.node.dialer.punchWith(self.punching, wait=3.0)

    def test_aRelayedLinkIsNeverPunchedFirst(self):
        """A link to a peer at home goes through its relay (its punch
        replaces it once up)."""
        self.node.dialer.connector.trackerNamed(0x77, RELAY)
        self.node.dial(Peer(0x77, "192.168.1.2", 9001, RELAY), DIRECT)
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("198.51.100.1", 7701))
        self.assertEqual(self.punching.punches, [])

    def test_aLinksKeyChecked(self):
        """A link to a peer whose key is known: its channel must prove it
        (none asked of a peer dialled by id alone, its handshake proves
        the id)."""
        self.node.dial(Peer(0x77, "192.168.1.2", 9001, key=SELLER.key), DIRECT)
        self.node.connectTo("192.168.1.3", 9001, 0x78)
        self.assertEqual(self.node.connector.expected, [decode(SELLER.key), None])

    def test_readyUnlessAPunchMayReplaceIt(self):
        self.assertFalse(self.node.linkReady(5))
        self.node.overlay.links[5] = object()
        self.assertTrue(self.node.linkReady(5))
        self.punching.waiting.add(5)
        self.assertFalse(self.node.linkReady(5))

    def test_settledAtOnce(self):
        """No punch may replace the link: its asker goes on at once (the
        punching told the link arrived, for it to punch)."""
        self.assertEqual(self.node.dialer.settle(5), 5)
        self.assertEqual(self.punching.arrivals, [5])

    def test_waitsUntilReleased(self):
        self.punching.waiting.add(5)
        waiting = self.node.dialer.settle(5)
        self.assertNoResult(waiting)
        self.punching.waiting.clear()
        self.punching.settled(5)
        self.assertEqual(self.successResultOf(waiting), 5)
        self.assertEqual(self.node.clock.getDelayedCalls(), [])

    def test_waitsAtMostTheWait(self):
        self.punching.waiting.add(5)
        waiting = self.node.dialer.settle(5)
        self.node.clock.advance(2.9)
        self.assertNoResult(waiting)
        self.node.clock.advance(0.1)
        self.assertEqual(self.successResultOf(waiting), 5)
        self.assertEqual(self.node.dialer._waiting, {})

    def test_everyoneReleasedWhenTheNodeStops(self):
        """settled(None): every asker waiting goes on."""
        self.punching.waiting.update((5, 6))
        waiting = [self.node.dialer.settle(5), self.node.dialer.settle(6)]
        self.punching.settled(None)
        self.assertEqual([self.successResultOf(d) for d in waiting], [5, 6])

    def test_cancelledLeavesNothing(self):
        self.punching.waiting.add(5)
        waiting = self.node.dialer.settle(5)
        waiting.cancel()
        self.failureResultOf(waiting, defer.CancelledError)
        self.assertEqual((self.node.dialer._waiting, self.node.clock.getDelayedCalls()),
                         ({}, []))

    def test_theNodesConnectorIsTheOneGiven(self):
        """The node's connector is the one it was given, under the
        dialer's relays; a new one replaces it there too."""
        relayed = self.node.dialer.connector
        self.assertIsInstance(self.node.connector, FakeConnector)
        other = FakeConnector()
        self.node.connector = other
        self.assertIs(relayed.connector, other)
