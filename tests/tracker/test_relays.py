"""The tracker's pool of public nodes' relays: spread over address
groups, room per group, names that expire, and departures."""

import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tracker.relays import _LOOKS, NAMES_LIMIT, PLACES_LIMIT, RelayPool


def always(node_id):
    return True


def relayAt(group, host=1, port=7702):
    """A relay's HOST:PORT in address group ``group`` (a /16 of its own)."""
    return f"10.{group}.0.{host}:{port}"


class RelayPoolTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.pool = RelayPool(random.Random(0), self.clock)
        for relaying in (1, 2, 3):
            self.pool.offer(relaying, relayAt(relaying), 2)

    def pick(self, node_id, usable=always, asker=None):
        """Name a relay to node_id, asking from a group of its own (or
        asker's)."""
        return self.pool.pick(node_id, f"home{node_id}" if asker is None else asker,
                              usable)

    def test_spread(self):
        """Each node is named the relay group holding the fewest, named or
        held: nine nodes, three at each of three relays with room for ten."""
        for relaying in (1, 2, 3):
            self.pool.offer(relaying, relayAt(relaying), 10)
        named = [self.pick(node_id)[0] for node_id in range(10, 19)]
        self.assertEqual([named.count(relaying) for relaying in (1, 2, 3)], [3, 3, 3])

    def test_full(self):
        """No relay with room: none named."""
        for node_id in range(10, 16):
            self.pick(node_id)
        self.assertIsNone(self.pick(16))

    def test_notTwice(self):
        """A node is not named the same relay twice while registered, nor
        itself, nor a relay that no longer stands."""
        for node_id in range(10, 60):
            first, _ = self.pick(node_id)
            self.pool.release(node_id)
            second, _ = self.pick(node_id, lambda relaying: relaying != 3)
            self.assertNotIn(second, (first, 3))
            self.pool.release(node_id)
        self.assertNotEqual(self.pick(1)[0], 1)

    def test_theAskersFamilyFirst(self):
        """An offer at an address of the asker's family is named before one
        of the other, whatever their load; another family's only when none
        of its own has room; with no family given, as before."""
        self.pool.offer(4, "[2001:db8:4::1]:7702", 2)
        named = [self.pool.pick(node_id, f"home{node_id}", always, 6)[0]
                 for node_id in (10, 11, 12)]
        self.assertEqual(named[:2], [4, 4])
        self.assertIn(named[2], (1, 2, 3))
        self.assertNotIn(self.pool.pick(13, "home13", always, 4)[0], (4,))

    def test_oneFamilyPicksAsBefore(self):
        """A market of one family: the same relays in the same order as a
        pick that knew no families (the simulator's every run)."""
        plain = RelayPool(random.Random(0), Clock())
        for relaying in (1, 2, 3):
            plain.offer(relaying, relayAt(relaying), 2)
        self.assertEqual([self.pool.pick(n, f"home{n}", always, 4) for n in range(10, 17)],
                         [plain.pick(n, f"home{n}", always) for n in range(10, 17)])

    def test_levelsFollowTheLoad(self):
        """A relay that fills up is named no more; one that a node leaves
        has room again; one whose node leaves is gone from every level."""
        for node_id in range(10, 16):
            self.pick(node_id)
        self.assertIsNone(self.pick(16))
        self.pool.release(10)
        self.assertIsNotNone(self.pick(16))
        for relaying in (1, 2, 3):
            self.pool.leave(relaying)
        self.assertIsNone(self.pick(17))

    def test_holdAndLeave(self):
        """A node holds the relay named to it; the relaying node's leaving
        frees its nodes, and it is named to nobody again."""
        relaying, relay = self.pick(10)
        self.assertEqual(self.pool.named(10), relay)
        self.assertEqual(self.pool.hold(10), relaying)
        self.assertIsNone(self.pool.named(10))
        self.pool.leave(relaying)
        self.assertEqual(len(self.pool), 2)
        for node_id in range(20, 30):
            named = self.pick(node_id)
            self.assertNotEqual(named and named[0], relaying)


