"""
Shared helpers for the unit tests of links, the node and its roles: a node
on a fake clock, links on StringTransports, and netstring framing both
ways, so each test speaks in wire messages rather than bytes.
"""

import ast
import gc
import json
import random
from collections import namedtuple
from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectError, ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport, StringTransportWithDisconnection
from twisted.python.failure import Failure

from twisted_bazaar import wire
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.reach.dialer import Dialer
from twisted_bazaar.reach.whereabouts import Whereabouts
from twisted_bazaar.transports.path import DIRECT, LAN, NAMED, RELAYED, SEEN, UDP, Path
from twisted_bazaar.transports.relay.messages import NODE
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.reach.reachable.reachability import UNCHECKED
from twisted_bazaar.identity.proofs import LINK, Handshake
from twisted_bazaar.net.overlay import OVERLAY
from twisted_bazaar.wire.ids import isKeyed, wireId
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK

from tests import records

#: A pool for the tests of accounting itself (an Account holds a declared
#: limit): unbounded unless a test says.
THINGS = declare("tests.things", None, "things",
                 "a pool the tests of accounting fill", owner=__name__)

NODE_HOST = "10.0.0.1"
NODE_PORT = 4001


def netstring(message):
    """The bytes of one message as a peer would send it."""
    data = wire.encode(message)
    return b"%d:%s," % (len(data), data)


def parseNetstrings(data):
    """Split bytes that hold only whole netstrings into their payloads."""
    payloads = []
    while data:
        length, colon, rest = data.partition(b":")
        size = int(length)
        if not colon or rest[size:size + 1] != b",":
            raise ValueError(f"not a whole netstring: {data[:40]!r}")
        payloads.append(rest[:size])
        data = rest[size + 1:]
    return payloads


def codes(messages):
    """The error codes of messages, or the type of those that are not errors."""
    return [m.code if type(m) is wire.Error else m.TYPE for m in messages]


def sent(link):
    """Decode, and clear, everything written to a link's transport."""
    messages = [wire.decode(p) for p in parseNetstrings(link.transport.value())]
    link.transport.clear()
    return messages


def feed(link, *messages):
    """Deliver messages to a link as if its peer had sent them."""
    for message in messages:
        link.dataReceived(netstring(message))


#: One connect() a node asked of a L{FakeConnector}.
ConnectRequest = namedtuple("ConnectRequest", "host port link deferred")


class FakeConnector:
    """
    Stands in for the node's connector: records each request and leaves
    the test to decide, with L{connectLast} or L{failLast} (or by firing
    a request's deferred itself), how it ends.

    @ivar requests: a L{ConnectRequest} per connect call.
    """

    #: Plain, as the memory network's (L{IConnector}), its hosts labels
    #: (``seller-host``) as the memory network's are: the dialer checks
    #: none (tests/reach/test_dialer.py checks them).
    channel = None
    peerLog = None
    addressed = False

    def __init__(self):
        self.requests = []
        #: The key each request's peer must prove (None: any).
        self.expected = []

    def connect(self, host, port, link, expected=None):
        d = defer.Deferred()
        self.requests.append(ConnectRequest(host, port, link, d))
        self.expected.append(expected)
        return d

    def resolve(self, name, port):
        """It resolves no name (a test of names uses L{RecordingConnector})."""
        return defer.fail(ConnectError(string=f"{name}: no names here"))

    def connectLast(self, reached=None):
        """The last requested connection succeeds (at the IP address
        ``reached``, if given); return its link."""
        _, port, link, d = self.requests[-1]
        link.makeConnection(StringTransport() if reached is None else StringTransport(
            peerAddress=IPv4Address("TCP", reached, port)))
        d.callback(link)
        return link

    def failLast(self, exception):
        """The last requested connection fails."""
        self.requests[-1].deferred.errback(exception)


