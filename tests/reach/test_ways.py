"""
The way over a transport of a kind none of the others dials
(L{twisted_bazaar.reach.ways.Added}): which dials it takes (a peer with
a path of that kind in the book that is not a bare claim; a link, or a
transfer), and what it asks the dialer's transports.
"""

from twisted.internet import defer
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.keys import encode
from twisted_bazaar.base.peerhost import scopeOf, whyNotDialled
from twisted_bazaar.reach.peerhosts import HostRefused
from twisted_bazaar.reach.ways import Added, Quic, TrackerNamedQuic
from twisted_bazaar.transports.path import CLAIMED, CONFIGURED, DIRECT, NAMED, UDP, Path
from twisted_bazaar.transports.relay.messages import FILES, NODE
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.wire.ids import KEYED
from tests.transports.recording import Recording

PEER = 0x1234


class Book:
    def __init__(self):
        self.paths = []

    def pathsOf(self, peer_id, kind):
        return tuple(path for owner, path in self.paths
                     if owner == peer_id and path.kind == kind)


class Overlay:
    def __init__(self):
        self.asked = []

    def connectTo(self, host, port, peer_id, purpose, dial):
        self.asked.append((host, port, peer_id, purpose))
        return dial("the link")


class Whereabouts:
    def __init__(self):
        self.book = Book()


class Dialer:
    def __init__(self, transports):
        self.whereabouts = Whereabouts()
        self.transports = transports
        self.overlay = Overlay()
        self.vetted = []
        #: name -> the addresses it resolves to.
        self.names = {}

    def vetDirect(self, target, host, port, purpose):
        """As a host a peer names is vetted, for a node whose tracker
        connection leaves from a public address: an IP address the rules
        allow, or what a name resolves to that they allow."""
        self.vetted.append((target, host, port, purpose))
        allowed = [address for address in self.names.get(host, [host])
                   if whyNotDialled(address, port, {scopeOf("192.0.2.1")}) is None]
        if not allowed:
            return defer.fail(HostRefused(f"{host} is not dialled"))
        return defer.succeed(allowed)


class Peer:
    def __init__(self, peer_id=PEER, key=None, port=9000):
        self.id = peer_id
        self.key = key
        self.port = port
        self.relay = None