class GroupTests(SynchronousTestCase):
    """Relays counted by their address group, not their key (issue 55:
    twelve relay keys from one address beside two honest relays took every
    new node at home)."""

    def setUp(self):
        self.clock = Clock()
        self.pool = RelayPool(random.Random(1), self.clock, most_named=8)
        #: Twelve keys from one address, each offering 16 places.
        self.stranger = set(range(100, 112))
        for relaying in self.stranger:
            self.pool.offer(relaying, "127.77.0.1:" + str(7000 + relaying), 16)
        self.pool.offer(1, relayAt(1), 16)
        self.pool.offer(2, relayAt(2), 16)

    def named(self, homes):
        return [self.pool.pick(node_id, f"home{node_id}", always)
                for node_id in homes]

    def test_groupsFirst(self):
        """Of six new nodes at home, the stranger's twelve keys are named
        to two, as each honest relay is (by key, it was ten of twelve)."""
        named = [relaying for relaying, _ in self.named(range(10, 16))]
        self.assertEqual(sum(relaying in self.stranger for relaying in named), 2)
        self.assertEqual((named.count(1), named.count(2)), (2, 2))

    def test_capPerGroup(self):
        """However many keys offer relays from one group, it is named to
        most_named nodes at most: past it, the honest relays and then
        nobody (the tracker's own relay)."""
        named = self.named(range(10, 60))
        stranger = sum(1 for found in named if found and found[0] in self.stranger)
        self.assertEqual(stranger, 8)
        self.assertEqual(sum(1 for found in named if found is not None), 24)

    def test_oneRelayOfAGroupToANode(self):
        """A node is named no second relay of a group it was named one of,
        whatever key offers it: falling from one of the stranger's relays,
        it goes to an honest one, then to nobody."""
        self.pool.leave(2)
        seen = []
        for _ in range(3):
            found = self.pool.pick(10, "home", always)
            seen.append(None if found is None else found[0] in self.stranger)
            self.pool.release(10)
        self.assertEqual(sorted(seen[:2]), [False, True])
        self.assertIsNone(seen[2])


class ReRegisterTests(SynchronousTestCase):
    """What a relay group holds outlives the offer: a relay of one slot that
    registered again before each new node at home held three (issue 55)."""

    def setUp(self):
        self.clock = Clock()
        self.pool = RelayPool(random.Random(2), self.clock)

    def test_heldAcrossKeysAndPorts(self):
        """The node at home holds the one slot; its relay leaves and offers
        again, under the same key, a new key, a new port: no room."""
        self.pool.offer(1, "10.1.0.1:7702", 1)
        self.pool.pick(10, "home", always)
        self.pool.hold(10)
        for again, relay in ((1, "10.1.0.1:7702"), (2, "10.1.0.1:7702"),
                             (3, "10.1.0.1:7703"), (4, "10.1.9.9:7702")):
            self.pool.leave(again - 1 or 1)
            self.pool.offer(again, relay, 1)
            self.assertIsNone(self.pool.pick(20 + again, "home2", always))
        # Once the node at home asks again, its place is free.
        self.pool.release(10)
        self.assertEqual(self.pool.pick(30, "home3", always)[0], 4)

    def test_nameHeldAcrossKeys(self):
        """A name not yet confirmed holds its place across a new key too,
        until it expires."""
        self.pool.offer(1, "10.1.0.1:7702", 1)
        self.pool.pick(10, "home", always)
        self.pool.leave(1)
        self.pool.offer(2, "10.1.0.1:7702", 1)
        self.assertIsNone(self.pool.pick(20, "home2", always))
        self.clock.advance(self.pool.name_timeout)
        self.assertEqual(self.pool.pick(20, "home2", always)[0], 2)


