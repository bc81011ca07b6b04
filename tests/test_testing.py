"""
Tests for twisted_bazaar.testing: the in-memory network itself, and
networks of 10 to 50 real nodes on it (joining, trading, churn), all on
virtual time.
"""

import gc
import tracemalloc
import random
import weakref
from collections import Counter, deque

from twisted.internet import error, task
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import KEYED
from twisted_bazaar.wire.trade import Buy
from twisted_bazaar import wire
from twisted_bazaar.roles.want import DOUBT_LIMIT
from twisted_bazaar.core.node import DEFAULT_NEIGHBOURS
from twisted_bazaar.store import MemoryStore
from twisted_bazaar.testing import (
    Market,
    MemoryNetwork,
    MemoryServerEndpoint,
    MemoryTransport,
)
from twisted_bazaar.testing.memory import FIRST_PORT

from tests.helpers import units

#: Virtual seconds that let every node of a fresh network find its peers.
SETTLE = 30


class _Recorder(Protocol):
    """Keeps what arrives, and why the connection ended."""

    def __init__(self):
        self.received = []
        self.lost = None

    def dataReceived(self, data):
        self.received.append(data)

    def connectionLost(self, reason):
        self.lost = reason


def _overlayReach(start, nodes):
    """The ids reachable from start by following node.links (BFS)."""
    by_id = {node.id: node for node in nodes}
    seen = {start.id}
    queue = deque([start])
    while queue:
        for peer in queue.popleft().links:
            if peer not in seen and peer in by_id:
                seen.add(peer)
                queue.append(by_id[peer])
    return seen


def recordMessages(testcase, owner):
    """
    Record (sender id, message) of every message reaching the links of
    owner (a node, through its overlay, or the tracker), still handling
    each as usual.
    """
    received = []
    owner = getattr(owner, "overlay", owner)
    # On the class, for this owner only: an overlay keeps its fields in
    # slots, and takes no method of its own.
    kind = type(owner)
    original = kind.messageReceived

    def recording(self, link, message):
        if self is owner:
            received.append((link.peer_id, message))
        original(self, link, message)

    testcase.patch(kind, "messageReceived", recording)
    return received


