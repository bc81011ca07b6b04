"""
A tracker on IPv4 and IPv6 at once introduces to a node first the nodes
named at an address of the family of the node's own connection (a node
on one family alone dials none named at the other), then, none such
left, one of the other as before; a market of one family is drawn as
if there were no such rule (docs/protocol.md §5, `nodereq`).
"""

import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import WiredLink
from twisted_bazaar.tracker import Registry, Tracker, TrackerFactory
from twisted_bazaar.tracker import registry
from twisted_bazaar.tracker.registry import familyOf
from twisted_bazaar.wire.ids import parseWireId

#: Twenty IPv4 nodes, each of an address group of its own.
FOURS = tuple(f"198.{18 + i}.0.7" for i in range(20))
#: Twenty IPv6 nodes, each of an address group of its own.
SIXES = tuple(f"2001:{0xdb8 + i:x}::7" for i in range(20))


class RegistryFamilyTests(SynchronousTestCase):
    """Which node the registry names to an asker of each family."""

    def setUp(self):
        self.registry = Registry(random.Random(5))

    def join(self, hosts, port=9000):
        return [self.registry.join(-1, host, port) for host in hosts]

    def test_familyOf(self):
        self.assertEqual([familyOf(h) for h in ("192.0.2.7", "2001:db8::7", "h1")],
                         [4, 6, 4])

    def test_anIPv6AskerIsNamedTheIPv6Node(self):
        """One IPv6 node among twenty IPv4 ones: an IPv6 asker is named it
        every time (drawn uniformly, 1 in 20)."""
        self.join(FOURS)
        [six] = self.join(("2001:db8:ff::7",))
        [asker] = self.join(("2001:db8:ee::5",), port=0)
        self.assertEqual({self.registry.pick(asker)[0] for _ in range(100)}, {six})

    def test_anIPv4AskerIsNamedTheIPv4Node(self):
        self.join(SIXES)
        [four] = self.join(("192.0.2.7",))
        [asker] = self.join(("198.51.100.5",), port=0)
        self.assertEqual({self.registry.pick(asker)[0] for _ in range(100)}, {four})

    def test_theOtherFamilyWhenNoneOfItsOwnIsNew(self):
        """The asker's only node of its family is its peer already: a node
        of the other family is named (one it has not been named), as a
        node of a group its peers are of is when no other is left."""
        fours = self.join(FOURS)
        [six] = self.join(("2001:db8:ff::7",))
        [asker] = self.join(("2001:db8:ee::5",), port=0)
        named = {self.registry.pick(asker, exclude=(six,))[0] for _ in range(100)}
        self.assertTrue(named <= set(fours), named)

    def test_theAskersOwnFamilyFirstInAFullScan(self):
        """Every node drawn is excluded or of the other family: the scan
        that follows names the one node of the asker's family left."""
        fours = self.join(FOURS * 5)
        sixes = self.join(SIXES[:3])
        asker = sixes.pop()
        for _ in range(50):
            self.assertEqual(self.registry.pick(asker, exclude=sixes[:1])[0], sixes[1])
        self.assertNotIn(asker, fours)

    def test_aRareFamilysAskerCostsABoundedLook(self):
        """No node of the asker's family left among 5,000 of the other:
        it is named one of them after its draws and a look at
        L{_FAMILY_LOOKS} more, not after a scan of the pool (0.6 ms a
        question among 100,000, not 18)."""
        self.join(f"198.{18 + i % 2}.{i // 250}.{i % 250}" for i in range(5000))
        [asker] = self.join(("2001:db8:ee::5",), port=0)
        seen = []

        def counted(host):
            seen.append(host)
            return familyOf(host)
        self.patch(registry, "familyOf", counted)
        self.assertEqual(familyOf(self.registry.pick(asker)[1]), 4)
        self.assertLessEqual(len(seen), 1 + 64 + registry._FAMILY_LOOKS)

    def test_oneFamilyDrawsAsBefore(self):
        """A market of one family: the same nodes in the same order as a
        registry that held no families (the draws are the rule's
        unchanged: every simulator run is of one family)."""
        plain = Registry(random.Random(5))
        for i, (six, four) in enumerate(zip(SIXES, FOURS)):
            self.registry.join(i, six, 9000)
            plain.join(i, four, 9000)
        asked = [(asker, tuple(range(asker % 7))) for asker in range(20)] * 5
        self.assertEqual([self.registry.pick(a, e)[0] for a, e in asked],
                         [plain.pick(a, e)[0] for a, e in asked])


class TrackerFamilyTests(SynchronousTestCase):
    """A node's `nodereq` over an IPv4 or an IPv6 connection, on the wire."""

    def setUp(self):
        self.factory = TrackerFactory(Tracker(Clock(), random.Random(4)))

    def register(self, seen, port=9000):
        peer = WiredLink(self.factory, seen)
        peer.say({"type": "thisisme", "id": "", "port": port, "host": ""})
        [answer] = peer.heard()
        self.assertEqual(answer["type"], "thisisyou")
        return peer, parseWireId(answer["id"])

    def named(self, peer, times=40):
        hosts = set()
        for _ in range(times):
            peer.say({"type": "nodereq", "exclude": []})
            [answer] = peer.heard()
            hosts.add(answer["host"])
        return hosts

    def test_eachFamilyIsNamedItsOwn(self):
        """An IPv6-only buyer is named the one IPv6 seller, an IPv4 one
        an IPv4 seller, though each family's sellers are few."""
        for host in FOURS:
            self.register(host)
        self.register("2001:db8:ff::7")
        six, _ = self.register("2001:db8:ee::5", port=0)
        self.assertEqual(self.named(six), {"2001:db8:ff::7"})
        for host in SIXES:
            self.register(host)
        four, _ = self.register("::ffff:192.0.2.5", port=0)
        self.assertEqual(self.named(four) - set(FOURS), set())

    def test_aLoneAskerOfItsFamilyIsNamedTheOther(self):
        """No node of the asker's family takes links: it is named one of
        the other (its dial fails, and a buyer that gives up says why)."""
        for host in FOURS[:3]:
            self.register(host)
        six, _ = self.register("2001:db8:ee::5", port=0)
        self.assertTrue(self.named(six) <= set(FOURS[:3]))
