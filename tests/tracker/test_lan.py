"""
The tracker and nodes' local addresses (docs/protocol.md §5, "Local
addresses"): it keeps what a node names in its ``thisisme``, names them
in a ``nodereply`` only to an asker it sees at the same public address,
and refuses an address that is not
local, saying why.
"""

import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import WiredLink
from twisted_bazaar.tracker import Registry, Tracker, TrackerFactory
from twisted_bazaar.wire.ids import parseWireId, wireId

HOME = "203.0.113.5"
ELSEWHERE = "198.51.100.9"


class TrackerLanTests(SynchronousTestCase):
    def setUp(self):
        self.tracker = Tracker(Clock(), random.Random(4))
        self.factory = TrackerFactory(self.tracker)

    def register(self, port, seen, **extra):
        peer = WiredLink(self.factory, seen)
        peer.say(dict({"type": "thisisme", "id": "", "port": port, "host": ""}, **extra))
        [answer] = peer.heard()
        self.assertEqual(answer["type"], "thisisyou")
        return peer, parseWireId(answer["id"])

    def whereis(self, asker, node_id):
        asker.say({"type": "whereis", "id": wireId(node_id)})
        [answer] = asker.heard()
        return answer

    def test_namedOnlyBehindTheSamePublicAddress(self):
        """A neighbour at home (the same public address) is told the
        seller's local address; a node elsewhere is not, in a whereis or
        an introduction."""
        _, seller = self.register(4001, HOME, lan=["192.168.1.2"])
        neighbour, _ = self.register(4002, HOME)
        stranger, _ = self.register(4003, ELSEWHERE)
        self.assertEqual(self.whereis(neighbour, seller),
                         {"type": "nodereply", "id": wireId(seller), "host": HOME,
                          "port": 4001, "lan": ["192.168.1.2"]})
        self.assertEqual(self.whereis(stranger, seller),
                         {"type": "nodereply", "id": wireId(seller), "host": HOME,
                          "port": 4001})
        stranger.say({"type": "nodereq", "exclude": []})
        for answer in stranger.heard():
            self.assertNotIn("lan", answer)

    def test_introducedWithItsLocalAddressAtHome(self):
        """nodereq: the only other node, at home, comes with its local
        address."""
        _, seller = self.register(4001, HOME, lan=["192.168.1.2", "fd00::2"])
        neighbour, _ = self.register(4002, HOME)
        neighbour.say({"type": "nodereq", "exclude": []})
        self.assertEqual(neighbour.heard(), [
            {"type": "nodereply", "id": wireId(seller), "host": HOME, "port": 4001,
             "lan": ["192.168.1.2", "fd00::2"]}])

    def test_forgottenWhenTheNodeLeaves(self):
        peer, seller = self.register(4001, HOME, lan=["192.168.1.2"])
        peer.say({"type": "dc"})
        self.assertEqual(self.tracker.registry.lans, {})

    def test_aPublicAddressRefusedWithWhy(self):
        """A thisisme naming a public (or loopback) address as local is
        refused with the reason, and registers nobody."""
        for host in ("8.8.8.8", "127.0.0.1"):
            peer = WiredLink(self.factory, HOME)
            peer.say({"type": "thisisme", "id": "", "port": 4001, "host": "",
                      "lan": [host]})
            [error] = peer.heard()
            self.assertEqual(error["code"], "wtf")
            self.assertIn(f"{host} is not a private or link-local address",
                          error["info"])
            self.assertTrue(peer.closed)
        self.assertEqual(len(self.tracker.registry), 0)

    def test_atMostFour(self):
        peer = WiredLink(self.factory, HOME)
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": "",
                  "lan": [f"10.0.0.{n}" for n in range(1, 6)]})
        [error] = peer.heard()
        self.assertIn("must be a list of 1 to 4 addresses", error["info"])


class RegistryLanTests(SynchronousTestCase):
    def test_notAcrossAPrivateNetwork(self):
        """A tracker on a private network sees the routers of homes
        behind it at private addresses of one group: each home's local
        addresses go to its own nodes only (two homes of the NAT test
        bed, 10.47.0.2 and 10.47.0.3)."""
        registry = Registry(random.Random(0))
        node = registry.join(-1, "10.47.0.2", 4001)
        registry.setLan(node, "10.47.0.2", ("192.168.1.2",))
        self.assertEqual(registry.lanOf(node, "10.47.0.2"), ("192.168.1.2",))
        self.assertIsNone(registry.lanOf(node, "10.47.0.3"))
        self.assertIsNone(registry.lanOf(node, ""))

    def test_notBeforeItMayBeIntroduced(self):
        """A node not yet checked (nor reserving) is named to nobody, nor
        are its local addresses."""
        registry = Registry(random.Random(0))
        node = registry.join(-1, HOME, 4001, verified=False)
        registry.setLan(node, HOME, ("192.168.1.2",))
        self.assertIsNone(registry.lanOf(node, HOME))
        registry.verify(node)
        self.assertEqual(registry.lanOf(node, HOME), ("192.168.1.2",))