class MemoryNetworkTests(SynchronousTestCase):
    """The transport layer every multi-node test stands on."""

    def setUp(self):
        self.clock = task.Clock()
        self.servers = []

    def listen(self, network, host="server", port=1):
        def build():
            server = _Recorder()
            self.servers.append(server)
            return server

        return network.listen(Factory.forProtocol(build), host, port)

    def test_connectionRefused(self):
        """Connecting where nothing listens fails the Deferred."""
        network = MemoryNetwork(self.clock)
        d = network.connect("nowhere", 1, _Recorder())
        self.clock.advance(0)
        self.failureResultOf(d, error.ConnectionRefusedError)

    def test_endsOfTwoNetworks(self):
        """Each end knows its own network, its address and its peer's (the
        other end's), and how it stands: connected, then hanging up."""
        first, second = MemoryNetwork(self.clock), MemoryNetwork(self.clock)
        self.listen(first)
        self.listen(second)
        client = _Recorder()
        first.connect("server", 1, client, from_host="a")
        second.connect("server", 1, _Recorder(), from_host="b")
        self.clock.advance(0)
        [(mine, theirs)] = first.connections
        [(other, _)] = second.connections
        self.assertEqual((mine.network, other.network), (first, second))
        self.assertIsInstance(mine, MemoryTransport)
        self.assertEqual((mine.getHost().host, mine.getPeer().host), ("a", "server"))
        self.assertIs(theirs.getPeer(), mine.getHost())
        self.assertEqual((mine.connected, mine.disconnecting), (True, False))
        mine.loseConnection()
        self.assertEqual((mine.connected, mine.disconnecting), (True, True))
        self.clock.advance(0)
        self.assertEqual((mine.connected, theirs.connected), (False, False))

    def test_aNetworkAdaptedFromIsNotKept(self):
        """A network whose ends were adapted from (as the relay's and the
        channel's checks do, C{IRelayedTransport(transport, None)}) is
        freed with its last reference: zope.interface's adapter registry
        keeps the declaration of each class adapted from for good, so the
        network's own classes must not each have one holding them (the
        suite's processes kept every test's network and nodes; a Dask
        worker that runs another shard would keep the last)."""
        from twisted_bazaar.net.capabilities import IRelayedTransport, ISecureTransport

        network = MemoryNetwork(self.clock)
        port = self.listen(network)
        network.connect("server", 1, _Recorder(), from_host="a")
        self.clock.advance(0)
        [(mine, theirs)] = network.connections
        self.assertIsNone(IRelayedTransport(mine, None))
        self.assertIsNone(ISecureTransport(port, None))
        freed = weakref.ref(network)
        del network, port, mine, theirs
        self.servers = []
        gc.collect()
        self.assertIsNone(freed())

    def test_listenAddressInUse(self):
        """A second listener on one host:port is refused."""
        network = MemoryNetwork(self.clock)
        self.listen(network)
        self.assertRaises(error.CannotListenError, self.listen, network)

    def test_serverEndpointFailsItsDeferred(self):
        """Like a real endpoint, a taken address fails the listen Deferred
        rather than raising."""
        network = MemoryNetwork(self.clock)
        self.listen(network)
        d = MemoryServerEndpoint(network, "server", 1).listen(Factory())
        self.failureResultOf(d, error.CannotListenError)

    def test_portZeroPicksFreshPorts(self):
        """Listening on port 0 hands out distinct ports per host."""
        network = MemoryNetwork(self.clock)
        ports = [self.listen(network, "h", 0).getHost().port for _ in range(3)]
        self.assertEqual(ports, [40000, 40001, 40002])

    def test_aListeningHostHoldsLittle(self):
        """A host that listens on port 0 (a simulated node) holds its
        port, its address and their entries, and nothing of its own for
        the next port it would take (an int each, 32 bytes a node; nor an
        entry in the network's counts, which its port stands for), nor a
        slot on its port for the network (the port's class's)."""
        network = MemoryNetwork(self.clock)
        factory = Factory.forProtocol(_Recorder)
        network.listen(factory, "h-first", 0)  # the tables made
        hosts = [f"h{i}" for i in range(2000)]
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            ports = [network.listen(factory, host, 0) for host in hosts]
            held = (tracemalloc.get_traced_memory()[0] - before) / len(hosts)
        finally:
            tracemalloc.stop()
        self.assertEqual({port.getHost().port for port in ports}, {40000})
        self.assertIs(ports[0].network, network)
        # A list's slot for each port aside (8 bytes): 296 bytes a host
        # before (b31185cf), 256 since (264 at 342de50b); 246 with its key
        # kept on the port (where) and no count of its own.
        self.assertLessEqual(held - 8, 255)
        # The next port of each is still the one after.
        self.assertEqual(network.listen(factory, "h7", 0).getHost().port, 40001)

    def test_pairFromAListeningPort(self):
        """A pair made from a port its host listens on comes from that
        port's address, the same object for every such pair; one made
        from elsewhere comes from a fresh port.  Both ends are open at
        once, and carry what is written."""
        network = MemoryNetwork(self.clock)
        server_port = self.listen(network)
        mine = self.listen(network, "client", 7)
        a, b = _Recorder(), _Recorder()
        first = network.pair(a, "client", b, "server", 1, from_port=7)
        second = network.pair(_Recorder(), "client", _Recorder(), "server", 1,
                              from_port=7)
        for out, into in (first, second):
            self.assertIs(out.getHost(), mine.getHost())
            self.assertIs(into.getPeer(), mine.getHost())
            self.assertIs(into.getHost(), server_port.getHost())
        fresh, _ = network.pair(_Recorder(), "client", _Recorder(), "server", 1)
        self.assertEqual((fresh.getHost().host, fresh.getHost().port), ("client", 40000))
        first[0].write(b"hello")
        self.clock.advance(0)
        self.assertEqual(b.received, [b"hello"])

    def test_whereIsThePortsKey(self):
        """Where a port listens is its key in the network's table, one
        tuple for whoever asks; where nothing listens, a tuple of its own;
        a port that stops listening leaves the table by it."""
        network = MemoryNetwork(self.clock)
        port = network.listen(Factory.forProtocol(_Recorder), "h", 0)
        where = network.where("h", 40000)
        self.assertEqual(where, ("h", 40000))
        self.assertIs(network.where("h", 40000), where)
        self.assertIs(next(iter(network._listeners)), where)
        self.assertEqual(network.where("h", 1), ("h", 1))
        self.successResultOf(port.stopListening())
        self.assertEqual(network._listeners, {})

    def test_portsTakenInTurn(self):
        """A host's ports are taken in turn from FIRST_PORT, whether it
        listens on port 0, on a port of its choosing, opens connections,
        stops listening or crashes, though the network keeps no count for
        a host whose one port is the one it listens on: random steps on a
        few hosts give the ports (and refusals) of a plain count."""
        for seed in range(20):
            rng = random.Random(seed)
            network = MemoryNetwork(self.clock)
            factory = Factory.forProtocol(_Recorder)
            taken, listening, ports = {}, set(), {}

            def take(host):
                taken[host] = taken.get(host, 0) + 1
                return FIRST_PORT + taken[host] - 1

            for _ in range(200):
                host = rng.choice("abc")
                step = rng.randrange(5)
                if step < 2:
                    port = 0 if step == 0 else FIRST_PORT + rng.randrange(3)
                    want = take(host) if port == 0 else port
                    try:
                        got = network.listen(factory, host, port)
                    except error.CannotListenError:
                        self.assertIn((host, want), listening)
                        continue
                    self.assertEqual(got.getHost().port, want)
                    listening.add((host, want))
                    ports[(host, want)] = got
                elif step == 2:
                    self.assertEqual(network.nextAddress(host).port, take(host))
                elif step == 3 and listening:
                    where = rng.choice(sorted(listening))
                    listening.discard(where)
                    self.successResultOf(ports.pop(where).stopListening())
                elif step == 4 and rng.random() < 0.2:
                    network.crash(host)
                    network.dead_hosts.discard(host)
                    listening = {where for where in listening if where[0] != host}
                self.assertEqual(set(network._listeners), listening)
            # Most hosts listened first on port 0: none of them kept a
            # count while that port stood for it.
            self.assertLessEqual(set(network._ports_taken), set(taken))

    def test_aListeningNodeKeepsNoCount(self):
        """A host whose one port is the one it listens on (a simulated
        node) has no count of its own in the network: its port stands
        for it."""
        network = MemoryNetwork(self.clock)
        network.listen(Factory.forProtocol(_Recorder), "h", 0)
        self.assertEqual(network._ports_taken, {})
        self.assertEqual(network.nextAddress("h").port, FIRST_PORT + 1)
        self.assertEqual(network._ports_taken, {"h": 2})

    def test_stopListeningFreesTheAddress(self):
        """After stopListening the address refuses, and can be reused."""
        network = MemoryNetwork(self.clock)
        self.successResultOf(self.listen(network).stopListening())
        d = network.connect("server", 1, _Recorder())
        self.clock.advance(0)
        self.failureResultOf(d, error.ConnectionRefusedError)
        self.assertEqual(self.listen(network).getHost().port, 1)

    def test_latencyDelaysConnectAndDelivery(self):
        """The connection and each write take the latency on the clock."""
        network = MemoryNetwork(self.clock, latency=(0.5, 0.5))
        self.listen(network)
        client = _Recorder()
        d = network.connect("server", 1, client, from_host="client")
        self.clock.advance(0.4)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertIs(self.successResultOf(d), client)
        [server] = self.servers
        self.assertEqual(server.transport.getPeer().host, "client")
        client.transport.write(b"hello")
        self.clock.advance(0.4)
        self.assertEqual(server.received, [])
        self.clock.advance(0.1)
        self.assertEqual(server.received, [b"hello"])

    def test_aTimerDueAtAStepsEndRunsThenAtAnEpoch(self):
        """
        A timer set a whole number of steps ahead runs at the step that
        ends at its time, with the clock at an epoch's 1.8e9 too, where
        each 0.05 s step falls a rounding short: a paced seller's pieces
        took a step more each (0.30 s, not 0.25 s) at an epoch only.
        """
        for start in (0.0, 1.8e9):
            clock = task.Clock()
            clock.advance(start)
            network = MemoryNetwork(clock)
            ran = []
            clock.callLater(0.25, ran.append, True)
            for _ in range(5):
                network.run(0.05)
            self.assertEqual(ran, [True], f"clock started at {start}")

    def test_writesArriveInOrder(self):
        """Random per-write latency never reorders a connection's bytes."""
        network = MemoryNetwork(self.clock, random.Random(3), latency=(0.0, 1.0))
        self.listen(network)
        client = _Recorder()
        network.connect("server", 1, client)
        network.run(1)
        chunks = [b"%d," % n for n in range(50)]
        for chunk in chunks:
            client.transport.write(chunk)
            self.clock.advance(0.01)
        network.run(2)
        [server] = self.servers
        self.assertEqual(b"".join(server.received), b"".join(chunks))

    def test_loseConnectionAfterPendingWrites(self):
        """Data written before loseConnection is delivered, then both ends
        are told the connection closed cleanly."""
        network = MemoryNetwork(self.clock, latency=(0.2, 0.2))
        self.listen(network)
        client = _Recorder()
        network.connect("server", 1, client)
        network.run(1)
        client.transport.write(b"bye")
        client.transport.loseConnection()
        network.run(1)
        [server] = self.servers
        self.assertEqual(server.received, [b"bye"])
        server.lost.trap(error.ConnectionDone)
        client.lost.trap(error.ConnectionDone)
        self.assertEqual(network.connections, [])

    def test_cutBreaksEveryConnectionOfAHost(self):
        """cut() drops a host's connections at once, like a crash."""
        network = MemoryNetwork(self.clock)
        self.listen(network)
        doomed, survivor = _Recorder(), _Recorder()
        network.connect("server", 1, doomed, from_host="doomed")
        network.connect("server", 1, survivor, from_host="survivor")
        network.run(1)
        network.cut("doomed")
        doomed.lost.trap(error.ConnectionLost)
        self.assertIsNone(survivor.lost)
        self.assertEqual(len(network.connections), 1)

    def test_closedConnectionsLetGo(self):
        """A closed connection is forgotten at once: the network holds
        neither its ends nor their protocols (a simulation opens and
        closes hundreds of thousands), and the open ones stay listed
        oldest first."""
        network = MemoryNetwork(self.clock)
        self.listen(network)
        first, closed, last = _Recorder(), _Recorder(), _Recorder()
        for protocol in (first, closed, last):
            network.connect("server", 1, protocol)
            network.run(1)
        gone = weakref.ref(closed)
        closed.transport.loseConnection()
        network.run(1)
        del closed
        self.servers.clear()
        gc.collect()
        self.assertIsNone(gone())
        self.assertEqual([pair[0].protocol for pair in network.connections],
                         [first, last])


