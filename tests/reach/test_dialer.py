"""
Tests of L{twisted_bazaar.reach.dialer}: the one way a node reaches a
peer (its candidates, best first, and what hands over from one to the
next), the wait for a punch it owns, and the connectors it dials through
(each an L{IConnector}).
"""

from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.internet.protocol import Protocol
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.internet.error import (
    ConnectError, ConnectionDone, ConnectionRefusedError, DNSLookupError,
    TCPTimedOutError)
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import PEER_BURST, PeerLog
from twisted_bazaar.reach.dialer import FILES, RELAY_DELAY, Dialer, Peer
from twisted_bazaar.reach.sources import IPathSource
from twisted_bazaar.reach.vetting import NotNamed, RelayRefused
from twisted_bazaar.base.peerhost import NAME_ADDRESSES
from twisted_bazaar.reach.peerhosts import HostRefused
from twisted_bazaar.reach.lanpaths import RETRY_AFTER
from twisted_bazaar.reach.book import HEARD_FOR, NAMED_FOR
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC, Reachability
from twisted_bazaar.core.node import DIRECT
from twisted_bazaar.reach.asking import TrackerGone, TrackerSilent
from twisted_bazaar.daemon.services import EndpointConnector
from twisted_bazaar.identity.keys import decode, encode
from twisted_bazaar.transports.connector import IConnector
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.opening import NoRoom, NotConnected, Unreachable
from twisted_bazaar.testing.memory import MemoryConnector, MemoryNetwork
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import (
    CLAIMED, CONFIGURED, DIRECT, LAN, NAMED, RELAYED, Path)
from twisted_bazaar.transports.relay import messages
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.reach.punch.tcp.exchange import PunchFailed
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.testing.linking import linkAt

from tests import records
from tests.transports.recording import Recording
from tests.helpers import (
    nodeReply,
    FakeConnector, RecordingConnector, answerAs, dialingNode, makeNode)

SELLER = records.identity(3)
RELAY = "198.51.100.1:7701"


def nameIn(node, peer_id, host, lan, relay=None, port=9001):
    """node's tracker named peer_id at host, with its local addresses lan
    and relay: into its book of paths, as a ``nodereply`` is."""
    node.whereabouts.book.trackerNamed(nodeReply(peer_id, host, port, relay=relay,
                                                 lan=lan))


@implementer(IPathSource)
class FakePunching:
    """A node's punches as the dialer sees them (a source of paths): which
    peers' links wait (``waiting``), the transfers asked for, and the
    peers told arrived."""

    toPeers = True

    def __init__(self):
        self.waiting = set()
        self.punches = []
        self.arrivals = []

    def waitsFor(self, peer_id):
        return peer_id in self.waiting

    def runs(self, peer_id):
        return False

    def follows(self, peer_id):
        return False

    def arrived(self, peer_id):
        self.arrivals.append(peer_id)

    def transfer(self, peer_id, key, protocol):
        d = defer.Deferred()
        self.punches.append((peer_id, key, protocol, d))
        return d


class ConnectorInterfaceTests(SynchronousTestCase):
    def test_everyConnectorIsOne(self):
        """The daemon's and the memory network's."""
        memory = MemoryConnector(MemoryNetwork(), "node1")
        for connector in (EndpointConnector(task.Clock()), memory):
            self.assertTrue(verifyObject(IConnector, connector))


class CandidateTests(SynchronousTestCase):
    """A connection of the dialler's protocol (a transfer client)."""

    def setUp(self):
        self.punching = FakePunching()
        self.node = dialingNode(RecordingConnector(), punching=self.punching)
        self.connector = self.node.dialer.connector
        # The tracker named the seller's relay (it is dialled as named).
        nameIn(self.node, SELLER.id, "203.0.113.7", None, RELAY)
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

    def test_noHostIsNoAddress(self):
        """A peer that names no host ("", what a node at home tells before
        the tracker said where it sees it), or the unspecified address,
        and no relay: the dial fails with why, and nothing is dialled
        (a connection to "" or 0.0.0.0 reaches this machine itself)."""
        for host in ("", "0.0.0.0", "::", "0"):
            dialled = self.node.dial(Peer(SELLER.id, host, 9002, None, SELLER.key), FILES,
                                     self.protocol)
            self.assertIn("no address to dial", str(self.failureResultOf(dialled).value))
        link = makeNode(1).dial(Peer(SELLER.id, "", 9001), DIRECT)
        self.assertIn("no address to dial", str(self.failureResultOf(link).value))
        self.assertEqual((self.connector.dials, self.made), ([], []))

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

    def test_onlyATransferIsPunched(self):
        """A connection of another purpose than a transfer (a super-peer's
        check of a leaf held at a relay, L{Dialer.checkAt}) is never
        punched: it goes through the relay at once."""
        self.node.dialer.checkAt(SELLER.id, "203.0.113.7", 9002, RELAY, self.protocol)
        self.assertEqual(self.punching.punches, [])
        [(_, _, protocol, _, through, _)] = self.connector.dials
        self.assertEqual((protocol, through), (self.made[0],
                                               {"relay": RELAY, "target": SELLER.id}))

    def test_noPunchingGoesThroughTheRelay(self):
        node = dialingNode(RecordingConnector())
        connector = node.dialer.connector
        nameIn(node, SELLER.id, "203.0.113.7", None, RELAY)
        node.dial(Peer(SELLER.id, "203.0.113.7", 9002, RELAY, SELLER.key), FILES,
                  self.protocol)
        [(_, _, _, _, through, _)] = connector.dials
        self.assertEqual(through["relay"], RELAY)

    def test_aCandidateOfItsOwnRankedByItsDelay(self):
        """A candidate ranks itself by the delay it declares, wherever it
        is listed: one at 0 (a LAN address, say) starts with the direct
        way; a peer it does not apply to is dialled as before."""
        tried = []

        class Nearby:
            kind = None
            delay = 0.0
            holds = False

            def applies(self, dialer, peer, purpose, protocol):
                return peer.host == "198.51.100.20"

            def attempt(self, dialer, peer, purpose, protocol):
                tried.append(peer.id)
                return defer.succeed("nearby")

        node = dialingNode(RecordingConnector())
        node.dialer.ways += (Nearby(),)
        connector = node.dialer.connector
        near = node.dial(Peer(1, "198.51.100.20", 9002), FILES, self.protocol)
        self.assertEqual(self.successResultOf(near), "nearby")
        node.dial(Peer(2, "203.0.113.7", 9002), FILES, self.protocol)
        self.assertEqual(tried, [1])
        # The direct way started with it (cancelled once it won), and
        # alone for the other peer.
        self.assertEqual([dial[0] for dial in connector.dials],
                         ["198.51.100.20", "203.0.113.7"])


class LinkTests(SynchronousTestCase):
    """A link of the overlay: the dialer opens it, directly or through the
    peer's relay, and holds its asker back while a punch may replace it."""

    def setUp(self):
        self.node = makeNode(1)
        self.punching = FakePunching()
        self.node.dialer.sources.add(self.punching)
        self.node.dialer.punchesWith(wait=3.0)

    def test_aRelayedLinkIsNeverPunchedFirst(self):
        """A link to a peer at home goes through its relay (its punch
        replaces it once up)."""
        nameIn(self.node, 0x77, "", None, RELAY)
        self.node.dial(Peer(0x77, "192.168.1.2", 9001, RELAY), DIRECT)
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("198.51.100.1", 7701))
        self.assertEqual(self.punching.punches, [])

    def test_aLinksKeyChecked(self):
        """A link to a peer whose key is known: its channel must prove it
        (none asked of a peer dialled by id alone, its handshake proves
        the id)."""
        self.node.dial(Peer(0x77, "192.168.1.2", 9001, key=SELLER.key), DIRECT)
        linkAt(self.node, "192.168.1.3", 9001, 0x78)
        self.assertEqual(self.node.connector.expected, [decode(SELLER.key), None])

    def test_readyUnlessAPunchMayReplaceIt(self):
        self.assertFalse(self.node.linkReady(5))
        self.node.overlay.established()[5] = object()
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
        self.node.dialer.sources.settled(5)
        self.assertEqual(self.successResultOf(waiting), 5)
        self.assertEqual(self.node.clock.getDelayedCalls(), [])

    def test_waitsAtMostTheWait(self):
        self.punching.waiting.add(5)
        waiting = self.node.dialer.settle(5)
        self.node.clock.advance(2.9)
        self.assertNoResult(waiting)
        self.node.clock.advance(0.1)
        self.assertEqual(self.successResultOf(waiting), 5)
        self.assertEqual(self.node.dialer._linkWaits._waiting, {})

    def test_everyoneReleasedWhenTheNodeStops(self):
        """settled(None): every asker waiting goes on."""
        self.punching.waiting.update((5, 6))
        waiting = [self.node.dialer.settle(5), self.node.dialer.settle(6)]
        self.node.dialer.sources.settled(None)
        self.assertEqual([self.successResultOf(d) for d in waiting], [5, 6])

    def test_cancelledLeavesNothing(self):
        self.punching.waiting.add(5)
        waiting = self.node.dialer.settle(5)
        waiting.cancel()
        self.failureResultOf(waiting, defer.CancelledError)
        self.assertEqual((self.node.dialer._linkWaits._waiting, self.node.clock.getDelayedCalls()),
                         ({}, []))

    def test_theNodesConnectorIsTheOneGiven(self):
        """The node's connector is the one it was given, under the
        dialer's transports (no part sets another from outside)."""
        self.assertIsInstance(self.node.connector, FakeConnector)
        self.assertIs(self.node.dialer.connector, self.node.connector)
        self.assertIs(self.node.dialer.transports.of(DIRECT).connector, self.node.connector)


#: The public address of the home of LanTests' node, and of one elsewhere.
HOME = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
#: The seller's address on that home's LAN.
LAN_HOST = "192.168.1.3"