class AddressedConnector(FakeConnector):
    """A L{FakeConnector} whose hosts are IP addresses and names, as a TCP
    connector's are: what its dialler dials is checked first."""

    addressed = True

    def __init__(self):
        super().__init__()
        #: What a name resolves to (a list of addresses, or an exception
        #: its lookup fails with); a name not here is looked up until the
        #: test fires its Deferred in L{lookups}.
        self.names = {}
        self.lookups = []

    def resolve(self, name, port):
        answer = self.names.get(name)
        if answer is None:
            d = defer.Deferred()
            self.lookups.append(d)
            return d
        if isinstance(answer, Exception):
            return defer.fail(answer)
        return defer.succeed(list(answer))


class RecordingOwner:
    """A link owner that only records what the link hands on."""

    def __init__(self):
        self.made = []
        self.messages = []
        self.lost = []

    def linkMade(self, link):
        self.made.append(link)

    def messageReceived(self, link, message):
        self.messages.append(message)

    def linkLost(self, link, reason):
        self.lost.append(reason)


#: The path-routed messages of a trade: what the observers of tests take
#: of the messages delivered at a node (L{NodeObserver.delivers}).
TRADE = (Buy, Ask, BuyOK, wire.Error)


class Recorder(NodeObserver):
    """An observer that records every node event, in order, as tuples."""

    def __init__(self):
        self.events = []

    def trackerRegistered(self):
        self.events.append(("trackerRegistered",))

    def nodeReady(self):
        self.events.append(("nodeReady",))

    def linkAdded(self, peer_id):
        self.events.append(("linkAdded", peer_id))

    def linkFailed(self, peer_id, host, port, why):
        self.events.append(("linkFailed", peer_id, host, port, why))

    def discoveryReady(self):
        self.events.append(("discoveryReady",))

    def linkRemoved(self, peer_id):
        self.events.append(("linkRemoved", peer_id))

    def relayChanged(self):
        self.events.append(("relayChanged",))

    def _delivered(self, link, message):
        self.events.append(("delivered", message))

    delivers = dict.fromkeys(TRADE, _delivered)

    def nodeStopping(self):
        self.events.append(("nodeStopping",))


def clockStartMs():
    """Where a fresh C{task.Clock} starts, in ms: 0, unless the suite runs
    with C{--clock-start} (tests/conftest.py), which a fixture's signed
    times (a buy's expiry, a record's issue) count from to hold there
    too."""
    return int(task.Clock().seconds() * 1000)


def makeNode(node_id=1, seed=0, identity=None, connector=None, transports=None,
             clock=None, **config):
    """
    A node on ``clock`` (a fresh Clock if not given) with a seeded Random and a L{FakeConnector}
    (or ``connector``, and ``transports``: those over it if not given),
    named node_id (None leaves it unregistered), with no key unless an
    identity is given.  Keepalive pings are off unless a ``link`` setting
    is given, so advancing the clock only fires what the test is about.
    """
    config.setdefault("link", LinkSettings(ping_interval=0))
    node = Node(task.Clock() if clock is None else clock, random.Random(seed),
                FakeConnector() if connector is None else connector, NodeConfig(**config),
                identity=identity, transports=transports)
    node.setAddress(NODE_HOST, NODE_PORT)
    if node_id is not None:
        node.setId(node_id)
    return node


def openLink(node, inbound=True, host="10.0.0.99", port=50000, purpose=None):
    """
    A new connection to the node, before any message is exchanged.  A link
    the node opens (inbound=False) is for ``purpose`` (default: an overlay
    link), as L{Node.connectTo} would have set it.
    """
    link = node.buildLink(inbound=inbound)
    if not inbound:
        link.purpose = purpose or OVERLAY
    link.makeConnection(StringTransport(peerAddress=IPv4Address("TCP", host, port)))
    return link


