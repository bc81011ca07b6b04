"""
Tests for L{twisted_bazaar.sim.shardnet}: connections between shards made,
used and closed by messages handed over by hand, as the windows hand them.
"""

from twisted.internet import error
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from tests.sim.shardtesting import openShards
from twisted_bazaar.net.link import Link
from twisted_bazaar.net.overlay import OVERLAY
from twisted_bazaar.net.standin import StandIn
from twisted_bazaar.sim.runner import SimConfig, Simulation
from twisted_bazaar.sim.shardclock import ShardClock
from twisted_bazaar.sim.shardnet import ShardNetwork
from twisted_bazaar.sim.windows import runLocal

#: A warm run small enough to build twice in a test.
QUIET = SimConfig(nodes=40, discovery="index", start="warm", crypto="fast", searches=10,
                  seed=3)
#: Contexts: 0 the tracker's (unused), 1 host "n0"'s, 2 host "n1"'s.
PLACEMENT = bytes([0, 0, 1])


def contextOf(host):
    return int(host[1:]) + 1


class Recorder(Protocol):
    def __init__(self):
        self.received = []
        self.lost = None

    def dataReceived(self, data):
        self.received.append(data)

    def connectionLost(self, reason):
        self.lost = reason.type


class Shards:
    """Two shards' networks (n0 on shard 0, n1 on shard 1), their
    messages handed over by L{step}."""

    def __init__(self, latency=(0.01, 0.03)):
        self.nets = [ShardNetwork(ShardClock(3), 7, latency, shard, PLACEMENT, contextOf)
                     for shard in (0, 1)]
        self.now = 0.0

    def step(self, until):
        """Run both up to until, in windows of 10 ms, handing over what
        each sent."""
        while self.now < until:
            self.now = round(self.now + 0.01, 9)
            outboxes = [net.takeOutbox() for net in self.nets]
            for net in self.nets:
                for outbox in outboxes:
                    net.receive(outbox.get(net.shard, []))
                net.clock.runUntil(self.now)


class ShardNetworkTests(SynchronousTestCase):
    def test_delayFromKey(self):
        """A message's delay is drawn from its key alone, within the
        latency: the same key, the same delay, on any shard."""
        shards = Shards()
        delays = [shards.nets[0].delayOf(key) for key in range(1000)]
        self.assertEqual(delays, [shards.nets[1].delayOf(key) for key in range(1000)])
        self.assertTrue(all(0.01 <= delay < 0.03 for delay in delays))
        self.assertGreater(len(set(delays)), 990)

    def test_connectAcross(self):
        """A connect to a host of another shard: its SYN crosses, the
        listener's end is made there, the answer crosses back and
        connects the dialler; writes cross both ways, in order, and a
        close closes the other end too."""
        shards = Shards()
        server = Recorder()
        shards.nets[1].listen(Factory.forProtocol(lambda: server), "n1", 40000)
        client = Recorder()
        clock = shards.nets[0].clock
        clock.context = 1
        connected = []
        shards.nets[0].connect("n1", 40000, client, from_host="n0").addCallback(
            connected.append)
        self.assertEqual(list(shards.nets[0].outbox), [1])
        shards.step(0.1)
        self.assertEqual(connected, [client])
        self.assertEqual(client.transport.getPeer(), IPv4Address("TCP", "n1", 40000))
        self.assertEqual(server.transport.getPeer().host, "n0")
        clock.context = 1
        client.transport.write(b"one")
        client.transport.write(b"two")
        server.transport.write(b"back")
        shards.step(0.2)
        self.assertEqual((server.received, client.received), ([b"one", b"two"], [b"back"]))
        self.assertEqual(shards.nets[0].crossing[1], 6)
        client.transport.loseConnection()
        shards.step(0.3)
        self.assertIs(client.lost, error.ConnectionDone)
        self.assertIs(server.lost, error.ConnectionDone)
        self.assertEqual((shards.nets[0]._ends, shards.nets[1]._ends), ({}, {}))

    def test_refusedAcross(self):
        """A connect to where nothing listens fails once the refusal has
        come back."""
        shards = Shards()
        failures = []
        shards.nets[0].connect("n1", 40000, Recorder(), from_host="n0").addErrback(
            failures.append)
        shards.step(0.1)
        self.assertTrue(failures[0].check(error.ConnectionRefusedError))

    def test_abortCloses(self):
        """An abort closes this end at once, and the other end a delay later."""
        shards = Shards()
        server = Recorder()
        shards.nets[1].listen(Factory.forProtocol(lambda: server), "n1", 40000)
        client = Recorder()
        shards.nets[0].connect("n1", 40000, client, from_host="n0")
        shards.step(0.1)
        client.transport.abortConnection()
        self.assertIs(client.lost, error.ConnectionAborted)
        self.assertIsNone(server.lost)
        shards.step(0.2)
        self.assertIs(server.lost, error.ConnectionAborted)

    def test_lateMessageRefused(self):
        """A message due before the shard's present means a window was
        longer than the lookahead: said, not run out of order."""
        net = Shards().nets[0]
        net.clock.runUntil(1.0)
        self.assertRaises(RuntimeError, net.receive, [(0.5, 0, 1, 0, 2, b"x")])