class PeerHostTests(SynchronousTestCase):
    """
    A host a peer's word names (a chord ring entry, a record in a flood
    reply or an index listing, a super-peer's answer: all dialled
    directly, L{twisted_bazaar.reach.ways.Direct}) is checked before it
    is dialled (docs/protocol.md §5, "Hosts a peer names").
    """

    def setUp(self):
        self.node = dialingNode(RecordingConnector())
        self.node.overlay = SimpleNamespace(peer_log=PeerLog(self.node.clock))
        self.connector = self.node.dialer.connector
        self.tracker = self.node.membership = FakeTracker()

    def leftFrom(self, host, tracker=""):
        """A tracker connection of the node leaves from host (to a tracker
        at ``tracker``)."""
        transport = SimpleNamespace(getHost=lambda: IPv4Address("TCP", host, 40000),
                                    getPeer=lambda: IPv4Address("TCP", tracker, 7700))
        self.node.whereabouts.announce(SimpleNamespace(transport=transport))

    def dial(self, host, port=9002):
        return self.node.dial(Peer(SELLER.id, host, port, None, SELLER.key), FILES, object)

    def assertRefused(self, host, port=9002, why=""):
        failure = self.failureResultOf(self.dial(host, port), HostRefused)
        self.assertIn(why, str(failure.value))
        self.assertEqual(self.connector.dials, [])

    def assertDialled(self, host, port=9002):
        self.dial(host, port)
        self.assertEqual(self.connector.dials[-1][:2], (host, port))

    def test_loopbackOnlyForANodeOnLoopback(self):
        """Told its peer is at 127.0.0.1 (however spelt), a node on a public
        address would connect to a service of its own machine, at a port
        the stranger chose: refused.  In a market on one machine (its
        tracker connection leaves from loopback) it is where peers are."""
        self.leftFrom("203.0.113.9")
        for host in ("127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"):
            self.assertRefused(host, 6379, "loopback address, and this node is on no "
                               "loopback network")
        self.leftFrom("127.0.0.1")
        self.assertDialled("127.0.0.1", 6379)

    def test_privateOnlyForANodeOnAPrivateNetwork(self):
        """A node on a public address, told 10.0.0.1:8080 (its carrier's,
        its VPC's), would dial into its own network: refused; on a private
        network with its tracker, its peers are there."""
        self.leftFrom("203.0.113.9")
        for host in ("10.0.0.1", "192.168.1.1", "fd00::1"):
            self.assertRefused(host, 8080, "private address")
        self.leftFrom("10.1.0.5")
        self.assertDialled("10.0.0.1", 8080)

    def test_privateNotForANodeAtHome(self):
        """A node at home (its tracker connection leaves from a private
        address, the tracker sees it at a public one) reaches its own
        network's peers only as the tracker names them (the LAN
        candidate): a private address a peer names is its router's, its
        housemates' services: refused."""
        self.node.reach = Reachability(PRIVATE, HOME, 9001, HOME, 9001)
        self.leftFrom("192.168.1.5")
        self.assertRefused("192.168.1.1", 8080, "private address, and this node is on "
                           "no private network itself")
        self.node.reach = Reachability(PRIVATE, "10.47.0.2", 9001, "10.47.0.2", 9001)
        self.assertDialled("192.168.1.1", 8080)

    def test_privateNotForANodeBehindARouterWhateverItsTrackerSays(self):
        """
        A node whose tracker connection leaves from a private address to
        a tracker at a public one is behind a router: before its
        tracker's first ``reach`` (its check of the node still under way:
        the first seconds of every start), or told by a lying tracker
        among several that it is seen at a private host, or told nothing
        ever, it dialled every private host a peer named (its router's
        page, its printer's port).  Refused now; a node whose tracker is
        on its private network still dials there.
        """
        self.leftFrom("192.168.1.5", tracker="198.51.100.1")
        self.assertRefused("192.168.1.1", 8080, "private address, and this node is on "
                           "no private network itself")
        self.node.reach = Reachability(PRIVATE, "10.47.0.2", 9001, "10.47.0.2", 9001)
        self.assertRefused("192.168.1.1", 9100, "private address")
        self.leftFrom("10.47.0.5", tracker="10.47.0.1")
        self.assertDialled("192.168.1.1", 8080)

    def test_noWellKnownPortOfThisMachineOrItsNetwork(self):
        """A loopback or private address is dialled at no port below 1024
        (ssh, a router's page), even by a node there; a public one is (an
        honest node may listen at 443)."""
        self.leftFrom("127.0.0.1")
        self.leftFrom("10.1.0.5")
        self.assertRefused("127.0.0.1", 22, "port 22 is below 1024")
        self.assertRefused("10.0.0.1", 80, "port 80 is below 1024")
        self.assertDialled("203.0.113.7", 443)

    def test_noLinkLocalMulticastBroadcastOrReservedAddress(self):
        """Never a link-local address (a cloud's metadata service at
        169.254.169.254), a group, the broadcast address, a reserved one,
        or a zone (an interface of this machine)."""
        self.leftFrom("169.254.3.3")
        self.leftFrom("10.1.0.5")
        for host, why in (("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
                          ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
                          ("255.255.255.255", "broadcast"), ("240.0.0.1", "reserved"),
                          ("fe80::1%eth0", "names a zone")):
            self.assertRefused(host, 8080, why)

    def test_aNameOnlyAsTheTrackerNamesThePeer(self):
        """A name a peer chose would have the node ask DNS for it, once a
        message: it is resolved only when the tracker names the peer at
        that very name (it resolved and dialled it when it checked the
        node's --host); the tracker is asked when its word is not fresh."""
        dialled = self.dial("evil.example", 9002)
        [(asked, answer)] = self.tracker.asked
        self.assertEqual(asked, SELLER.id)
        answer.callback(wire.NodeReply(SELLER.id, "203.0.113.5", 9001))
        failure = self.failureResultOf(dialled, HostRefused)
        self.assertIn("it names it at 203.0.113.5", str(failure.value))
        self.assertEqual((self.connector.dials, self.connector.resolved), ([], []))
        self.connector.names["seller.example"] = ["203.0.113.5"]
        # Its answer is in the book: asked again once it is stale.
        self.node.clock.advance(NAMED_FOR)
        self.dial("seller.example", 9002)
        self.tracker.asked[-1][1].callback(wire.NodeReply(SELLER.id, "seller.example",
                                                          9001))
        self.assertEqual(self.connector.dials[-1][:2], ("203.0.113.5", 9002))
        self.dial("seller.example", 9003)
        self.assertEqual(self.connector.dials[-1][:2], ("203.0.113.5", 9003))
        self.assertEqual(len(self.tracker.asked), 2)
        dials = len(self.connector.dials)
        self.failureResultOf(self.dial("evil.example", 9002), HostRefused)
        self.assertEqual((len(self.tracker.asked), len(self.connector.dials)), (2, dials))
        self.node.clock.advance(NAMED_FOR)
        self.dial("seller.example", 9003)
        self.assertEqual(len(self.tracker.asked), 3)

    def test_aNameTheTrackerDidNotPlace(self):
        """The tracker did not answer where the peer is (in time, or at
        all: its connection ended): the name is not dialled, and the
        refusal says what happened, not that the tracker names the peer
        at no address (which it used to say)."""
        for gone, said in ((TrackerSilent("the tracker did not answer in 10 s"),
                            "the tracker did not say where the peer is (the tracker "
                            "did not answer in 10 s)"),
                           (TrackerGone("the tracker connection ended before it "
                                        "answered: Connection lost."),
                            "the tracker did not say where the peer is (the tracker "
                            "connection ended before it answered: Connection lost.)")):
            dialled = self.dial("seller.example", 9002)
            self.tracker.asked[-1][1].errback(gone)
            failure = self.failureResultOf(dialled, HostRefused)
            self.assertIn(said, str(failure.value))
            self.assertNotIn("no address", str(failure.value))
        self.assertEqual((self.connector.dials, self.connector.resolved), ([], []))

    def namedAt(self, name, addresses):
        """The tracker names SELLER at name, which resolves to addresses
        (or fails so, an exception)."""
        nameIn(self.node, SELLER.id, name, None)
        self.connector.names[name] = addresses

    def test_aNameRebound(self):
        """DNS may answer the node otherwise than it answered the tracker
        when it checked the name: a name rebound to this machine's
        loopback, a private or a link-local address is refused as the
        address itself would be, and the reason says what it resolved
        to; the name is never dialled, only an address it resolves to."""
        self.leftFrom("203.0.113.9")
        for address, why in (("127.0.0.1", "is a loopback address, and this node is on "
                              "no loopback network"),
                             ("10.0.0.1", "is a private address"),
                             ("169.254.169.254", "is link-local")):
            self.namedAt("seller.example", [address])
            self.assertRefused("seller.example", 9002,
                               f"seller.example resolves to {address}: {address} {why}")
        self.assertEqual(len(self.connector.resolved), 3)

    def test_aNameAtTheAddressesAllowed(self):
        """Of the addresses a name resolves to, those the rules allow are
        dialled, in order until one connects (as a dial by name would: an
        address of another family may be unreachable); a node on loopback
        itself dials a loopback one, at no port below 1024."""
        self.leftFrom("203.0.113.9")
        self.namedAt("seller.example", ["127.0.0.1", "198.51.100.4", "198.51.100.5"])
        dialled = self.dial("seller.example", 9002)
        self.assertEqual(self.connector.dials[-1][:2], ("198.51.100.4", 9002))
        self.connector.dials[-1][-1].errback(ConnectionRefusedError())
        self.assertEqual(self.connector.dials[-1][:2], ("198.51.100.5", 9002))
        self.connector.dials[-1][-1].errback(ConnectionRefusedError())
        self.failureResultOf(dialled, ConnectionRefusedError)
        self.assertEqual(len(self.connector.dials), 2)
        self.connector.dials.clear()
        self.leftFrom("127.0.0.1")
        self.dial("seller.example", 9002)
        self.assertEqual(self.connector.dials[-1][:2], ("127.0.0.1", 9002))
        self.namedAt("seller.example", ["127.0.0.1"])
        failure = self.failureResultOf(self.dial("seller.example", 22), HostRefused)
        self.assertIn("port 22 is below 1024", str(failure.value))
        self.assertEqual(len(self.connector.dials), 1)

    def test_aNameOfAThousandAddressesIsDialledAtTheFirstFour(self):
        """
        The name's owner's name server answers the node (not the tracker,
        which checked it at the owner's own address) with a thousand
        public addresses, each refusing: one dial of the peer tried every
        one in turn, a SYN each (1,000 dials).  Now the first
        NAME_ADDRESSES the rules allow, in the order found (4).
        """
        self.leftFrom("203.0.113.9")
        self.namedAt("seller.example", ["127.0.0.1"] + [
            f"198.51.{i // 250}.{i % 250 + 1}" for i in range(1000)])
        dialled = self.dial("seller.example", 9002)
        while not self.connector.dials[-1][-1].called:
            self.connector.dials[-1][-1].errback(ConnectionRefusedError())
        self.failureResultOf(dialled, ConnectionRefusedError)
        self.assertEqual([dial[0] for dial in self.connector.dials],
                         ["198.51.0.1", "198.51.0.2", "198.51.0.3", "198.51.0.4"])
        self.assertEqual(NAME_ADDRESSES, 4)

    def test_aNameThatDoesNotResolve(self):
        """A name that resolves to nothing, or whose lookup fails, is not
        dialled, and the refusal says so."""
        self.leftFrom("203.0.113.9")
        self.namedAt("seller.example", [])
        self.assertRefused("seller.example", 9002, "seller.example resolves to no address")
        self.namedAt("seller.example", DNSLookupError("no such name"))
        self.assertRefused("seller.example", 9002, "seller.example does not resolve: "
                           "DNS lookup failed: no such name")

    def test_aNameWhoseLookupNeverEnds(self):
        """A name server that never answers holds the dial no longer than
        a handshake may take: the dial is refused, and the reason says
        so."""
        self.leftFrom("203.0.113.9")
        nameIn(self.node, SELLER.id, "seller.example", None)
        lookups = []
        self.connector.resolve = lambda name, port: lookups.append(
            defer.Deferred()) or lookups[-1]
        dialled = self.dial("seller.example", 9002)
        self.assertNoResult(dialled)
        self.node.clock.advance(LinkSettings().handshake_timeout)
        failure = self.failureResultOf(dialled, HostRefused)
        self.assertIn("seller.example did not resolve within 10 s", str(failure.value))
        self.assertEqual(self.connector.dials, [])

    def test_theTrackersDirectWordChecked(self):
        """Where the tracker names a node without a relay, after a peer
        named a relay for it that the tracker did not (L{Dialer.vetDirect}),
        is checked as a host a peer names: a name at the addresses it
        resolves to, a loopback address refused to a node on no loopback
        network."""
        node = dialingNode(RecordingConnector())
        node.overlay = SimpleNamespace(peer_log=PeerLog(node.clock))
        node.dialer.connector = self.connector
        self.node = node
        self.leftFrom("203.0.113.9")
        failure = self.failureResultOf(
            node.dialer.vetDirect(SELLER.id, "127.0.0.1", 9002, FILES), HostRefused)
        self.assertIn("loopback address", str(failure.value))
        self.assertEqual(self.successResultOf(
            node.dialer.vetDirect(SELLER.id, "198.51.100.4", 9002, FILES)),
            ["198.51.100.4"])

    def test_aLeafsWordChecked(self):
        """A super-peer's check of a leaf's word (L{Dialer.checkAt}), a dial
        of the leaf's claim as any: its host checked as a host a peer
        names, a loopback address refused with nothing dialled and said
        where, another dialled as the leaf's claim; through the relay the
        tracker named for it, a circuit to it.  Nothing is written in the
        book: no claim taken, nothing unreached."""
        node = dialingNode(RecordingConnector())
        node.overlay = SimpleNamespace(peer_log=PeerLog(node.clock))
        node.dialer.connector = self.connector
        self.node = node
        self.leftFrom("203.0.113.9")
        protocol = object()
        failure = self.failureResultOf(
            node.dialer.checkAt(SELLER.id, "127.0.0.1", 9002, None, lambda: protocol),
            HostRefused)
        self.assertIn("127.0.0.1:9002: 127.0.0.1 is a loopback address", str(failure.value))
        # Its transports (the recording connector it was built with).
        dials = node.dialer.transports.dials
        self.assertEqual(dials, [])
        checked = node.dialer.checkAt(SELLER.id, "198.51.100.4", 9002, None,
                                      lambda: protocol)
        nameIn(node, SELLER.id, "192.168.1.2", None, RELAY, port=9002)
        node.dialer.checkAt(SELLER.id, "192.168.1.2", 9002, RELAY, lambda: protocol)
        self.assertEqual([dial[:5] for dial in dials], [
            ("198.51.100.4", 9002, protocol, None, {}),
            ("192.168.1.2", 9002, protocol, None,
             {"relay": RELAY, "target": SELLER.id})])
        dials[0][5].errback(Unreachable("nothing listens there"))
        self.failureResultOf(checked, Unreachable)
        self.assertFalse(node.whereabouts.book.unreachable(SELLER.id))

    def test_aLeafsRelayDialledOnlyAsTheTrackerNamesIt(self):
        """
        The relay a leaf registers is its word, as any relay a peer names:
        the super-peer's check goes through it only as the tracker names
        it for the leaf (asked first), never at the address the leaf
        alone named.  A leaf used to name ``127.0.0.1:6379`` and the
        super-peer dialled a service of its own machine there; now the
        tracker is asked, and its relay for the leaf is dialled (a
        circuit through it), or, where it names none, nothing.
        """
        node = dialingNode(RecordingConnector())
        node.overlay = SimpleNamespace(peer_log=PeerLog(node.clock))
        asked = []

        def whereRelay(peer_id):
            asked.append(defer.Deferred())
            return asked[-1]

        node.membership = SimpleNamespace(
            whereRelay=whereRelay, isTrackerRelay=lambda relay: False,
            atTrackersHost=lambda relay: False, trackerWay=None, link=None)
        dials = node.dialer.transports.dials
        protocol = object()
        checked = node.dialer.checkAt(SELLER.id, "203.0.113.9", 9002, "127.0.0.1:6379",
                                      lambda: protocol)
        self.assertEqual((dials, len(asked)), ([], 1))
        asked[0].callback(nodeReply(SELLER.id, "203.0.113.9", 9002, relay=RELAY))
        self.assertEqual([dial[:5] for dial in dials], [
            ("203.0.113.9", 9002, protocol, None, {"relay": RELAY, "target": SELLER.id})])
        self.assertNoResult(checked)
        unnamed = node.dialer.checkAt(SELLER.id, "203.0.113.9", 9002, "10.0.0.7:7701",
                                      lambda: protocol)
        asked[1].callback(wire.NodeReply(SELLER.id, "", 0))
        failure = self.failureResultOf(unnamed, NotNamed)
        self.assertIn("the tracker names no address for node", str(failure.value))
        self.assertEqual(len(dials), 1)

    def test_aRelayTheTrackerNamesChecked(self):
        """
        A relay the tracker names for a peer (a ``nodereply``'s, kept by
        the relayed connector) is an address the node dials as it would a
        host a peer names: a lying tracker among several (or one that a
        stranger on its own network offered a relay to from there) named
        ``127.0.0.1:6379``, a private or a link-local address, or a name,
        and every dial to that peer connected there.  Refused now, said
        why (logged, bounded per address group), nothing dialled; a
        public relay, and any port of the host the node's tracker
        connection reaches, are dialled.
        """
        dialled = RecordingConnector()
        dialled.channel = dialled.peerLog = None
        node = dialingNode(dialled)
        node.overlay = SimpleNamespace(peer_log=PeerLog(node.clock))
        node.membership = SimpleNamespace(
            atTrackersHost=lambda relay: relay.startswith("192.0.2.1:"),
            isTrackerRelay=lambda relay: False)
        self.node = node
        self.leftFrom("10.0.0.1")
        node.reach = Reachability(PRIVATE, "198.51.100.9", 9001, "198.51.100.9", 40000)
        with capturedLogs() as events:
            for relay, why in (("127.0.0.1:6379", "127.0.0.1 is a loopback address"),
                               ("10.0.0.7:8080", "10.0.0.7 is a private address"),
                               ("169.254.169.254:80", "169.254.169.254 is link-local"),
                               ("relay.example:7701", "relay.example is a name")):
                nameIn(node, SELLER.id, "", None, relay)
                failure = self.failureResultOf(
                    node.dial(Peer(SELLER.id, "", 9002, relay, SELLER.key), FILES,
                              object), RelayRefused)
                self.assertIn(f"the relay at {relay}: {why}", str(failure.value))
        self.assertEqual(dialled.dials, [])
        self.assertIn("not dialling the relay at 127.0.0.1:6379 its tracker named",
                      " ".join(formatEvent(event) for event in events))
        for relay in (RELAY, "192.0.2.1:22"):
            nameIn(node, SELLER.id, "", None, relay)
            node.dial(Peer(SELLER.id, "", 9002, relay, SELLER.key), FILES, object)
            self.assertEqual(dialled.dials[-1][4]["relay"], relay)
        self.assertIsNone(dialingNode(MemoryConnector(None, "n1")).dialer.whyNotRelay(
            "127.0.0.1:6379"))

    def test_aNameWithoutATrackerToAsk(self):
        self.node.membership = None
        self.assertRefused("seller.example", 9002, "no tracker to ask")

    def test_aRefusalIsChargedToWhoNamedIt(self):
        """The line of a host refused is charged, in the node's peer log,
        to the address group of the peer whose word named it
        (L{Peer.namedBy}), or, when that word is not at hand, to no
        address group: never to the named host's group.  A stranger
        naming hosts of one group used to spend that group's lines: here
        every host is of 10.7.0.0/16, and another namer's refusals, and
        those whose namer is not known, are logged all the same."""
        def refuse(host, namedBy):
            self.failureResultOf(self.node.dial(
                Peer(SELLER.id, host, 9002, None, SELLER.key, namedBy=namedBy), FILES,
                object), HostRefused)

        with capturedLogs() as events:
            for i in range(2 * PEER_BURST):
                refuse(f"10.7.0.{i + 1}", "203.0.0.0/16")
            refuse("10.7.0.200", "198.51.0.0/16")
            for i in range(2 * PEER_BURST):
                refuse(f"10.7.1.{i + 1}", None)
            refuse("10.7.0.201", "198.51.0.0/16")
            self.node.clock.advance(60)
        lines = [formatEvent(event) for event in events]
        refused = [line for line in lines if line.startswith("not dialling")]
        self.assertEqual(len(refused), 2 * PEER_BURST + 2)
        self.assertTrue(any("10.7.0.201" in line for line in refused))
        self.assertIn(f"{PEER_BURST} more lines like 'not dialling node {{id}} at "
                      "{where} ({purpose}): {why}' from the peers that named them in "
                      "the last 10 s, not logged", "\n".join(lines))

    def test_aRelayRefusedIsChargedToItsTracker(self):
        """The line of a relay refused is charged to the address group of
        the tracker connection that named it, not to the relay host's."""
        link = SimpleNamespace(transport=StringTransport(
            peerAddress=IPv4Address("TCP", "198.51.100.7", 7700)))
        self.node.membership = SimpleNamespace(atTrackersHost=lambda relay: False,
                                               link=link)
        with capturedLogs() as events:
            for i in range(2 * PEER_BURST):
                self.assertIsNotNone(
                    self.node.whereabouts.hosts.whyNotRelay(f"127.0.0.1:{7000 + i}"))
            self.node.clock.advance(60)
        self.assertIn(f"{PEER_BURST} more lines like 'not dialling the relay at "
                      "{relay} its tracker named: {why}' from 198.51.0.0/16",
                      "\n".join(formatEvent(event) for event in events))

    def test_aLinkToo(self):
        """A link of the overlay (a chord ring entry's peer) is checked the
        same, its refusal logged with why, bounded per address group."""
        connector = RecordingConnector()
        node = makeNode(1, connector=connector, transports=connector)
        with capturedLogs() as events:
            for port in range(2000, 2020):
                failure = self.failureResultOf(linkAt(node, "127.0.0.1", port, 0x78),
                                               Unreachable)
        lines = [formatEvent(event) for event in events if "not dialling" in
                 formatEvent(event)]
        self.assertEqual(str(failure.value), "127.0.0.1:2019: 127.0.0.1 is a loopback "
                         "address, and this node is on no loopback network itself (as its "
                         "tracker connections and the tracker's word say)")
        self.assertEqual(connector.dials, [])
        self.assertEqual(len(lines), PEER_BURST)
        self.assertIn("not dialling node 120 at 127.0.0.1:2000 (overlay): 127.0.0.1 is a "
                      "loopback address", lines[0])

    def test_anAddressTheOperatorNamedIsDialledAsNamed(self):
        """A link to whoever answers at an address this node's operator
        configured (L{Dialer.linkAt}: a --superpeer-neighbour, no id the
        book could hold it by) is dialled as named: the loopback address
        a peer's word is refused at (L{test_aLinkToo}), and a name, with
        no tracker asked where it is."""
        connector = RecordingConnector()
        node = makeNode(1, connector=connector, transports=connector)
        for host in ("127.0.0.1", "sp.example.org"):
            node.connectAt(host, 2000, DIRECT)
            self.assertEqual(connector.dials[-1][:2], (host, 2000))
        self.assertEqual(len(connector.dials), 2)
        self.assertIsNone(connector.dials[-1][3])
        self.assertTrue(node.whereabouts.book.empty())

    def test_aPublicAddressAndTheTrackersWordDialled(self):
        """A public address is dialled as named; so is whatever the
        tracker names (its nodereply: the host it checked), and a memory
        network's labels are none of these (its connector says so)."""
        self.assertDialled("203.0.113.7", 9002)
        self.assertDialled("2001:db8::7", 9002)
        self.assertTrue(EndpointConnector(task.Clock()).addressed)
        memory = MemoryConnector(MemoryNetwork(), "n1")
        self.assertFalse(memory.addressed)


class FakeTracker:
    """What the LAN candidate asks of the node's tracker session:
    ``whereRelay``, answered by the test."""

    def __init__(self):
        self.asked = []

    def whereRelay(self, node_id):
        d = defer.Deferred()
        self.asked.append((node_id, d))
        return d


class LanTests(SynchronousTestCase):
    """The LAN candidate (docs/protocol.md §5, "Local addresses"): a peer
    at home that the tracker names behind this node's public address is
    dialled at its local address first, its key proven there, and only
    the tracker's word is taken."""

    def setUp(self):
        self.punching = FakePunching()
        self.node = dialingNode(RecordingConnector(), punching=self.punching,
                                reach=Reachability(PRIVATE, HOME, 9001, HOME, 9001))
        self.connector = self.node.dialer.connector
        self.tracker = self.node.membership = FakeTracker()
        self.lan = self.node.whereabouts.lan
        self.lan.own = ("192.168.1.2",)
        self.made = []

    def protocol(self):
        self.made.append(object())
        return self.made[-1]

    def direct(self):
        """The LAN dials from any local port (a punching node's: its TCP
        transport's option C{fromPort} 0), asked of the dialer's
        transports: (host, port, key as text, protocol, Deferred)."""
        return [(host, port, encode(expected), protocol, d)
                for host, port, protocol, expected, through, d in self.connector.dials
                if through == {"fromPort": 0, "kind": LAN}]

    def dial(self, port=9002, peer_id=SELLER.id):
        return self.node.dial(Peer(peer_id, LAN_HOST, port, RELAY, SELLER.key), FILES,
                              self.protocol)

    def test_filesOverTheLanFirst(self):
        """Named behind the same public address: the transfer is dialled
        at the seller's local address, its key to be proven; nothing is
        punched or relayed."""
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        dialled = self.dial()
        [(host, port, key, protocol, d)] = self.direct()
        self.assertEqual((host, port, key, protocol),
                         (LAN_HOST, 9002, SELLER.key, self.made[0]))
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)
        self.assertEqual((self.punching.punches, len(self.connector.dials)), ([], 1))

    def test_filesOverTheLanWithoutPunches(self):
        """A node that punches none (a client: ``bazaar buy``) dials a
        seller of its home at its local address all the same, through its
        connector, the channel expecting the seller's key; a refusal
        hands over to the relay.  It used to skip the LAN for a
        connection of its own, and its file came through the relay."""
        node = dialingNode(RecordingConnector(), reach=Reachability(PRIVATE, HOME, 9001, HOME, 9001))
        connector = node.dialer.connector
        node.membership = self.tracker
        node.whereabouts.lan.own = ("192.168.1.2",)
        nameIn(node, SELLER.id, HOME, (LAN_HOST,), RELAY)
        dialled = node.dial(Peer(SELLER.id, LAN_HOST, 9002, RELAY, SELLER.key), FILES,
                            self.protocol)
        [(host, port, protocol, expected, through, d)] = connector.dials
        self.assertEqual((host, port, protocol, expected, through),
                         (LAN_HOST, 9002, self.made[0], decode(SELLER.key), {}))
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)
        node.whereabouts.book.lanFailed(SELLER.id, LAN_HOST)
        node.membership = None
        node.dial(Peer(SELLER.id, LAN_HOST, 9002, RELAY, SELLER.key), FILES, self.protocol)
        self.assertEqual(connector.dials[-1][4], {"relay": RELAY, "target": SELLER.id,
                                                  "purpose": FILES})

    def test_aFailedLanDialHandsOverAndIsNotRetriedSoon(self):
        """A local address that does not answer as the seller (refused, or
        another key: the channel fails) hands over to the punch; it is not
        dialled again for that seller until RETRY_AFTER has passed."""
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        dialled = self.dial()
        self.direct()[0][4].errback(ConnectionRefusedError())
        [(peer, _, protocol, d)] = self.punching.punches
        self.assertIs(protocol, self.made[1])
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)
        self.dial()
        self.assertEqual((len(self.direct()), len(self.punching.punches)), (1, 2))
        self.node.clock.advance(RETRY_AFTER)
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        self.dial()
        self.assertEqual(len(self.direct()), 2)

    def test_noRoomOfItsOwnIsNoFailureOfTheAddress(self):
        """This node's own slots full (its link refused before it went
        out) says nothing of the seller's local address: it is dialled
        there again at once.  It was marked failed for RETRY_AFTER, and in
        a class of 30 behind one router that does not hairpin a classmate
        was then dialled at the router's public address alone (1,757
        'nothing listens there' in 3 minutes)."""
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        dialled = self.dial()
        self.direct()[0][4].errback(NoRoom("no free overlay slots"))
        [(_, _, protocol, d)] = self.punching.punches
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)
        self.dial()
        self.assertEqual(len(self.direct()), 2)

    def test_whyAFailedDialSaysIsPlain(self):
        """The line of a failed local dial says what the connection met,
        not the repr of a failure a connection error wraps."""
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        self.dial()
        with capturedLogs() as events:
            self.direct()[0][4].errback(ConnectError(Failure(ConnectionDone())))
        [line] = [formatEvent(event) for event in events]
        self.assertEqual(line, f"no local path to node {shortId(SELLER.id)} at "
                         f"{LAN_HOST}:9002: it closed the connection (it stopped, restarted "
                         "or crashed)")

    def test_aLanOnlyPeerOverTheLan(self):
        """A LAN-only seller (docs/protocol.md §5, "LAN-only nodes"): it
        names no relay, and the tracker names it at the public host this
        node is seen at, with its local address: dialled there.  It was
        never tried over the LAN (only a peer naming a relay was), and
        its router's address answers nobody inside."""
        self.assertDialledOverTheLan()

    def test_aLanOnlyPeerOverTheLanBeforeTheCheckReports(self):
        """Before the tracker's check has said where this node is seen, a
        classmate that names no relay, whose local addresses the tracker
        named (it names them only to a node behind the same public
        address), is dialled at its local address too, not at its
        router's public address alone: that address answers nobody inside
        (no hairpin), and a chord class's ring split over it."""
        self.node.reach = Reachability()
        self.assertDialledOverTheLan()

    def assertDialledOverTheLan(self):
        """A LAN-only seller named at HOME with its local address LAN_HOST
        is dialled at that address."""
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        dialled = self.node.dial(Peer(SELLER.id, HOME, 9002, None, SELLER.key), FILES,
                                 self.protocol)
        [(host, port, key, protocol, d)] = self.direct()
        self.assertEqual((host, port, key), (LAN_HOST, 9002, SELLER.key))
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)

    def test_anUnknownPeerBeforeTheCheckReportsTheTrackerAskedFirst(self):
        """Before the check reports, a peer that names no relay and that
        the tracker has said nothing of (a chord node its ``chordNear``
        named, which names relays alone) may be a classmate: the tracker
        is asked where it is, and the local address it names is dialled,
        while its named host is dialled too."""
        self.node.reach = Reachability()
        dialled = self.node.dial(Peer(SELLER.id, HOME, 9002, None, SELLER.key), FILES,
                                 self.protocol)
        [(asked, answer)] = self.tracker.asked
        self.assertEqual(asked, SELLER.id)
        answer.callback(nodeReply(SELLER.id, HOME, 9002, lan=(LAN_HOST,)))
        [(host, _, _, protocol, d)] = self.direct()
        self.assertEqual(host, LAN_HOST)
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)

    def test_noRelayNoLocalAddressNamedBeforeTheCheckNotOverTheLan(self):
        """Before the check reports, a peer that names no relay and whose
        local addresses the tracker did not name is dialled where it is
        named alone: the LAN way asks the tracker nothing for it."""
        self.node.reach = Reachability()
        nameIn(self.node, SELLER.id, HOME, ())
        self.node.dial(Peer(SELLER.id, HOME, 9002, None, SELLER.key), FILES, self.protocol)
        self.assertEqual((self.direct(), self.tracker.asked), ([], []))

    def test_noRelayElsewhereNotOverTheLan(self):
        """A peer that names no relay, named at another host than this
        node's: dialled at that host alone, never at a local address."""
        nameIn(self.node, SELLER.id, ELSEWHERE, (LAN_HOST,))
        self.node.dial(Peer(SELLER.id, ELSEWHERE, 9002, None, SELLER.key), FILES,
                       self.protocol)
        self.assertEqual(self.direct(), [])

    def test_notBehindTheSamePublicAddress(self):
        """The tracker names the seller elsewhere: its local address is on
        another network (none of this node's own), never dialled."""
        self.lan.own = ("10.9.0.2",)
        nameIn(self.node, SELLER.id, ELSEWHERE, (LAN_HOST,))
        self.dial()
        self.assertEqual((self.direct(), len(self.punching.punches)), ([], 1))

    def test_aSharedPrivateNetwork(self):
        """Without a public address seen (no check yet), a local address
        on this node's own private network is tried."""
        self.node.reach = Reachability()
        self.lan.own = ("192.168.1.2",)
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        self.dial()
        self.assertEqual(len(self.direct()), 1)
        self.lan.own = ("10.9.0.2",)
        nameIn(self.node, 0x99 | SELLER.id, HOME, ("192.168.7.3",))
        self.dial(peer_id=0x99 | SELLER.id)
        self.assertEqual(len(self.direct()), 1)

    def test_onlyOnThisNodesSubnetNeverItsOwn(self):
        """Of the addresses the tracker names, only those on a subnet of
        this node's own local address are dialled: never this node's own
        (a stranger's peer there would make it dial its own services),
        another private network (its carrier's, its VPN's) or a
        link-local one."""
        nameIn(self.node, SELLER.id, HOME, ("192.168.1.2", "::ffff:c0a8:102", "10.1.2.3",
                                         "fe80::3", "169.254.1.3", LAN_HOST))
        self.dial()
        self.assertEqual([host for host, *_ in self.direct()], [LAN_HOST])

    def test_theTrackerAskedFirst(self):
        """With no word on the seller, the tracker is asked where it is
        (whereis); its answer's local address is dialled."""
        dialled = self.dial()
        [(asked, answer)] = self.tracker.asked
        self.assertEqual((asked, self.direct()), (SELLER.id, []))
        answer.callback(nodeReply(SELLER.id, HOME, 9001, RELAY, lan=(LAN_HOST,)))
        [(host, _, _, protocol, d)] = self.direct()
        self.assertEqual(host, LAN_HOST)
        d.callback(protocol)
        self.assertIs(self.successResultOf(dialled), protocol)
        self.dial()
        self.assertEqual(len(self.tracker.asked), 1)

    def test_noLocalAddressNamed(self):
        """The tracker names none: the punch, and the tracker is not asked
        again while its word is fresh (NAMED_FOR)."""
        self.dial()
        self.tracker.asked[0][1].callback(nodeReply(SELLER.id, HOME, 9001, RELAY))
        self.assertEqual((self.direct(), len(self.punching.punches)), ([], 1))
        self.dial()
        self.assertEqual(len(self.tracker.asked), 1)
        self.node.clock.advance(NAMED_FOR)
        self.dial()
        self.assertEqual(len(self.tracker.asked), 2)

    def test_aPublicNodeAsksNothing(self):
        """A node the tracker found public, or with no local address of
        its own (a simulation's), asks the tracker nothing."""
        self.node.reach = Reachability(PUBLIC, HOME, 9001, HOME, 9001)
        self.dial()
        self.node.reach = Reachability(PRIVATE, HOME, 9001, HOME, 9001)
        self.lan.own = ()
        self.dial()
        self.assertEqual((self.tracker.asked, len(self.punching.punches)), ([], 2))

    def test_noWellKnownPortNorKeylessPeer(self):
        """A port below 1024, or an id that is no key's, gets no LAN
        dial (a stranger could name a host's web admin port)."""
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        nameIn(self.node, 0x77, HOME, (LAN_HOST,))
        self.dial(port=80)
        self.dial(peer_id=0x77)
        self.assertEqual((self.direct(), len(self.punching.punches)), ([], 2))

    def test_dialsToOneNetworkRated(self):
        """Dials to one address group of local addresses are rated
        (dialer.lan-dials): past the burst, the dial hands over."""
        peers = [SELLER.id | n for n in range(1, 8)]
        for peer in peers:
            nameIn(self.node, peer, HOME, (LAN_HOST,))
            self.dial(peer_id=peer)
        self.assertEqual(len(self.direct()), 4)
        self.assertEqual(len(self.punching.punches), 3)
        self.node.clock.advance(1)
        self.dial(peer_id=peers[-1])
        self.assertEqual(len(self.direct()), 5)

    def test_aPeerReachedIsDialledWhateverStrangersSpent(self):
        """Strangers behind the same public address, whose local addresses
        never answer, spend the rate of dials into the LAN: a peer that
        proved its key at its local address is dialled there all the
        same (for NAMED_FOR), not sent through its relay; one that
        failed there is rated again."""
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        self.dial()
        self.direct()[0][4].callback(self.made[0])
        for peer in (SELLER.id ^ (n << 8) for n in range(1, 6)):
            nameIn(self.node, peer, HOME, ("192.168.1.9",))
            self.dial(peer_id=peer)
        self.assertEqual((len(self.direct()), len(self.punching.punches)), (4, 2))
        self.dial()
        self.assertEqual(self.direct()[-1][0], LAN_HOST)
        self.direct()[-1][4].errback(ConnectionRefusedError())
        self.node.clock.advance(RETRY_AFTER)
        for peer in (SELLER.id ^ (n << 8) for n in range(6, 10)):
            nameIn(self.node, peer, HOME, ("192.168.1.9",))
            self.dial(peer_id=peer)
        nameIn(self.node, SELLER.id, HOME, (LAN_HOST,))
        self.dial()
        self.assertEqual(len(self.direct()), 9)
        self.assertEqual(self.direct()[-1][0], "192.168.1.9")

    def test_aLinkUpIsNotDialledAgain(self):
        """A link to the peer is up: the dial takes it, spending nothing of
        the rate of dials into the LAN (another peer's dial there still
        goes out after many such)."""
        node = makeNode(1)
        node.reach = Reachability(PRIVATE, HOME, 9001, HOME, 9001)
        node.whereabouts.lan.own = ("192.168.1.2",)
        for peer in (SELLER.id ^ (n << 8) for n in range(1, 6)):
            nameIn(node, peer, HOME, (LAN_HOST,))
            node.links[peer] = SimpleNamespace(purpose=DIRECT, closing=False)
            self.assertEqual(self.successResultOf(
                node.dial(Peer(peer, LAN_HOST, 9001, RELAY), DIRECT)), peer)
        other = SELLER.id
        nameIn(node, other, HOME, ("192.168.1.4",))
        node.dial(Peer(other, "", 9001, RELAY), DIRECT)
        self.assertEqual([(r.host, r.port) for r in node.connector.requests],
                         [("192.168.1.4", 9001)])

    def test_aLinkAtTheLocalAddress(self):
        """A link to a peer at home goes to its local address, its
        handshake to prove the keyed id dialled; refused there, it goes
        through the relay.  The tracker named that address, so the check
        of a host a peer names leaves it be (a node at home dials no
        private address a peer names)."""
        node = makeNode(1)
        node.connector.addressed = True
        node.reach = Reachability(PRIVATE, HOME, 9001, HOME, 9001)
        node.whereabouts.lan.own = ("192.168.1.2",)
        nameIn(node, SELLER.id, HOME, (LAN_HOST,))
        nameIn(node, SELLER.id, HOME, (LAN_HOST,), RELAY)
        node.dial(Peer(SELLER.id, LAN_HOST, 9001, RELAY), DIRECT)
        [request] = node.connector.requests
        self.assertEqual((request.host, request.port), (LAN_HOST, 9001))
        node.connector.failLast(ConnectionRefusedError())
        self.assertEqual([(r.host, r.port) for r in node.connector.requests],
                         [(LAN_HOST, 9001), ("198.51.100.1", 7701)])


    def linkDial(self, identity=True, relayDelay=RELAY_DELAY):
        me = records.identity(1)
        node = makeNode(me.id, identity=me) if identity else makeNode(1)
        node.dialer.relayDelay = relayDelay
        node.connector.addressed = True
        node.reach = Reachability(PRIVATE, HOME, 9001, HOME, 9001)
        node.whereabouts.lan.own = ("192.168.1.2",)
        nameIn(node, SELLER.id, HOME, (LAN_HOST,), RELAY)
        return node, node.dial(Peer(SELLER.id, LAN_HOST, 9001, RELAY), DIRECT)

    def test_aLinkRacedAgainstTheRelay(self):
        """The relay starts RELAY_DELAY after the local address was dialled
        if nothing answered there; both failing, the dial says both
        reasons as a link's failure; no timer is left."""
        node, dialled = self.linkDial()
        node.clock.advance(RELAY_DELAY - 0.01)
        self.assertEqual(len(node.connector.requests), 1)
        node.clock.advance(0.01)
        self.assertEqual([(r.host, r.port) for r in node.connector.requests],
                         [(LAN_HOST, 9001), ("198.51.100.1", 7701)])
        node.connector.requests[0].deferred.errback(ConnectionRefusedError())
        self.assertNoResult(dialled)
        node.connector.requests[1].deferred.errback(ConnectionRefusedError())
        failure = self.failureResultOf(dialled, Unreachable)
        self.assertEqual(str(failure.value).count("nothing listens there (connection "
                                                  "refused)"), 2)
        self.assertEqual(node.clock.getDelayedCalls(), [])

    def test_theRelayDelayIsTheDialers(self):
        """The dialer's relayDelay option times a relay, whatever the
        transport declares."""
        node, _ = self.linkDial(relayDelay=2.0)
        node.clock.advance(1.99)
        self.assertEqual(len(node.connector.requests), 1)
        node.clock.advance(0.01)
        self.assertEqual(len(node.connector.requests), 2)

    def test_theFirstLinkProvenWinsAlone(self):
        """The LAN link, its handshake proving the seller's id, wins: the
        relay's circuit still being dialled is given up, and the overlay
        holds the one link, the winner's."""
        node, dialled = self.linkDial()
        node.clock.advance(RELAY_DELAY)
        lan, relay = node.connector.requests
        lan.link.makeConnection(StringTransport())
        lan.deferred.callback(lan.link)
        answerAs(lan.link, SELLER)
        self.assertEqual(self.successResultOf(dialled), SELLER.id)
        self.assertIs(node.links[SELLER.id], lan.link)
        self.assertTrue(relay.deferred.called)
        self.assertEqual([link for link in node.overlay.pending if not link.closing], [])
        # No start of the race's is left timed.
        self.assertEqual([call for call in node.clock.getDelayedCalls()
                          if call.func.__name__ == "_due"], [])

    def test_aLinkDialGivenUpLeavesNothing(self):
        """Cancelled while both run: both links are closed, none is left
        in its handshake, and the timer is gone."""
        node, dialled = self.linkDial()
        node.clock.advance(RELAY_DELAY)
        circuit = node.connector.connectLast()
        dialled.cancel()
        self.failureResultOf(dialled, defer.CancelledError)
        self.assertTrue(node.connector.requests[0].link.closing)
        self.assertTrue(circuit.transport.disconnecting)
        self.assertEqual([link for link in node.overlay.pending if not link.closing], [])

    def test_aKeylessNodesLinkRacesNothing(self):
        """A node without a key dials the relay for a link only once its
        local address failed: its peer, proving nothing of it, would keep
        the newest of two links."""
        node, dialled = self.linkDial(identity=False)
        node.identity = None
        node.clock.advance(5)
        self.assertEqual(len(node.connector.requests), 1)
        node.connector.failLast(ConnectionRefusedError())
        self.assertEqual(len(node.connector.requests), 2)


