"""
Exactly-once purchases, as properties of whole markets on the in-memory
network (twisted_bazaar.testing), each run on virtual time from a seed.

- Races: K one-unit buyers (and, in bulk races, buyers of several units
  each, filled in part) race for M units held by three sellers, K > M
  on even seeds and K < M on odd ones, while the network drops, doubles,
  reorders and delays messages and connections are cut.  Checked every
  virtual second: no stock below zero, every bag entry backed by a sale,
  no buyer holding more than it wanted.
  Checked once the network has healed: exactly min(K, M) units sold, bags
  and ledgers one to one, and no buyer idle or holding a pending buy.
- Crashes: nodes with a SQLiteStore in a temporary data dir are killed
  (nothing they scheduled runs again, unflushed work is lost) and
  restarted on the same data dir, at chosen and at random moments.
- The durability points, checked as they happen, and two buyer decisions
  behind exactly-once: when to give up on a seller, and asking a given-up
  seller again until it answers.
"""

import random
import shutil
import tempfile
from collections import Counter

from twisted.internet import error
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import flooded, closeLink, feed, linkPeer, makeNode, sent
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.wire import trade
from twisted_bazaar import wire
from twisted_bazaar.roles.buyer import HASTY_ATTEMPTS, REFUSALS, RESOLVE_INTERVAL, Buyer
from twisted_bazaar.store import SQLiteStore
from twisted_bazaar.testing import Faults, Market, MemoryNetwork, cutLink

#: Virtual seconds for a fresh overlay to form before buyers join.
SETTLE = 20
#: Virtual seconds of faults and cuts, then of a healed network: long
#: enough for every resend, resolve (30 s) and search backoff (30 s).
FAULTY = 90
QUIET = 150
RACE_SEEDS = range(24)
CRASH_SEEDS = range(8)


class NodeFaults(Faults):
    """
    Faults on the links between nodes only.  The tracker session is a TCP
    stream whose requests are answered unless it breaks, and the node
    (rightly) waits for each answer; losing one message inside it models
    nothing real.  It is still cut, like any connection.
    """

    def deliver(self, transport, data):
        if "tracker" in (transport.host.host, transport.peer.host):
            transport._schedule(transport.other.dataArrived, data)
        else:
            super().deliver(transport, data)