class QuietShardEndTests(SynchronousTestCase):
    """
    A sharded warm build's overlay link ends are quiet ends (issue 95 item
    3): a pair on one shard made full together, a crossing end made full
    alone, at its far end's first message.
    """

    def setUp(self):
        self.shards, received = openShards(self, QUIET, 2)
        for number, shard in enumerate(self.shards):
            shard.settle(received[number])

    def ends(self, shard):
        """(node, peer id, what its table holds) of every overlay end of
        shard's nodes."""
        return [(node, peer, held) for node in shard.nodes
                for peer, held in dict.items(node.overlay._links)
                if held.purpose == OVERLAY]

    def test_builtQuiet(self):
        """Every overlay end is a quiet end, of both kinds (its far end
        here, or on the other shard), and no Link stands for one."""
        kinds = set()
        for shard in self.shards:
            ends = self.ends(shard)
            self.assertTrue(ends)
            for node, peer, held in ends:
                self.assertIsInstance(held, StandIn)
                kinds.add(held.remote)
        self.assertEqual(kinds, {False, True})

    def test_crossingMadeFullAtItsFirstMessage(self):
        """A crossing end taken by a part is made its link, and the far
        end stays quiet until the link's first message reaches it: made
        full then, its link is handed the message (it answers the ping)."""
        node, peer, held = next(each for each in self.ends(self.shards[0])
                                if each[2].remote)
        address, seen = held.address, held.getPeer()
        self.assertEqual(seen, IPv4Address("TCP", f"n{held.peer_ctx - 1}", 40000))
        link = node.linkTo(peer)
        self.assertIsInstance(link, Link)
        self.assertIs(link.transport, held)
        self.assertEqual((link.address, held.getPeer()), (address, seen))
        far_node = next(each for each in self.shards[1].nodes if each.id == peer)
        far = dict.get(far_node.overlay._links, node.id)
        self.assertIsInstance(far, StandIn)
        answered = []
        link.ping().addCallback(answered.append)
        while not answered:
            for shard in self.shards:
                shard.step()
        far_link = dict.get(far_node.overlay._links, node.id)
        self.assertIsInstance(far_link, Link)
        self.assertIs(far_link.transport, far)
        self.assertEqual(far_link.key, node.identity.key)
        self.assertGreater(far_link.lastHeard, 0)

    def test_sameRunAsOneProcess(self):
        """A whole run on two shards of quiet ends gives one process's
        metrics (latency aside, as documented)."""
        one = Simulation(QUIET).run()
        two = runLocal(QUIET, 2)
        for metrics in (one, two):
            for key in ("wall_s", "peak_rss_mb", "shards", "latency_ms"):
                metrics.pop(key, None)
        self.assertEqual(one, two)