class LinkByIdTests(SynchronousTestCase):
    """A link is asked for by the peer's id and a purpose alone
    (L{Dialer.link}, the node's connectTo): the dialer dials it where the
    book of paths last wrote its links, heard from a peer's word or the
    operator's (L{Dialer.heard}) or named by the tracker."""

    def setUp(self):
        self.node = makeNode(1)
        self.fake = self.node.connector

    def dialled(self):
        return [(request.host, request.port) for request in self.fake.requests]

    def test_whereItWasHeard(self):
        self.node.heard(0x78, "203.0.113.7", 9001, namedBy="198.51.0.0/16")
        self.node.connectTo(0x78, DIRECT)
        self.assertEqual(self.dialled(), [("203.0.113.7", 9001)])

    def test_theLastWordWritten(self):
        """The tracker's word after a peer's is dialled, and a peer's
        after the tracker's: the book holds the last."""
        self.node.heard(0x78, "203.0.113.7", 9001)
        nameIn(self.node, 0x78, "203.0.113.8", None)
        self.node.connectTo(0x78)
        self.node.heard(0x79, "203.0.113.9", 9001)
        self.node.connectTo(0x79)
        self.assertEqual(self.dialled(), [("203.0.113.8", 9001), ("203.0.113.9", 9001)])

    def test_noAddressNoDial(self):
        """A peer the book knows no way to, with no link up: refused at
        once, saying so, nothing dialled."""
        failure = self.failureResultOf(self.node.connectTo(0x78), NotConnected)
        self.assertEqual(str(failure.value), "no address known for node 120: none "
                         "was heard or named for it")
        self.assertEqual(self.dialled(), [])

    def test_aClaimExpires(self):
        """A peer's word on where it is is dialled HEARD_FOR seconds, no
        longer."""
        self.node.heard(0x78, "203.0.113.7", 9001)
        self.node.clock.advance(HEARD_FOR)
        self.failureResultOf(self.node.connectTo(0x78), NotConnected)
        self.assertEqual(self.dialled(), [])

    def test_throughTheRelayNotedWithNoAddress(self):
        """A peer known only by the relay the tracker named for it (a
        chordNear's) is dialled through that relay."""
        self.node.noteRelay(0x78, RELAY, named=True)
        self.node.whereabouts.book.trackerNamed(nodeReply(0x78, "", 9001, relay=RELAY))
        self.node.connectTo(0x78)
        self.assertEqual(self.dialled(), [("198.51.100.1", 7701)])

    def test_aPeersWordIsChecked(self):
        """A loopback host a peer names is refused (§5, "Hosts a peer
        names"), nothing dialled."""
        connector = RecordingConnector()
        node = makeNode(1, connector=connector, transports=connector)
        node.heard(0x78, "127.0.0.1", 2000)
        self.failureResultOf(node.connectTo(0x78), Unreachable)
        self.assertEqual(connector.dials, [])

    def test_nothingListeningIsNoted(self):
        """A link's dial that found nothing listening is noted in the book
        (a scheme need not believe a record of that peer); one a relay
        refused says nothing of the peer, and a dial of whoever answers
        names no peer to note."""
        from twisted_bazaar.transports.relay.circuit import CircuitRefused
        self.node.heard(0x78, "203.0.113.7", 9001)
        d = self.node.connectTo(0x78)
        self.fake.requests[0].deferred.errback(ConnectionRefusedError())
        self.failureResultOf(d, Unreachable)
        self.assertTrue(self.node.unreachable(0x78))
        self.node.heard(0x79, "203.0.113.8", 9001)
        d = self.node.connectTo(0x79)
        self.fake.requests[1].deferred.errback(CircuitRefused("noslots"))
        self.failureResultOf(d, NotConnected)
        self.assertFalse(self.node.unreachable(0x79))
        d = self.node.dial(Peer(None, "203.0.113.9", 9001), DIRECT)
        self.fake.requests[2].deferred.errback(ConnectionRefusedError())
        self.failureResultOf(d, Unreachable)
        self.assertEqual(self.node.whereabouts.book._peers.keys(), {0x78})

    def test_aTransferByTheSellersId(self):
        """A transfer is asked for by the seller's id and the key its
        record proves: dialled at the transfer port heard in the book
        (a file's offer), at the public address of 203.0.113.7 checked as
        a peer's word is, the key expected of its channel; the dial takes
        the claim, and with none heard it fails at once, nothing
        dialled."""
        connector = RecordingConnector()
        node = makeNode(1, connector=connector, transports=connector)
        node.heard(SELLER.id, "203.0.113.7", 9002, purpose=FILES)
        protocol = object()
        node.transferTo(SELLER.id, SELLER.key, lambda: protocol)
        [(host, port, made, expected, through, _)] = connector.dials
        self.assertEqual((host, port, made, expected, through),
                         ("203.0.113.7", 9002, protocol, decode(SELLER.key), {}))
        self.assertIsNone(node.whereabouts.book.transferAddress(SELLER.id))
        failure = self.failureResultOf(node.transferTo(SELLER.id, SELLER.key, object),
                                       NotConnected)
        self.assertEqual(str(failure.value), f"no transfer address known for node "
                         f"{shortId(SELLER.id)}: none was heard for it")
        self.assertEqual(len(connector.dials), 1)

    def test_theDialTakesTheClaim(self):
        """The dial that reads a claim takes it, and the book's tables go
        with it when they hold nothing else (a simulated node dialling a
        peer holds no table for it); the tracker's word stays; a dial not
        fed again finds no address."""
        self.node.heard(0x78, "203.0.113.7", 9001)
        first = self.node.connectTo(0x78)
        self.assertTrue(self.node.whereabouts.book.empty())
        self.assertEqual(self.dialled(), [("203.0.113.7", 9001)])
        self.fake.requests[0].deferred.errback(ConnectionRefusedError())
        self.failureResultOf(first, NotConnected)
        self.failureResultOf(self.node.connectTo(0x78), NotConnected)
        nameIn(self.node, 0x79, "203.0.113.8", None)
        self.node.heard(0x78, "203.0.113.7", 9001)
        self.node.connectTo(0x78)
        self.assertIsNone(self.node.whereabouts.book.linkAddress(0x78))
        self.assertEqual(self.node.whereabouts.book.linkAddress(0x79)[0].host, "203.0.113.8")


