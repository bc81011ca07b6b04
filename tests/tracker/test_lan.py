"""
The tracker and nodes' local addresses (docs/protocol.md §5, "Local
addresses"): it keeps what a node names in its ``thisisme``, names them
in a ``nodereply`` only to an asker it sees at the same public address
and only those on a subnet of the asker's own, and refuses an address
that is not local, saying why.
"""

import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import WiredLink, wirePaths
from twisted_bazaar.tracker import Registry, Tracker, TrackerFactory
from twisted_bazaar.wire.ids import parseWireId, wireId

HOME = "203.0.113.5"
ELSEWHERE = "198.51.100.9"


class TrackerLanTests(SynchronousTestCase):
    def setUp(self):
        self.tracker = Tracker(Clock(), random.Random(4))
        self.factory = TrackerFactory(self.tracker)

    def register(self, port, seen, lan=None):
        """A node at seen registered, naming its local addresses lan."""
        peer = WiredLink(self.factory, seen)
        extra = {} if lan is None else {"paths": wirePaths(lan=lan)}
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
        neighbour, _ = self.register(4002, HOME, lan=["192.168.1.3"])
        stranger, _ = self.register(4003, ELSEWHERE, lan=["192.168.1.4"])
        self.assertEqual(self.whereis(neighbour, seller),
                         {"type": "nodereply", "id": wireId(seller), "host": HOME,
                          "port": 4001,
                          "paths": wirePaths(lan=["192.168.1.2"], port=4001, tracker=True)})
        self.assertEqual(self.whereis(stranger, seller),
                         {"type": "nodereply", "id": wireId(seller), "host": HOME,
                          "port": 4001})
        stranger.say({"type": "nodereq", "exclude": []})
        for answer in stranger.heard():
            self.assertNotIn("paths", answer)

    def test_introducedWithItsLocalAddressAtHome(self):
        """nodereq: the only other node, at home, comes with its local
        address."""
        _, seller = self.register(4001, HOME, lan=["192.168.1.2", "fd00::2"])
        neighbour, _ = self.register(4002, HOME, lan=["fd00::3", "192.168.1.3"])
        neighbour.say({"type": "nodereq", "exclude": []})
        self.assertEqual(neighbour.heard(), [
            {"type": "nodereply", "id": wireId(seller), "host": HOME, "port": 4001,
             "paths": wirePaths(lan=["192.168.1.2", "fd00::2"], port=4001, tracker=True)}])

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
                      "paths": wirePaths(lan=[host])})
            [error] = peer.heard()
            self.assertEqual(error["code"], "wtf")
            self.assertIn(f"{host} is not a private or link-local address",
                          error["info"])
            self.assertTrue(peer.closed)
        self.assertEqual(len(self.tracker.registry), 0)

    def test_notToAnotherHomeBehindTheSameCarrierNat(self):
        """Two homes behind one carrier-grade NAT share a public address,
        not a LAN: an asker there is told only those of the seller's
        local addresses on a subnet of its own, none if none is (nor to
        one that named none, nor by a link-local address: every link has
        fe80::/64)."""
        _, seller = self.register(4001, HOME,
                                  lan=["192.168.1.2", "10.8.0.2", "fe80::2"])
        for lan, named in ((["192.168.1.9"], ["192.168.1.2"]),
                           (["10.8.0.7", "192.168.1.7"], ["192.168.1.2", "10.8.0.2"]),
                           (["192.168.7.9"], None), (["fe80::9"], None), (None, None)):
            asker, _ = self.register(4002, HOME, lan)
            self.assertEqual(self.whereis(asker, seller).get("paths"),
                             named and wirePaths(lan=named, port=4001, tracker=True), lan)

    def test_aZoneOrOneAddressSpeltTwiceRefused(self):
        """A zone (an interface of whoever reads it) is refused, and so is
        one address under two spellings: each would be dialled."""
        for lan, why in ((["fe80::1%eth0"], "'fe80::1%eth0' names a zone"),
                         (["192.168.1.2", "::ffff:192.168.1.2"], "names an address twice"),
                         (["fd00::1", "FD00:0::1"], "names an address twice")):
            peer = WiredLink(self.factory, HOME)
            peer.say({"type": "thisisme", "id": "", "port": 4001, "host": "",
                      "paths": wirePaths(lan=lan)})
            [error] = peer.heard()
            self.assertEqual(error["code"], "wtf")
            self.assertIn(why, error["info"])
        self.assertEqual(len(self.tracker.registry), 0)

    def test_atMostFour(self):
        peer = WiredLink(self.factory, HOME)
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": "",
                  "paths": wirePaths(lan=[f"10.0.0.{n}" for n in range(1, 6)])})
        [error] = peer.heard()
        self.assertIn("thisisme.paths names 5 paths of kind lan: at most 4", error["info"])