class NetworkFormationTests(SynchronousTestCase):
    """Nodes join through the tracker and build a connected overlay."""

    def assertFormed(self, count):
        market = Market(seed=count)
        nodes = [market.addNode() for _ in range(count)]
        market.run(SETTLE)
        ids = [node.id for node in nodes]
        self.assertNotIn(None, ids)
        self.assertEqual(len(set(ids)), count)
        # Keyed ids: bit 128 set, the key's 128 bits below it.
        self.assertTrue(all(KEYED <= node_id < 2 * KEYED for node_id in ids))
        self.assertEqual(market.tracker.registry.nodes,
                         {node.id: (node.host, node.port) for node in nodes})
        for node in nodes:
            self.assertGreaterEqual(len(node.links), DEFAULT_NEIGHBOURS)
            self.assertLessEqual(len(node.links), node.config.max_connections)
            self.assertNotIn(node.id, node.links)
        by_id = {node.id: node for node in nodes}
        for node in nodes:
            for peer in node.links:
                self.assertIn(node.id, by_id[peer].links)
        self.assertEqual(_overlayReach(nodes[0], nodes), set(ids))

    def test_tenNodes(self):
        self.assertFormed(10)

    def test_thirtyNodes(self):
        self.assertFormed(30)

    def test_fiftyNodes(self):
        self.assertFormed(50)

    def test_tooFewNodesForTheNeighbourCount(self):
        """With fewer peers than wanted, every node links to all others."""
        market = Market(seed=1)
        nodes = [market.addNode() for _ in range(3)]
        market.run(SETTLE)
        for node in nodes:
            self.assertEqual(set(node.links), {n.id for n in nodes} - {node.id})