class BuiltWithItsPartsTests(SynchronousTestCase):
    """A dialer is built with what it reads, not the node: a clock, the
    connector, the transports, the link table and the whereabouts."""

    def test_aLinkFromThePartsAlone(self):
        direct = Recording(DIRECT)
        asked = []

        def connectTo(host, port, peer_id, purpose, dial):
            asked.append((host, port, peer_id, purpose))
            return dial("the link").addCallback(lambda link: peer_id)

        overlay = SimpleNamespace(linkTo=lambda peer_id: None, connectTo=connectTo)
        where = SimpleNamespace(
            linkAddress=lambda peer_id: (Path(DIRECT, "198.51.100.7", 9001, word=NAMED), None),
            relayOf=lambda peer_id: None, trackersGroup=lambda: "the tracker's group",
            tracker=lambda: None)
        dialer = Dialer(task.Clock(), SimpleNamespace(addressed=False),
                        Transports([direct]), overlay, where)
        self.assertEqual(self.successResultOf(dialer.link(0x77, "overlay")), 0x77)
        self.assertEqual(asked, [("198.51.100.7", 9001, 0x77, "overlay")])
        [(path, expected, options)] = direct.dials
        self.assertEqual((path.host, path.port), ("198.51.100.7", 9001))
        self.assertFalse(hasattr(dialer, "node"))


