"""
What small cold runs compute, pinned: the figures in cold_metrics.json
are those of the code before issue 23's simulator changes were merged
(commit f2674b7, which has issue 21's signed handshakes, trades and
records; the simulator branch pinned 1cbc960's and kept them too), and
every change made for speed or memory (the plugin look-ups, the logs,
the collector, slots, the clock's calls, shared link settings, the warm
and fast modes beside the cold one) keeps them to the byte.  A change meant
to change what a run computes updates the file (issue 26's 128-bit ids,
sent as text, made every message that names a node longer: the bytes
grew, the purchases and floods stayed; superpeer leaves with nothing to
list stopped registering, so their ``leafRegister``, ``leafAck`` and the
super-peers' address checks of them went, the purchases stayed; chord's
finger links opened when a request needs them and closed when idle,
instead of standing, changed chord's: more ``thisisme``, ``proof`` and
``dc``, and lookups that wait for a connection on some hops; and its periods that adapt cut its pings,
stabilizations and finger lookups, its purchases the same; and its joins
that take their successor's fingers, its finger checks by the finger's
predecessor and its ring links opened when needed changed its messages
again, its purchases the same; and its joins at the place and with the
fingers the tracker names (``chordNear``), pings of the first successor
and the predecessor only, and finger repair that starts at the longest
period and steps back to a nearby predecessor halved them, and
stabilization that keeps its period when only later successors change
took three more off, and a cold chord start no longer links the
generated graph (a chord daemon keeps no overlay neighbours), its
purchases the same; and its stores and requests for sellers that reach
the key's holder and the next two (issue 34: one holder cannot hide an
item) added their copies and answers, and ended finds at the quickest
holder's answer, its purchases the same; and the tracker's ``reach``,
telling each node that asks what the check of its address found, added a
message or so per node, and with it shifted the draws of later delays,
the purchases the same; and chord's probes that ask the tracker for the
fingers while its answers improve them, so that nodes started together
have their fingers from the ring that formed rather than look them up,
took off its finger lookups and 76 of its 518 ``thisisme``, the purchases
the same; and a node with a key pinging the tracker behind its
registration proof, to be said registered once the tracker's pong shows
it took the proof, added a ``ping`` and a ``pong`` per registration and
shifted the draws of later delays (chord's few purchases took 665 ms on
average rather than 297, their median 258 ms rather than 303), the
purchases the same; and a node's parts that start on that pong, not on
the tracker's naming, took chord's ``chordNear`` from 171 to 128 and the
super-peers' ``nodereq`` from 162 to 113 (asked once the node is
registered, not before and again), and shifted the draws (chord's
purchases 258 ms on average rather than 665), the purchases the same;
and the generated overlay's edges dialled again when a lost message
ended their handshake or their link (sim/keptedges.py) took flood's
edges from 124 to 134 and its ``search`` from 3,158 to 3,478, the
purchases the same):
``python -m tests.sim.test_same_metrics > tests/sim/cold_metrics.json``.
"""

import json
import os
import sys

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.runner import SimConfig, Simulation

EXPECTED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cold_metrics.json")
#: Each scheme with faults of some kind: loss and duplicates, kills.
CASES = {
    "flood": dict(nodes=60, searches=20, seed=3, sellers=0.15, items=2, drop=0.02,
                  dup=0.02),
    "index": dict(nodes=60, searches=20, seed=3, sellers=0.15, items=2,
                  discovery="index"),
    "superpeer": dict(nodes=60, searches=20, seed=3, sellers=0.15, items=2,
                      discovery="superpeer", superpeers=0.1, kill=0.1),
    "chord": dict(nodes=30, searches=10, seed=3, sellers=0.15, items=2,
                  discovery="chord", max_time=60.0),
}


def computed(name):
    """What the run of CASES[name] computes: its traffic and outcome."""
    metrics = Simulation(SimConfig(**CASES[name])).run()
    figures = {key: metrics[key] for key in ("messages_by_type", "bytes_per_node",
                                             "purchases", "search_floods",
                                             "virtual_s", "edges")}
    figures["latency_mean_ms"] = metrics["latency_ms"]["mean"]
    return figures


class SameMetricsTests(SynchronousTestCase):
    def setUp(self):
        with open(EXPECTED, encoding="utf-8") as f:
            self.expected = json.load(f)

    def assertSame(self, name):
        self.assertEqual(computed(name), self.expected[name])

    def test_flood(self):
        self.assertSame("flood")

    def test_index(self):
        self.assertSame("index")

    def test_superpeer(self):
        self.assertSame("superpeer")

    def test_chord(self):
        self.assertSame("chord")


if __name__ == "__main__":
    json.dump({name: computed(name) for name in CASES}, sys.stdout, indent=4,
              sort_keys=True)
    sys.stdout.write("\n")
