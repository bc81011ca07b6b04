"""
Tests of L{twisted_bazaar.transports.quic.transport}: two nodes of a L{Market}, each
with a QUIC socket on a deterministic datagram network sharing the
market's clock (L{tests.transports.quic.fakeudp}), linked over QUIC and a file
bought and fetched over it; the transport handing over to TCP when QUIC
does not answer; a peer's claim not dialled.
"""

import random
from types import SimpleNamespace

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar import wire
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.reach.dialer import CANDIDATES, FILES, Peer
from twisted_bazaar.transports.path import CLAIMED, CONFIGURED, SEEN, UDP, Path
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.quic.transport import (
    QuicTransport, TrackerNamedQuic, isQuic, plugQuic)
from twisted_bazaar.files import hashing
from twisted_bazaar.transports.quic.connection import QuicUnanswered
from twisted_bazaar.transports.quic.connector import FILES as FILES_SERVICE, LINKS, QuicConnector
from twisted_bazaar.testing import Market, MemoryNetwork

from tests import records
from tests.files.helpers import fileId, scratchDir, writeFile
from tests.helpers import RecordingConnector, WaysOnly, dialingNode
from tests.transports.quic.fakeudp import FakeNetwork, channelKey

PIECE = 4096
SELLER = records.identity(3)


class MarketOverQuicTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1)), seed=2)
        self.udp = FakeNetwork(self.market.clock)

    def plug(self, node, host):
        endpoint = self.udp.endpoint(host)
        plugQuic(node, endpoint, ChannelKey.generate(node.identity))
        return endpoint

    def test_linkedAndFetchedOverQuic(self):
        """A buyer that holds a seller's UDP path links to it and fetches
        its file over QUIC: the file arrives whole, its bytes went over
        the datagram network, and the seller's QUIC socket served both
        services."""
        data = random.Random(5).randbytes(200 * PIECE + 100)
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", data)
        seller = self.market.addNode(seller={"stock": {}, "share": folder})
        downloads = scratchDir(self)
        buyer = self.market.addNode(buyer={"wants": ["song.ogg"], "downloads": downloads})
        sellerQuic = self.plug(seller, "10.1.0.2")
        self.plug(buyer, "10.0.0.1")
        served = []
        original = sellerQuic._accept
        sellerQuic._accept = lambda connection, service, stream_id: (
            served.append(service) or original(connection, service, stream_id))
        buyer.dialer.book.add(seller.identity.id, Path(UDP, "10.1.0.2", 4433, word=CONFIGURED))
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
        seller = self.market.addNode(seller={"stock": {"apple": 5}}, metrics=True)
        other = self.market.addNode(seller={"stock": {"apple": 5}})
        buyer = self.market.addNode(buyer={"wants": ["apple"]}, metrics=True)
        self.plug(seller, "10.1.0.2")
        self.plug(buyer, "10.0.0.1")
        buyer.dialer.book.add(seller.identity.id, Path(UDP, "10.1.0.2", 4433, word=CONFIGURED))
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
        self.node = dialingNode(None, clock=self.udp.clock)
        endpoint = self.udp.endpoint("10.0.0.1")
        plain = SimpleNamespace(transferFactory=None, dialer=WaysOnly(()))
        self.quic = plugQuic(plain, endpoint, channelKey(1))
        for transport in plain.dialer.candidates:
            self.node.dialer.addTransport(transport)
        self.connector = self.node.dialer.connector = RecordingConnector()

    def dial(self):
        return self.node.dial(Peer(SELLER.id, "203.0.113.7", 9002, None, SELLER.key),
                              FILES, object)

    def test_isATransport(self):
        self.assertTrue(verifyObject(ITransport, self.quic))
        self.assertIsInstance(self.quic, QuicTransport)

    def test_unansweredHandsOverToTcp(self):
        """Nothing answers at the UDP path: after the QUIC dial's timeout
        the next way (TCP, here) is dialled."""
        self.node.dialer.book.add(SELLER.id, Path(UDP, "203.0.113.7", 9443,
                                                  word=CONFIGURED))
        self.dial()
        self.assertEqual(self.connector.dials, [])
        self.udp.run(6)
        self.assertEqual([dial[:2] for dial in self.connector.dials],
                         [("203.0.113.7", 9002)])

    def test_aClaimIsNotDialled(self):
        """A UDP path only the peer claims is not dialled: TCP at once."""
        self.node.dialer.book.add(SELLER.id, Path(UDP, "203.0.113.7", 9443))
        self.assertEqual(Path(UDP, "203.0.113.7", 9443).word, CLAIMED)
        self.dial()
        self.assertEqual(len(self.connector.dials), 1)
        self.assertEqual([source for source, _, _ in self.udp.sent], [])


    def test_aTrackersPathIsRacedAfterTcp(self):
        """A UDP path the tracker named (a public peer's QUIC port): TCP
        is dialled at once, and QUIC only TrackerNamedQuic.delay s later,
        TCP not having connected, neither holding the other back."""
        self.node.dialer.book.trackerNamed(
            wire.NodeReply(SELLER.id, "203.0.113.7", 9002, udp=9443))
        self.dial()
        self.assertEqual([dial[:2] for dial in self.connector.dials],
                         [("203.0.113.7", 9002)])
        self.assertEqual(self.udp.sent, [])
        self.udp.clock.advance(TrackerNamedQuic.delay)
        self.assertEqual({destination for _, destination, _ in self.udp.sent},
                         {("203.0.113.7", 9443)})
        self.assertEqual(len(self.connector.dials), 1)

    def test_aPunchedPathLeavesFromItsSocket(self):
        """A path routed through a punch's socket is dialled first, from
        that socket; unrouted, from the node's own."""
        configured = Path(UDP, "203.0.113.7", 9443, word=CONFIGURED)
        punched = Path(UDP, "203.0.113.7", 21896, word=SEEN)
        book = self.node.dialer.book
        book.add(SELLER.id, configured)
        book.add(SELLER.id, punched)
        more = self.udp.endpoint("10.0.0.1", 4434)
        routed = (QuicConnector(more, channelKey(1), LINKS),
                  QuicConnector(more, channelKey(1), FILES_SERVICE))
        self.quic.route(SELLER.id, punched, routed)
        self.dial()
        self.assertEqual([(source, destination) for source, destination, _ in self.udp.sent],
                         [(("10.0.0.1", 4434), ("203.0.113.7", 21896))])
        self.assertIs(self.quic.connectorsOf(SELLER.id, punched), routed)
        self.quic.unroute(SELLER.id, punched)
        self.assertEqual(self.quic.connectorsOf(SELLER.id, punched),
                         (self.quic.links, self.quic.files))

    def test_silenceOnAPunchedPathIsTold(self):
        """Nothing answers a dial over a punched path: whoever routed it is
        told (the path, and why), and the dial goes on to the next way."""
        punched = Path(UDP, "203.0.113.7", 21896, word=SEEN)
        self.node.dialer.book.add(SELLER.id, punched)
        lost = []
        self.quic.route(SELLER.id, punched, (self.quic.links, self.quic.files),
                        lambda *args: lost.append(args))
        self.dial()
        self.udp.run(6)
        self.assertEqual(lost, [(SELLER.id, punched,
                                 "no QUIC answer from 203.0.113.7:21896 within 5 s")])
        self.assertEqual([dial[:2] for dial in self.connector.dials],
                         [("203.0.113.7", 9002)])
