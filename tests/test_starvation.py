"""
No peer may starve the others (issue 3): a ping or search flood costs the
node a bounded amount of work, a peer that does not read is dropped before
the node buffers without bound, and a peer that goes quiet, mid-frame or
before its handshake, is closed.

Everything runs on fake transports and a C{task.Clock}: cost is measured in
work done (messages answered, forwarded, bytes buffered), never in time.
"""

import math
import random
from functools import partial

from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.build import plugScheme
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar import wire
from twisted_bazaar.net.link import (
    BURST_FACTOR,
    DEAD_AFTER_INTERVALS,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_PING_RATE,
    DEFAULT_SEARCH_RATE,
    DEFAULT_WRITE_LIMIT,
    FLUSH_BYTES,
    LinkSettings,
)
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.limits import UNSENT_LIMIT
from twisted_bazaar.net.fairshare import DEFAULT_RESERVE
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery
from twisted_bazaar.tracker import Tracker, TrackerFactory

from tests.helpers import NODE_HOST, NODE_PORT, PausingTransport, makeNode
from tests.schemes import StaticShop
from tests.net.links import frame
from tests.tracker.test_tracker import WiredLink
from tests.wire.test_wire import payload

NODE_ID = 1
FLOODER, OTHER, SLOW = 7, 5, 6
#: Pings in the flood of issue 3, and the chunks they arrive in.
FLOOD_SIZE, FLOOD_CHUNKS = 20_000, 4
PING_BURST = int(DEFAULT_PING_RATE * BURST_FACTOR)
SEARCH_BURST = int(DEFAULT_SEARCH_RATE * BURST_FACTOR)
#: Searches of one origin a node forwards in a second, alone: 7/8 of its
#: group's level, itself 7/8 of the budget.
ORIGIN_LEVEL = math.ceil(DEFAULT_SEARCH_RATE * (1 - DEFAULT_RESERVE) ** 2)
PING_INTERVAL = 10.0


def pings(first, count):
    """``count`` ping frames with consecutive nonces, as one chunk."""
    return b"".join(frame(wire.encode(wire.Ping(n))) for n in range(first, first + count))


def searches(first, count, item="apple"):
    """``count`` searches from the flooder with consecutive ids, as one chunk."""
    return b"".join(frame(wire.encode(floodmsg.Search(n, item, (FLOODER,), 5)))
                    for n in range(first, first + count))


def kinds(messages):
    return [message["type"] for message in messages]


def logLines(events):
    return [formatEvent(event) for event in events]


class NodeCase(SynchronousTestCase):
    """A node with the flood scheme and no roles whose peers are
    L{WiredLink}s.  The scheme's shop records the searches that reach it."""

    def startNode(self, **settings):
        settings.setdefault("ping_interval", 0)
        self.node = makeNode(NODE_ID, link=LinkSettings(**settings))
        self.shop = StaticShop()
        plugScheme(self.node, FloodDiscovery(self.node)).advertise(self.shop)
        self.clock = self.node.clock
        self.factory = OverlayFactory(self.node)

    def connect(self, index, **kwargs):
        """A new connection from a distinct loopback-like address."""
        return WiredLink(self.factory, f"198.51.100.{index}", 40000 + index, **kwargs)

    def introduce(self, peer, peer_id):
        peer.say({"type": "thisisme", "id": wireId(peer_id), "port": 4000 + peer_id,
                  "host": ""})
        self.assertEqual(peer.heard(), [{"type": "thisisme", "id": wireId(NODE_ID),
                                         "port": NODE_PORT, "host": NODE_HOST}])

    def linkPeer(self, peer_id, **kwargs):
        peer = self.connect(peer_id, **kwargs)
        self.introduce(peer, peer_id)
        return peer

    def assertPong(self, peer, nonce=4242):
        peer.heard()
        peer.say({"type": "ping", "nonce": nonce})
        self.assertEqual(peer.heard(), [{"type": "pong", "nonce": nonce}])