def linkPeer(node, peer_id, inbound=True, host="", port=5000, purpose=None,
             source="10.0.0.99"):
    """
    Give the node an established link to peer_id, and clear what the
    handshake wrote, so the test sees only what follows.  ``purpose``
    (e.g. L{DIRECT}) is what the link is for: said by the peer in its
    thisisme on an inbound link, set by the node on an outbound one.  A
    key's id says its key (docs/protocol.md §6), so for one, peer_id is
    the peer's L{Identity}, or an id whose key L{tests.records} drew; the
    peer proves it to a node with a key.  ``source``: the address the
    connection comes from.
    """
    link = openLink(node, inbound, host=source, purpose=purpose)
    if not isinstance(peer_id, int):
        identity, peer_id = peer_id, peer_id.id
        records.remember(identity)
        _keyedHello(node, link, identity, port, host, purpose, inbound)
    elif isKeyed(peer_id):
        _keyedHello(node, link, records.identityOf(peer_id), port, host, purpose, inbound)
    else:
        feed(link, wire.ThisIsMe(peer_id, port, host,
                                 purpose=purpose if inbound else None))
    if node.links.get(peer_id) is not link:
        raise AssertionError(f"handshake with {peer_id} failed: {sent(link)}")
    link.transport.clear()
    return link


def provenLink(node, identity, purpose=None, port=0, host="10.0.0.99"):
    """
    An inbound link on which the peer (identity) opens as a node with a
    key does: its thisisme with its key and nonce, then, on the node's
    answer, its proof.  Returns the link, what the node sent cleared.
    """
    link = openLink(node, host=host)
    handshake = Handshake(identity, LINK, purpose or OVERLAY)
    feed(link, wire.ThisIsMe(identity.id, port, purpose=purpose, key=identity.key,
                             nonce=handshake.nonce))
    [answer] = sent(link)
    feed(link, wire.Proof(handshake.prove(answer.key, answer.nonce)))
    link.transport.clear()
    return link


def _keyedHello(node, link, identity, port, host, purpose, inbound):
    """
    The thisisme of a peer with a key's id, which must name its key: to a
    node without a key, with a nonce but no proof (the link is
    unproven); to a node with one, each side proving its key.
    """
    handshake = Handshake(identity, LINK, purpose or OVERLAY)
    if inbound:
        feed(link, wire.ThisIsMe(identity.id, port, host, purpose=purpose,
                                 key=identity.key, nonce=handshake.nonce))
        answers = sent(link)
        if answers and answers[-1].sig is not None:
            feed(link, wire.Proof(handshake.prove(answers[-1].key, answers[-1].nonce)))
        return
    [opening] = sent(link)
    sig = (None if opening.nonce is None
           else handshake.prove(opening.key, opening.nonce))
    feed(link, wire.ThisIsMe(identity.id, port, host, key=identity.key,
                             nonce=handshake.nonce, sig=sig))


def answerAs(link, identity, port=5000, host=""):
    """
    The node dialled over link (opened by the node, its thisisme sent) is
    answered by the holder of identity, as any honest node with that key
    answers: its own id and key, a proof of it to the opener's key if the
    opener has one.  A test of whom a dial reached makes it another key
    than the one dialled.
    """
    [opening] = sent(link)
    handshake = Handshake(identity, LINK, link.purpose or OVERLAY)
    sig = (None if opening.nonce is None
           else handshake.prove(opening.key, opening.nonce))
    feed(link, wire.ThisIsMe(identity.id, port, host, key=identity.key,
                             nonce=handshake.nonce, sig=sig))


def assertDialRefused(test, node, link, dialled, impostor):
    """The node refused the link it opened to dialled, answered by the
    holder of another key (impostor): neither is linked.  Returns what
    the node sent on the link."""
    answers = sent(link)
    test.assertEqual([(m.code, m.info) for m in answers if isinstance(m, wire.Error)],
                     [("wtf", f"this node dialled node {wireId(dialled)}, not "
                       f"{wireId(impostor.id)}")])
    test.assertTrue(link.transport.disconnecting)
    test.assertNotIn(dialled, node.links)
    test.assertNotIn(impostor.id, node.links)
    return answers


def closeLink(link):
    """The connection under a link is gone."""
    link.connectionLost(Failure(ConnectionDone()))


# -- links spoken to as raw JSON, byte for byte ----------------------------------


def jsonNetstring(message):
    """Frame one JSON object (a dict, valid message or not) as the wire does."""
    payload = json.dumps(message).encode("utf-8")
    return b"%d:%s," % (len(payload), payload)