class RelayedRecording(Recording):
    """A L{Recording} of the relayed kind: its paths name a relay, no
    host."""

    def canDial(self, path):
        return path.kind == self.kind and bool(path.relay)


class ToRelayTests(SynchronousTestCase):
    """The dials at a relay (a reservation's hold, the accepts of the
    circuits announced there, the relay probe's circuit to the node
    itself) go through the dialer's one entry for them (L{Dialer.toRelay}):
    the relay checked as every relay the tracker names is, by the way its
    caller picked of the relay's paths, else the path the dialer picks,
    the relay proving the key it is given."""

    def dialer(self, tracker=None, why=None):
        self.direct, self.ws, self.relayed = (
            Recording(DIRECT), Recording(WEBSOCKET), RelayedRecording(RELAYED))
        self.checked = []
        hosts = SimpleNamespace(
            whyNotRelay=lambda relay: self.checked.append(relay) or why)
        self.named = {}
        book = SimpleNamespace(pathsOf=lambda peer_id, kind: tuple(
            path for path in self.named.get(peer_id, ()) if path.kind == kind))
        where = SimpleNamespace(tracker=lambda: tracker, hosts=hosts, book=book)
        return Dialer(task.Clock(),
                      SimpleNamespace(addressed=True, channel=None, peerLog=None),
                      Transports([self.direct, self.ws, self.relayed]),
                      SimpleNamespace(linkTo=lambda peer_id: None), where)

    def test_atTheRelaysOwnPort(self):
        d = self.dialer().toRelay("198.51.100.5:7701", lambda: "hold")
        self.assertEqual(self.successResultOf(d), "hold")
        self.assertEqual(self.checked, ["198.51.100.5:7701"])
        self.assertEqual(self.direct.dials,
                         [(Path(DIRECT, "198.51.100.5", 7701, word=NAMED), None, None)])

    def test_theTrackersRelayByTheWayTheTrackerIsReached(self):
        """The tracker's own relay is dialled by the path the transport
        that reaches the tracker serves it at (a WebSocket port: a home
        that lets only HTTP(S) out); another relay at its own port."""
        way = Path(WEBSOCKET, "198.51.100.1", 80, word=CONFIGURED)
        tracker = SimpleNamespace(trackerWay=way,
                                  isTrackerRelay=lambda relay: relay == "198.51.100.1:7701")
        dialer = self.dialer(tracker)
        dialer.toRelay("198.51.100.1:7701", lambda: "accept")
        dialer.toRelay("198.51.100.5:7701", lambda: "hold")
        self.assertEqual(self.ws.dials, [(way, None, DialOptions(purpose=messages.RELAY))])
        self.assertEqual([path for path, _, _ in self.direct.dials],
                         [Path(DIRECT, "198.51.100.5", 7701, word=NAMED)])

    def test_aCircuitToATarget(self):
        pin = object()
        self.dialer().toRelay("198.51.100.5:7701", lambda: "probe", target=0x42, pin=pin)
        self.assertEqual(self.relayed.dials, [
            (Path(RELAYED, relay="198.51.100.5:7701", word=NAMED), None,
             DialOptions(target=0x42, purpose=messages.NODE, pin=pin))])

    def test_byTheWayItsCallerPicked(self):
        """A public node's relay held by one of the paths the tracker named
        with it (a WebSocket port serving it) is dialled there for the
        relay's service, expecting the key given; at its own port, the
        key is expected too."""
        way = Path(WEBSOCKET, "198.51.100.5", 443, word=NAMED)
        dialer = self.dialer()
        dialer.toRelay("198.51.100.5:7701", lambda: "hold", way, b"k" * 32)
        dialer.toRelay("198.51.100.5:7701", lambda: "hold", None, b"k" * 32)
        self.assertEqual(self.checked, ["198.51.100.5:7701"] * 2)
        self.assertEqual(self.ws.dials,
                         [(way, b"k" * 32, DialOptions(purpose=messages.RELAY))])
        self.assertEqual(self.direct.dials,
                         [(Path(DIRECT, "198.51.100.5", 7701, word=NAMED), b"k" * 32, None)])

    def test_aCircuitToATargetByTheWay(self):
        """The probe of a relay held by another transport's port opens its
        circuit there: the relay's service dialled by the way, the
        circuit's end asking for the target."""
        way = Path(WEBSOCKET, "198.51.100.5", 443, word=NAMED)
        self.dialer().toRelay("198.51.100.5:7701", Protocol, way, target=0x42,
                              pin=object())
        self.assertEqual(self.relayed.dials, [])
        self.assertEqual(self.ws.dials, [(way, None, DialOptions(purpose=messages.RELAY))])
        self.assertIsInstance(self.ws.built[0], CircuitEnd)

    #: A public node's relay, and the relayed path the tracker named for a
    #: node it holds: with the relay's WebSocket port (at no host).
    PUBLIC_RELAY = "198.51.100.5:7701"
    NAMED_WAY = Path(WEBSOCKET, "", 443, word=CLAIMED)

    def homeDialer(self, way=None):
        """A dialer of a node that reaches its tracker by way (None: its
        TCP port), which named node 0x42 through L{PUBLIC_RELAY}."""
        tracker = SimpleNamespace(trackerWay=way, isTrackerRelay=lambda relay: False)
        dialer = self.dialer(tracker)
        self.named[0x42] = (Path(RELAYED, "203.0.113.9", 7700, self.PUBLIC_RELAY, NAMED,
                                 ways=(self.NAMED_WAY,)),)
        return dialer

    def test_aCircuitThroughAPublicRelayByTheWayTheTrackerIsReached(self):
        """A node that reaches its tracker over WebSocket (an HTTP-only
        home) opens a circuit through a public node's relay at the
        relay's WebSocket port the tracker named with the path, at the
        relay's host: not at the relay's TCP port, which its firewall
        drops."""
        dialer = self.homeDialer(Path(WEBSOCKET, "198.51.100.1", 80, word=CONFIGURED))
        d = dialer.toRelay(self.PUBLIC_RELAY, Protocol, target=0x42, purpose=FILES,
                           expected=b"k" * 32)
        self.assertNoResult(d)
        self.assertEqual(self.relayed.dials, [])
        self.assertEqual(self.ws.dials, [(Path(WEBSOCKET, "198.51.100.5", 443, word=CLAIMED),
                                          None, DialOptions(purpose=messages.RELAY))])
        [end] = self.ws.built
        self.assertIsInstance(end, CircuitEnd)
        self.assertEqual(end.first, messages.RelayConnect(0x42, FILES))

    def test_theRelaysPortWhenTheWayFails(self):
        """Where the relay's WebSocket port does not answer, its own port is
        tried next; where neither does, the failure says why of each."""
        dialer = self.homeDialer(Path(WEBSOCKET, "198.51.100.1", 80, word=CONFIGURED))
        self.ws.refusing = ConnectError(string="refused")
        d = dialer.toRelay(self.PUBLIC_RELAY, Protocol, target=0x42, purpose=FILES)
        self.successResultOf(d)
        self.assertEqual([path for path, _, _ in self.relayed.dials], [
            Path(RELAYED, relay=self.PUBLIC_RELAY, word=NAMED)])
        self.relayed.refusing = ConnectError(string="dropped")
        d = dialer.toRelay(self.PUBLIC_RELAY, Protocol, target=0x42, purpose=FILES)
        why = self.failureResultOf(d, ConnectError).getErrorMessage()
        # Each way's why in the project's words (net/reconnect.inWords: no
        # full stop before the ';').
        self.assertIn("over websocket at 198.51.100.5:443: An error occurred while "
                      "connecting: refused; An error occurred while connecting: dropped.",
                      why)

    def test_aNodeThatReachesItsTrackerOverTcpTriesTheRelaysPortFirst(self):
        """A node that reaches its tracker at its TCP port dials the relay's
        own port first, as ever; its WebSocket port only after that
        failed."""
        dialer = self.homeDialer()
        self.successResultOf(dialer.toRelay(self.PUBLIC_RELAY, Protocol, target=0x42))
        self.assertEqual((len(self.relayed.dials), self.ws.dials), (1, []))
        self.relayed.refusing = ConnectError(string="dropped")
        self.assertNoResult(dialer.toRelay(self.PUBLIC_RELAY, Protocol, target=0x42))
        self.assertEqual([path for path, _, _ in self.ws.dials],
                         [Path(WEBSOCKET, "198.51.100.5", 443, word=CLAIMED)])

    def test_aCircuitThroughTheTrackersRelayByTheWayTheTrackerIsReached(self):
        """A circuit to a node held at the tracker's own relay (two
        HTTP-only homes) goes the way the tracker is reached too."""
        way = Path(WEBSOCKET, "198.51.100.1", 80, word=CONFIGURED)
        tracker = SimpleNamespace(trackerWay=way,
                                  isTrackerRelay=lambda relay: relay == "198.51.100.1:7701")
        d = self.dialer(tracker).toRelay("198.51.100.1:7701", Protocol, target=0x42,
                                         purpose=FILES)
        self.assertNoResult(d)
        self.assertEqual((self.relayed.dials, [path for path, _, _ in self.ws.dials]),
                         ([], [way]))

    def test_aRelayTheChecksRefuseIsNotDialled(self):
        d = self.dialer(why="a service of this machine").toRelay("127.0.0.1:6379",
                                                                   lambda: "hold")
        failure = self.failureResultOf(d, ConnectError)
        self.assertIn("127.0.0.1:6379: a service of this machine", str(failure.value))
        self.assertEqual((self.direct.dials, self.relayed.dials), ([], []))