def split(units, parts):
    """units spread over parts as evenly as possible."""
    return [units // parts + (i < units % parts) for i in range(parts)]


def unitsIn(bag):
    """Units in a bag (a purchase may be of several)."""
    return sum(purchase.units for purchase in bag)


def soldUnder(seller, buy_id):
    """Whether seller's ledger has a sale under buy_id (from any buyer)."""
    return any(sale.buy_id == buy_id for sale in seller.ledger.values())


def dataDir(test):
    folder = tempfile.mkdtemp(prefix="bazaar-once-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


def openStore(test, folder):
    """A SQLiteStore on folder, as a (re)started node opens it; closed
    after the test (a killed node never closes its own)."""
    store = SQLiteStore(folder)
    test.addCleanup(store.close)
    return store


class _Books:
    """
    The checks every market here must pass.  Subclasses keep
    ``self.market``, ``self.sellers`` (current seller nodes), their
    ``self.stocks`` (as seeded) and ``self.buyers`` (current buyer nodes).
    """

    def seller(self, node):
        return self.market.role(node, "seller")

    def buyer(self, node):
        return self.market.role(node, "buyer")

    def sales(self):
        """buy id -> (seller node, Sale), failing on a buy id sold twice."""
        found = {}
        for node in self.sellers:
            for sale in self.seller(node).ledger.values():
                self.assertNotIn(sale.buy_id, found, f"buy {sale.buy_id} sold twice")
                found[sale.buy_id] = (node, sale)
        return found

    def checkNow(self):
        """What must hold at every moment: no stock below zero, nothing
        held that is not there, every purchase backed by its sale."""
        for node in self.sellers:
            seller = self.seller(node)
            for item, units in seller.stock.items():
                self.assertGreaterEqual(units, 0, f"{item} stock of {node.id}")
                self.assertGreaterEqual(seller.free(item), 0, f"{item} of {node.id}")
            self.assertGreaterEqual(min(node.store.inventory().values()), 0)
        sales = self.sales()
        for node in self.buyers:
            buyer = self.buyer(node)
            for purchase in buyer.bag:
                self.assertIn(purchase.buy_id, sales, f"unsold buy in {node.id}'s bag")
            held = Counter()
            for purchase in buyer.bag:
                held[purchase.item] += purchase.units
            for want in buyer.wants:
                self.assertLessEqual(held[want.item], want.quantity,
                                     f"buyer {node.id} holds more than it wanted")

    def runChecking(self, seconds):
        for _ in range(seconds):
            self.market.run(1)
            self.checkNow()

    def runUntil(self, condition, limit=60):
        """Run in the network's own small steps until condition holds."""
        for _ in range(int(limit / 0.05)):
            if condition():
                return
            self.market.run(0.05)
        self.fail(f"not within {limit} virtual seconds")

    def assertBooksBalance(self):
        """Bags and ledgers match one to one by buy id (same item, seller
        and buyer); each seller's stock, in memory and on disk, is its seed
        less its sales."""
        sales = self.sales()
        bagged = {}
        for node in self.buyers:
            for purchase in self.buyer(node).bag:
                self.assertNotIn(purchase.buy_id, bagged)
                bagged[purchase.buy_id] = (node, purchase)
        self.assertEqual(set(bagged), set(sales))
        for buy_id, (buyer, purchase) in bagged.items():
            seller, sale = sales[buy_id]
            self.assertEqual((purchase.item, purchase.seller, sale.buyer, purchase.units),
                             (sale.item, seller.id, buyer.id, sale.units))
        for node, stock in zip(self.sellers, self.stocks):
            seller = self.seller(node)
            sold = Counter()
            for sale in seller.ledger.values():
                sold[sale.item] += sale.units
            left = {item: units - sold[item] for item, units in stock.items()}
            self.assertEqual((seller.stock, node.store.inventory()), (left, left))
            self.assertEqual(sorted(seller.ledger.values(), key=lambda s: s.buy_id),
                             sorted(node.store.sales(), key=lambda s: s.buy_id))

    def assertNobodyStuck(self, wanted):
        """Each buyer holds what it wanted or is still trying (a timer or
        a search out), and none keeps a pending buy: every buy was answered."""
        for node in self.buyers:
            buyer = self.buyer(node)
            self.assertEqual(node.store.pending(), [], f"buyer {node.id}")
            self.assertEqual(buyer.unresolved, {}, f"buyer {node.id}")
            if unitsIn(buyer.bag) == wanted:
                self.assertTrue(buyer.satisfied)
                continue
            want = buyer.wants[0]
            trying = (want.timer is not None and want.timer.active()) or (
                getattr(want, "finding", None) is not None)
            self.assertTrue(trying, f"buyer {node.id} gave up ({want.state})")


class RaceTests(_Books, SynchronousTestCase):
    """K buyers race for M units on a faulty network: min(K, M) sold, once."""

    def race(self, seed):
        rng = random.Random(seed)
        network = MemoryNetwork(rng=random.Random(seed),
                                latency=(0.0, rng.uniform(0.02, 0.3)))
        self.market = Market(network=network, seed=seed)
        buyers = rng.randint(6, 10)
        units = buyers + (rng.randint(1, 3) if seed % 2 else -rng.randint(1, 3))
        self.stocks = [{"apple": n} for n in split(units, 3)]
        self.sellers = [self.market.addNode(seller={"stock": dict(stock)})
                        for stock in self.stocks]
        relays = [self.market.addNode() for _ in range(rng.randint(2, 4))]
        self.market.run(SETTLE)
        faults = network.faults = NodeFaults(
            random.Random(seed + 1), drop=rng.uniform(0.02, 0.1),
            dup=rng.uniform(0.02, 0.1), reorder=rng.uniform(0.05, 0.2),
            reorder_delay=rng.uniform(0.05, 0.5))
        self.buyers = [self.market.addNode(buyer={"wants": ["apple"]})
                       for _ in range(buyers)]
        cuts = 0
        for _ in range(FAULTY):
            self.market.run(1)
            self.checkNow()
            if rng.random() < 0.3 and network.connections:
                client, server = rng.choice(network.connections)
                cutLink(network, client.host.host, server.host.host)
                cuts += 1
            if rng.random() < 0.03:
                network.cut(rng.choice(relays).connector.from_host)
                cuts += 1
        network.faults = None
        self.runChecking(QUIET)
        self.assertTrue(all(faults.counts.values()), faults.counts)
        self.assertGreater(cuts, 0)
        sold = len(self.sales())
        self.assertEqual(sold, min(buyers, units),
                         f"seed {seed}: {buyers} buyers, {units} units")
        self.assertBooksBalance()
        self.assertNobodyStuck(1)
        if buyers > units:
            self.assertEqual([self.seller(node).stock for node in self.sellers],
                             [{"apple": 0}] * 3)
        else:
            self.assertTrue(all(self.buyer(node).satisfied for node in self.buyers))


def _addSeededTests(cls, method, seeds):
    """One test per seed, named test_seedNN, so that a failure names its
    seed and each seed can be run alone."""
    for seed in seeds:
        def test(self, seed=seed):
            getattr(self, method)(seed)

        test.__name__ = f"test_seed{seed:02d}"
        test.__doc__ = f"{cls.__name__}.{method} with seed {seed}."
        setattr(cls, test.__name__, test)


_addSeededTests(RaceTests, "race", RACE_SEEDS)


class BulkRaceTests(_Books, SynchronousTestCase):
    """Buyers of several units each race for the stock of three sellers on
    a faulty network, so buys are filled in part: the units sold are the
    units bought, and the smaller of the units wanted and held."""

    def bulkRace(self, seed):
        rng = random.Random(seed)
        network = MemoryNetwork(rng=random.Random(seed),
                                latency=(0.0, rng.uniform(0.02, 0.3)))
        self.market = Market(network=network, seed=seed)
        quantities = [rng.randint(1, 6) for _ in range(rng.randint(3, 6))]
        wanted = sum(quantities)
        units = wanted + (rng.randint(1, 5) if seed % 2 else -rng.randint(1, 5))
        self.stocks = [{"apple": n} for n in split(units, 3)]
        self.sellers = [self.market.addNode(seller={"stock": dict(stock)})
                        for stock in self.stocks]
        for _ in range(rng.randint(2, 3)):
            self.market.addNode()
        self.market.run(SETTLE)
        network.faults = NodeFaults(
            random.Random(seed + 1), drop=rng.uniform(0.02, 0.1),
            dup=rng.uniform(0.02, 0.1), reorder=rng.uniform(0.05, 0.2),
            reorder_delay=rng.uniform(0.05, 0.5))
        self.buyers = [self.market.addNode(buyer={"wants": ["apple"], "quantity": q})
                       for q in quantities]
        for _ in range(FAULTY):
            self.market.run(1)
            self.checkNow()
            if rng.random() < 0.3 and network.connections:
                client, server = rng.choice(network.connections)
                cutLink(network, client.host.host, server.host.host)
        network.faults = None
        self.runChecking(QUIET)
        sold = sum(sale.units for _, sale in self.sales().values())
        self.assertEqual(sold, min(wanted, units),
                         f"seed {seed}: {quantities} wanted, {units} units")
        self.assertBooksBalance()
        for node in self.buyers:
            self.assertEqual(node.store.pending(), [], f"buyer {node.id}")
            self.assertEqual(self.buyer(node).unresolved, {}, f"buyer {node.id}")
        if wanted < units:
            self.assertTrue(all(self.buyer(node).satisfied for node in self.buyers))


_addSeededTests(BulkRaceTests, "bulkRace", range(8))


class SellerCrashTests(_Books, SynchronousTestCase):
    """A seller with a data dir is killed and restarted: it keeps its id,
    stock and ledger, and sells no unit twice."""

    def setUp(self):
        self.market = Market(network=MemoryNetwork(rng=random.Random(3),
                                                   latency=(0.1, 0.1)), seed=3)
        self.folder = dataDir(self)
        self.stocks = [{"apple": 5}]
        self.sellers = [self.market.addNode(store=openStore(self, self.folder), seller={"stock": {"apple": 5}})]
        self.market.addNode()
        self.market.run(5)
        self.buyers = [self.market.addNode(buyer={"wants": ["apple"], "quantity": 4})]

    def restartSeller(self, stock=None):
        [old] = self.sellers
        self.sellers = [self.market.restart(old, openStore(self, self.folder),
                                            seller={"stock": stock or self.stocks[0]})]
        return self.sellers[0]

    def test_killAfterTheFirstSale(self):
        """The issue's case: killed after the first purchase, restarted
        with the same command; the buyer ends with exactly 4."""
        [seller], [buyer] = self.sellers, self.buyers
        old_id = seller.id
        self.runUntil(lambda: self.buyer(buyer).bag)
        self.market.crash(seller)
        self.market.run(5)
        restarted = self.restartSeller()
        self.runChecking(120)
        self.assertEqual(restarted.id, old_id)
        self.assertEqual(unitsIn(self.buyer(buyer).bag), 4)
        self.assertTrue(self.buyer(buyer).satisfied)
        self.assertEqual(restarted.store.inventory(), {"apple": 1})
        self.assertBooksBalance()
        self.assertNobodyStuck(4)

    def test_killBeforeTheSaleIsCommitted(self):
        """
        Killed after deciding a sale but before its group commit: the sale
        never reached the disk and no buyOK left, so the restarted seller
        sells that buy id afresh, once, or answers it unsold (a buyer whose
        resends found the seller unreachable while it registered again asks
        about it, and buys anew): never twice, and no buy left in doubt.
        """
        [seller], [buyer] = self.sellers, self.buyers
        killed = []

        class KillOnBuy(NodeObserver):
            def _buy(observer, link, message):
                if not killed:
                    killed.append(message.id)
                    self.market.crash(seller)

            delivers = {trade.Buy: _buy}

        seller.addObserver(KillOnBuy())
        self.runUntil(lambda: killed)
        self.assertEqual(len(self.seller(seller).ledger), 1)
        self.assertEqual(seller.store.sales(), [])
        self.market.run(5)
        self.assertEqual(self.buyer(buyer).bag, [])
        self.restartSeller()
        self.runChecking(120)
        self.assertEqual(unitsIn(self.buyer(buyer).bag), 4)
        self.assertBooksBalance()
        self.assertNobodyStuck(4)

    def test_oldBuyIdGetsTheSameBuyOK(self):
        """After a restart, a buy id from the ledger is answered from it:
        the same buyOK, and no unit taken."""
        [seller], [buyer] = self.sellers, self.buyers
        self.runUntil(lambda: self.buyer(buyer).bag)
        [first] = self.buyer(buyer).bag
        self.market.crash(seller)
        restarted = self.restartSeller()
        self.runChecking(120)
        self.assertTrue(self.buyer(buyer).satisfied)
        left = restarted.store.inventory()
        answers = []

        class Answers(NodeObserver):
            def _answer(observer, link, message):
                answers.append(message)

            delivers = dict.fromkeys((trade.BuyOK, wire.Error), _answer)

        buyer.addObserver(Answers())
        self.runUntil(lambda: restarted.id in buyer.links)
        buyer.route(buyer.identity.signed(
            trade.Buy(first.buy_id, "apple", (buyer.id, restarted.id))))
        self.market.run(1)
        [answer] = answers
        self.assertEqual(answer, restarted.identity.signed(
            trade.BuyOK(first.buy_id, "apple", (restarted.id, buyer.id),
                        buyer_key=buyer.identity.key,
                        count=trade.quantityField(first.units))))
        self.assertEqual(restarted.store.inventory(), left)
        self.assertEqual(unitsIn(self.buyer(buyer).bag), 4)
        self.assertBooksBalance()

    def test_changedSellIsNotApplied(self):
        """Restarted with another --sell: the data dir's stock stands."""
        [seller] = self.sellers
        self.runUntil(lambda: self.buyer(self.buyers[0]).bag)
        self.market.crash(seller)
        restarted = self.restartSeller({"apple": 50, "pear": 3})
        self.runChecking(120)
        self.assertEqual(self.seller(restarted).stock, {"apple": 1})
        self.assertEqual(restarted.store.seededWith(), {"apple": 5})
        self.assertBooksBalance()


class GivenUpSellerTests(_Books, SynchronousTestCase):
    """
    A seller dies between committing a sale and the buyOK reaching the
    buyer, which gives up on it.  That buy may fill the want, so the buyer
    buys nowhere else while it asks the seller about it; when the seller is
    back, it answers from its ledger and the paid-for unit reaches the bag.
    Nothing is lost, and nothing extra is bought.
    """

    def test_paidForUnitIsNotLost(self):
        self.market = Market(network=MemoryNetwork(rng=random.Random(2),
                                                   latency=(0.1, 0.1)), seed=2)
        folder = dataDir(self)
        first = self.market.addNode(store=openStore(self, folder), seller={"stock": {"apple": 2}})
        self.market.addNode()
        self.market.run(5)
        buyer = self.market.addNode(buyer={"wants": ["apple"]})
        killed = []

        def route(message, traded=True, route=first.route):
            sent = route(message, traded)
            if type(message) is trade.BuyOK and not killed:
                killed.append(message.id)
                self.market.crash(first)
            return sent

        self.patch(first, "route", route)
        self.market.run(10)
        self.assertEqual(len(killed), 1)
        self.assertEqual([sale.buy_id for sale in first.store.sales()], killed)
        self.assertEqual(self.buyer(buyer).bag, [])
        second = self.market.addNode(seller={"stock": {"apple": 2}})
        self.market.run(RESOLVE_INTERVAL)
        self.assertEqual(self.buyer(buyer).bag, [])
        self.assertEqual(list(self.buyer(buyer).unresolved), killed)
        restarted = self.market.restart(first, openStore(self, folder),
                                        seller={"stock": {"apple": 2}})
        self.sellers, self.stocks = [restarted, second], [{"apple": 2}] * 2
        self.buyers = [buyer]
        self.runChecking(int(2 * RESOLVE_INTERVAL))
        self.assertEqual([(p.buy_id, p.seller) for p in self.buyer(buyer).bag],
                         [(killed[0], restarted.id)])
        self.assertEqual(self.seller(second).ledger, {})
        self.assertBooksBalance()
        self.assertNobodyStuck(1)


class BuyerCrashTests(_Books, SynchronousTestCase):
    """A buyer with a data dir is killed and restarted: it keeps its bag
    and resumes its pending buy with the same id."""

    def setUp(self):
        self.market = Market(network=MemoryNetwork(rng=random.Random(5),
                                                   latency=(0.2, 0.2)), seed=5)
        self.stocks = [{"apple": 5}]
        self.sellers = [self.market.addNode(seller={"stock": {"apple": 5}})]
        self.market.run(5)
        self.folder = dataDir(self)
        self.settings = {"wants": ["apple"], "quantity": 2}
        self.buyers = [self.market.addNode(store=openStore(self, self.folder), buyer=self.settings)]

    def restartBuyer(self):
        [old] = self.buyers
        self.buyers = [self.market.restart(old, openStore(self, self.folder),
                                           buyer=self.settings)]
        return self.buyers[0]

    def killAndRestart(self, when):
        """Kill the buyer once when(its pending buy) holds, restart it, and
        check it finishes with that buy id and no unit bought twice."""
        [buyer] = self.buyers
        self.runUntil(lambda: buyer.store.pending() and when(buyer.store.pending()[0]))
        [pending] = buyer.store.pending()
        self.market.crash(buyer)
        self.market.run(5)
        restarted = self.restartBuyer()
        self.assertEqual(self.buyer(restarted).wants[0].buy_id, pending.buy_id)
        self.runChecking(60)
        self.assertEqual(restarted.id, buyer.id)
        bag = self.buyer(restarted).bag
        self.assertEqual(unitsIn(bag), 2)
        self.assertEqual(bag[0].buy_id, pending.buy_id)
        self.assertEqual(self.seller(self.sellers[0]).stock, {"apple": 3})
        self.assertBooksBalance()
        self.assertNobodyStuck(2)

    def test_killBeforeTheBuyArrives(self):
        """Killed with its first buy written but not yet at the seller: the
        restarted buyer sends that id, and it is sold once."""
        seller = self.seller(self.sellers[0])
        self.killAndRestart(lambda pending: not soldUnder(seller, pending.buy_id))

    def test_killBeforeTheBuyOKArrives(self):
        """Killed after the seller sold, with the buyOK on its way: the
        restarted buyer resends the id and gets the sale from the ledger."""
        seller = self.seller(self.sellers[0])
        self.killAndRestart(lambda pending: soldUnder(seller, pending.buy_id))

    def test_killAfterBuying(self):
        """Killed once satisfied: the restarted buyer has its bag and buys
        nothing more."""
        [buyer] = self.buyers
        self.runUntil(lambda: self.buyer(buyer).satisfied)
        bag = self.buyer(buyer).bag
        self.market.crash(buyer)
        restarted = self.restartBuyer()
        self.runChecking(60)
        self.assertEqual(self.buyer(restarted).bag, bag)
        self.assertTrue(self.buyer(restarted).satisfied)
        self.assertEqual(self.seller(self.sellers[0]).stock, {"apple": 3})
        self.assertBooksBalance()


class PartialFillCrashTests(_Books, SynchronousTestCase):
    """
    Partial fills across crashes: a buy asks for more than its seller has,
    the seller sells what it has, and a crash comes between the commit and
    the answer.  The count sold reaches the bag once, and the rest is
    bought elsewhere, exactly.
    """

    def test_sellerKilledBetweenCommitAndAnswer(self):
        self.market = Market(network=MemoryNetwork(rng=random.Random(2),
                                                   latency=(0.1, 0.1)), seed=2)
        folder = dataDir(self)
        first = self.market.addNode(store=openStore(self, folder),
                                    seller={"stock": {"apple": 3}})
        self.market.addNode()
        self.market.run(5)
        buyer = self.market.addNode(buyer={"wants": ["apple"], "quantity": 6})
        killed = []

        def route(message, traded=True, route=first.route):
            sent = route(message, traded)
            if type(message) is trade.BuyOK and not killed:
                killed.append(message)
                self.market.crash(first)
            return sent

        self.patch(first, "route", route)
        self.runUntil(lambda: killed)
        [answer] = killed
        self.assertEqual(answer.count, 3)
        self.assertEqual([s.units for s in first.store.sales()], [3])
        second = self.market.addNode(seller={"stock": {"apple": 5}})
        self.market.run(RESOLVE_INTERVAL)
        # The buy in doubt asked for all six: nothing is bought elsewhere.
        self.assertEqual((self.buyer(buyer).bag, self.seller(second).ledger), ([], {}))
        restarted = self.market.restart(first, openStore(self, folder),
                                        seller={"stock": {"apple": 3}})
        self.sellers, self.stocks = [restarted, second], [{"apple": 3}, {"apple": 5}]
        self.buyers = [buyer]
        self.runChecking(int(3 * RESOLVE_INTERVAL))
        bag = self.buyer(buyer).bag
        self.assertEqual((bag[0].buy_id, bag[0].units), (answer.id, 3))
        self.assertEqual(unitsIn(bag), 6)
        self.assertEqual(self.seller(second).stock, {"apple": 2})
        self.assertBooksBalance()
        self.assertNobodyStuck(6)

    def test_buyerKilledBetweenCommitAndAnswer(self):
        self.market = Market(network=MemoryNetwork(rng=random.Random(5),
                                                   latency=(0.2, 0.2)), seed=5)
        self.stocks = [{"apple": 5}, {"apple": 5}]
        self.sellers = [self.market.addNode(seller={"stock": dict(stock)})
                        for stock in self.stocks]
        self.market.run(5)
        folder = dataDir(self)
        settings = {"wants": ["apple"], "quantity": 8}
        self.buyers = [self.market.addNode(store=openStore(self, folder), buyer=settings)]
        [buyer] = self.buyers
        sold = lambda pending: any(soldUnder(self.seller(node), pending.buy_id)
                                   for node in self.sellers)
        self.runUntil(lambda: buyer.store.pending() and sold(buyer.store.pending()[0]))
        [pending] = buyer.store.pending()
        self.assertEqual(pending.quantity, 8)
        self.market.crash(buyer)
        self.market.run(5)
        restarted = self.market.restart(buyer, openStore(self, folder), buyer=settings)
        self.buyers = [restarted]
        self.assertEqual(self.buyer(restarted).wants[0].asked, 8)
        self.runChecking(60)
        bag = self.buyer(restarted).bag
        self.assertEqual((bag[0].buy_id, bag[0].units), (pending.buy_id, 5))
        self.assertEqual(unitsIn(bag), 8)
        self.assertBooksBalance()
        self.assertNobodyStuck(8)


class DurabilityPointTests(_Books, SynchronousTestCase):
    """
    The order of disk and wire, checked at the moment each thing happens,
    while messages are doubled and reordered: a buyOK leaves only for a
    sale on disk, a buy only for a pending buy (or purchase) on disk, and
    "bought" is logged only for a purchase on disk.
    """

    def test_diskBeforeWire(self):
        network = MemoryNetwork(rng=random.Random(9), latency=(0.0, 0.2),
                                faults=NodeFaults(random.Random(9), dup=0.2, reorder=0.2))
        self.market = Market(network=network, seed=9)
        self.stocks = [{"apple": 4}]
        seller = self.market.addNode(store=openStore(self, dataDir(self)),
                                              seller={"stock": {"apple": 4}})
        self.market.addNode()
        self.market.run(5)
        buyer = self.market.addNode(store=openStore(self, dataDir(self)),
                                             buyer={"wants": ["apple"], "quantity": 3})
        self.sellers, self.buyers = [seller], [buyer]
        checked = Counter()

        def sellerRoute(message, traded=True, route=seller.route):
            if type(message) is trade.BuyOK:
                self.assertIn(message.id, [sale.buy_id for sale in seller.store.sales()])
                checked["buyOK"] += 1
            return route(message, traded)

        def buyerRoute(message, route=buyer.route):
            if type(message) is trade.Buy:
                on_disk = buyer.store.pending() + buyer.store.bag()
                self.assertIn(message.id, [entry.buy_id for entry in on_disk])
                checked["buy"] += 1
            return route(message)

        def logged(event):
            if event.get("log_format", "").startswith("bought "):
                self.assertGreaterEqual(unitsIn(buyer.store.bag()), event["n"])
                checked["bought"] = event["n"]

        self.patch(seller, "route", sellerRoute)
        self.patch(buyer, "route", buyerRoute)
        self.patch(self.buyer(buyer), "log", Logger(observer=logged))
        self.runChecking(60)
        self.assertEqual(checked["bought"], 3)
        self.assertGreaterEqual(checked["buyOK"], 1)
        self.assertGreaterEqual(checked["buy"], 1)
        self.assertEqual(unitsIn(self.buyer(buyer).bag), 3)
        self.assertBooksBalance()


class RandomCrashTests(_Books, SynchronousTestCase):
    """
    A seller and a buyer, both with data dirs, are each killed at a random
    moment and restarted after a random pause, among other buyers and
    sellers, with messages doubled and reordered: still min(K, M) sold,
    once each.
    """

    def crash(self, seed):
        rng = random.Random(seed)
        network = MemoryNetwork(rng=random.Random(seed), latency=(0.0, 0.2))
        self.market = Market(network=network, seed=seed)
        buyers = rng.randint(4, 6)
        units = buyers + (1 if seed % 2 else -1)
        self.stocks = [{"apple": n} for n in split(units, 2)]
        folders = [dataDir(self) for _ in range(2)]
        self.sellers = [self.market.addNode(store=openStore(self, folders[0]), seller={"stock": self.stocks[0]}),
                        self.market.addNode(seller={"stock": self.stocks[1]})]
        self.market.addNode()
        self.market.run(SETTLE)
        network.faults = NodeFaults(random.Random(seed + 1), dup=0.05, reorder=0.1)
        settings = {"wants": ["apple"]}
        self.buyers = [self.market.addNode(store=openStore(self, folders[1]), buyer=settings)]
        self.buyers += [self.market.addNode(buyer=settings) for _ in range(buyers - 1)]
        victims = [(0, self.sellers, {"seller": {"stock": self.stocks[0]}}),
                   (1, self.buyers, {"buyer": settings})]
        kill_at = {index: rng.randint(0, 80) for index, _, _ in victims}
        back_at = {index: kill_at[index] + rng.randint(1, 30) for index in kill_at}
        for step in range(160):
            self.market.run(0.25)
            for index, nodes, roles in victims:
                if step == kill_at[index]:
                    self.market.crash(nodes[0])
                elif step == back_at[index]:
                    nodes[0] = self.market.restart(
                        nodes[0], openStore(self, folders[index]), **roles)
            if step % 4 == 0:
                self.checkNow()
        network.faults = None
        self.runChecking(QUIET)
        self.assertEqual(len(self.sales()), min(buyers, units), f"seed {seed}")
        self.assertBooksBalance()
        self.assertNobodyStuck(1)


_addSeededTests(RandomCrashTests, "crash", CRASH_SEEDS)


class FullSellerTests(SynchronousTestCase):
    """
    A seller out of connection slots refuses the buyer's direct link, yet
    still hears the buy along the path.  Giving up on it after two such
    refusals sent the buyer to another seller while the first had sold:
    two units for one wanted (found by an earlier race seed).  A seller
    whose address has nobody listening is still given up on quickly.
    """

    def setUp(self):
        self.node = makeNode(1)
        self.relay = linkPeer(self.node, 5)
        self.buyer = Buyer(flooded(self.node), ["apple"], search_window=1.0, buy_timeout=2.0)
        self.buyer.linkAdded(5)
        [search] = sent(self.relay)
        feed(self.relay,
             floodmsg.Reply(search.id, "apple", (7, 5, 1), 7, "full", 4007),
             floodmsg.Reply(search.id, "apple", (8, 6, 5, 1), 8, "other", 4008))
        self.node.clock.advance(1.0)

    def nextAttempt(self):
        """Let the buyer's resend timer fire."""
        timer = self.buyer.wants[0].timer
        self.node.clock.advance(timer.getTime() - self.node.clock.seconds())

    def test_fullSellerIsNotGivenUpOn(self):
        """Refused for want of slots, the buy goes along the path; when
        that is silent too, the buyer asks the seller about it and buys
        from nobody else until it answers."""
        buys = []
        for attempt in range(HASTY_ATTEMPTS):
            link = self.node.connector.connectLast()
            feed(link, wire.Error("noslots", "all 8 connection slots are taken"))
            closeLink(link)
            buys += sent(self.relay)
            self.nextAttempt()
        self.assertEqual([request[:2] for request in self.node.connector.requests],
                         [("full", 4007)] * (HASTY_ATTEMPTS + 1))
        first = buys[0]
        ask = trade.Ask(first.id, "apple", (1, 5, 7), expires=first.expires)
        self.assertEqual(buys + sent(self.relay),
                         [trade.Buy(first.id, "apple", (1, 5, 7), expires=first.expires)]
                         * HASTY_ATTEMPTS + [ask])
        self.assertEqual(self.buyer.wants[0].state, "doubting")
        feed(self.relay, trade.BuyOK(buys[0].id, "apple", (7, 5, 1)))
        self.assertEqual([(p.buy_id, p.seller) for p in self.buyer.bag],
                         [(buys[0].id, 7)])
        self.assertTrue(self.buyer.satisfied)

    def test_deadSellerIsGivenUpOn(self):
        """
        Nothing listens at the seller's address: the buy never left (not
        along the path either), so nothing is in doubt, and the next
        offer is bought at once.
        """
        self.node.connector.failLast(error.ConnectionRefusedError())
        self.assertEqual(sent(self.relay), [])
        self.assertEqual(self.buyer.unresolved, {})
        self.assertEqual(self.node.connector.requests[-1][:2], ("other", 4008))

    def test_deadSellerAfterTheBuyLeft(self):
        """
        The buy went along the path (the seller was out of slots), then
        nothing listens at its address: after REFUSALS tries the buyer
        stops buying there and asks about the buy, which may have been
        sold.  It moves on to the next offer as soon as the seller says
        the buy is unsold.
        """
        link = self.node.connector.connectLast()
        feed(link, wire.Error("noslots", "all 8 connection slots are taken"))
        closeLink(link)
        self.nextAttempt()
        for _ in range(REFUSALS - 1):
            self.node.connector.failLast(error.ConnectionRefusedError())
            self.nextAttempt()
        first, _, ask = sent(self.relay)
        self.assertEqual(ask, trade.Ask(first.id, "apple", first.path,
                                        expires=first.expires))
        self.assertEqual(list(self.buyer.unresolved), [first.id])
        self.assertEqual(self.buyer.wants[0].state, "doubting")
        feed(self.relay, wire.Error("unsold", "never sold", first.id, (7, 5, 1)))
        self.assertEqual(self.node.connector.requests[-1][:2], ("other", 4008))
        self.assertEqual(self.buyer.unresolved, {})