class _Trade:
    """A market of sellers, relays and buyers, with checks of its books."""

    def __init__(self, seed, stocks, wants, relays=10, network=None, **buying):
        self.market = Market(network=network, seed=seed)
        self.stocks = stocks
        self.sellers = [self.market.addNode(seller={"stock": dict(stock)})
                        for stock in stocks]
        self.relays = [self.market.addNode() for _ in range(relays)]
        self.market.run(SETTLE)
        self.buyers = [
            self.market.addNode(buyer=dict(buying, wants=items, quantity=q))
            for items, q in wants]

    def seller(self, node):
        return self.market.role(node, "seller")

    def bag(self, node):
        return self.market.role(node, "buyer").bag

    def purchases(self):
        return [(buyer, p) for buyer in self.buyers for p in self.bag(buyer)]

    def sales(self):
        return [(seller, s) for seller in self.sellers
                for s in self.seller(seller).ledger.values()]


class _BooksMixin:
    """The accounting every trading test checks."""

    def assertBooksBalance(self, trade):
        """
        Bags and ledgers match one to one, no buy id is sold twice, and
        each seller's stock is its initial stock less what it sold.
        """
        sales = trade.sales()
        sold_ids = Counter(sale.buy_id for _, sale in sales)
        self.assertEqual([i for i, n in sold_ids.items() if n > 1], [])
        purchases = trade.purchases()
        self.assertEqual(len(purchases), len(sales))
        by_id = {sale.buy_id: (seller, sale) for seller, sale in sales}
        for buyer, purchase in purchases:
            seller, sale = by_id.pop(purchase.buy_id)
            self.assertEqual((purchase.item, purchase.seller),
                             (sale.item, seller.id))
            self.assertEqual(sale.buyer, buyer.id)
        self.assertEqual(by_id, {})
        for node, initial in zip(trade.sellers, trade.stocks):
            seller = trade.seller(node)
            sold = Counter(sale.item for sale in units(seller.ledger.values()))
            self.assertEqual(seller.stock, {item: units - sold[item]
                                            for item, units in initial.items()})


