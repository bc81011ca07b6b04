"""
Overlay graphs for the simulator: who links to whom before trading starts.

Each builder returns a list of (a, b) index pairs, a < b, with no repeats,
drawn from the given random generator only, so a seed fixes the graph.
"""


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


def randomGraph(n, degree, rng):
    """A random path through every node (so the graph is connected), then
    random extra edges up to an average degree of ``degree``."""
    order = list(range(n))
    rng.shuffle(order)
    edges = {(min(a, b), max(a, b)) for a, b in zip(order, order[1:])}
    target = min(n * degree // 2, n * (n - 1) // 2)
    while len(edges) < target:
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            edges.add((min(a, b), max(a, b)))
    return sorted(edges)


BUILDERS = {"random": randomGraph, "ring": ring, "smallworld": smallworld}