class ChordNamedRelayTests(SynchronousTestCase):
    """A relay a ``chordNearIs`` names for a finger carries no ways (its
    relay's address alone: L{relaysOfPaths
    <twisted_bazaar.transports.relay.kind.relaysOfPaths>}), and the book
    holds it as the tracker's word without vouching for it
    (L{PathBook.relayNamed}: no ``nodereply`` behind it).  So a dial of
    the finger asks the tracker first (``whereis``), whose answer carries
    the relay's ways: a node in an HTTP-only home (its tracker reached
    over WebSocket) opens the circuit at the relay's WebSocket port, not
    at the relay's TCP port its firewall drops."""

    PUBLIC_RELAY = "198.51.100.5:7701"
    TRACKER_WAY = Path(WEBSOCKET, "198.51.100.1", 80, word=CONFIGURED)

    def setUp(self):
        self.direct, self.ws, self.relayed = (
            Recording(DIRECT), Recording(WEBSOCKET), RelayedRecording(RELAYED))
        connector = RecordingConnector()
        connector.channel = connector.peerLog = None
        self.asked = []
        membership = SimpleNamespace(
            whereRelay=self.whereRelay, isTrackerRelay=lambda relay: relay == RELAY,
            atTrackersHost=lambda relay: False, trackerWay=self.TRACKER_WAY, link=None)
        self.linked = []
        overlay = SimpleNamespace(linkTo=lambda peer_id: None, peer_log=None,
                                  connectTo=lambda host, port, peer_id, purpose, dial:
                                  dial(self.linked.append(peer_id) or Protocol()))
        self.node = dialingNode(connector, membership=membership, overlay=overlay,
                                transports=Transports([self.direct, self.ws, self.relayed]))

    def whereRelay(self, peer_id):
        self.asked.append((peer_id, defer.Deferred()))
        return self.asked[-1][1]

    def dialFinger(self, relay):
        """The chord node's steps for a finger the tracker's chordNearIs
        names through relay (L{Joining.nearIs
        <twisted_bazaar.schemes.chord.joining.Joining.nearIs>}'s
        noteRelay, then a finger's link to it by its id alone: the node's
        connectTo)."""
        self.node.whereabouts.notePeer(0x78, relay, named=True)
        return self.node.dialer.link(0x78, "chord-finger")

    def test_aPublicRelayByItsWaysTheWhereisNames(self):
        d = self.dialFinger(self.PUBLIC_RELAY)
        self.assertEqual((self.ws.dials, self.relayed.dials, self.direct.dials),
                         ([], [], []))
        [(peer_id, answer)] = self.asked
        self.assertEqual(peer_id, 0x78)
        answer.callback(wire.NodeReply(0x78, "192.168.1.7", 9001, paths=(
            Path(RELAYED, relay=self.PUBLIC_RELAY, word=NAMED,
                 ways=(Path(WEBSOCKET, "", 443, word=NAMED),)),)))
        self.assertNoResult(d)
        self.assertEqual((self.relayed.dials, self.direct.dials), ([], []))
        self.assertEqual([path for path, _, _ in self.ws.dials],
                         [Path(WEBSOCKET, "198.51.100.5", 443, word=NAMED)])
        [end] = self.ws.built
        self.assertEqual(end.first, messages.RelayConnect(0x78, messages.NODE))
        self.assertEqual(self.linked, [0x78])

    def test_theTrackersRelayByTheWayTheTrackerIsReached(self):
        """The tracker's own relay needs no question: it is dialled the way
        the tracker is reached."""
        d = self.dialFinger(RELAY)
        self.assertNoResult(d)
        self.assertEqual(self.asked, [])
        self.assertEqual(([path for path, _, _ in self.ws.dials], self.relayed.dials),
                         ([self.TRACKER_WAY], []))


