"""
Two nodes linked through a relay, behind UDP routers in memory
(L{twisted_bazaar.testing.udpnat}), on one fake clock, for the tests of
L{twisted_bazaar.reach.punch.udp.service} and its mixins: the test plays
their tracker (it answers ``udpcheck`` with ``udpprobe``, reads where
the probe datagrams came from at its two ports, answers ``udpreach``,
and sends both ``udppunchgo``), and each node's QUIC sockets are fakes
bound into the datagram network whose links connector records the dial
of the QUIC link, which the node's dialer makes by its (fake) QUIC
transport from the socket the punch met on.
"""

import random
import socket

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.path import UDP
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.core.sessionhandlers import SessionParts
from twisted_bazaar.daemon.quic import plugUdpPunching
from twisted_bazaar.reach.punch.udp.sounding import Answer
from twisted_bazaar.reach.reachable.reachability import PRIVATE, Reachability
from twisted_bazaar.testing.capabilities import relayed
from twisted_bazaar.testing.udpnat import PORT_RESTRICTED, UdpNetwork, UdpRouter
from twisted_bazaar.wire.udpreach import (
    tokenOf,
    UdpCheck,
    UdpProbe,
    UdpPunchAsk,
    UdpPunchGo,
    UdpReached,
)

from tests import records
from tests.helpers import FakeConnector, linkPeer, makeNode

TRACKER = "192.0.2.1"
TRACKER_PORTS = (3478, 3479)
#: The hosts at home, and their routers' public addresses.
HOME = {"a": ("10.0.0.2", "198.51.100.7"), "b": ("10.1.0.2", "203.0.113.9"),
        # A public node: no router.
        "p": ("198.51.7.50", "198.51.7.50")}
QUIC_PORT = 4433


class _Options:
    """A socket's options as L{twisted_bazaar.reach.punch.udp.run.write}
    sets them: its TTL, which the socket's next datagrams carry."""

    family = socket.AF_INET

    def __init__(self):
        self.ttl = 64

    def getsockopt(self, level, name):
        return self.ttl

    def setsockopt(self, level, name, value):
        self.ttl = value

    def getsockname(self):
        return ("0.0.0.0", QUIC_PORT)


class FakeSocket:
    """A node's QUIC socket as the punch uses it: its datagrams through the
    network (with the TTL its options hold), those too short for QUIC to
    its ``foreign`` (given at construction, as the QUIC service gives its
    endpoints theirs)."""

    def __init__(self, network, host, port, foreign):
        self.network = network
        self.host = host
        self.port = port
        self.foreign = foreign
        self.transport = self
        self.socket = _Options()
        network.bind(host, port, self._arrived)

    def write(self, data, addr):
        ttl = self.socket.ttl
        self.network.send(self.host, self.port, addr[0], addr[1], data,
                          0 if ttl == 64 else ttl)

    def _arrived(self, port, host, from_port, data):
        if self.foreign is not None:
            self.foreign(self, data, (host, from_port))


class FakeSounding:
    """A punch's sounding (L{twisted_bazaar.reach.punch.udp.sounding.Sounding}'s
    signature), silent until L{answered}."""

    def __init__(self, clock, host, port, data, near, family=socket.AF_INET,
                 interface=""):
        self.host = host
        self.port = port
        self.data = data
        self.near = near
        self.answer = None
        self.stopped = False

    def start(self):
        return ""

    def stop(self):
        self.stopped = True

    def answered(self, offender, type=3, code=3):
        """An ICMP answer from offender came (L{Answer})."""
        self.answer = Answer(offender, type, code)
        self.stop()
        if offender == self.host:
            self.near()


class FakeSoundings(list):
    """The soundings a node's punches made, each a L{FakeSounding}."""

    def __call__(self, *args):
        sounding = FakeSounding(*args)
        self.append(sounding)
        return sounding


class FakeLinks:
    """A links connector: records each connect (host, port, link, key)."""

    def __init__(self):
        self.dials = []

    def connect(self, host, port, protocol, expected=None):
        d = defer.Deferred()
        self.dials.append((host, port, protocol, expected, d))
        return d


