"""
Tests of L{benchmarks.simprofile}: where a simulation's time goes is told
by kind of work, a builtin's time counting for its callers, and where its
memory goes per node; both on a tiny run.
"""

import io
import pstats

from twisted.trial.unittest import SynchronousTestCase

from benchmarks import simprofile
from tests.helpers import heapFrozen

TINY = ["--nodes", "12", "--searches", "3", "--max-time", "20", "--top", "5"]


class _Stats:
    """What L{simprofile.shares} reads of a L{pstats.Stats}."""

    def __init__(self, stats):
        self.stats = stats


class CategoryTests(SynchronousTestCase):
    def test_byFile(self):
        self.assertEqual(simprofile.category(
            ("/x/twisted_bazaar/net/link.py", 1, "send")),
            "links (framing, keepalive, limits)")
        self.assertEqual(simprofile.category(("/x/elsewhere.py", 1, "f")),
                         simprofile.OTHER)

    def test_signatureBuiltins(self):
        self.assertEqual(simprofile.category(
            ("~", 0, "<method 'verify' of 'cryptography...ed25519.Ed25519PublicKey'>")),
            "signatures (Ed25519, keys)")

    def test_otherBuiltinsCountForTheirCallers(self):
        link = ("/x/twisted_bazaar/net/link.py", 1, "send")
        clock = ("/x/twisted_bazaar/sim/clock.py", 1, "runFor")
        get = ("~", 0, "<method 'get' of 'dict' objects>")
        stats = _Stats({
            link: (1, 1, 1.0, 1.0, {}),
            clock: (1, 1, 2.0, 2.0, {}),
            get: (4, 4, 4.0, 4.0, {link: (3, 3, 3.0, 3.0), clock: (1, 1, 1.0, 1.0)}),
        })
        totals = simprofile.shares(stats)
        self.assertEqual(totals["links (framing, keepalive, limits)"], 4.0)
        self.assertEqual(totals["clock (timers, deliveries)"], 3.0)


class RunTests(SynchronousTestCase):
    def test_time(self):
        out = io.StringIO()
        simprofile.main(TINY, out)
        text = out.getvalue()
        self.assertIn("12 nodes, flood", text)
        self.assertIn("| kind of work | share | seconds |", text)
        self.assertIn("Ordered by: internal time", text)

    def test_memory(self):
        heapFrozen(self)
        out = io.StringIO()
        simprofile.main(["--memory", "--discovery", "index"] + TINY, out)
        text = out.getvalue()
        self.assertIn("bytes per node", text)
        self.assertIn("| allocated in | bytes per node | share |", text)
        self.assertIn("| type | objects per node | bytes per node (shallow) |", text)


class SimGoalsTests(SynchronousTestCase):
    """The sim_* goal figures: each names its command, and a run that
    fails is reported, the others still run."""

    def test_figuresOfATinyRun(self):
        from benchmarks import simgoals

        tiny = simgoals.Run("index", "warm", 100_000, 30, (), simgoals.WALL_WARM,
                            simgoals.RSS)
        report = {"errors": {}}
        wall, rss = simgoals.run(quick=True, report=report, runs=[tiny])
        self.assertEqual((wall.name, rss.name), ("sim_warm_index_wall_s",
                                                 "sim_warm_index_rss_mb"))
        self.assertGreater(wall.value, 0)
        self.assertGreater(rss.value, 0)
        self.assertIsNone(wall.goal)
        self.assertEqual(wall.detail["command"][:3], ["bazaar-sim", "--nodes", "30"])
        self.assertIn("--start", wall.detail["command"])
        self.assertEqual(report["errors"], {})
        self.assertEqual(report["sim_goals"][0]["figure"], "sim_warm_index")

    def test_fullRunsHaveTheGoals(self):
        from benchmarks import simgoals

        self.assertEqual(len(simgoals.names()), 2 * len(simgoals.RUNS) + 1)
        self.assertEqual(simgoals.names()[-1], "sim_cold_superpeer_messages_ratio")
        warm = [run for run in simgoals.RUNS if run.start == "warm"
                and run.name is None]
        self.assertEqual(sorted(run.scheme for run in warm),
                         ["chord", "flood", "index", "superpeer"])
        for run in warm:
            self.assertEqual((run.nodes, run.wall_goal, run.rss_goal),
                             (100_000, ("<=", 120.0), ("<=", 2048.0)))
        cold = [run for run in simgoals.RUNS if run.start == "cold"]
        self.assertEqual(sorted(run.scheme for run in cold),
                         ["chord", "flood", "index", "superpeer"])
        for run in cold:
            self.assertEqual((run.nodes, run.wall_goal), (10_000, ("<=", 60.0)))

    def test_superPeersOverFlooding(self):
        """The ratio figure: the super-peers' messages per search over
        flooding's, of the two cold runs, against 0.1 in a full run."""
        from benchmarks import simgoals

        metrics = {"sim_cold_superpeer": {"messages_per_search": 56.0, "nodes": 10_000},
                   "sim_cold_flood": {"messages_per_search": 800.0, "nodes": 10_000}}
        full = simgoals.ratio(False, metrics)
        self.assertEqual((full.name, full.value, full.goal, full.met),
                         ("sim_cold_superpeer_messages_ratio", 0.07, ("<=", 0.1), True))
        self.assertIsNone(simgoals.ratio(True, metrics).goal)
        del metrics["sim_cold_flood"]
        self.assertIsNone(simgoals.ratio(False, metrics))

    def test_ratioOfTinyRuns(self):
        from benchmarks import simgoals

        runs = [simgoals.Run("flood", "cold", 10_000, 30, ("--ttl", "3")),
                simgoals.Run("superpeer", "cold", 10_000, 30)]
        report = {"errors": {}}
        figures = simgoals.run(quick=True, report=report, runs=runs)
        self.assertEqual(report["errors"], {})
        [ratio] = [f for f in figures if f.name == "sim_cold_superpeer_messages_ratio"]
        self.assertGreater(ratio.value, 0)
        self.assertEqual(ratio.detail["nodes"], {"sim_cold_superpeer": 30,
                                                 "sim_cold_flood": 30})

    def test_failedRunReported(self):
        from benchmarks import simgoals

        bad = simgoals.Run("nosuchscheme", "warm", 10, 10)
        report = {"errors": {}}
        wall, rss = simgoals.run(quick=True, report=report, runs=[bad])
        self.assertIsNone(wall.value)
        self.assertIn("FAILED", wall.note)
        self.assertIn("sim_warm_nosuchscheme", report["errors"])
