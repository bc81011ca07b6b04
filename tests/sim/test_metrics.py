"""
Tests for L{twisted_bazaar.sim.metrics}: summary statistics, the probe
that watches what a buyer node sees, and the metrics of whole runs.
"""

import json
import os
import shutil
import tempfile

import attr

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.events import EventBus
from twisted_bazaar.schemes.chord import messages as chordmsg
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from twisted_bazaar import wire
from twisted_bazaar.core.market import Offer
from twisted_bazaar.sim.metrics import BuyerProbe, Record, peakRssMB, percentiles
from twisted_bazaar.sim.runner import DISCOVERY, TOPOLOGIES, Simulation
from twisted_bazaar.store import MemoryStore, Purchase
from twisted_bazaar.testing import MemoryNetwork
from tests.sim.test_homes import AT_HOME
from tests.sim.test_runner import SMALL, small

BUYER = 1
SELLER = 9


class PercentileTests(SynchronousTestCase):
    def test_empty(self):
        """No values: every statistic is None, not an error."""
        self.assertEqual(percentiles([]),
                         {"mean": None, "p50": None, "p95": None, "p99": None})

    def test_one(self):
        """A single value is every percentile."""
        self.assertEqual(percentiles([7]),
                         {"mean": 7.0, "p50": 7, "p95": 7, "p99": 7})

    def test_nearestRank(self):
        """The p-th percentile is the value at rank ceil(p * n / 100)."""
        self.assertEqual(percentiles(range(100, 0, -1)),
                         {"mean": 50.5, "p50": 50, "p95": 95, "p99": 99})

    def test_nearestRankRoundsUp(self):
        """With three values, p50 is the 2nd and p95/p99 the 3rd."""
        self.assertEqual(percentiles([30, 10, 20]),
                         {"mean": 20.0, "p50": 20, "p95": 30, "p99": 30})

    def test_otherPoints(self):
        """The points asked for are the keys given."""
        self.assertEqual(percentiles([4, 1, 3, 2], points=(25, 75)),
                         {"mean": 2.5, "p25": 1, "p75": 3})

    def test_rounded(self):
        """Values are rounded to 6 decimals, so JSON output is stable."""
        self.assertEqual(percentiles([1 / 3, 2 / 3], points=(50,)),
                         {"mean": 0.5, "p50": 0.333333})


class FakeNode:
    """Just what a probe uses of a node: a clock, observers and a store."""

    def __init__(self):
        self.clock = Clock()
        self.observers = []
        self.store = MemoryStore()

    def addObserver(self, observer):
        self.observers.append(observer)


def offer(*route):
    """An offer from the last node of route, reached along it."""
    return Offer(route[-1], route, "seller", 4000)


def buyOK(buy_id, item="apple", count=None):
    return trade.BuyOK(buy_id, item, (SELLER, BUYER), count=count)


class FakeLink:
    """A link, on a transport."""

    def __init__(self, transport):
        self.transport = transport


#: A link through a relay's circuit (not a connection of the network).
RELAYED = FakeLink(StringTransport())