class AddedTests(SynchronousTestCase):

    def setUp(self):
        self.websocket = Recording(WEBSOCKET)
        self.dialer = Dialer(Transports([Recording(DIRECT), self.websocket]))
        self.way = Added()

    def add(self, path):
        self.dialer.whereabouts.book.paths.append((PEER, path))

    def test_appliesOnlyWithAPathOfAnAddedKind(self):
        self.assertFalse(self.way.applies(self.dialer, Peer(), NODE, None))
        # The ways before it dial direct and UDP paths.
        self.add(Path(DIRECT, "192.0.2.1", 7000))
        self.add(Path(UDP, "192.0.2.1", 7001, word=CONFIGURED))
        self.assertFalse(self.way.applies(self.dialer, Peer(), NODE, None))
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))
        self.assertTrue(self.way.applies(self.dialer, Peer(), NODE, None))
        self.assertFalse(self.way.applies(self.dialer, Peer(None), NODE, None))
        # Another protocol of its own than a transfer's is not carried.
        self.assertFalse(self.way.applies(self.dialer, Peer(), "status", object))
        self.assertIsNone(self.way.attempt(self.dialer, Peer(), "status", object))

    def test_notAClaim(self):
        """A path a peer's word alone names is not dialled: a peer could
        name a victim's address for every node linked to it to dial."""
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CLAIMED))
        self.assertFalse(self.way.applies(self.dialer, Peer(), NODE, None))

    def test_notWithoutItsTransport(self):
        self.dialer.transports = Transports([Recording(DIRECT)])
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))
        self.assertFalse(self.way.applies(self.dialer, Peer(), NODE, None))

    def test_aLinkThroughTheOverlay(self):
        path = Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED)
        self.add(path)
        key = bytes(range(32))
        d = self.way.attempt(self.dialer, Peer(key=encode(key)), NODE, None)
        self.assertEqual(self.successResultOf(d), "the link")
        self.assertEqual(self.dialer.overlay.asked, [("192.0.2.1", 443, PEER, NODE)])
        [(dialled, expected, options)] = self.websocket.dials
        self.assertEqual((dialled, expected, options.purpose), (path, key, NODE))

    def test_aTransferForTheFilesService(self):
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))
        made = object()
        d = self.way.attempt(self.dialer, Peer(), FILES, lambda: made)
        self.assertIs(self.successResultOf(d), made)
        [(_, key, options)] = self.websocket.dials
        self.assertEqual((key, options.purpose), (None, FILES))

    def test_aPeerKnownByItsIdAloneHasAKeyOfItExpected(self):
        """A keyed peer whose key is not known (an operator's --ws-peer
        ID=HOST:PORT) is dialled with its id expected of the channel's
        key: an impostor at the path is refused in the channel, not at
        the link's id check after it.  A keyless id expects nothing."""
        self.add(Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))
        keyed = KEYED | 0x1234
        self.dialer.whereabouts.book.paths.append(
            (keyed, Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED)))
        self.successResultOf(self.way.attempt(self.dialer, Peer(keyed), NODE, None))
        self.successResultOf(self.way.attempt(self.dialer, Peer(), NODE, None))
        self.assertEqual([expected for _, expected, _ in self.websocket.dials],
                         [keyed, None])

    def test_theOperatorsPathIsDialledAsGiven(self):
        """A path the operator configured (--ws-peer) is dialled as given,
        not vetted: the operator's word."""
        self.add(Path(WEBSOCKET, "10.0.0.9", 80, word=CONFIGURED))
        self.successResultOf(self.way.attempt(self.dialer, Peer(), NODE, None))
        self.assertEqual(self.dialer.vetted, [])
        self.assertEqual(len(self.websocket.dials), 1)


class VettedTests(SynchronousTestCase):
    """(Issue 93, the eighth round: paths as data.)  The tracker names a
    node's WebSocket port at the host it names the node at; that host is
    a host a peer names (docs/protocol.md §5, "Hosts a peer names"), so a
    WebSocket dial there is checked as a TCP dial there is: a stranger
    the tracker checked at a private or loopback address, or at a name
    rebound since, points no node at its own machine or network."""

    def setUp(self):
        self.websocket = Recording(WEBSOCKET)
        self.dialer = Dialer(Transports([Recording(DIRECT), self.websocket]))
        self.way = Added()

    def named(self, host, port=8080):
        self.dialer.whereabouts.book.paths.append(
            (PEER, Path(WEBSOCKET, host, port, word=NAMED)))

    def test_anAddressTheRulesRefuseIsNotDialled(self):
        for host, port in (("10.0.0.9", 8080), ("127.0.0.1", 8080), ("169.254.169.254", 80),
                           ("192.168.1.1", 80)):
            self.dialer.whereabouts.book.paths[:] = []
            self.named(host, port)
            for purpose, protocol in ((NODE, None), (FILES, object)):
                self.failureResultOf(
                    self.way.attempt(self.dialer, Peer(), purpose, protocol), HostRefused)
        self.assertEqual(self.websocket.dials, [])
        self.assertEqual(len(self.dialer.vetted), 8)

    def test_aPublicAddressIsDialled(self):
        self.named("198.51.100.7")
        self.successResultOf(self.way.attempt(self.dialer, Peer(), NODE, None))
        [(path, _, _)] = self.websocket.dials
        self.assertEqual(path, Path(WEBSOCKET, "198.51.100.7", 8080, word=NAMED))
        self.assertEqual(self.dialer.vetted, [(PEER, "198.51.100.7", 9000, NODE)])

    def test_itsHostIsVettedAsThePeersTCPAddressThere(self):
        """The rules are those of the peer's TCP address at the host (the
        one the tracker checked): a WebSocket port of 80 or 443 at a
        private host a node of a private market dials is dialled."""
        vetted = []
        self.dialer.vetDirect = lambda target, host, port, purpose: (
            vetted.append(port) or defer.succeed([host]))
        self.named("10.47.0.3", 443)
        self.successResultOf(self.way.attempt(self.dialer, Peer(port=7000), NODE, None))
        self.assertEqual(vetted, [7000])
        [(path, _, _)] = self.websocket.dials
        self.assertEqual((path.host, path.port), ("10.47.0.3", 443))

    def test_aNameIsDialledAtTheAddressesTheRulesAllow(self):
        """Never as the name (DNS may answer otherwise at the dial): at
        the addresses it resolves to now that the rules allow."""
        self.dialer.names["seller.example"] = ["127.0.0.1", "198.51.100.7"]
        self.named("seller.example")
        self.successResultOf(self.way.attempt(self.dialer, Peer(), NODE, None))
        self.assertEqual([path.host for path, _, _ in self.websocket.dials],
                         ["198.51.100.7"])


