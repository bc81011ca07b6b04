"""
Issue 21 at a super-peer: its index entries are shared fairly among the
address groups its leaves' links come from (port-0 leaves included), and
a leaf refused ``full`` backs off instead of registering again at once.

First the super-peer spoken to over StringTransports (the attacker's
leaves from one address, an honest leaf from another); then whole
markets of real nodes on a L{MemoryNetwork}.
"""

import random

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.logthrottle import MEMBER_LINES, PEER_BURST
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF,
    MAX_HITS,
    SUPER,
    LeafAck,
    LeafQuery,
    LeafRegister,
    LeafUpdate,
    SpQuery,
)
from twisted_bazaar.testing import Market
from twisted_bazaar.testing.memory import MemoryNetwork
from twisted_bazaar.wire import decode
from twisted_bazaar.wire.ids import shortId

from tests import records
from tests.helpers import closeLink, feed, makeNode, parseNetstrings, provenLink, sent
from tests.schemes import answerChecks

ME = 7
ATTACKER = "198.51.100.9"
HONEST = "203.0.113.5"
ENTRIES, PER_LEAF = 100, 10


def lid(seed):
    """The id of the leaf of key ``seed``."""
    return records.identity(seed).id


def recordsOf(seed, items, host="", port=0):
    """The records the leaf of key ``seed`` signs of the items it has."""
    return {item: records.signed(seed, item, host, port)
            for item, units in items.items() if units}


def junk(leaf):
    return {f"junk-{leaf}-{n}": 1 for n in range(PER_LEAF)}


class IndexShareTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = buildScheme(self.node, "superpeer", super=True,
                                  index_entries=ENTRIES, leaf_items=PER_LEAF)
        self.index = self.scheme.side.index

    def leaf(self, seed, host, seq, registered_host, port, items):
        """The leaf of key ``seed``, linked from host with that key proven,
        that registers items (with its records of them)."""
        link = provenLink(self.node, records.identity(seed), purpose=LEAF, host=host)
        feed(link, LeafRegister(seq, registered_host, port, items,
                                recordsOf(seed, items, registered_host, port)))
        return link

    def fill(self, first=100, count=ENTRIES // PER_LEAF):
        """The attacker's port-0 leaves take every entry."""
        links = [self.leaf(first + n, ATTACKER, 1, "", 0, junk(first + n))
                 for n in range(count)]
        self.assertEqual([sent(link) for link in links],
                         [[LeafAck(1, PER_LEAF)]] * count)
        self.assertEqual(self.index.entries, ENTRIES)
        return links

    def test_portZeroFloodMakesRoomForAnHonestLeaf(self):
        """
        Issue 21's attack: port-0 leaves from one address fill the index.
        An honest leaf from another address is registered (the attacker's
        newest leaf goes, told full), found by a buyer, and the attacker
        cannot push it out again.
        """
        attackers = self.fill()
        honest = self.leaf(50, HONEST, 1, "", 9050, {"apple": 3})
        answerChecks(self.node)
        self.assertEqual(sent(honest), [LeafAck(1, 1)])
        [error] = sent(attackers[-1])
        self.assertEqual((error.code, attackers[-1].closing), ("full", True))
        self.assertNotIn(lid(100 + len(attackers) - 1), self.index)
        self.assertEqual([hit[:3] for hit in self.index.lookup("apple", 5, 0.0)],
                         [(lid(50), HONEST, 9050)])
        again = self.leaf(999, ATTACKER, 1, "", 0, junk(999))
        [refused] = sent(again)
        self.assertEqual((refused.code, again.closing), ("full", True))
        self.assertIn(lid(50), self.index)
        buyer = self.leaf(60, HONEST, 1, "", 0, {})
        sent(buyer)
        feed(buyer, LeafQuery(5, "apple"))
        self.assertEqual([seller[:3] for hit in sent(buyer) for seller in hit.sellers], [(lid(50), HONEST, 9050)])

    def test_claimedAddressesDoNotMatter(self):
        """A leaf's entries count against the address its link comes
        from, whatever host it registers."""
        attackers = [self.leaf(100 + n, ATTACKER, 1, f"10.{n}.0.1", 0, junk(100 + n))
                     for n in range(ENTRIES // PER_LEAF)]
        self.assertEqual(self.index.entries, ENTRIES)
        honest = self.leaf(50, HONEST, 1, "", 0, {"apple": 3})
        self.assertEqual(sent(honest), [LeafAck(1, 1)])
        self.assertTrue(attackers[-1].closing)

    def test_twoAddressesShareTheIndex(self):
        """Two addresses that each want the whole index hold half each."""
        self.fill()
        count = ENTRIES // PER_LEAF
        others = [self.leaf(300 + n, HONEST, 1, "", 0, junk(300 + n))
                  for n in range(count)]
        acked = [link for link in others if sent(link) == [LeafAck(1, PER_LEAF)]]
        self.assertEqual(len(acked), count // 2)
        held = {leaf for leaf in range(100, 100 + count) if lid(leaf) in self.index}
        self.assertEqual(len(held), count // 2)

    def test_anUpdateMayMakeRoomToo(self):
        attackers = self.fill()
        honest = self.leaf(50, HONEST, 1, "", 0, {"apple": 3})
        other = self.leaf(51, HONEST, 1, "", 0, {f"pear{n}": 1 for n in range(PER_LEAF - 1)})
        self.assertEqual((sent(honest), sent(other)),
                         ([LeafAck(1, 1)], [LeafAck(1, PER_LEAF - 1)]))
        self.assertEqual(self.index.entries, ENTRIES)
        more = {f"more{n}": 1 for n in range(5)}
        feed(honest, LeafUpdate(2, more, recordsOf(50, more)))
        self.assertEqual(sent(honest), [LeafAck(2, 6)])
        self.assertEqual([link.closing for link in attackers[-3:]], [False, True, True])
        self.assertEqual(self.index.entries, ENTRIES - PER_LEAF + 5)

    def test_registersOfOneLeafLogBoundedLines(self):
        """A leaf registering again and again gets a few lines logged; its
        first register is always told."""
        with capturedLogs() as events:
            link = self.leaf(50, HONEST, 1, "", 0, {"apple": 3})
            for seq in range(2, 100):
                feed(link, LeafRegister(seq, "", 0, {"apple": 3}, recordsOf(50, {"apple": 3})))
        registered = [line for line in map(formatEvent, events)
                      if line.startswith(f"leaf {shortId(lid(50))} at 203.0.113.5:0 registered 1 ")]
        self.assertEqual(len(registered), 1 + PEER_BURST)


class MarketTests(SynchronousTestCase):
    def market(self, latency=0.01, **superpeer):
        self.stats = {}
        market = Market(MemoryNetwork(rng=random.Random(3), latency=(latency, latency)),
                        seed=3, link_settings=LinkSettings(stats=self.stats))
        superpeer = market.addNode(discovery="superpeer",
                                   scheme=dict(superpeer, super=True))
        market.run(2)
        return market, superpeer

    def test_refusedLeafBacksOff(self):
        """
        Issue 21: a leaf refused full registered again at once, ~10,000
        times in 30 s.  Now it waits, longer each time (1 s, doubling, with
        jitter): a handful of tries in 30 s, and still trying.
        """
        market, superpeer = self.market(index_entries=2)
        first = market.addNode(discovery="superpeer", scheme={"superpeers": 1},
                               seller={"stock": {"a": 1, "b": 1}})
        market.run(3)
        self.assertIn(first.id, superpeer.discovery.side.index)
        refused = market.addNode(discovery="superpeer", scheme={"superpeers": 1},
                                 seller={"stock": {"c": 1, "d": 1}})
        market.run(2)
        before = self.stats.get("leafRegister", 0)
        market.run(30)
        tries = self.stats["leafRegister"] - before
        self.assertGreaterEqual(tries, 2)
        self.assertLessEqual(tries, 7)
        self.assertNotIn(refused.id, superpeer.discovery.side.index)

    def test_takenOnceThereIsRoom(self):
        """A refused leaf keeps trying, and is taken once there is room;
        its backoff then starts over from the first pause."""
        market, superpeer = self.market(index_entries=2)
        first = market.addNode(discovery="superpeer", scheme={"superpeers": 1},
                               seller={"stock": {"a": 1, "b": 1}})
        market.run(3)
        leaf = market.addNode(discovery="superpeer", scheme={"superpeers": 1},
                              seller={"stock": {"c": 1, "d": 1}})
        market.run(10)
        backoff = leaf.topology._backoff
        self.assertGreater(backoff.attempts, 0)
        market.stop(first)
        market.run(60)
        self.assertIn(leaf.id, superpeer.discovery.side.index)
        self.assertEqual(backoff.attempts, 0)

    def test_flooderFromOneHostKeepsNoSellerOut(self):
        """
        Leaves from one host fill a super-peer's index with junk; an honest
        seller on another host still gets in, and a buyer buys from it.
        """
        market, superpeer = self.market(index_entries=20)
        for n in range(10):
            market.addNode(discovery="superpeer", scheme={"superpeers": 1},
                           seller={"stock": {f"junk{n}a": 1, f"junk{n}b": 1}},
                           host="flooder")
        market.run(5)
        index = superpeer.discovery.side.index
        self.assertEqual(index.entries, 20)
        seller = market.addNode(discovery="superpeer", scheme={"superpeers": 1},
                                seller={"stock": {"apple": 2}})
        buyer = market.addNode(discovery="superpeer", scheme={"superpeers": 1},
                               buyer={"wants": ["apple"]})
        market.run(20)
        self.assertIn(seller.id, index)
        self.assertEqual([(p.item, p.seller) for p in market.role(buyer, "buyer").bag],
                         [("apple", seller.id)])
        self.assertLessEqual(index.entries, 20)


class CrowdedHitsTests(SynchronousTestCase):
    """
    A ``leafHits`` or ``spHit`` names up to MAX_HITS leaves with their
    records, whose hosts the leaves choose: 64 leaves from one address
    with records of 255-character hosts, each character escaped on the
    wire, made the answer larger than a frame, so it was never sent and
    no buyer found the honest leaf (issue 34, "answers too big", at a
    super-peer).  The index now names one leaf of each address group
    before a second of any, and the answers are cut to a frame.
    """

    HOSTILE_HOST = "\x01" * 255

    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = buildScheme(self.node, "superpeer", super=True)

    def leaf(self, seed, host, port, items, record_host):
        link = provenLink(self.node, records.identity(seed), purpose=LEAF, host=host)
        feed(link, LeafRegister(1, "", port, items,
                                recordsOf(seed, items, record_host, port)))
        return link

    def crowd(self, item):
        for n in range(MAX_HITS):
            self.leaf(100 + n, ATTACKER, 9100 + n, {item: 1}, self.HOSTILE_HOST)
        self.leaf(50, HONEST, 9050, {item: 1}, HONEST)
        answerChecks(self.node)

    def test_leafHitsNameTheHonestLeafWithinAFrame(self):
        item = "p" * 250
        self.crowd(item)
        buyer = self.leaf(60, "192.0.2.9", 0, {}, "")
        sent(buyer)
        for n in range(3):
            feed(buyer, LeafQuery(n, item))
            payloads = parseNetstrings(buyer.transport.value())
            buyer.transport.clear()
            [payload] = payloads
            self.assertLessEqual(len(payload), LinkSettings().frame_limit)
            hits = decode(payload)
            self.assertIn(lid(50), [seller for seller, *_ in hits.sellers[:2]])

    def test_spHitWithinAFrame(self):
        """The same crowd, asked by another super-peer's flood."""
        item = "p" * 250
        self.crowd(item)
        other = provenLink(self.node, records.identity(70), purpose=SUPER,
                           host="192.0.2.10")
        sent(other)
        feed(other, SpQuery(5, item, (records.identity(70).id,), 2))
        [payload] = parseNetstrings(other.transport.value())
        self.assertLessEqual(len(payload), LinkSettings().frame_limit)
        hit = decode(payload)
        self.assertIn(lid(50), [seller for seller, *_ in hit.sellers[:2]])


class LeafChurnLogTests(SynchronousTestCase):
    """
    A super-peer logged a line for every leaf's first register and for
    every leaf that left, whatever their number: a stranger's fresh keys
    linking as leaves, registering and leaving in a loop grew its log
    without bound (the tracker's registration churn of issue 34, at a
    super-peer).  These lines, and those of leaves' address checks, now
    go through a member log: MEMBER_LINES of a kind per address group
    every 10 s, the rest summed up, so a market started on one machine
    still logs each of its leaves.
    """

    def test_churnLogsBoundedLines(self):
        node = makeNode(ME)
        buildScheme(node, "superpeer", super=True)
        with capturedLogs() as events:
            for seed in range(100, 300):
                link = provenLink(node, records.identity(seed), purpose=LEAF,
                                  host=ATTACKER)
                feed(link, LeafRegister(1, "", 0, {"apple": 1},
                                        recordsOf(seed, {"apple": 1})))
                closeLink(link)
            honest = provenLink(node, records.identity(50), purpose=LEAF, host=HONEST)
            feed(honest, LeafRegister(1, "", 0, {"apple": 1}, recordsOf(50, {"apple": 1})))
        lines = [formatEvent(event) for event in events]
        registered = [line for line in lines if " registered 1 item " in line]
        gone = [line for line in lines if " gone; its entries dropped" in line]
        self.assertEqual((len(registered), len(gone)), (MEMBER_LINES + 1, MEMBER_LINES))
        self.assertTrue(registered[-1].startswith(f"leaf {shortId(lid(50))} at "))
