"""
No second key ever displaces the first holder of a live id, and no
keyless peer takes a key's id (issue 26).

Ids are 128 bits of a key's hash, so two keys with one id cannot be found;
these tests narrow the id to a few bits (L{narrowedIds}) so that a pair is
found in a few dozen tries, and show that the tracker, a node's link
table, a super-peer, the index and a Chord node each keep the first
holder: its registration, its links and its records.
"""

import random

from twisted.internet.protocol import Factory
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import RawPeer

from twisted_bazaar.core.records import signRecord
from twisted_bazaar.identity.keys import Identity, narrowedIds
from twisted_bazaar.net.overlay import OVERLAY
from twisted_bazaar.schemes.chord.records import RecordStore
from twisted_bazaar.testing import Market
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.testing.linking import linkAt

#: Bits of the narrowed ids: 2^6 ids, so a pair of keys sharing one is
#: found within a few dozen keys.
BITS = 6


def collidingKeys(seed):
    """Two key pairs with one (narrowed) id."""
    rng = random.Random(seed)
    seen = {}
    while True:
        identity = Identity.fromRandom(rng)
        if identity.id in seen:
            return seen[identity.id], identity
        seen[identity.id] = identity


class NarrowedTestCase(SynchronousTestCase):
    def setUp(self):
        narrowed = narrowedIds(BITS)
        narrowed.__enter__()
        self.addCleanup(narrowed.__exit__, None, None, None)
        self.first, self.second = collidingKeys(26)
        self.assertEqual(self.first.id, self.second.id)
        self.assertNotEqual(self.first.key, self.second.key)


class NarrowingTests(NarrowedTestCase):
    def test_narrowedIdsAreNarrow(self):
        """Under narrowedIds a key's id keeps BITS bits, and they come
        back whole afterwards."""
        self.assertLess(self.first.id & (2**128 - 1), 2**BITS)
        with narrowedIds(128):
            self.assertGreater(Identity.fromRandom(random.Random(1)).id & (2**128 - 1),
                               2**BITS)

    def test_widthIsChecked(self):
        for bits in (0, 129):
            with self.assertRaises(ValueError):
                with narrowedIds(bits):
                    pass


class MarketCollisionTests(NarrowedTestCase):
    """Through the public protocol, in an in-memory market."""

    def setUp(self):
        super().setUp()
        self.lines = []
        globalLogPublisher.addObserver(self.lines.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.lines.append)

    def assertRefusalLogged(self):
        """The refusal was logged at info, saying why."""
        said = [formatEvent(event) for event in self.lines
                if event.get("log_level") == LogLevel.info]
        self.assertTrue([line for line in said if "first holder of an id keeps it" in line],
                        said)

    def market(self, discovery, **first_roles):
        market = Market(seed=3)
        nodes = [market.addNode(discovery=discovery, scheme=scheme)
                 for scheme in self.neighbours(discovery)]
        first = market.addNode(discovery=discovery, identity=self.first, **first_roles)
        market.run(30)
        self.assertEqual(first.id, self.first.id)
        return market, nodes, first

    def neighbours(self, discovery):
        return [{"super": True}] if discovery == "superpeer" else [{}]

    def assertRegistered(self, market, node):
        link = market.tracker.links.get(node.id)
        self.assertIsNotNone(link)
        self.assertEqual(market.tracker.proofs.keyOf(node.id), node.identity.key)

    def test_trackerKeepsTheFirstRegistration(self):
        """The second key is refused at the tracker, which keeps the first
        holder registered on the same link; the second never gets an id."""
        market, _, first = self.market("flood")
        link = market.tracker.links[first.id]
        second = market.addNode(identity=self.second)
        market.run(30)
        self.assertIs(market.tracker.links[first.id], link)
        self.assertRegistered(market, first)
        self.assertFalse(second.membership.isRegistered)
        self.assertTrue(first.membership.isRegistered)
        self.assertRefusalLogged()

    def test_linkTableKeepsTheFirstLink(self):
        """A node linked to the first holder refuses a link from the second
        key (which takes the id without the tracker), and keeps the first
        holder's link."""
        market, [peer], first = self.market("flood")
        before = peer.links.get(first.id)
        self.assertIsNotNone(before)
        second = market.buildNode(identity=self.second)
        second.setId(self.second.id)
        linkAt(second, peer.host, peer.port, peer.id, OVERLAY).addErrback(lambda _: None)
        market.run(10)
        self.assertNotIn(peer.id, second.links)
        self.assertIs(peer.links.get(first.id), before)
        self.assertIn(peer.id, first.links)
        self.assertRefusalLogged()

    def test_indexKeepsTheFirstRecords(self):
        """The index's records of the first holder stay its own when the
        second key tries to register."""
        market, _, first = self.market("index", seller={"stock": {"apple": 3}})
        index = market.tracker.extensions["index"].index
        record = index.record(first.id, "apple")
        self.assertEqual(record.key, self.first.key)
        second = market.addNode(discovery="index", identity=self.second,
                                seller={"stock": {"apple": 1}})
        market.run(30)
        self.assertFalse(second.membership.isRegistered)
        self.assertEqual(index.record(first.id, "apple").key, self.first.key)
        self.assertRefusalLogged()

    def test_superPeerKeepsTheFirstLeaf(self):
        """A super-peer keeps the first holder as its leaf, and its
        entries, when the second key tries to link as the same id."""
        market, [superpeer], first = self.market("superpeer",
                                                 seller={"stock": {"apple": 3}})
        index = superpeer.discovery.side.index
        self.assertIn(first.id, index)
        entries = index.records(first.id)
        second = market.buildNode(discovery="superpeer", identity=self.second)
        second.setId(self.second.id)
        linkAt(second, superpeer.host, superpeer.port, superpeer.id,
                         "leaf").addErrback(lambda _: None)
        market.run(10)
        self.assertNotIn(superpeer.id, second.links)
        self.assertEqual(index.records(first.id), entries)
        self.assertIn(first.id, superpeer.links)
        self.assertRefusalLogged()