class TradingTests(_BooksMixin, SynchronousTestCase):
    """Many buyers and sellers: every unit sold once, the books balance."""

    def runCheckingStock(self, trade, seconds):
        """Run second by second; no seller's stock may ever go negative."""
        for _ in range(seconds):
            trade.market.run(1)
            for node in trade.sellers:
                self.assertGreaterEqual(min(trade.seller(node).stock.values()), 0)

    def assertEveryWantMet(self, trade, wants):
        for buyer, (items, quantity) in zip(trade.buyers, wants):
            self.assertEqual(Counter(p.item for p in units(trade.bag(buyer))),
                             {item: quantity for item in items})
            self.assertTrue(trade.market.role(buyer, "buyer").satisfied)

    def test_enoughStockForEveryone(self):
        stocks = [{"apple": 3, "pear": 2}, {"apple": 3, "pear": 2}, {"apple": 2}]
        wants = [(["apple", "pear"], 1), (["apple", "pear"], 2), (["apple"], 2),
                 (["pear"], 1), (["apple"], 1)]
        trade = _Trade(3, stocks, wants)
        self.runCheckingStock(trade, 60)
        self.assertEveryWantMet(trade, wants)
        self.assertEqual(sum(p.units for _, p in trade.purchases()), 10)
        self.assertBooksBalance(trade)

    def test_enoughStockWithLatency(self):
        """
        Up to 1.5 s per hop: buyers resend buy ids after their 2 s timeout,
        and still no unit is sold twice.  (The search window must outlast
        the round trip, or every offer comes too late.)
        """
        network = MemoryNetwork(rng=random.Random(8), latency=(0.2, 1.5))
        stocks = [{"apple": 4}, {"apple": 4}]
        wants = [(["apple"], 2)] * 4
        trade = _Trade(8, stocks, wants, network=network, search_window=10.0,
                       buy_timeout=2.0)
        received = [recordMessages(self, seller) for seller in trade.sellers]
        self.runCheckingStock(trade, 120)
        buys = Counter(message.id for seller, messages in zip(trade.sellers, received)
                       for _, message in messages
                       if type(message) is Buy and message.path[-1] == seller.id)
        self.assertGreater(max(buys.values()), 1)
        self.assertEveryWantMet(trade, wants)
        self.assertBooksBalance(trade)

    def test_scarcity(self):
        """More demand than stock: exactly the stock is sold, once."""
        stocks = [{"apple": 2}, {"apple": 2}]
        wants = [(["apple"], 2)] * 4
        trade = _Trade(3, stocks, wants)
        self.runCheckingStock(trade, 120)
        self.assertEqual(sum(p.units for _, p in trade.purchases()), 4)
        for node in trade.sellers:
            self.assertEqual(trade.seller(node).stock, {"apple": 0})
        self.assertBooksBalance(trade)
        self.assertFalse(any(trade.market.role(b, "buyer").satisfied
                             for b in trade.buyers if len(units(trade.bag(b))) < 2))