class TrackerNamedQuicTests(SynchronousTestCase):
    """(Issue 93, the ninth round.)  The QUIC path the tracker names a
    peer at is at the host it names the peer's TCP address at: a host a
    peer names (docs/protocol.md §5, "Hosts a peer names"), vetted as the
    peer's TCP address there is before a QUIC Initial goes to it, as the
    WebSocket path is (L{VettedTests}); a path the operator configured,
    or one a punch met, is dialled as it is."""

    def setUp(self):
        self.udp = Recording(UDP)
        self.dialer = Dialer(Transports([Recording(DIRECT), self.udp]))
        self.way = TrackerNamedQuic()

    def named(self, host, port=7701, word=NAMED):
        self.dialer.whereabouts.book.paths.append((PEER, Path(UDP, host, port, word=word)))

    def test_anAddressTheRulesRefuseIsNotDialled(self):
        for host in ("10.0.0.9", "127.0.0.1", "169.254.169.254", "192.168.1.1"):
            self.dialer.whereabouts.book.paths[:] = []
            self.named(host)
            for purpose, protocol in ((NODE, None), (FILES, object)):
                self.failureResultOf(
                    self.way.attempt(self.dialer, Peer(), purpose, protocol), HostRefused)
        self.assertEqual(self.udp.dials, [])
        self.assertEqual(len(self.dialer.vetted), 8)

    def test_aPublicAddressIsDialled(self):
        self.named("198.51.100.7")
        self.successResultOf(self.way.attempt(self.dialer, Peer(), NODE, None))
        [(path, _, _)] = self.udp.dials
        self.assertEqual(path, Path(UDP, "198.51.100.7", 7701, word=NAMED))
        self.assertEqual(self.dialer.vetted, [(PEER, "198.51.100.7", 9000, NODE)])

    def test_aNameIsDialledAtTheAddressesTheRulesAllow(self):
        self.dialer.names["seller.example"] = ["127.0.0.1", "198.51.100.7"]
        self.named("seller.example")
        self.successResultOf(self.way.attempt(self.dialer, Peer(), FILES, object))
        self.assertEqual([path.host for path, _, _ in self.udp.dials], ["198.51.100.7"])

    def test_theOperatorsPathIsDialledAsGiven(self):
        """A ``--quic-peer`` at loopback is the operator's word: no vetting."""
        self.named("127.0.0.1", word=CONFIGURED)
        self.successResultOf(Quic().attempt(self.dialer, Peer(), NODE, None))
        [(path, _, _)] = self.udp.dials
        self.assertEqual(path.host, "127.0.0.1")
        self.assertEqual(self.dialer.vetted, [])