class RegistryLanTests(SynchronousTestCase):
    def test_notAcrossAPrivateNetwork(self):
        """A tracker on a private network sees the routers of homes
        behind it at private addresses of one group: each home's local
        addresses go to its own nodes only (two homes of the NAT test
        bed, 10.47.0.2 and 10.47.0.3)."""
        registry = Registry(random.Random(0))
        node, home, other = (registry.join(-1, host, 4001)
                             for host in ("10.47.0.2", "10.47.0.2", "10.47.0.3"))
        registry.setLan(node, "10.47.0.2", ("192.168.1.2",))
        registry.setLan(home, "10.47.0.2", ("192.168.1.3",))
        registry.setLan(other, "10.47.0.3", ("192.168.1.3",))
        self.assertEqual(registry.lanOf(node, home), ("192.168.1.2",))
        self.assertIsNone(registry.lanOf(node, other))

    def test_notBeforeItMayBeIntroduced(self):
        """A node not yet checked (nor reserving) is named to nobody, nor
        are its local addresses."""
        registry = Registry(random.Random(0))
        node = registry.join(-1, HOME, 4001, verified=False)
        asker = registry.join(-1, HOME, 4002)
        registry.setLan(node, HOME, ("192.168.1.2",))
        registry.setLan(asker, HOME, ("192.168.1.3",))
        self.assertIsNone(registry.lanOf(node, asker))
        registry.verify(node)
        self.assertEqual(registry.lanOf(node, asker), ("192.168.1.2",))


class LanOnlyCostTests(SynchronousTestCase):
    """
    A stranger at one host registers 256 keys (its address group's joins)
    that name local addresses and fail the check, each refused a
    reservation: 256 LAN-only nodes.  Each question one of its keys asks
    (a ``nodereq``, 400 a second for its group) compared every LAN-only
    node at the host with the asker's addresses, 16 address parses each:
    10.5 ms a pick on this machine (at load 20), 4 s of the tracker's CPU
    for each second of questions.  The LAN-only nodes are indexed by
    host and subnet: a pick looks at those on the asker's subnets only
    (0.14 ms), and the answers are those of the rule (L{Registry.lanOf}).
    """

    def setUp(self):
        self.registry = Registry(random.Random(0))
        self.ids = []
        for n in range(256):
            node = self.registry.join(-1, HOME, 4000 + n, verified=False)
            # 250 of them on other subnets than the asker's.
            lan = (f"192.168.1.{n + 1}",) if n < 6 else (f"10.{n}.0.1", f"10.{n}.1.1")
            self.registry.setLan(node, HOME, lan)
            self.assertTrue(self.registry.lanOnly(node, HOME))
            self.ids.append(node)
        self.asker = self.registry.join(-1, HOME, 5000, verified=False)
        self.registry.setLan(self.asker, HOME, ("192.168.1.200", "fe80::1"))

    def test_aQuestionLooksAtTheAskersSubnetsOnly(self):
        compared = []
        lanOf = self.registry.lanOf
        self.registry.lanOf = lambda *args: compared.append(args) or lanOf(*args)
        nearby = self.registry.lanOnlyFor(self.asker)
        self.registry.pick(self.asker)
        self.assertEqual((nearby, compared), (sorted(self.ids[:6]), []))
        del self.registry.lanOf
        self.assertEqual(sorted(node for node in self.ids if lanOf(node, self.asker)), nearby)

    def test_aNodeGoneOrIntroducedIsNearbyNoMore(self):
        """Leaving, or checked at last, a LAN-only node is out of the
        index too."""
        first, second = self.ids[:2]
        self.registry.leave(first)
        self.registry.verify(second)
        self.assertEqual(self.registry.lanOnlyFor(self.asker), sorted(self.ids[2:6]))
        for node in self.ids:
            self.registry.leave(node)
        self.assertEqual((self.registry.lanOnlyAt, self.registry._nearby), ({}, {}))