@implementer(ITransport)
class FakeQuic:
    """The node's QUIC transport: a dial's link goes from the socket its
    options name (C{via}), as L{QuicTransport
    <twisted_bazaar.transports.quic.transport.QuicTransport>}'s does: by
    that socket's links connector (L{FakeSockets.links}).

    @ivar sockets: the L{FakeSockets} whose sockets it dials from.
    """

    kind = UDP

    def canDial(self, path):
        return path.kind == UDP

    def __init__(self, sockets):
        self.sockets = sockets

    def dial(self, path, expectedKey, protocolFactory, options=None):
        links = self.sockets.links[options.via]
        return links.connect(path.host, path.port, protocolFactory(), expected=expectedKey)

    def listen(self, factory):
        return defer.Deferred()


class FakeSockets:
    """The node's QUIC sockets (what L{QuicService} gives the punch),
    each telling the punching (L{punching}, once made) of its datagrams
    too short for QUIC, as the service does."""

    def __init__(self, network, host):
        self.network = network
        self.host = host
        self.punching = None
        self.main = FakeSocket(network, host, QUIC_PORT, self._foreign)
        self.links = {self.main: FakeLinks()}
        self.closed = []
        self.next = QUIC_PORT + 1
        self.refuse = False

    def open(self):
        if self.refuse:
            raise OSError(24, "Too many open files")
        socket = FakeSocket(self.network, self.host, self.next, self._foreign)
        self.next += 1
        self.links[socket] = FakeLinks()
        return socket

    def close(self, socket):
        self.network.unbind(self.host, socket.port)
        del self.links[socket]
        self.closed.append(socket)

    def _foreign(self, socket, data, addr):
        if self.punching is not None:
            self.punching.foreignDatagram(socket, data, addr)


class FakeMembership:
    """What the punch asks of the node's tracker session: it sends, and
    the parts' tables; the test answers for the tracker."""

    #: The way it reaches its tracker by, if a transport plugin's.
    trackerWay = None

    def __init__(self):
        self.sent = []
        self.parts = SessionParts(())
        self.link = FakeTrackerLink()
        #: (peer id, Deferred) of each ``whereis``, the test to answer.
        self.asked = []

    def whereRelay(self, peer_id):
        d = defer.Deferred()
        self.asked.append((peer_id, d))
        return d

    def send(self, message):
        self.sent.append(message)
        return True

    def hear(self, message):
        """The tracker sends message."""
        if isinstance(message, wire.Error):
            self.parts.erred(message)
        else:
            self.assertTaken(self.parts.dispatch(type(message), self.link, message))

    @staticmethod
    def assertTaken(taken):
        assert taken, "no part takes it"

    def take(self):
        sent, self.sent = self.sent, []
        return sent


class FakeTrackerLink:
    class transport:
        @staticmethod
        def getPeer():
            return IPv4Address("TCP", TRACKER, 7700)


class Side:
    """A node at home, linked to its peer through a relay."""

    def __init__(self, network, name, identity, peer, inbound, kind, peer_name=None,
                 reached=True, limits=None, kept=False, noUdp=None):
        host, public = HOME[name]
        if kind is not None:
            network.place(host, UdpRouter(public, kind, random.Random(name), conntrack=kept))
        connector = FakeConnector()
        self.sockets = FakeSockets(network, host)
        self.node = makeNode(identity.id, seed=identity.id, identity=identity,
                             connector=connector, transports=overConnector(
                                 connector, network.clock, more=(FakeQuic(self.sockets),)),
                             clock=network.clock)
        self.membership = self.node.membership = FakeMembership()
        self.soundings = FakeSoundings()
        self.punching = self.sockets.punching = plugUdpPunching(
            self.node, self.sockets, limits, self.soundings, noUdp=noUdp)
        self.punching.trackerRegistered()
        if reached:
            # The tracker's address check told the node it is at home: its
            # UDP punches follow failed TCP ones.
            self.node.events.reachChanged(Reachability(PRIVATE, "198.51.100.7", 9000),
                                          40000)
        self.peer = peer
        self.link = linkPeer(self.node, peer, inbound=inbound)
        relayed(self.link.transport,
                HOME[peer_name or ("b" if name == "a" else "a")][1])
        # What its punches tell the dialer's sources when no punch holds a
        # peer's links back any longer, recorded.
        self.released = []
        sources = self.node.dialer.sources
        settled = sources.settled
        sources.settled = lambda peer_id=None: (self.released.append(peer_id),
                                                settled(peer_id))

    def linkUp(self):
        self.node.events.linkAdded(self.peer.id)