class ChurnLeavesNothingTests(SynchronousTestCase):
    """
    Sellers and buyers of each scheme come, trade and go, politely or by a
    crash, as in s57-soak's hour of churn (a market of 22 daemons on
    loopback, its memory, descriptors and tables flat): the nodes that
    stay, and the tracker, keep none of them alive, so what they hold of
    the gone is their ids in bounded tables, never their objects.
    """

    def churnedAway(self, discovery, rounds=3):
        """Weak references to the nodes churned through a market of
        ``discovery`` once the market forgot them (as a process's exit
        frees its memory), and the count the tracker still lists."""
        market = Market(seed=5)
        stay = [market.addNode(discovery=discovery, scheme={"super": True})
                for _ in range(2 if discovery == "superpeer" else 0)]
        stay += [market.addNode(discovery=discovery, seller={"stock": {"apple": 100}})
                 for _ in range(2)]
        stay += [market.addNode(discovery=discovery) for _ in range(2)]
        market.run(30)
        gone = []
        for turn in range(rounds):
            seller = market.addNode(discovery=discovery, seller={"stock": {"pear": 5}})
            market.run(15)
            buyer = market.addNode(discovery=discovery, buyer={"wants": ["apple", "pear"]})
            market.run(10)
            for node in (seller, buyer):
                (market.crash if turn % 3 == 0 else market.stop)(node)
                for table in (market.parts, market.roles, market.schemes,
                              market.metrics, market.stopped):
                    table.pop(node, None)
                gone.append(weakref.ref(node))
            del seller, buyer, node
        market.run(300)
        gc.collect()
        return [ref for ref in gone if ref() is not None], len(market.tracker.registry), stay

    def test_eachSchemeKeepsNoNodeGone(self):
        for discovery in ("flood", "index", "superpeer", "chord"):
            alive, listed, stay = self.churnedAway(discovery)
            self.assertEqual((discovery, alive, listed), (discovery, [], len(stay)))


