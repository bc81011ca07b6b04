"""
Tests for L{twisted_bazaar.sim.topology}: the overlay graphs a simulation
links its nodes into before trading starts.
"""

import random
from collections import Counter, deque

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.topology import BUILDERS, Edges, randomGraph, ring, smallworld

#: (nodes, degree) pairs every builder is checked with.
SHAPES = [(2, 1), (3, 2), (5, 4), (20, 2), (20, 3), (50, 4), (150, 6)]


def degrees(edges):
    """Node index -> number of edges it is an end of."""
    count = Counter()
    for a, b in edges:
        count[a] += 1
        count[b] += 1
    return count


def connected(n, edges):
    """True if every node of 0..n-1 is reachable from node 0 (BFS)."""
    neighbours = {i: [] for i in range(n)}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    seen, queue = {0}, deque([0])
    while queue:
        for other in neighbours[queue.popleft()]:
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return len(seen) == n


class EdgeListTests(SynchronousTestCase):
    """What the runner relies on from every builder."""

    def assertWellFormed(self, name, n, edges):
        where = f"{name}(n={n})"
        self.assertEqual(edges, sorted(edges), where)
        self.assertEqual(len(edges), len(set(edges)), f"{where}: repeated edge")
        for a, b in edges:
            self.assertTrue(0 <= a < b < n, f"{where}: bad edge {(a, b)}")

    def test_wellFormed(self):
        """(a, b) pairs with a < b, in range, no self-loops, no repeats."""
        for name, build in sorted(BUILDERS.items()):
            for n, degree in SHAPES:
                self.assertWellFormed(name, n, build(n, degree, random.Random(n)))

    def test_sameSeedSameGraph(self):
        """The graph depends only on the generator's seed."""
        for name, build in sorted(BUILDERS.items()):
            first = build(60, 4, random.Random(11))
            self.assertEqual(build(60, 4, random.Random(11)), first, name)

    def test_differentSeedDifferentGraph(self):
        """The random shapes do use the generator."""
        for build in (randomGraph, smallworld):
            self.assertNotEqual(build(60, 4, random.Random(1)),
                                build(60, 4, random.Random(2)), build.__name__)


class RingTests(SynchronousTestCase):
    def test_exactSmallRing(self):
        """Degree 2: each node linked to the next one round the circle."""
        self.assertEqual(ring(6, 2),
                         [(0, 1), (0, 5), (1, 2), (2, 3), (3, 4), (4, 5)])

    def test_edgeCountAndDegree(self):
        """n * (degree // 2) edges, every node of degree 2 * (degree // 2)."""
        for n, degree in [(10, 2), (10, 4), (40, 2), (41, 6), (100, 8)]:
            edges = ring(n, degree)
            half = degree // 2
            self.assertEqual(len(edges), n * half, (n, degree))
            self.assertEqual(set(degrees(edges).values()), {2 * half}, (n, degree))

    def test_oddDegreeRoundsDown(self):
        """An odd degree gives the ring of the even degree below it."""
        self.assertEqual(ring(12, 5), ring(12, 4))

    def test_degreeOneIsStillARing(self):
        """Degree 1 still links each node to its successor."""
        self.assertEqual(ring(4, 1), [(0, 1), (0, 3), (1, 2), (2, 3)])

    def test_smallRingIsComplete(self):
        """When the degree reaches n - 1 the ring is the complete graph."""
        self.assertEqual(ring(5, 4),
                         [(a, b) for a in range(5) for b in range(a + 1, 5)])

    def test_needsNoGenerator(self):
        """The ring is fixed: the rng argument is optional and unused."""
        self.assertEqual(ring(30, 4), ring(30, 4, random.Random(5)))


class SmallWorldTests(SynchronousTestCase):
    def test_keepsRingEdgeCount(self):
        """Rewiring moves edges, never adds or drops one."""
        for seed in range(5):
            self.assertEqual(len(smallworld(80, 4, random.Random(seed))), 160)

    def test_rewires(self):
        """With rewiring on, some edges leave the ring lattice; with it
        off, the graph is the ring."""
        rewired = smallworld(80, 4, random.Random(3))
        self.assertTrue(set(rewired) - set(ring(80, 4)))
        self.assertEqual(smallworld(80, 4, random.Random(3), rewire=0.0), ring(80, 4))


class RandomGraphTests(SynchronousTestCase):
    def test_connected(self):
        """A path through every node comes first, so the graph is
        connected whatever the seed."""
        for seed in range(10):
            for n, degree in [(20, 2), (60, 3), (150, 4)]:
                edges = randomGraph(n, degree, random.Random(seed))
                self.assertTrue(connected(n, edges), (seed, n, degree))

    def test_edgeCount(self):
        """n * degree // 2 edges: the asked average degree."""
        for n, degree in [(20, 2), (21, 3), (60, 4), (150, 6)]:
            self.assertEqual(len(randomGraph(n, degree, random.Random(n))),
                             n * degree // 2, (n, degree))

    def test_degreeAboveNodesIsComplete(self):
        """A degree the nodes cannot have gives the complete graph rather
        than looping forever."""
        self.assertEqual(randomGraph(5, 10, random.Random(0)),
                         [(a, b) for a in range(5) for b in range(a + 1, 5)])


class EdgesTests(SynchronousTestCase):
    """L{Edges}: a graph's pairs kept as numbers, read back as pairs."""

    def test_readsBackThePairs(self):
        """Iterated, indexed and counted, it is the sorted pairs it was
        made of."""
        pairs = [(0, 3), (1, 2), (2, 4), (3, 4)]
        edges = Edges(5, [a * 5 + b for a, b in pairs])
        self.assertEqual(list(edges), pairs)
        self.assertEqual(len(edges), 4)
        self.assertEqual(edges[2], (2, 4))
        self.assertEqual(edges, pairs)
        self.assertNotEqual(edges, pairs[:3])

    def test_eightBytesAnEdge(self):
        """Each edge is one machine word, not a pair of objects."""
        edges = randomGraph(1000, 4, random.Random(3))
        self.assertEqual(edges._codes.itemsize, 8)
        self.assertEqual(len(edges._codes), 2000)

    def test_theGraphOfPairs(self):
        """randomGraph draws what it drew as pairs: each edge's number
        decodes to the pair whose ends the same draws give."""
        rng = random.Random(7)
        order = list(range(30))
        rng.shuffle(order)
        path = {(min(a, b), max(a, b)) for a, b in zip(order, order[1:])}
        # Degree 1: the path alone, no edge drawn beyond it.
        edges = randomGraph(30, 1, random.Random(7))
        self.assertEqual(set(edges), path)