class PingFloodTests(NodeCase):
    """20,000 pings from one peer cost a few pongs, not 20,000."""

    def floodAndCount(self, flooder, clock, step):
        """
        Send the flood in chunks, ``step`` seconds apart; return the pongs
        written and the seconds the flood took on the clock.
        """
        per_chunk = FLOOD_SIZE // FLOOD_CHUNKS
        for chunk in range(FLOOD_CHUNKS):
            if chunk:
                clock.advance(step)
            flooder.link.dataReceived(pings(chunk * per_chunk, per_chunk))
        return flooder.heard(), step * (FLOOD_CHUNKS - 1)

    def test_nodeFlood(self):
        """
        Only the burst is answered; the rest is dropped, counted on the link
        and in the settings, and logged once.  A peer whose handshake
        arrives after the flood is answered at once, and an established
        peer still gets its pong.
        """
        self.startNode()
        other = self.linkPeer(OTHER)
        flooder = self.linkPeer(FLOODER)
        with capturedLogs() as events:
            pongs, elapsed = self.floodAndCount(flooder, self.clock, 0.1)
        allowed = int(PING_BURST + DEFAULT_PING_RATE * elapsed)
        self.assertEqual(pongs, [{"type": "pong", "nonce": n} for n in range(allowed)])
        self.assertEqual(flooder.link.dropped, {"ping": FLOOD_SIZE - allowed})
        self.assertEqual(self.node.config.link.dropped, {"ping": FLOOD_SIZE - allowed})
        self.assertEqual(len([line for line in logLines(events)
                              if "faster than" in line]), 1)

        late = self.connect(9)
        self.introduce(late, 9)
        self.assertIn(9, self.node.links)
        self.assertPong(other)
        self.assertFalse(flooder.closed)

    def test_refillIsBounded(self):
        """Over a longer flood the pongs never exceed burst + rate * time."""
        self.startNode()
        flooder = self.linkPeer(FLOODER)
        pongs, elapsed = self.floodAndCount(flooder, self.clock, 2.0)
        self.assertLessEqual(len(pongs), PING_BURST + DEFAULT_PING_RATE * elapsed)
        # Refilled between chunks: the burst first, then what each 2 s earned.
        self.assertEqual(len(pongs), PING_BURST + int(DEFAULT_PING_RATE * elapsed))
        self.assertEqual(len(pongs) + flooder.link.dropped["ping"], FLOOD_SIZE)

    def test_trackerFlood(self):
        """The tracker, too, answers a flooding node's burst only, and still
        registers a node that connects after the flood."""
        clock = Clock()
        tracker = Tracker(clock, random.Random(1), LinkSettings(ping_interval=0))
        factory = TrackerFactory(tracker)
        flooder = WiredLink(factory, "198.51.100.7")
        flooder.say({"type": "thisisme", "id": wireId(FLOODER), "port": 4007, "host": ""})
        flooder.heard()
        pongs, _ = self.floodAndCount(flooder, clock, 0.1)
        self.assertEqual(len(pongs), PING_BURST)
        self.assertEqual(flooder.link.dropped, {"ping": FLOOD_SIZE - PING_BURST})

        late = WiredLink(factory, "198.51.100.9")
        late.say({"type": "thisisme", "id": "9", "port": 4009, "host": ""})
        self.assertEqual(late.heard(), [{"type": "thisisyou", "id": "9", "port": 4009}])


