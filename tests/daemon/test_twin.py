"""
Tests for L{twisted_bazaar.daemon.twin}: a second process with a node's
key (a copy of its --data-dir) takes its registration at the tracker;
the node it displaced ends with one line, where before the two took the
registration from each other every second, for ever (a new user's copied
data dir, issue 96's round 7).  In a L{Market} (the in-memory network, a
fake clock), each node given a L{TwinWatch} as a daemon's node service
gives it one.
"""

import random

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.core.node import Node
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.daemon.services import NodeService, trackerService
from twisted_bazaar.daemon.twin import TwinWatch
from twisted_bazaar.testing import (
    Market,
    MemoryClientEndpoint,
    MemoryConnector,
    MemoryNetwork,
    MemoryServerEndpoint,
)
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT, Tracker
from twisted_bazaar.wire.ids import shortId, wireId


class TwinTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.01, 0.01)), seed=2)

    def watched(self, **extra):
        node = self.market.addNode(discovery="flood", **extra)
        failures = []
        TwinWatch(node, node.membership, failures.append)
        return node, failures

    def test_theDisplacedNodeEnds(self):
        """The first node, displaced by a second of its key, is told to
        end with why; the second keeps the registration."""
        first, firstFailures = self.watched()
        self.market.run(3)
        self.assertTrue(first.membership.isRegistered)
        second, secondFailures = self.watched(identity=first.identity)
        for _ in range(100):
            if firstFailures:
                break
            self.market.run(0.05)
        # As the daemon's exit status does: it stops the node.
        self.market.stop(first)
        self.market.run(3)
        [line] = firstFailures
        self.assertTrue(line.startswith(
            f"another process holds this node's key (node {shortId(first.id)}): the "
            "tracker gave it this node's registration (a copy of this node's "
            "--data-dir, run as a second node?)"), line)
        self.assertIn("give each node its own --data-dir", line)
        self.assertEqual(secondFailures, [])
        self.assertTrue(second.membership.isRegistered)

    def test_otherErrorsAreNotATwin(self):
        """A wtf about anything else, or about another node's key, ends
        nothing."""
        node, failures = self.watched()
        self.market.run(3)
        parts = node.membership.parts
        parts.erred(wire.Error("wtf", "say thisisme before proof"))
        parts.erred(wire.Error("wtf", f"node {'0' * 32} proved its key on another "
                                      "connection"))
        self.assertEqual(failures, [])


class ServiceTests(SynchronousTestCase):
    def test_aDaemonsNodeServiceWatches(self):
        """A node service given onFailure (a daemon's exit status) has its
        tracker session's wtf of a twin end it; one given none (the
        simulator's, a test market's) has no watch."""
        clock = task.Clock()
        network = MemoryNetwork(clock)
        trackerService(clock, Tracker(clock, random.Random(1)), MemoryServerEndpoint(
            network, "tracker", DEFAULT_TRACKER_PORT)).startService()
        failures = []
        services = []
        for host, onFailure in (("alpha", failures.append), ("beta", None)):
            node = Node(clock, random.Random(host), MemoryConnector(network, host))
            buildScheme(node, "flood")
            service = NodeService(
                clock, node, MemoryServerEndpoint(network, host),
                MemoryClientEndpoint(network, host, "tracker", DEFAULT_TRACKER_PORT),
                onFailure=onFailure)
            service.startService()
            self.addCleanup(service.stopService)
            services.append(service)
        clock.advance(5)
        for service in services:
            node = service.node
            self.assertIsNotNone(node.id)
            service.membership.parts.erred(wire.Error(
                "wtf", f"node {wireId(node.id)} proved its key on another connection"))
        [line] = failures
        self.assertIn(f"(node {shortId(services[0].node.id)})", line)