class CodecAssertions:
    """Assertions on the codec, for message tests of any scheme."""

    def assertRoundTrip(self, message, obj):
        """message has this wire form, and decodes back to itself."""
        self.assertEqual(message.asDict(), obj)
        self.assertEqual(wire.decode(wire.encode(message)), message)

    def assertBad(self, obj, info):
        """The JSON object obj is refused with wtf and this reason."""
        error = self.assertRaises(wire.ProtocolError, wire.decode,
                                  json.dumps(obj).encode("utf-8"))
        self.assertEqual((error.code, error.info), ("wtf", info))


def parseJSONNetstrings(data):
    """Every JSON object in a byte string of whole netstrings."""
    return [json.loads(payload) for payload in parseNetstrings(data)]


class PausingTransport(StringTransportWithDisconnection):
    """
    A transport that pushes back as a reactor's TCP transport does: every
    write that leaves more than C{bufferSize} bytes unsent pauses its
    streaming producer (again, on each such write), and L{drain}, the peer
    reading everything, resumes it.
    """

    def __init__(self, bufferSize=1024, **kwargs):
        super().__init__(**kwargs)
        self.bufferSize = bufferSize
        self.producerPaused = False

    def write(self, data):
        super().write(data)
        if (self.producer is not None and self.streaming
                and len(self.value()) > self.bufferSize):
            self.producerPaused = True
            self.producer.pauseProducing()

    def drain(self):
        """The peer reads all that was sent: the producer may go on."""
        self.clear()
        if self.producerPaused and self.producer is not None:
            self.producerPaused = False
            self.producer.resumeProducing()


class WiredLink:
    """
    A Link from ``factory`` on a fake transport whose loseConnection
    reports connectionLost, as a reactor would.  The test plays the far
    end: say() feeds the link JSON objects, heard() reads what it sent.
    """

    def __init__(self, factory, host="203.0.113.5", port=40000,
                 transport=StringTransportWithDisconnection):
        address = (IPv6Address if ":" in host else IPv4Address)("TCP", host, port)
        self.link = factory.buildProtocol(address)
        self.transport = transport(peerAddress=address)
        self.transport.protocol = self.link
        self.link.makeConnection(self.transport)

    def say(self, message):
        self.link.dataReceived(jsonNetstring(message))

    def heard(self):
        """Messages the link sent since the last call."""
        messages = parseJSONNetstrings(self.transport.value())
        self.transport.clear()
        return messages

    @property
    def closed(self):
        return not self.transport.connected


def flooded(node):
    """node, with the default scheme (flood) attached if it has none: the
    daemon wires a node's scheme before its roles, and so do these tests."""
    if node.discovery is None:
        from twisted_bazaar.daemon.registry import buildScheme

        buildScheme(node, "flood")
    return node


def units(entries):
    """Purchases (or sales) one entry per unit: one of several units is
    repeated, so a test can count units as entries."""
    return [entry for entry in entries for _ in range(entry.units)]


class RawPeer(Protocol):
    """A connection the attacker speaks JSON objects on, on the in-memory
    network: it says ``greeting`` once connected, and tells
    onMessage(peer, message) of each message that arrives."""

    def __init__(self, onMessage=None, greeting=()):
        self.messages = []
        self.onMessage = onMessage
        self.greeting = greeting
        self.buffer = b""
        self.closed = False

    def connectionMade(self):
        for message in self.greeting:
            self.say(message)

    def say(self, message):
        self.transport.write(jsonNetstring(message))

    def dataReceived(self, data):
        self.buffer += data
        while b":" in self.buffer:
            length, _, rest = self.buffer.partition(b":")
            size = int(length)
            if len(rest) <= size:
                return
            message = json.loads(rest[:size])
            self.buffer = rest[size + 1:]
            self.messages.append(message)
            if self.onMessage is not None:
                self.onMessage(self, message)

    def connectionLost(self, reason):
        self.closed = True

    def heard(self):
        messages, self.messages = self.messages, []
        return messages


