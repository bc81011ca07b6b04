"""
Overlay graphs for the simulator: who links to whom before trading starts.

Each builder returns a sorted sequence of (a, b) index pairs, a < b, with
no repeats, drawn from the given random generator only, so a seed fixes
the graph.
"""

from array import array


def ring(n, degree, rng=None):
    """Each node linked to its degree//2 nearest neighbours on each side."""
    half = max(1, degree // 2)
    edges = set()
    for i in range(n):
        for step in range(1, half + 1):
            j = (i + step) % n
            if i != j:
                edges.add((min(i, j), max(i, j)))
    return sorted(edges)


def smallworld(n, degree, rng, rewire=0.1):
    """Watts-Strogatz: a ring lattice whose edges move to a random end with
    probability ``rewire``."""
    edges = set(ring(n, degree))
    for a, b in sorted(edges):
        if n > 3 and rng.random() < rewire:
            c = rng.randrange(n)
            new = (min(a, c), max(a, c))
            if c != a and new not in edges:
                edges.discard((a, b))
                edges.add(new)
    return sorted(edges)


class Edges:
    """
    A graph's edges, sorted, each (a, b) kept as the number a * n + b in an
    array: 8 bytes an edge, where a list of pairs holds about 120 (a
    million nodes of degree 4 build beside it: 240 MB less at the build's
    peak).
    """

    __slots__ = ("n", "_codes")

    def __init__(self, n, codes):
        """
        @param codes: the edges' numbers (a * n + b), sorted.
        """
        self.n = n
        self._codes = array("q", codes)

    def __len__(self):
        return len(self._codes)

    def __getitem__(self, index):
        return divmod(self._codes[index], self.n)

    def __iter__(self):
        n = self.n
        for code in self._codes:
            yield divmod(code, n)

    def __eq__(self, other):
        try:
            return list(self) == list(other)
        except TypeError:
            return NotImplemented

    def __repr__(self):
        return f"Edges({list(self)!r})"


def randomGraph(n, degree, rng):
    """A random path through every node (so the graph is connected), then
    random extra edges up to an average degree of ``degree``."""
    order = list(range(n))
    rng.shuffle(order)
    # Each edge as its number in L{Edges}: an int, not a pair of them.
    edges = {min(a, b) * n + max(a, b) for a, b in zip(order, order[1:])}
    del order
    target = min(n * degree // 2, n * (n - 1) // 2)
    while len(edges) < target:
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            edges.add(min(a, b) * n + max(a, b))
    return Edges(n, sorted(edges))


BUILDERS = {"random": randomGraph, "ring": ring, "smallworld": smallworld}