class LinkHeldTests(SynchronousTestCase):
    """A dial the overlay answers with the link it holds to the peer
    already (L{Overlay.connectTo}'s reuse) dials nothing: no "reached"
    line, which a second dial at the same moment logged again."""

    def setUp(self):
        self.udp, self.websocket = Recording(UDP), Recording(WEBSOCKET)
        self.dialer = Dialer(Transports([Recording(DIRECT), self.udp, self.websocket]))
        self.dialer.overlay.connectTo = lambda *args: defer.succeed(PEER)
        self.dialer.whereabouts.book.paths += [
            (PEER, Path(UDP, "192.0.2.1", 7001, word=CONFIGURED)),
            (PEER, Path(WEBSOCKET, "192.0.2.1", 443, word=CONFIGURED))]

    def test_noReachSaid(self):
        for way in (Quic(), Added()):
            with capturedLogs() as events:
                self.successResultOf(way.attempt(self.dialer, Peer(), "direct", None))
            self.assertEqual([formatEvent(event) for event in events], [])
        self.assertEqual((self.udp.dials, self.websocket.dials), ([], []))

    def test_aDialSaysReached(self):
        with capturedLogs() as events:
            self.successResultOf(Quic().attempt(self.dialer, Peer(), FILES, object))
        self.assertEqual([formatEvent(event) for event in events],
                         ["reached node 4660 over QUIC at 192.0.2.1:7001 (files)"])


class RelayedAlongTests(SynchronousTestCase):
    """
    A client's way through a public node's relay (L{relayedAlong}): from
    a network that lets only HTTP(S) out the relay's port is never
    reached, and the circuit's way is the relay's WebSocket port the
    tracker named with the relayed path.
    """

    RELAY = "198.51.100.9:7701"

    def dial(self, *kinds, refusing=None):
        from twisted.internet.task import Clock
        from twisted_bazaar.reach.ways import relayedAlong
        from twisted_bazaar.transports.interface import DialOptions
        from twisted_bazaar.transports.path import RELAYED
        from twisted_bazaar.transports.relay.transport import RelayTransport

        self.tcp = Recording(DIRECT)
        self.ws = Recording(WEBSOCKET)
        self.ws.refusing = refusing
        more = (self.ws,) if WEBSOCKET in kinds else ()
        transports = Transports((self.tcp, RelayTransport(self.tcp, Clock())) + more)
        path = Path(RELAYED, "203.0.113.7", 9001, self.RELAY, NAMED,
                    ways=(Path(WEBSOCKET, "", 443, word=NAMED),))
        way = relayedAlong(path, "the link", self.RELAY, DialOptions(target=PEER))
        self.assertEqual(str(way), f"through the relay at {self.RELAY}")
        return way.dial(transports)

    def test_overTheRelaysWebSocketFirst(self):
        """The relay's WebSocket port at its host, for its service (a
        circuit's end), before its own port."""
        self.dial(WEBSOCKET)
        [(path, key, options)] = self.ws.dials
        self.assertEqual((path.kind, path.host, path.port, options.purpose),
                         (WEBSOCKET, "198.51.100.9", 443, "relay"))
        self.assertEqual(self.tcp.dials, [], "the relay's port not dialled")

    def test_thenItsPort(self):
        """The WebSocket way refused, the relay's port is dialled next."""
        from twisted.internet.error import ConnectError

        self.dial(WEBSOCKET, refusing=ConnectError(string="dropped"))
        self.assertEqual(len(self.ws.dials), 1)
        [(path, _, _)] = self.tcp.dials
        self.assertEqual((path.kind, path.host, path.port), (DIRECT, "198.51.100.9", 7701))

    def test_aClientWithoutTheKindDialsItsPort(self):
        """A client without a WebSocket transport (its tracker reached
        over TCP) dials the relay's port alone."""
        self.dial()
        [(path, _, _)] = self.tcp.dials
        self.assertEqual((path.kind, path.host, path.port), (DIRECT, "198.51.100.9", 7701))