class ChurnTests(_BooksMixin, SynchronousTestCase):
    """Nodes leave, politely or not, and the rest carry on."""

    def test_politeStop(self):
        """
        A stopped node says dc to each peer; they drop it and link to
        others, and the tracker forgets it.
        """
        market = Market(seed=12)
        nodes = [market.addNode() for _ in range(12)]
        market.run(SETTLE)
        victim = nodes[0]
        peers = [node for node in nodes if victim.id in node.links]
        before = {peer: set(peer.links) for peer in peers}
        received = {peer: recordMessages(self, peer) for peer in peers}
        self.assertIsNone(self.successResultOf(market.stop(victim)))
        self.assertEqual(victim.links, {})
        self.assertNotIn(victim.id, market.tracker.registry.nodes)
        self.assertEqual(len(market.tracker.registry), 11)
        for peer in peers:
            self.assertIn((victim.id, wire.Dc()), received[peer])
            self.assertNotIn(victim.id, peer.links)
        market.run(SETTLE)
        rest = nodes[1:]
        for node in rest:
            self.assertGreaterEqual(len(node.links), DEFAULT_NEIGHBOURS)
            self.assertNotIn(victim.id, node.links)
        replaced = [peer for peer in peers if len(before[peer]) == DEFAULT_NEIGHBOURS]
        self.assertNotEqual(replaced, [])
        for peer in replaced:
            self.assertNotEqual(set(peer.links) - before[peer], set())
        self.assertEqual(_overlayReach(rest[0], rest), {node.id for node in rest})

    def test_crashIsForgotten(self):
        """A crashed node says no dc, yet the tracker and its peers drop it."""
        market = Market(seed=4)
        nodes = [market.addNode() for _ in range(10)]
        market.run(SETTLE)
        victim = nodes[0]
        peers = [node for node in nodes if victim.id in node.links]
        received = {peer: recordMessages(self, peer) for peer in peers}
        market.crash(victim)
        market.run(1)
        self.assertNotIn(victim.id, market.tracker.registry.nodes)
        for peer in peers:
            self.assertNotIn(victim.id, peer.links)
            self.assertNotIn((victim.id, wire.Dc()), received[peer])
        market.run(SETTLE)
        for node in nodes[1:]:
            self.assertGreaterEqual(len(node.links), DEFAULT_NEIGHBOURS)

    def test_restartKeepsSchemeOptions(self):
        """A restarted node runs its scheme with the options it was started
        with, as rerunning its command would."""
        market = Market(seed=4)
        node = market.addNode(scheme={"ttl": 3})
        market.run(SETTLE)
        market.crash(node)
        again = market.restart(node, MemoryStore())
        self.assertEqual((again.discovery.name, again.discovery.ttl), ("flood", 3))

    def test_tradingContinuesAfterACrash(self):
        """
        A seller crashes holding units reserved for buyers; they give up
        on its offers and buy from the other seller (a buy that may have
        reached the crashed seller holds its unit back for DOUBT_LIMIT).
        """
        trade = _Trade(5, [{"apple": 10}, {"apple": 10}], [(["apple"], 2)] * 4,
                       relays=8)
        crashed, survivor = trade.sellers
        while trade.seller(crashed).free("apple") == 10:
            trade.market.run(0.05)
        self.assertEqual(trade.seller(crashed).ledger, {})
        trade.market.crash(crashed)
        trade.market.run(60 + DOUBT_LIMIT)
        for buyer in trade.buyers:
            self.assertEqual([(p.item, p.seller) for p in units(trade.bag(buyer))],
                             [("apple", survivor.id)] * 2)
        self.assertEqual(trade.seller(survivor).stock, {"apple": 2})
        self.assertBooksBalance(trade)
        self.assertNotIn(crashed.id, trade.market.tracker.registry.nodes)