class RecordingConnector:
    """Stands in for the dialer's connector and its transports: records
    each dial (host, port, protocol, expected, through, its Deferred),
    ``through`` naming a relayed path's relay and target (and purpose,
    but a link's), or the port a dial from a port is made from and its
    path's kind."""

    #: Its hosts are addresses, checked as a TCP connector's are.
    addressed = True

    def __init__(self):
        self.dials = []
        #: What a name resolves to (a name not here, to nothing).
        self.names = {}
        self.resolved = []

    def connect(self, host, port, protocol, expected=None, **through):
        d = defer.Deferred()
        self.dials.append((host, port, protocol, expected, through, d))
        return d

    #: The kinds of transport it stands in for.
    kinds = (DIRECT, RELAYED)

    def of(self, kind):
        """No transport of a kind of its own (QUIC's): it records TCP
        and relayed dials alone."""
        return None

    def dial(self, path, expectedKey, protocolFactory, options=None):
        through = {}
        if path.relay is not None:
            through = {"relay": path.relay, "target": options.target}
            if options.purpose != NODE:
                through["purpose"] = options.purpose
        if options is not None and options.fromPort is not None:
            # From a port, as a punch's or a LAN dial's (the TCP
            # transport's option): said so, with the path's kind.
            through = {"fromPort": options.fromPort, "kind": path.kind}
        return self.connect(path.host, path.port, protocolFactory(), expectedKey, **through)

    def resolve(self, name, port):
        self.resolved.append((name, port))
        answer = self.names.get(name, [])
        if isinstance(answer, Exception):
            return defer.fail(answer)
        return defer.succeed(list(answer))


class StandIn(SimpleNamespace):
    """
    A stand-in node whose whereabouts (L{Whereabouts}) hold its tracker
    session and reach, as a L{Node}'s do: ``membership`` and ``reach``
    set on it are its whereabouts' (L{holdWhereabouts}), so that a test
    setting them is heard by the dialer and the book.
    """

    overlay = None

    def linkTo(self, peer_id):
        """The link in its ``links`` to peer_id, or None, as a node's."""
        return self.links.get(peer_id)

    def linkEnds(self):
        return iter(self.links.values())

    def peersOf(self, purpose):
        return [peer for peer, link in self.links.items() if link.purpose == purpose]

    def holdWhereabouts(self):
        """Make its L{Whereabouts} (from its clock, its overlay's peer log
        and its config's handshake timeout), holding the tracker session
        and reach set on it so far."""
        config = vars(self).get("config")
        where = Whereabouts(self.clock, getattr(self.overlay, "peer_log", None),
                            None if config is None else config.link.handshake_timeout)
        where.session = vars(self).pop("membership", None)
        where.reach = vars(self).pop("reach", UNCHECKED)
        self.whereabouts = where
        return where

    @property
    def membership(self):
        return self.whereabouts.session

    @membership.setter
    def membership(self, membership):
        if "whereabouts" in vars(self):
            self.whereabouts.session = membership
        else:
            vars(self)["membership"] = membership

    @property
    def reach(self):
        return self.whereabouts.reach

    @reach.setter
    def reach(self, reach):
        if "whereabouts" in vars(self):
            self.whereabouts.reach = reach
        else:
            vars(self)["reach"] = reach


def dialingNode(connector, clock=None, punching=None, transports=None, **parts):
    """
    The parts of a node that a part dialling peers uses (its L{Dialer}
    over ``connector``, ``dial`` and ``transferTo``, and its book's
    ``heard``), without links: a role's part
    tested alone.  With ``punching`` (an L{IPathSource
    <twisted_bazaar.reach.sources.IPathSource>}), the dialer punches with
    it, one of its sources of paths.  Its transports are ``transports``, or a
    L{RecordingConnector} given, or TCP and the relay's over connector.
    """
    parts = dict({"membership": None, "reach": UNCHECKED,
                  "config": NodeConfig(link=LinkSettings())}, **parts)
    node = StandIn(clock=clock or task.Clock(), links={}, **parts)
    if node.overlay is None:
        # The link table as the dialer and the host checks read it.
        node.overlay = SimpleNamespace(linkTo=lambda peer: node.links.get(peer),
                                       peer_log=PeerLog(node.clock))
    node.holdWhereabouts()
    if transports is None:
        transports = (connector if isinstance(connector, RecordingConnector)
                      else overConnector(connector, node.clock))
    node.dialer = dialerOf(node, connector, transports)
    node.dial = node.dialer.dial
    node.transferTo = node.dialer.transfer
    node.heard = node.whereabouts.heard
    if punching is not None:
        node.dialer.sources.add(punching)
        node.dialer.punchesWith()
    return node