class UdpPunchingTestCase(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.network = UdpNetwork(self.clock, latency=0.01)
        #: What the tracker's two ports saw: token -> [(host, port), ...].
        self.seen = {}
        for index, port in enumerate(TRACKER_PORTS):
            self.network.bind(TRACKER, port, self._trackerHeard(index))
        self.alice, self.bob = records.identity(1), records.identity(2)

    def _trackerHeard(self, index):
        def heard(port, host, from_port, data):
            self.seen.setdefault(tokenOf(data), [None, None])[index] = (host, from_port)
        return heard

    def sides(self, kind_a=PORT_RESTRICTED, kind_b=PORT_RESTRICTED, limits_a=None,
              kept=False):
        """A opened the relayed link to B (A's punches counted in
        ``limits_a``, if given); ``kept``: the routers keep Linux
        conntrack's entries for what comes unasked (plain ``MASQUERADE``;
        else as behind a rule that rejects it)."""
        self.a = Side(self.network, "a", self.alice, self.bob, False, kind_a,
                      limits=limits_a, kept=kept)
        self.b = Side(self.network, "b", self.bob, self.alice, True, kind_b, kept=kept)
        self.a.linkUp()
        self.b.linkUp()

    def check(self, side, token):
        """Play the tracker's check of side: what it sent, answered."""
        [asked] = side.membership.take()
        self.assertIsInstance(asked, UdpCheck)
        side.membership.hear(UdpProbe(token, *TRACKER_PORTS))
        self.elapse(0.05)
        (host, port), (_, second) = self.seen[token]
        reach = UdpReached(host, port, second)
        side.membership.hear(reach)
        return reach

    def checked(self, kind_a=PORT_RESTRICTED, kind_b=PORT_RESTRICTED, limits_a=None,
                kept=False):
        self.sides(kind_a, kind_b, limits_a, kept)
        self.reach = {"a": self.check(self.a, 11), "b": self.check(self.b, 12)}

    def go(self, nonce=77, asker=None):
        """The tracker starts the punch A (or ``asker``) asked for."""
        asker = self.a if asker is None else asker
        [asked] = asker.membership.take()
        self.assertEqual(asked, UdpPunchAsk(asker.peer.id))
        for side, other, peer in ((self.a, "b", self.bob), (self.b, "a", self.alice)):
            seen = self.reach[other]
            side.membership.hear(UdpPunchGo(peer.id, seen.seen_host, seen.seen_port,
                                            seen.seen_second, nonce))

    def whysOfAGo(self, nonce=77, seconds=0):
        """The reasons the sides logged (their lines' C{why}) from the
        tracker's go for A's punch through ``seconds`` more."""
        with capturedLogs() as events:
            self.go(nonce=nonce)
            if seconds:
                self.elapse(seconds)
        return [event["why"] for event in events if event.get("why")]

    def elapse(self, seconds):
        """Advance the clock by ``seconds``, a step at a time (what a step
        sends arrives a latency later)."""
        for _ in range(int(round(seconds / 0.005))):
            self.clock.advance(0.005)

    def assertNoTimers(self):
        """No timer but the network's datagrams in flight."""
        self.assertEqual([call for call in self.clock.getDelayedCalls()
                          if call.func != self.network._arrive], [])

    def tcpFailed(self):
        self.a.node.events.punchEnded(self.a.link, HOME["b"][1], "the peer refused")