class PluginWayOutTests(SynchronousTestCase):
    """A public chord node a ``chordNearIs`` names by its host and port
    alone (no path of a plugin's kind) is dialled, by a node that reaches
    its tracker by WebSocket alone (an HTTP-only home), after the tracker
    is asked where it is (``whereis``, L{asksFirst
    <twisted_bazaar.reach.ways.asksFirst>}): its ``nodereply`` names the
    node's WebSocket port, which such a home's firewall lets through, not
    only its TCP port, which it drops."""

    PUBLIC = 0x78
    TRACKER_WAY = Path(WEBSOCKET, "198.51.100.1", 80, word=CONFIGURED)

    def setUp(self):
        self.direct, self.ws = Recording(DIRECT), Recording(WEBSOCKET)
        connector = RecordingConnector()
        connector.channel = connector.peerLog = None
        self.asked = []
        self.membership = SimpleNamespace(
            whereRelay=self.whereRelay, isTrackerRelay=lambda relay: False,
            atTrackersHost=lambda relay: False, trackerWay=self.TRACKER_WAY, link=None)
        self.linked = []
        overlay = SimpleNamespace(linkTo=lambda peer_id: None, peer_log=None,
                                  connectTo=lambda host, port, peer_id, purpose, dial:
                                  dial(self.linked.append(peer_id) or Protocol()))
        self.node = dialingNode(connector, membership=self.membership, overlay=overlay,
                                transports=Transports([self.direct, self.ws]))

    def whereRelay(self, peer_id):
        self.asked.append((peer_id, defer.Deferred()))
        return self.asked[-1][1]

    def dialFinger(self):
        """A chord node's steps for a finger a chordNearIs names with no
        relay: L{Joining.nearIs
        <twisted_bazaar.schemes.chord.joining.Joining.nearIs>}'s
        noteRelay, the ring entry's address heard, then the link."""
        where = self.node.whereabouts
        where.notePeer(self.PUBLIC, None, named=True)
        where.heard(self.PUBLIC, "198.51.100.5", 7700)
        return self.node.dialer.link(self.PUBLIC, "chord-finger")

    def test_byTheWebSocketPortTheWhereisNames(self):
        """The firewall drops the TCP port; the WebSocket port is the way."""
        self.direct.refusing = TCPTimedOutError()
        d = self.dialFinger()
        self.assertEqual((self.direct.dials, self.ws.dials), ([], []))
        [(peer_id, answer)] = self.asked
        self.assertEqual(peer_id, self.PUBLIC)
        answer.callback(wire.NodeReply(self.PUBLIC, "198.51.100.5", 7700, paths=(
            Path(WEBSOCKET, "", 443, word=CLAIMED),)))
        self.successResultOf(d)
        self.assertEqual([(path.host, path.port, path.word) for path, _, _ in self.ws.dials],
                         [("198.51.100.5", 443, NAMED)])

    def test_aTrackerSilentLeavesTheAddressHeard(self):
        """No answer: the dial goes on as the book reads (the address
        heard), as it did before it asked."""
        d = self.dialFinger()
        [(_, answer)] = self.asked
        answer.errback(TrackerSilent("no answer in 30 s"))
        self.successResultOf(d)
        self.assertEqual(self.linked, [self.PUBLIC])
        self.assertEqual([(path.host, path.port) for path, _, _ in self.direct.dials],
                         [("198.51.100.5", 7700)])
        self.assertEqual(self.ws.dials, [])

    def test_aTransferAsksFirstToo(self):
        """A file's connection to a seller whose offer named only its
        transfer port (TCP, which the firewall drops) goes to the
        WebSocket port the tracker's answer names."""
        self.direct.refusing = TCPTimedOutError()
        self.node.whereabouts.heard(SELLER.id, "198.51.100.5", 7710, purpose=FILES)
        d = self.node.dialer.transfer(SELLER.id, SELLER.key, Protocol)
        self.assertEqual((self.direct.dials, self.ws.dials), ([], []))
        [(peer_id, answer)] = self.asked
        self.assertEqual(peer_id, SELLER.id)
        answer.callback(wire.NodeReply(SELLER.id, "198.51.100.5", 7700, paths=(
            Path(WEBSOCKET, "", 443, word=CLAIMED),)))
        self.successResultOf(d)
        self.assertEqual([(path.host, path.port, path.word) for path, _, _ in self.ws.dials],
                         [("198.51.100.5", 443, NAMED)])

    def test_aTrackerReachedByTcpIsNotAsked(self):
        self.membership.trackerWay = None
        d = self.dialFinger()
        self.successResultOf(d)
        self.assertEqual(self.linked, [self.PUBLIC])
        self.assertEqual(self.asked, [])
        self.assertEqual([(path.host, path.port) for path, _, _ in self.direct.dials],
                         [("198.51.100.5", 7700)])