def nodeReply(peer_id, host, port, relay=None, lan=None, udp=None):
    """The tracker's ``nodereply`` naming peer_id at host:port with the
    paths it names as the tracker does (L{Registry.pathsOf
    <twisted_bazaar.tracker.registry.Registry.pathsOf>}): through relay,
    at the local addresses lan, with QUIC at UDP port udp."""
    paths = ((() if relay is None else (Path(RELAYED, relay=relay, word=NAMED),))
             + tuple(Path(LAN, each, port) for each in lan or ())
             + (() if udp is None else (Path(UDP, host, udp, word=SEEN),)))
    return wire.NodeReply(peer_id, host, port, paths=paths or None)


def wirePaths(relay=None, lan=None, udp=None, host="", port=0, tracker=False):
    """The wire form of a list of paths: through relay, at the local
    addresses lan (at port, if any), QUIC at UDP port udp (at host, if
    any); with the words a node gives its own (claims) or, ``tracker``,
    the tracker's (L{nodeReply})."""
    return ([{"kind": "relayed", "relay": relay, "word": "named" if tracker else "claimed"}]
            if relay is not None else []) + [
        dict({"kind": "lan", "host": each}, **({"port": port} if port else {}),
             word="claimed") for each in lan or ()] + (
        [dict({"kind": "udp"}, **({"host": host} if host else {}), port=udp,
              word="seen" if tracker else "claimed")] if udp is not None else [])


def heapFrozen(test):
    """
    Keep what the process held before ``test`` out of the collector's way
    until it ends (L{gc.freeze}): a worker of a parallel run has run
    hundreds of tests, and each full collection the code under test makes
    (a memory measure's, around C{tracemalloc}) walks all it holds.  The
    index benchmark's ten took 80 s in a loaded full run and 1.5 s alone;
    nothing they count is in what was frozen.
    """
    gc.freeze()
    test.addCleanup(gc.unfreeze)


def dialerOf(node, connector, transports):
    """A L{Dialer} built from a stand-in node's parts, as a L{Node} builds
    its own: its clock, its overlay (or, without one, its ``links``
    alone), its whereabouts (or a stand-in's own), whether it has a key."""
    overlay = getattr(node, "overlay", None)
    if overlay is None:
        overlay = SimpleNamespace(established=lambda: node.links)
    whereabouts = getattr(node, "whereabouts", None)
    return Dialer(node.clock, connector, transports, overlay, whereabouts,
                  getattr(node, "identity", None) is not None)


def parsed(source):
    """source's tree (L{ast.parse}), or source itself if it is one: the
    checks that read the package's source each parse a module once and
    hand the tree to each finder (a parse of the package is 1.2 CPU-s or
    more), and their tests hand the finders text."""
    return source if isinstance(source, ast.AST) else ast.parse(source)


def failIfHung(test, what, seconds=10):
    """Fail ``test`` (an AssertionError raised where it waits) if it still
    runs after ``seconds``: for a test of a call that used to block for
    ever (an open() of a FIFO no program writes to), so that it fails
    before its fix rather than hang the suite."""
    import signal

    def hung(*_):
        raise AssertionError(f"{what} hung")

    test.addCleanup(signal.signal, signal.SIGALRM, signal.signal(signal.SIGALRM, hung))
    signal.alarm(seconds)
    test.addCleanup(signal.alarm, 0)


def countedCalls(testCase, owner, name):
    """Patch ``owner.name`` (for the test's length) to note the arguments
    of each call before it calls the original: the list it notes in, to
    count what a peer's messages had the code under test do."""
    calls = []
    original = getattr(owner, name)

    def counted(*args):
        calls.append(args)
        return original(*args)

    testCase.patch(owner, name, counted)
    return calls