class DeterminismTests(SynchronousTestCase):
    """A seed fixes the whole run, so a failure can be replayed."""

    def outcome(self, seed):
        trade = _Trade(seed, [{"apple": 3}, {"apple": 3}], [(["apple"], 2)] * 3,
                       relays=6)
        trade.market.run(40)
        nodes = trade.sellers + trade.relays + trade.buyers
        return [node.id for node in nodes], [trade.bag(b) for b in trade.buyers]

    def test_sameSeedSameRun(self):
        ids, bags = self.outcome(21)
        self.assertEqual(sum(len(units(bag)) for bag in bags), 6)
        self.assertEqual(self.outcome(21), (ids, bags))

    def test_otherSeedOtherIds(self):
        self.assertNotEqual(self.outcome(21)[0], self.outcome(22)[0])


class MarketMessagesTests(SynchronousTestCase):
    """The market's nodes really talk the wire protocol to each other."""

    def test_searchReachesEveryNodeWithinTtl(self):
        """One flooded search is seen once by every node of a 10-node
        overlay (diameter well under the default ttl)."""
        market = Market(seed=2)
        nodes = [market.addNode() for _ in range(10)]
        market.run(SETTLE)
        seen = []

        def watch(node):
            router = node.discovery.router
            arrived = router.arrived

            def watching(search):
                seen.append((search.return_path[-1], search.id))
                arrived(search)

            self.patch(router, "arrived", watching)

        for node in nodes[1:]:
            watch(node)
        origin = nodes[0]
        origin.discovery.find("apple", 1.0)
        [search_id] = [i for i, came_from in origin.discovery.router.seen.items()
                       if came_from == origin.id]
        market.run(1)
        self.assertEqual(sorted(seen), sorted((n.id, search_id) for n in nodes[1:]))
        for node in nodes[1:]:
            path = node.pathTo(nodes[0].id)
            self.assertEqual((path[0], path[-1]), (node.id, nodes[0].id))
            self.assertLessEqual(len(path) - 1, wire.DEFAULT_TTL)


class LeftoversTests(SynchronousTestCase):
    """
    A node stopped politely leaves nothing behind: no timer of its own
    still pending and no connection still open, whatever its role and
    scheme, even stopped in the middle of its work.
    """

    ROLES = {
        "seller": {"seller": {"stock": {"apple": 2, "pear": 1}}},
        # More than anyone sells: still searching when it stops.
        "buyer": {"buyer": {"wants": ["apple"], "quantity": 5, "buy_timeout": 2.0}},
    }
    SCHEMES = ("flood", "index")

    def stopped(self, role, scheme):
        market = Market(seed=5)
        for _ in range(3):
            market.addNode(discovery=scheme)
        market.addNode(discovery=scheme, seller={"stock": {"apple": 2}})
        market.addNode(discovery=scheme, buyer={"wants": ["pear"], "quantity": 3})
        node = market.addNode(discovery=scheme, **self.ROLES[role])
        market.run(3.3)
        self.assertIsNotNone(node.id, (role, scheme))
        self.assertNotEqual(market.leftovers(node)["connections"], [], (role, scheme))
        d = market.stop(node)
        market.run(10)
        self.assertIsNone(self.successResultOf(d))
        return market, node

    def test_nothingLeftAfterAPoliteStop(self):
        for role in self.ROLES:
            for scheme in self.SCHEMES:
                market, node = self.stopped(role, scheme)
                self.assertEqual(market.leftovers(node),
                                 {"delayed_calls": [], "connections": []},
                                 (role, scheme))
                self.assertEqual(node.links, {}, (role, scheme))
                self.assertNotIn(node.id, market.tracker.registry.nodes, (role, scheme))

    def test_leftoversOfACrash(self):
        """The check sees what a node that did not stop cleanly leaves:
        a crashed node's timers are still on the clock."""
        market = Market(seed=5)
        node = market.addNode(seller={"stock": {"apple": 1}})
        market.run(3)
        market.crash(node)
        self.assertNotEqual(market.leftovers(node)["delayed_calls"], [])