class SearchFloodTests(NodeCase):
    """A search flood is handled only up to the peer's rate, and forwarded
    only up to one group's part of the node's forwarding budget."""

    def test_excessNotForwarded(self):
        """Of 2,000 searches at once, the burst is handled and the rest
        dropped; of those handled, the flooder's level (as an origin within
        its group) is forwarded.  A second later, one second's worth more
        is handled, and the level forwarded again."""
        self.startNode()
        other = self.linkPeer(OTHER)
        flooder = self.linkPeer(FLOODER)
        flooder.link.dataReceived(searches(1, 1000))
        flooder.link.dataReceived(searches(1001, 1000))
        forwarded = other.heard()
        self.assertEqual(kinds(forwarded), ["search"] * ORIGIN_LEVEL)
        self.assertEqual([s["id"] for s in forwarded], list(range(1, ORIGIN_LEVEL + 1)))
        self.assertEqual(len(self.shop.asked), SEARCH_BURST)
        self.assertEqual(flooder.link.dropped, {"search": 2000 - SEARCH_BURST})

        self.clock.advance(1)
        flooder.link.dataReceived(searches(2001, 1000))
        self.assertEqual(len(other.heard()), ORIGIN_LEVEL)
        self.assertEqual(len(self.shop.asked), SEARCH_BURST + int(DEFAULT_SEARCH_RATE))
        self.assertEqual(self.node.config.link.dropped,
                         {"search": 3000 - SEARCH_BURST - int(DEFAULT_SEARCH_RATE)})
        self.assertPong(other)


class NonReadingPeerTests(NodeCase):
    """A peer that does not read is dropped past the write limit."""

    WRITE_LIMIT = 4096
    ITEM = "i" * 200

    def setUpPeers(self, **settings):
        """The flooder, the peer that will stop reading, and another peer."""
        self.startNode(**settings)
        self.slow = self.linkPeer(SLOW)
        self.other = self.linkPeer(OTHER)
        self.flooder = self.linkPeer(FLOODER)
        self.assertIs(self.slow.transport.producer, self.slow.link)
        self.assertTrue(self.slow.transport.streaming)

    def relayedSize(self):
        """Bytes of one flooded search as the node forwards it."""
        return len(wire.encode(floodmsg.Search(1000, self.ITEM, (FLOODER, NODE_ID), 4)))

    def flood(self, first, count):
        self.flooder.link.dataReceived(searches(first, count, self.ITEM))

    def test_abortedPastTheLimit(self):
        """
        While paused, the node writes at most write_limit bytes to the peer;
        the message that would pass it aborts the link, with a log line
        saying why, and the other peer gets every search.
        """
        self.setUpPeers(write_limit=self.WRITE_LIMIT)
        self.slow.link.pauseProducing()
        fits = self.WRITE_LIMIT // self.relayedSize()
        with capturedLogs() as events:
            self.flood(1000, fits)
            self.assertFalse(self.slow.closed)
            self.flood(1000 + fits, 5)
        self.assertEqual(len(self.slow.heard()), fits)
        self.assertTrue(self.slow.transport.disconnected)
        self.assertTrue(self.slow.closed)
        self.assertNotIn(SLOW, self.node.links)
        self.assertTrue([line for line in logLines(events)
                         if f"node {SLOW} at 198.51.100.{SLOW}" in line
                         and f"is not reading: over {self.WRITE_LIMIT} bytes" in line],
                        logLines(events))
        self.assertEqual(len(self.other.heard()), fits + 5)
        self.assertPong(self.other)

    def test_defaultLimitWithRelayedBuys(self):
        """With the default limit of 1 MiB: buys padded to 60 kB, relayed to
        the paused peer as received, abort it on the 18th."""
        self.setUpPeers()
        self.slow.link.pauseProducing()
        buy = {"type": "buy", "id": 1, "item": "apple", "path": [wireId(FLOODER), wireId(NODE_ID), wireId(SLOW)],
               "pad": "p" * 60_000}
        fits = DEFAULT_WRITE_LIMIT // len(payload(buy))
        self.assertEqual(fits, 17)
        for _ in range(fits):
            self.flooder.say(buy)
        self.assertFalse(self.slow.closed)
        self.flooder.say(buy)
        self.assertTrue(self.slow.closed)
        self.assertEqual(self.slow.heard(), [buy] * fits)
        self.assertPong(self.other)

    def test_resumeResetsTheCount(self):
        """Bytes written before a resume no longer count: two paused spells
        under the limit, together over it, keep the link; so does any
        amount written while not paused."""
        self.setUpPeers(write_limit=self.WRITE_LIMIT)
        fits = self.WRITE_LIMIT // self.relayedSize()
        self.slow.link.pauseProducing()
        self.flood(1000, fits)
        self.slow.link.resumeProducing()
        self.slow.link.pauseProducing()
        self.flood(2000, fits)
        self.slow.link.resumeProducing()
        self.flood(3000, 3 * fits)
        self.assertFalse(self.slow.closed)
        self.assertEqual(len(self.slow.heard()), 5 * fits)