class ChordRecordTests(NarrowedTestCase):
    def test_holderKeepsTheFirstRecord(self):
        """A Chord node holding the first holder's record refuses a record
        of the same item signed by the second key for the same id, however
        new, and keeps the first one."""
        store = RecordStore(limit=100)
        mine = signRecord(self.first, "apple", "h", 1, 1000, 601_000)
        theirs = signRecord(self.second, "apple", "h", 2, 2000, 602_000)
        self.assertIsNone(store.put(mine, 600, 1.0))
        fault = store.put(theirs, 600, 2.0)
        self.assertIn("first holder of an id keeps it", fault)
        self.assertEqual(store.held("apple", self.first.id).record, mine)


class KeyedIdWithoutKeyTests(SynchronousTestCase):
    """
    A thisisme that names a key's id (32 hex digits) but no key is refused
    with error{wtf} and a close, by the tracker and by every node, opener
    or acceptor, whether a node holds that id or nobody does: ids not
    derived from a key never collide with keyed ones (docs/protocol.md §3,
    §5, §6).  Through the protocol, with full-width ids.
    """

    def setUp(self):
        self.market = Market(seed=5)
        self.holder = self.market.addNode()
        self.peer = self.market.addNode()
        self.market.run(30)
        self.free = Identity.fromRandom(random.Random(99)).id
        self.hellos = [{"type": "thisisme", "id": wireId(claimed), "port": 0, "host": ""}
                       for claimed in (self.holder.id, self.free)]

    def say(self, host, port, hello):
        """A keyless squatter's connection to host:port, saying hello."""
        squatter = RawPeer(greeting=[hello])
        self.market.network.connect(host, port, squatter, from_host="squatter")
        self.market.run(1)
        return squatter

    def assertRefused(self, squatter, hello):
        self.assertEqual([(m["type"], m["code"], m["info"]) for m in squatter.heard()],
                         [("error", "wtf", f"{hello['id']} is a key's id: a thisisme "
                           "with it names that key")])
        self.assertTrue(squatter.closed)

    def test_trackerRefuses(self):
        tracker = self.market.tracker
        registration = tracker.links[self.holder.id]
        for hello in self.hellos:
            self.assertRefused(self.say(self.market.tracker_host, DEFAULT_TRACKER_PORT,
                                        hello), hello)
        self.assertIs(tracker.links[self.holder.id], registration)
        self.assertNotIn(self.free, tracker.registry.nodes)
        self.assertTrue(self.holder.membership.isRegistered)

    def test_acceptorRefuses(self):
        link = self.peer.links.get(self.holder.id)
        self.assertIsNotNone(link)
        for hello in self.hellos:
            self.assertRefused(self.say(self.peer.host, self.peer.port, hello), hello)
        self.assertIs(self.peer.links.get(self.holder.id), link)
        self.assertNotIn(self.free, self.peer.links)

    def test_openerRefuses(self):
        """A node that opens a link to a keyless acceptor claiming a key's
        id refuses its answer, and the link fails."""
        for hello in self.hellos:
            acceptors = []

            def accept(hello=hello):
                acceptors.append(RawPeer(greeting=[hello]))
                return acceptors[-1]

            port = self.market.network.listen(Factory.forProtocol(accept), "squatter")
            failed = linkAt(self.peer, "squatter", port.getHost().port)
            self.market.run(1)
            self.assertEqual([m["type"] for m in acceptors[0].heard()],
                             ["thisisme", "error"])
            self.assertTrue(acceptors[0].closed)
            self.failureResultOf(failed)
            self.assertNotIn(self.free, self.peer.links)
            self.assertIsNot(self.peer.links.get(self.holder.id), None)
            port.stopListening()