class BuyerProbeTests(SynchronousTestCase):
    def setUp(self):
        self.node = FakeNode()
        self.record = Record()
        self.probe = BuyerProbe(self.node, self.record)
        #: What delivers routed messages to the probe, by their type.
        self.bus = EventBus()
        self.bus.addObserver(self.probe)

    def buy(self, link, buy_id, item="apple", count=None):
        """A buyOK delivered on link, and the purchase the buyer records
        of it then (as a buyer does, at once on a memory store)."""
        self.bus.deliver(link, buyOK(buy_id, item, count))
        self.node.store.commitPurchase(Purchase(buy_id, item, SELLER,
                                                self.node.clock.seconds(),
                                                units=count or 1))

    def test_observes(self):
        """The probe registers itself with the node."""
        self.assertEqual(self.node.observers, [self.probe])

    def test_countsFinds(self):
        """Every find started is a flood."""
        self.probe.findStarted("apple")
        self.probe.findStarted("apple")
        self.assertEqual(self.record.floods, 2)

    def test_hopsOfFirstOfferToArrive(self):
        """Each find counts the links on the route of the first offer to
        arrive for it (later ones, even shorter, do not count); a direct
        route is one hop."""
        self.probe.findStarted("apple")
        self.probe.offerArrived("apple", offer(BUYER, 5, 6, SELLER))
        self.probe.offerArrived("apple", offer(BUYER, SELLER))
        self.probe.findStarted("apple")
        self.probe.offerArrived("apple", offer(BUYER, SELLER))
        self.assertEqual(self.record.hops, [3, 1])

    def test_offerWithoutFindIgnored(self):
        """An offer for an item no find is waiting on adds no hop count."""
        self.probe.offerArrived("apple", offer(BUYER, SELLER))
        self.probe.findStarted("pear")
        self.probe.offerArrived("apple", offer(BUYER, SELLER))
        self.assertEqual(self.record.hops, [])

    def test_unitsCountedByTheirPath(self):
        """Each unit bought is counted by the way its buyOK came (a
        duplicated one once): over a LAN, directly, punched, relayed."""
        network = MemoryNetwork()
        address = IPv4Address("TCP", "buyer", 40000)
        for number, link in enumerate((FakeLink(network._OnLan(None, address)),
                                       FakeLink(network._Transport(None, address)),
                                       FakeLink(network._Punched(None, address)),
                                       RELAYED, RELAYED)):
            self.buy(link, 100 + number, count=2)
        self.bus.deliver(RELAYED, buyOK(103, count=2))
        self.assertEqual(self.record.paths,
                         {"lan": 2, "direct": 2, "punched": 2, "relayed": 4})

    def test_aBuyOKThatBoughtNothingIsNotTimed(self):
        """A buyOK the buyer refused (not its buy, or not its seller's:
        no purchase recorded) neither ends the item's timing nor counts
        by its path; the purchase made after it is timed from the find."""
        self.probe.findStarted("apple")
        self.node.clock.advance(1)
        self.bus.deliver(RELAYED, buyOK(100))
        self.node.clock.advance(2)
        self.buy(RELAYED, 101)
        self.assertEqual((self.record.latency_ms, self.record.paths),
                         ([3000.0], {"relayed": 1}))

    def test_timedToTheBuyOKNotTheCommit(self):
        """A purchase whose record is written later is timed to its buyOK
        (the purchase's time), as the daemon's metric is."""
        self.probe.findStarted("apple")
        self.node.clock.advance(1)
        self.bus.deliver(RELAYED, buyOK(100))
        purchase = Purchase(100, "apple", SELLER, self.node.clock.seconds())
        self.node.clock.advance(5)
        self.node.store.commitPurchase(purchase)
        self.assertEqual(self.record.latency_ms, [1000.0])

    def test_latencyFromFirstFind(self):
        """Latency runs from the first find for the item, across finds
        that found nothing, to the buyOK."""
        self.node.clock.advance(2)
        self.probe.findStarted("apple")
        self.node.clock.advance(3)
        self.probe.findStarted("apple")
        self.node.clock.advance(0.25)
        self.buy(RELAYED, 100)
        self.assertEqual(self.record.latency_ms, [3250.0])

    def test_nextUnitTimedFromItsOwnFind(self):
        """After a buyOK, the next unit's timing starts at its find."""
        self.probe.findStarted("apple")
        self.node.clock.advance(1)
        self.buy(RELAYED, 100)
        self.probe.findStarted("apple")
        self.node.clock.advance(0.5)
        self.buy(RELAYED, 101)
        self.assertEqual(self.record.latency_ms, [1000.0, 500.0])

    def test_duplicatedBuyOK(self):
        """A buyOK delivered twice (--dup) neither counts twice nor cuts
        short the timing of the unit searched for after it."""
        self.probe.findStarted("apple")
        self.node.clock.advance(1)
        self.buy(RELAYED, 100)
        self.probe.findStarted("apple")
        self.node.clock.advance(0.01)
        self.bus.deliver(RELAYED, buyOK(100))
        self.node.clock.advance(0.99)
        self.buy(RELAYED, 101)
        self.assertEqual(self.record.latency_ms, [1000.0, 1000.0])

    def test_buyOKWithoutFindIgnored(self):
        """A buyOK for an item not looked for is not a latency."""
        self.probe.findStarted("apple")
        self.buy(RELAYED, 100, item="pear")
        self.assertEqual(self.record.latency_ms, [])

    def test_itemsTimedApart(self):
        """Each item has its own clock."""
        self.probe.findStarted("apple")
        self.node.clock.advance(1)
        self.probe.findStarted("pear")
        self.node.clock.advance(1)
        self.buy(RELAYED, 100, item="pear")
        self.buy(RELAYED, 101, item="apple")
        self.assertEqual(self.record.latency_ms, [1000.0, 2000.0])

    def test_lookupHopsOfChordAnswers(self):
        """A Chord answer delivered to the buyer records how many hops its
        lookup took; it is not an offer, so it adds no offer hops."""
        self.probe.findStarted("apple")
        self.bus.deliver(None, chordmsg.ChordRecords(7, "apple", (4, BUYER), 3, 4, ()))
        self.bus.deliver(None, chordmsg.ChordRecords(8, "apple", (5, BUYER), 1, 5, ()))
        self.assertEqual(self.record.lookup_hops, [3, 1])
        self.assertEqual(self.record.hops, [])

    def test_otherMessagesIgnored(self):
        """Replies, errors and buys delivered to the buyer record nothing."""
        self.probe.findStarted("apple")
        self.bus.deliver(None, floodmsg.Reply(1, "apple", (SELLER, BUYER), SELLER, "s", 1))
        self.bus.deliver(None, wire.Error("soldout", "none left", 100, (SELLER, BUYER)))
        self.bus.deliver(None, trade.Buy(5, "apple", (3, BUYER)))
        self.assertEqual((self.record.hops, self.record.latency_ms), ([], []))


class PeakRssTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)

    def test_fromProc(self):
        path = os.path.join(self.folder, "status")
        with open(path, "w") as f:
            f.write("Name:\tpython\nVmPeak:\t 999999 kB\nVmHWM:\t  204800 kB\n")
        self.assertEqual(peakRssMB(path), 200.0)

    def test_withoutProc(self):
        """Elsewhere, getrusage's figure."""
        self.assertGreater(peakRssMB(os.path.join(self.folder, "none")), 0)


class MetricsTests(SynchronousTestCase):
    def test_keys(self):
        """Every metric the issue asks for, with the statistics asked,
        survives a JSON round trip."""
        metrics = Simulation(small(nodes=30)).run()
        for key in ("nodes", "edges", "searches", "success_rate", "purchases",
                    "double_sells", "messages_per_search", "messages_by_type",
                    "hops_to_first_reply", "latency_ms", "wall_s", "peak_rss_mb",
                    "bytes_per_node"):
            self.assertIn(key, metrics)
        self.assertLessEqual({"mean", "p50", "p95", "p99"},
                             set(metrics["hops_to_first_reply"]))
        self.assertLessEqual({"p50", "p95", "p99"}, set(metrics["latency_ms"]))
        self.assertEqual(json.loads(json.dumps(metrics)), metrics)

    def test_values(self):
        """The figures agree with the configuration and with each other."""
        sim = Simulation(small(nodes=30, searches=20))
        metrics = sim.run()
        self.assertEqual((metrics["nodes"], metrics["searches"]), (30, 20))
        self.assertEqual(metrics["purchases"],
                         sum(len(role.bag) for role in sim.buyers.values()))
        self.assertEqual(metrics["success_rate"], metrics["purchases"] / 20)
        self.assertEqual(len(sim.record.latency_ms), metrics["purchases"])
        self.assertGreaterEqual(metrics["hops_to_first_reply"]["p50"], 1)
        self.assertGreater(metrics["latency_ms"]["p50"], 0)
        self.assertGreater(metrics["bytes_per_node"], 0)
        self.assertGreater(metrics["peak_rss_mb"], 0)
        shown = attr.asdict(sim.config)
        # A setting newer than the kept figures, at its default, is left
        # out (a run without a NAT mix reports what it did before).
        self.assertEqual(shown.pop("nat_mix"), [])
        self.assertEqual(metrics["config"], shown)

    def test_reachingIsNotTrade(self):
        """Relay reservations and circuits and hole punches make a link, as
        a handshake does: with --nat the index's trading messages are its
        lookups, registrations and buys alone (5.2 a find here, where the
        reaching made them 10.1), and the busiest node is counted so."""
        metrics = Simulation(AT_HOME).run()
        sent = metrics["messages_by_type"]
        self.assertTrue({"relayReserve", "punchSync"} <= set(sent), sent)
        trade = sum(sent.get(kind, 0) for kind in
                    ("lookup", "found", "register", "ack", "buy", "buyOK", "ask", "error"))
        self.assertEqual(metrics["messages_per_search"],
                         round(trade / metrics["search_floods"], 3))
        self.assertLessEqual(metrics["busiest_node_messages"], trade)

    def test_noSearches(self):
        """With nothing to buy the run ends after the warm-up and spread,
        and rates are None rather than a division by zero."""
        metrics = Simulation(small(nodes=20, searches=0)).run()
        self.assertEqual((metrics["purchases"], metrics["success_rate"],
                          metrics["messages_per_search"]), (0, None, None))
        self.assertEqual(metrics["virtual_s"], SMALL.warmup + SMALL.spread)

    # Each topology, with each discovery scheme, builds a working market:
    # a test a topology, so that a parallel run spreads them (the sixteen
    # runs in one test took 35 s in a loaded full run).
    for _topology in TOPOLOGIES:
        def _run(self, topology=_topology):
            for discovery in DISCOVERY:
                metrics = Simulation(small(nodes=20, searches=10, topology=topology,
                                           discovery=discovery)).run()
                self.assertEqual(metrics["success_rate"], 1.0, (topology, discovery))

        _run.__doc__ = f"The {_topology} topology, with each discovery scheme."
        locals()[f"test_everyDiscoveryRunsOn_{_topology}"] = _run
    del _topology, _run

    def test_doubleSellsCounted(self):
        """The metric sees a buy id in two ledgers and a seller past its
        stock, so its zeros above mean something."""
        sim = Simulation(small(nodes=30, stock=2))
        sim.run()
        self.assertEqual(sim.metrics(0)["double_sells"], 0)
        first = next(role for role in sim.sellers.values() if role.ledger)
        second = next(role for role in sim.sellers.values() if role is not first)
        sale = next(iter(first.ledger.values()))
        second.ledger[sale.ledgerKey] = sale
        self.assertEqual(sim.metrics(0)["double_sells"], 1)
        sold = len(first.ledger)
        for buy_id in range(1, 4):
            first.ledger[(sale.buyer_key, -buy_id)] = attr.evolve(sale, buy_id=-buy_id)
        # With a stock of 2, sold + 3 sales are sold + 1 too many.
        self.assertEqual(sim.metrics(0)["double_sells"], 1 + sold + 1)
