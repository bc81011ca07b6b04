"""
Tests of L{twisted_bazaar.transports.quic.transport}, and of the dialer's
ways over it (L{twisted_bazaar.reach.ways.Quic}): two nodes of a
L{Market}, each built with a QUIC transport on a deterministic datagram
network sharing the market's clock (L{tests.transports.quic.fakeudp}),
linked over QUIC and a file bought and fetched over it; the dial handing
over to TCP when QUIC does not answer; a peer's claim not dialled.
"""

import random
from types import SimpleNamespace

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject
from twisted_bazaar import wire
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.daemon.quic import serveNode
from twisted_bazaar.net.encrypted import HANDSHAKE_TIMEOUT
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.reach.dialer import FILES, Peer
from twisted_bazaar.reach.ways import TrackerNamedQuic
from twisted_bazaar.transports.interface import DialOptions, ITransport
from twisted_bazaar.transports.path import (
    CLAIMED, CONFIGURED, DIRECT, RELAYED, SEEN, UDP, Path)
from twisted_bazaar.transports.quic.connector import FILES as FILES_SERVICE
from twisted_bazaar.transports.quic.transport import QuicTransport, isQuic
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.files import hashing
from twisted_bazaar.transports.quic.connection import QuicUnanswered
from twisted_bazaar.testing import Market, MemoryNetwork

from tests import records
from tests.files.helpers import fileId, scratchDir, writeFile
from tests.helpers import RecordingConnector, dialingNode, nodeReply
from tests.transports.relay.helpers import RecordingTransport
from tests.transports.quic.fakeudp import (
    LATENCY, FakeNetwork, Recorder, channelKey, served)

PIECE = 4096
SELLER = records.identity(3)


class MarketOverQuicTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1)), seed=2)
        self.udp = FakeNetwork(self.market.clock)

    def addNode(self, host, **roles):
        """A node of the market built with a QUIC transport on host's
        socket of the datagram network, serving its links and transfers
        there: the node, and its QUIC endpoint."""
        # The random source and key pair the market would draw itself.
        rng = self.market.nodeRandom()
        identity = Identity.fromRandom(rng)
        quic = QuicTransport(self.udp.endpoint(host), ChannelKey.generate(identity))
        node = self.market.buildNode(identity=identity, rng=rng, transports=(quic,), **roles)
        serveNode(quic, node)
        self.market.startNode(node)
        return node, quic.endpoint

    def test_linkedAndFetchedOverQuic(self):
        """A buyer that holds a seller's UDP path links to it and fetches
        its file over QUIC: the file arrives whole, its bytes went over
        the datagram network, and the seller's QUIC socket served both
        services."""
        data = random.Random(5).randbytes(200 * PIECE + 100)
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", data)
        seller, sellerQuic = self.addNode("10.1.0.2", seller={"stock": {}, "share": folder})
        downloads = scratchDir(self)
        buyer, _ = self.addNode("10.0.0.1",
                                buyer={"wants": ["song.ogg"], "downloads": downloads})
        served = []
        original = sellerQuic._accept
        sellerQuic._accept = lambda connection, service, stream_id: (
            served.append(service) or original(connection, service, stream_id))
        buyer.whereabouts.book.add(seller.identity.id, Path(UDP, "10.1.0.2", 4433, word=CONFIGURED))
        self.market.run(10)
        [purchase] = self.market.role(buyer, "buyer").bag
        self.assertEqual(purchase.seller, seller.id)
        with open(f"{downloads}/song.ogg", "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(data, PIECE))
        self.assertEqual(set(served), {"bazaar-link/1", "bazaar-files/1"})
        moved = sum(len(datagram) for source, _, datagram in self.udp.sent
                    if source == ("10.1.0.2", 4433))
        self.assertGreater(moved, len(data))
        link = buyer.links[seller.id]
        self.assertEqual(link.transport.getPeer().type, "UDP")

    def test_aLinkKnowsItRunsOverQuic(self):
        """A link over QUIC says so at both ends, the dialler's and the
        acceptor's, through its channel (L{isQuic}), as its node tells its
        operator (``quic``) and counts in its metrics; a link over TCP
        does not."""
        seller, _ = self.addNode("10.1.0.2", seller={"stock": {"apple": 5}}, metrics=True)
        other = self.market.addNode(seller={"stock": {"apple": 5}})
        buyer, _ = self.addNode("10.0.0.1", buyer={"wants": ["apple"]}, metrics=True)
        buyer.whereabouts.book.add(seller.identity.id, Path(UDP, "10.1.0.2", 4433, word=CONFIGURED))
        self.market.run(10)
        over = {peer: isQuic(link) for peer, link in buyer.links.items()}
        self.assertEqual(over, {seller.id: True, other.id: False})
        self.assertTrue(isQuic(seller.links[buyer.id]))
        self.assertFalse(isQuic(seller.links[other.id]))
        for node, peer in ((buyer, seller), (seller, buyer)):
            rows = {row[0]: row for row in self.market.services[node].status.state().links}
            self.assertEqual(rows[peer.id][4:], (False, True))
            self.assertEqual(rows[other.id][4:], (False, False))
            samples = {sample.labels["purpose"]: sample.value
                       for family in self.market.metrics[node].registry.collect()
                       if family.name == "bazaar_links_quic" for sample in family.samples}
            purpose = node.links[peer.id].purpose
            self.assertEqual(samples[purpose], 1)
            self.assertEqual(sum(samples.values()), 1)


class TransportTests(SynchronousTestCase):
    def setUp(self):
        self.udp = FakeNetwork()
        self.quic = QuicTransport(self.udp.endpoint("10.0.0.1"), channelKey(1))
        self.tcp = RecordingTransport(DIRECT)
        self.node = dialingNode(RecordingConnector(), clock=self.udp.clock,
                                transports=Transports([self.tcp, self.quic,
                                                       RecordingTransport(RELAYED)]))

    def dial(self, protocol=object):
        return self.node.dial(Peer(SELLER.id, "203.0.113.7", 9002, None, SELLER.key),
                              FILES, protocol)

    def tcpDials(self):
        return [(dial.host, dial.port) for dial in self.tcp.dials]

    def test_isATransport(self):
        self.assertTrue(verifyObject(ITransport, self.quic))
        self.assertEqual(self.quic.kind, UDP)
        self.assertTrue(self.quic.canDial(Path(UDP, "203.0.113.7", 9443)))
        self.assertFalse(self.quic.canDial(Path(DIRECT, "203.0.113.7", 9443)))

    def test_noServiceForAnotherPurpose(self):
        """QUIC carries a node's links and its transfers: a dial for
        another purpose fails, saying so, and sends nothing."""
        failure = self.failureResultOf(self.quic.dial(
            Path(UDP, "203.0.113.7", 9443), None, object, DialOptions(purpose="status")))
        self.assertIn("no service for 'status'", failure.getErrorMessage())
        self.assertEqual(self.udp.sent, [])

    def test_unansweredHandsOverToTcp(self):
        """Nothing answers at the UDP path: after the QUIC dial's timeout
        the next way (TCP, here) is dialled."""
        self.node.whereabouts.book.add(SELLER.id, Path(UDP, "203.0.113.7", 9443,
                                                  word=CONFIGURED))
        self.dial()
        self.assertEqual(self.tcp.dials, [])
        self.udp.run(6)
        self.assertEqual(self.tcpDials(), [("203.0.113.7", 9002)])

    def test_aClaimIsNotDialled(self):
        """A UDP path only the peer claims is not dialled: TCP at once."""
        self.node.whereabouts.book.add(SELLER.id, Path(UDP, "203.0.113.7", 9443))
        self.assertEqual(Path(UDP, "203.0.113.7", 9443).word, CLAIMED)
        self.dial()
        self.assertEqual(len(self.tcp.dials), 1)
        self.assertEqual([source for source, _, _ in self.udp.sent], [])


    def test_aTrackersPathIsRacedAfterTcp(self):
        """A UDP path the tracker named (a public peer's QUIC port): TCP
        is dialled at once, and QUIC only TrackerNamedQuic.delay s later,
        TCP not having connected, neither holding the other back."""
        self.node.whereabouts.book.trackerNamed(
            nodeReply(SELLER.id, "203.0.113.7", 9002, udp=9443))
        self.dial()
        self.assertEqual(self.tcpDials(), [("203.0.113.7", 9002)])
        self.assertEqual(self.udp.sent, [])
        self.udp.clock.advance(TrackerNamedQuic.delay)
        self.assertEqual({destination for _, destination, _ in self.udp.sent},
                         {("203.0.113.7", 9443)})
        self.assertEqual(len(self.tcp.dials), 1)

    def test_aPunchedPathLeavesFromItsSocket(self):
        """A path the book notes with a punch's socket is dialled first,
        from that socket, though added after another."""
        book = self.node.whereabouts.book
        book.add(SELLER.id, Path(UDP, "203.0.113.7", 9443, word=CONFIGURED))
        more = self.udp.endpoint("10.0.0.1", 4434)
        book.add(SELLER.id, Path(UDP, "203.0.113.7", 21896, word=SEEN, via=more))
        self.dial()
        self.assertEqual([(source, destination) for source, destination, _ in self.udp.sent],
                         [(("10.0.0.1", 4434), ("203.0.113.7", 21896))])

    def test_aPathWithoutItsSocketLeavesFromTheNodes(self):
        """The same path added again with no socket takes the noted one's
        place: it is dialled from the node's own socket, in the order
        added."""
        book = self.node.whereabouts.book
        more = self.udp.endpoint("10.0.0.1", 4434)
        book.add(SELLER.id, Path(UDP, "203.0.113.7", 21896, word=SEEN, via=more))
        book.add(SELLER.id, Path(UDP, "203.0.113.7", 9443, word=CONFIGURED))
        book.add(SELLER.id, Path(UDP, "203.0.113.7", 21896, word=SEEN))
        self.dial()
        self.assertEqual([(source, destination) for source, destination, _ in self.udp.sent],
                         [(("10.0.0.1", 4433), ("203.0.113.7", 21896))])

    def test_aChannelSilentOnAPunchedPathIsTold(self):
        """A punched path carries QUIC's handshake, then nothing (its
        routers forgot it as the channel's handshake began): the dial
        fails at the channel's timeout as silence, whoever routed the
        path is told, and the dial goes on to the next way.  Before, the
        dial fired at QUIC's handshake, and a transfer's channel then
        timed out on the path, told to nobody (its seller dropped,
        searched for over the dead QUIC link: test_pathDies at load)."""
        accepted = served(self.udp.endpoint("203.0.113.7", 21896), 3, FILES_SERVICE)
        lost = []
        punched = Path(UDP, "203.0.113.7", 21896, word=SEEN, via=self.quic.endpoint,
                       lost=lambda *args: lost.append(args))
        self.node.whereabouts.book.add(SELLER.id, punched)
        # Dropped from the first byte of the channel that reaches the
        # peer on: QUIC's handshake is done, the channel's is not.
        self.udp.drop = lambda source, destination, data: bool(accepted)
        result = []
        self.dial(Recorder).addBoth(result.append)
        self.udp.run(HANDSHAKE_TIMEOUT - 0.5)
        self.assertEqual(len(accepted), 1)
        self.assertEqual((lost, result, self.tcp.dials), ([], [], []))
        self.udp.run(1)
        self.assertEqual(lost, [(SELLER.id, punched,
                                 "no QUIC answer from 203.0.113.7:21896 after its "
                                 "handshake: no channel handshake within 10 s")])
        self.assertEqual(self.tcpDials(), [("203.0.113.7", 9002)])

    def test_silenceOnAPunchedPathIsTold(self):
        """Nothing answers a dial over a punched path: whoever routed it is
        told (the path, and why), and the dial goes on to the next way."""
        lost = []
        punched = Path(UDP, "203.0.113.7", 21896, word=SEEN, via=self.quic.endpoint,
                       lost=lambda *args: lost.append(args))
        self.node.whereabouts.book.add(SELLER.id, punched)
        self.dial()
        self.udp.run(6)
        self.assertEqual(lost, [(SELLER.id, punched,
                                 "no QUIC answer from 203.0.113.7:21896 within 5 s")])
        self.assertEqual(self.tcpDials(), [("203.0.113.7", 9002)])