class NameTests(SynchronousTestCase):
    """Names not confirmed expire, and are charged to the asker's group
    (issue 55: 31 keys of one group asked and never reserved, and one
    stranger relay was named to every new node at home)."""

    def setUp(self):
        self.clock = Clock()
        self.start = self.clock.seconds()
        self.pool = RelayPool(random.Random(3), self.clock, name_timeout=10.0)
        self.pool.offer(1, relayAt(1), 4)

    def test_expires(self):
        """Unconfirmed for 10 s, a name frees its place, and the node can
        no longer confirm it."""
        for node_id in range(10, 14):
            self.pool.pick(node_id, f"home{node_id}", always)
        self.assertIsNone(self.pool.pick(14, "home14", always))
        self.clock.advance(9.9)
        self.assertEqual(self.pool.named(10), relayAt(1))
        self.clock.advance(0.1)
        self.assertIsNone(self.pool.named(10))
        self.assertEqual(self.pool.pick(14, "home14", always)[0], 1)
        self.assertEqual(self.clock.getDelayedCalls()[0].getTime() - self.start, 20.0)

    def test_confirmedHolds(self):
        """A name confirmed in time holds past the timeout."""
        self.pool.pick(10, "home", always)
        self.pool.hold(10)
        self.clock.advance(60)
        for node_id in range(11, 14):
            self.pool.pick(node_id, f"home{node_id}", always)
        self.assertIsNone(self.pool.pick(14, "home14", always))
        self.assertEqual(self.clock.getDelayedCalls()[0].getTime() - self.start, 70.0)

    def test_perAskerGroup(self):
        """Thirty-one keys of one group hold at most the group's share of
        unconfirmed names; a node of another group is still named one."""
        self.pool.offer(2, relayAt(2), 64)
        named = [self.pool.pick(node_id, "stranger", always)
                 for node_id in range(100, 131)]
        share = NAMES_LIMIT.group
        self.assertEqual(sum(found is not None for found in named), share)
        self.assertIsNotNone(self.pool.pick(10, "honest", always))
        # Confirmed, they are the relays' (bounded there), not names.
        for node_id in range(100, 100 + share):
            self.pool.hold(node_id)
        self.assertIsNotNone(self.pool.pick(200, "stranger", always))

    def test_placesPerAskerGroupAtARelay(self):
        """One group's nodes at home are named one relay, confirmed or
        not, as often as the relay grants a group places (a confirmation
        is only their word): then none of that relay; another group still
        is, and a place let go is the group's again."""
        pool = RelayPool(random.Random(3), self.clock)
        pool.offer(1, relayAt(1), 16)
        share = PLACES_LIMIT.group
        named = []
        for node_id in range(100, 110):
            found = pool.pick(node_id, "stranger", always)
            named.append(found)
            if found is not None:
                pool.hold(node_id)
        self.assertEqual([found is not None for found in named],
                         [True] * share + [False] * (10 - share))
        self.assertIsNotNone(pool.pick(10, "honest", always))
        pool.release(100)
        self.assertIsNotNone(pool.pick(200, "stranger", always))

    def test_stop(self):
        """Stopping cancels every name's timer."""
        self.pool.pick(10, "home", always)
        self.pool.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class _Counted(set):
    """A set that counts the lookups made in it."""

    looked = 0

    def __contains__(self, item):
        self.looked += 1
        return super().__contains__(item)


class LooksTests(SynchronousTestCase):
    def test_aNodeNamedEveryGroupHasNoAskSearchThePool(self):
        """
        A node at home named every one of 2,000 relay groups before (it
        asked again and again) asks once more: on the code before the
        pick looked at each group (2,008 lookups, an ask; 5,000 groups:
        0.6 ms); now at most its draws and L{_LOOKS} more, and it is held
        at the tracker's relay (None).
        """
        pool = RelayPool(random.Random(0), Clock())
        for relaying in range(2000):
            pool.offer(relaying, f"{11 + relaying // 256}.{relaying % 256}.0.1:7702", 4)
        tried = pool._tried["home"] = _Counted(group for group in pool._groups)
        self.assertIsNone(pool.pick("home", "asker", always))
        self.assertLessEqual(tried.looked, 8 + _LOOKS)

    def test_aGroupNotTriedIsFoundBeyondTheLooks(self):
        """Asked again, the node finds, from another place drawn, the one
        group it was not named before among 2,000, within a few asks."""
        pool = RelayPool(random.Random(0), Clock())
        for relaying in range(2000):
            pool.offer(relaying, f"{11 + relaying // 256}.{relaying % 256}.0.1:7702", 4)
        pool._tried["home"] = {group for group in pool._groups} - {"11.100.0.0/16"}
        asks = 0
        while pool.pick("home", "asker", always) is None:
            asks += 1
            self.assertLess(asks, 100)
        self.assertEqual(pool.named("home"), "11.100.0.1:7702")
