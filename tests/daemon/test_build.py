"""
Tests for twisted_bazaar.daemon.build: the one place a node's parts are
built and plugged into each other.
"""

import random

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import FakeConnector
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import INode, Node
from twisted_bazaar.daemon.build import (
    NodeParts,
    buildNode,
    configured,
    plugMembership,
)
from twisted_bazaar.daemon.registry import discoveryPlugins, rolePlugins
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery


def _node():
    return Node(task.Clock(), random.Random(0), FakeConnector())


class BuildNodeTests(SynchronousTestCase):
    """buildNode makes the node and its parts and connects them."""

    def test_partsArePluggedIn(self):
        """The scheme, the neighbours it keeps and every role are the
        node's, in the order the roles were asked for."""
        flood = discoveryPlugins()["flood"]
        roles = rolePlugins()
        parts = buildNode(task.Clock(), random.Random(0), FakeConnector(),
                          scheme=(flood, configured(flood, {"ttl": 3})),
                          roles=[(roles["seller"], configured(roles["seller"], {
                                     "sell": [("apple", 2)]})),
                                 (roles["buyer"], configured(roles["buyer"], {
                                     "want": ["pear"]}))])
        node = parts.node
        self.assertIsInstance(parts, NodeParts)
        self.assertTrue(INode.providedBy(node))
        self.assertIs(node.discovery, parts.discovery)
        self.assertEqual(parts.discovery.ttl, 3)
        self.assertIs(node.topology, parts.discovery.topology)
        self.assertEqual(list(parts.roles), ["seller", "buyer"])
        self.assertEqual(node.roles, [parts.roles["seller"], parts.roles["buyer"]])

    def test_meterComesFirst(self):
        """The meter sees the node before any part is built."""
        seen = []
        flood = discoveryPlugins()["flood"]
        buildNode(task.Clock(), random.Random(0), FakeConnector(),
                  scheme=(flood, configured(flood, {})),
                  meter=lambda node: seen.append(node.discovery))
        self.assertEqual(seen, [None])

    def test_constructorsAttachNothing(self):
        """A part built by hand is not the node's until it is plugged in:
        no constructor writes to the node."""
        node = _node()
        scheme = FloodDiscovery(node)
        membership = Membership(node)
        self.assertEqual((node.discovery, node.topology, node.membership, node.roles),
                         (None, None, None, []))
        self.assertIs(plugMembership(node, membership), membership)
        self.assertIs(node.membership, membership)
        node.addRole(scheme)
        node.addRole(scheme)
        self.assertEqual(node.roles, [scheme])

    def test_configuredRefuses(self):
        """Settings a plugin refuses raise its ValueError."""
        buyer = rolePlugins()["buyer"]
        self.assertRaises(ValueError, configured, buyer, {"quantity": 0})