class PushBackTests(NodeCase):
    """
    The write limit through a transport that pauses the link as a reactor
    does: again on every write while its buffer is full.
    """

    WRITE_LIMIT = 4096
    BUFFER = 1024
    ITEM = "i" * 200

    def setUpPeers(self):
        self.startNode(write_limit=self.WRITE_LIMIT)
        transport = partial(PausingTransport, self.BUFFER)
        self.slow = self.linkPeer(SLOW, transport=transport)
        self.other = self.linkPeer(OTHER)
        self.flooder = self.linkPeer(FLOODER)
        self.size = len(frame(wire.encode(
            floodmsg.Search(1000, self.ITEM, (FLOODER, NODE_ID), 4))))

    def test_nonReaderDropped(self):
        """
        A peer that never reads is aborted once more than the write limit
        was queued after its buffer filled, one search at a time: the node
        never holds more than buffer + limit + one message for it, and the
        other peer gets every search.
        """
        self.setUpPeers()
        searches_sent = 0
        while not self.slow.closed and searches_sent < 1000:
            self.assertLessEqual(len(self.slow.transport.value()),
                                 self.BUFFER + self.WRITE_LIMIT + self.size)
            self.flooder.link.dataReceived(searches(1000 + searches_sent, 1, self.ITEM))
            searches_sent += 1
        self.assertTrue(self.slow.closed)
        self.assertLessEqual(searches_sent,
                             (self.BUFFER + self.WRITE_LIMIT) // self.size + 2)
        self.assertNotIn(SLOW, self.node.links)
        self.assertEqual(len(self.other.heard()), searches_sent)
        self.assertPong(self.other)

    def test_readerKept(self):
        """A peer that reads as fast as it is sent to is never dropped,
        however much it is sent in all."""
        self.setUpPeers()
        for first in range(1000, 1000 + 30 * 10, 10):
            self.flooder.link.dataReceived(searches(first, 10, self.ITEM))
            self.assertTrue(self.slow.transport.producerPaused)
            self.slow.transport.drain()
            # A second a round: within the node's forwarding budget.
            self.clock.advance(1)
        self.assertGreater(30 * 10 * self.size, 4 * self.WRITE_LIMIT)
        self.assertFalse(self.slow.closed)
        self.assertIn(SLOW, self.node.links)


class UnsentAccountTests(NodeCase):
    """
    Issue 34: the bytes waiting for peers that do not read are one account
    over all of a process's links (L{LinkSettings.unsent}), charged to each
    peer's address group: many non-readers of one group, each under its
    own write limit, hold no more than the group's share between them,
    and a non-reader of another group keeps its own.
    """

    WRITE_LIMIT = 4096
    ITEM = "i" * 200

    def relayedSize(self):
        return len(wire.encode(floodmsg.Search(1000, self.ITEM, (FLOODER, NODE_ID), 4)))

    def test_oneGroupHoldsItsShare(self):
        """Each link is charged what waits for it and a sixteenth of its
        write limit ahead: the group's share holds two such links, not
        three."""
        self.startNode(write_limit=self.WRITE_LIMIT)
        share = 2 * self.WRITE_LIMIT + self.WRITE_LIMIT // 4
        unsent = self.node.config.link.unsent = Account.of(UNSENT_LIMIT, 4 * self.WRITE_LIMIT, share)
        slow = [self.linkPeer(peer_id) for peer_id in (11, 12, 13)]
        elsewhere = WiredLink(self.factory, "203.0.113.4", 40004)
        self.introduce(elsewhere, 14)
        other = self.linkPeer(OTHER)
        flooder = self.linkPeer(FLOODER)
        for peer in slow + [elsewhere]:
            peer.link.pauseProducing()
        fits = (self.WRITE_LIMIT - 1) // self.relayedSize()
        with capturedLogs() as events:
            for n in range(fits):
                flooder.link.dataReceived(searches(1000 + n, 1, self.ITEM))
                self.assertLessEqual(unsent.held("198.51.0.0/16"), share)
        self.assertEqual([peer.closed for peer in slow].count(True), 1)
        self.assertGreaterEqual(unsent.held("198.51.0.0/16"),
                                2 * fits * self.relayedSize())
        self.assertFalse(elsewhere.closed)
        self.assertEqual(len(elsewhere.heard()), fits)
        self.assertEqual(len(other.heard()), fits)
        self.assertTrue([line for line in logLines(events)
                         if "is not reading: its address group holds the most" in line],
                        logLines(events))
        # A peer that reads again is charged nothing; one gone neither.
        for peer in slow + [elsewhere]:
            peer.link.resumeProducing()
            peer.link.connectionLost()
        self.assertEqual((unsent.used, len(unsent)), (0, 0))

    def test_aGroupHoldingFewerTakesItsPart(self):
        """The account full, the non-reader of a group holding fewer takes
        its part from the group holding the most: that group's non-readers
        are dropped, not it."""
        self.startNode(write_limit=10 * self.WRITE_LIMIT)
        unsent = self.node.config.link.unsent = Account.of(UNSENT_LIMIT, 4 * self.WRITE_LIMIT)
        slow = [self.linkPeer(peer_id) for peer_id in (11, 12)]
        flooder = self.linkPeer(FLOODER)
        for peer in slow:
            peer.link.pauseProducing()
        fits = self.WRITE_LIMIT // self.relayedSize()
        for n in range(fits):
            flooder.link.dataReceived(searches(1000 + n, 1, self.ITEM))
        self.assertFalse(any(peer.closed for peer in slow))
        elsewhere = WiredLink(self.factory, "203.0.113.4", 40004)
        self.introduce(elsewhere, 14)
        elsewhere.link.pauseProducing()
        for n in range(fits):
            flooder.link.dataReceived(searches(2000 + n, 1, self.ITEM))
            self.assertLessEqual(unsent.used, unsent.capacity)
        self.assertTrue(any(peer.closed for peer in slow))
        self.assertFalse(elsewhere.closed)
        self.assertEqual(len(elsewhere.heard()), fits)


class IdlePeerTests(NodeCase):
    """Peers that hold a link without speaking are closed."""

    def test_partialFrameThenSilent(self):
        """
        A partial frame is not a sign of life: the peer is pinged after one
        interval and again after the next, and closed after three, while a
        peer that answers its pings stays.
        """
        self.startNode(ping_interval=PING_INTERVAL)
        other = self.linkPeer(OTHER)
        stuck = self.linkPeer(FLOODER)
        stuck.link.dataReceived(b'40:{"type":"ping","nonce"')
        with capturedLogs() as events:
            for nonce in range(1, DEAD_AFTER_INTERVALS):
                self.clock.advance(PING_INTERVAL)
                self.assertEqual(stuck.heard(), [{"type": "ping", "nonce": nonce}])
                [ping] = other.heard()
                other.say({"type": "pong", "nonce": ping["nonce"]})
            self.assertFalse(stuck.closed)
            self.clock.advance(PING_INTERVAL)
        self.assertTrue(stuck.closed)
        self.assertEqual(stuck.heard(), [])
        self.assertIn(f"closing link to node {FLOODER} at 198.51.100.{FLOODER}:"
                      f"{40000 + FLOODER}: silent for 30 s", logLines(events))
        self.assertFalse(other.closed)
        self.assertPong(other)

    def test_tricklingAFrameIsSilence(self):
        """A peer that sends one byte a second of a frame that never ends
        is closed all the same, after three intervals."""
        self.startNode(ping_interval=PING_INTERVAL)
        stuck = self.linkPeer(FLOODER)
        trickle = b"60000:" + b"x" * 60
        for second, byte in enumerate(trickle[:30]):
            stuck.link.dataReceived(bytes([byte]))
            self.assertFalse(stuck.closed, second)
            self.clock.advance(1)
        self.assertTrue(stuck.closed)


class HandshakeTimeoutTests(SynchronousTestCase):
    """A peer that never says thisisme is refused with notim, on a node and
    on the tracker alike; neither a partial frame nor bad messages buy it
    more time."""

    def assertTimesOut(self, factory, clock, prelude):
        peer = WiredLink(factory)
        peer.link.dataReceived(prelude)
        answered = peer.heard()
        clock.advance(DEFAULT_HANDSHAKE_TIMEOUT - 0.5)
        self.assertFalse(peer.closed)
        clock.advance(0.5)
        self.assertEqual(peer.heard(), [{"type": "error", "code": "notim",
                                         "info": "no thisisme within 10 s"}])
        self.assertTrue(peer.closed)
        return answered

    def assertEveryPreludeTimesOut(self, factory, clock):
        self.assertEqual(self.assertTimesOut(factory, clock, b""), [])
        self.assertEqual(self.assertTimesOut(factory, clock, b'30:{"type":"thisisme"'),
                         [])
        # A payload that does not decode, before the handshake: one wtf,
        # and the link closes at once (docs/protocol.md §14).
        peer = WiredLink(factory)
        peer.link.dataReceived(frame(b"{bad") * 3)
        self.assertEqual([m["code"] for m in peer.heard()], ["wtf"])
        self.assertTrue(peer.closed)

    def test_node(self):
        node = makeNode(NODE_ID, link=LinkSettings(ping_interval=0))
        self.assertEveryPreludeTimesOut(OverlayFactory(node), node.clock)
        self.assertEqual(node.overlay.pending, {})

    def test_tracker(self):
        clock = Clock()
        tracker = Tracker(clock, random.Random(2))
        self.assertEveryPreludeTimesOut(TrackerFactory(tracker), clock)
        self.assertEqual(len(tracker.registry), 0)


class CoalescingNonReadingPeerTests(NonReadingPeerTests):
    """The write limit, with the node's links coalescing the writes of
    each burst (as a daemon's do)."""

    def startNode(self, **settings):
        super().startNode(coalesce=True, **settings)


class CoalescingPushBackTests(PushBackTests):
    """Push-back, with the node's links coalescing the writes of each
    burst (as a daemon's do)."""

    def startNode(self, **settings):
        super().startNode(coalesce=True, **settings)

    def test_nonReaderDroppedWithinOneBurst(self):
        """
        Searches read in one burst reach a peer that never reads in
        writes of about FLUSH_BYTES, so its transport pushes back within
        the burst: it is aborted once more than the write limit was queued
        after its buffer filled, the node having held at most one more
        hand-over for it, and the other peer gets every search.
        """
        self.setUpPeers()
        self.assertIsNotNone(self.slow.link._context.batch)
        count = 150
        self.assertGreater(count * self.size, self.BUFFER + FLUSH_BYTES + self.WRITE_LIMIT)
        self.flooder.link.dataReceived(searches(1000, count, self.ITEM))
        self.assertTrue(self.slow.closed)
        self.assertNotIn(SLOW, self.node.links)
        self.assertLessEqual(len(self.slow.transport.value()),
                             self.BUFFER + FLUSH_BYTES + self.WRITE_LIMIT + self.size)
        self.assertEqual(len(self.other.heard()), count)
        self.assertPong(self.other)
