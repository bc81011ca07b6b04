"""
Chord rings in a L{Market} for the chord tests: fast periods, chosen keys,
and the ring's invariants.
"""

from twisted_bazaar.schemes.chord.ring import place
from twisted_bazaar.schemes.chord.invariants import violations
from twisted_bazaar.testing import Market

#: Periods short enough that a ring of a dozen settles in seconds (and
#: periods that back off no further than 2 s while it does not change).
FAST = {"chord-stabilize": 0.5, "chord-fix-fingers": 0.25, "chord-ping": 0.5,
        "chord-missed": 3, "chord-refresh": 10, "chord-expiry": 25,
        "chord-lookup-timeout": 2, "chord-probe": 5, "chord-quit-timeout": 1,
        "chord-max-period": 2}
#: Virtual seconds after which a ring of a dozen nodes is stable.
SETTLE = 20


def addChord(market, identity=None, scheme=None, **roles):
    """A chord node, with the given key pair (so the id derived from it)
    if any."""
    return market.addNode(discovery="chord", identity=identity,
                          scheme=dict(FAST, **(scheme or {})), **roles)


def settledRing(seed, size, settle=SETTLE):
    """A L{Market} of ``size`` chord nodes started together and run for
    ``settle`` virtual seconds."""
    market = Market(seed=seed)
    for _ in range(size):
        addChord(market)
    market.run(settle)
    return market


def schemes(market):
    """The chord scheme of every node still running."""
    return [node.discovery for node in market.nodes]


def ringViolations(market, records=()):
    return violations(schemes(market), records)


def holderOf(market, key):
    """The running node that should hold key."""
    nodes = sorted(market.nodes, key=lambda node: place(node.id))
    return next((node for node in nodes if place(node.id) >= key), nodes[0])


def answerOf(deferred):
    """What a Deferred fired with, or "pending"."""
    results = []
    deferred.addCallback(results.append)
    return results[0] if results else "pending"
