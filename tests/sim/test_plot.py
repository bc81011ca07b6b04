"""
Tests for L{twisted_bazaar.sim.plot}: drawing a chord experiment's figure,
or purchase success against the fraction of adversaries, from the JSON of
runs.
"""

import io
import json
import os
import shutil
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim import plot


def result(seed, *sizes, experiment="pathlength"):
    """A path-length result with a row for each size."""
    return {"experiment": experiment, "seed": seed, "settings": {},
            "rows": [{"nodes": n, "goal_mean": 1.0, "failed": 0,
                      "hops": {"mean": 0.5, "p1": 0, "p50": 1, "p99": 1}}
                     for n in sizes]}


def run(scheme, success, fraction=0.0, kind=None, nodes=10000, seed=1, wall=1.0,
        rss=10.0):
    """The --json of a market run (the fields the figures read)."""
    return {"nodes": nodes, "success_rate": success, "wall_s": wall, "peak_rss_mb": rss,
            "config": {"discovery": scheme, "seed": seed, "adversaries": fraction,
                       "adversary": [kind] if kind else []}}


class ScaleCurvesTests(SynchronousTestCase):
    def test_curvePerSchemeInOrderOfSize(self):
        curves = plot.scaleCurves([
            run("chord", 1.0, nodes=100_000, wall=78.0, rss=1677.0),
            run("index", 1.0, nodes=10_000, wall=17.0, rss=190.0),
            run("chord", 1.0, nodes=10_000, wall=39.0, rss=290.0)])
        self.assertEqual(curves, {
            "chord": [(10_000, 39.0, 290.0), (100_000, 78.0, 1677.0)],
            "index": [(10_000, 17.0, 190.0)]})

    def test_aScaleSeriesIsHonestRunsOfSeveralSizes(self):
        self.assertTrue(plot.isScaleSeries([run("index", 1.0), run("index", 1.0, nodes=5)]))
        self.assertFalse(plot.isScaleSeries([run("index", 1.0), run("chord", 1.0)]))
        self.assertFalse(plot.isScaleSeries(
            [run("index", 1.0), run("index", 0.9, 0.2, "squat", nodes=5)]))

    def test_refused(self):
        """Runs of other seeds, with adversaries, or two of one point."""
        self.assertRaises(ValueError, plot.scaleCurves,
                          [run("index", 1.0), run("index", 1.0, nodes=5, seed=2)])
        self.assertRaises(ValueError, plot.scaleCurves,
                          [run("index", 1.0), run("index", 0.9, 0.2, "squat", nodes=5)])
        self.assertRaises(ValueError, plot.scaleCurves,
                          [run("index", 1.0), run("index", 0.9)])


class ScaleTitleTests(SynchronousTestCase):
    def sized(self, nodes, searches=500, start="warm", shards=None):
        result = run("index", 1.0, nodes=nodes)
        result["config"].update(searches=searches, start=start)
        if shards is not None:
            result["shards"] = {"count": shards}
        return result

    def test_whatTheRunsShare(self):
        """The title says the runs' start, searches and seed (it said
        "warm runs, 500 searches" of runs of 20 searches)."""
        self.assertEqual(plot.scaleTitle([self.sized(1000, 20), self.sized(2000, 20)]),
                         "bazaar-sim: warm runs, 20 searches, seed 1")
        self.assertEqual(plot.scaleTitle([self.sized(1000, start="cold")]),
                         "bazaar-sim: cold runs, 500 searches, seed 1")

    def test_shardsSaid(self):
        """Sharded runs' peak RSS is their largest shard's: the title says
        so (the figure showed it as a run's)."""
        self.assertEqual(plot.scaleTitle([self.sized(1000, shards=2),
                                          self.sized(2000, shards=2)]),
                         "bazaar-sim: warm runs, 500 searches, seed 1, 2 shards (peak "
                         "RSS: the largest shard's)")

    def test_runsThatDiffer(self):
        for other in (self.sized(2000, 20), self.sized(2000, start="cold"),
                      self.sized(2000, shards=2)):
            with self.assertRaises(ValueError) as caught:
                plot.scaleTitle([self.sized(1000), other])
            self.assertTrue(str(caught.exception).startswith(
                "the runs are of different --"))


class AttackCurvesTests(SynchronousTestCase):
    def test_curvesPerSchemeAndKind(self):
        """Each kind's points in the order of their fractions, the honest
        run the point at 0 of every curve of its scheme."""
        curves = plot.attackCurves([
            run("chord", 0.9, 0.3, "withhold"), run("chord", 1.0),
            run("chord", 0.95, 0.1, "withhold"), run("chord", 0.5, 0.1, "sybil"),
            run("index", 1.0, 0.2, "squat")])
        self.assertEqual(curves, {
            "chord": {"sybil": [(0.0, 1.0), (0.1, 0.5)],
                      "withhold": [(0.0, 1.0), (0.1, 0.95), (0.3, 0.9)]},
            "index": {"squat": [(0.2, 1.0)]}})

    def test_honestAlone(self):
        """A scheme with only its honest run is one point."""
        self.assertEqual(plot.attackCurves([run("flood", 0.99)]),
                         {"flood": {"honest": [(0.0, 0.99)]}})

    def test_otherSizesOrSeedsRefused(self):
        """Runs of other sizes or seeds are not one figure; nor are two
        runs of one point."""
        self.assertRaises(ValueError, plot.attackCurves,
                          [run("chord", 1.0), run("chord", 1.0, nodes=1000)])
        self.assertRaises(ValueError, plot.attackCurves,
                          [run("chord", 1.0), run("chord", 1.0, seed=2)])
        self.assertRaises(ValueError, plot.attackCurves,
                          [run("chord", 1.0, 0.2, "sybil"), run("chord", 0.9, 0.2, "sybil")])


def natRun(scheme, nat, success, p50=100.0, relayed=None, nodes=300, seed=1, peers=None):
    """The --json of a market run with nodes at home (the fields read):
    relayed by the tracker's relay, and by the public nodes' (peers)."""
    result = run(scheme, success, nodes=nodes, seed=seed)
    result["config"]["nat"] = nat
    result["purchases"] = 10
    result["latency_ms"] = {"mean": p50, "p50": p50, "p95": 2 * p50, "p99": 3 * p50}
    if nat:
        result["nat"] = {"homes": 1} if relayed is None else {"homes": 1,
                                                             "relayed_bytes": relayed}
        if peers is not None:
            result["nat"]["peer_relayed_bytes"] = peers
    return result


class NatCurvesTests(SynchronousTestCase):
    def test_curvePerSchemeInOrderOfFraction(self):
        """Each scheme's points, in the order of their fractions; bytes
        relayed per purchase where the run measured them."""
        curves = plot.natCurves([natRun("index", 0.6, 0.75, 214.0),
                                 natRun("index", 0.0, 1.0, 213.0),
                                 natRun("chord", 0.3, 0.95, 10392.0, relayed=5000)])
        self.assertEqual(curves, {
            "chord": [(0.3, 0.95, 10392.0, 20784.0, 500.0)],
            "index": [(0.0, 1.0, 213.0, 426.0, None), (0.6, 0.75, 214.0, 428.0, None)]})

    def test_everyRelayCounted(self):
        """Bytes relayed per purchase count the public nodes' relays with the
        tracker's."""
        curves = plot.natCurves([natRun("flood", 0.8, 1.0, 100.0, relayed=1000, peers=4000)])
        self.assertEqual(curves["flood"][0][4], 500.0)

    def test_series(self):
        """Runs at several fractions are a NAT series; runs at one, or with
        adversaries, are not."""
        self.assertTrue(plot.isNatSeries([natRun("index", 0.0, 1.0),
                                          natRun("index", 0.3, 0.9)]))
        self.assertFalse(plot.isNatSeries([natRun("index", 0.3, 1.0),
                                           natRun("chord", 0.3, 0.9)]))
        attacked = natRun("index", 0.3, 0.9)
        attacked["config"]["adversaries"] = 0.1
        self.assertFalse(plot.isNatSeries([natRun("index", 0.0, 1.0), attacked]))

    def test_refused(self):
        """Runs of two sizes, or two runs of one point, are refused."""
        self.assertRaises(ValueError, plot.natCurves,
                          [natRun("index", 0.0, 1.0), natRun("index", 0.3, 1.0, nodes=5)])
        self.assertRaises(ValueError, plot.natCurves,
                          [natRun("index", 0.3, 1.0), natRun("index", 0.3, 0.9)])

    def test_relayPanel(self):
        """The relay panel is drawn only where a relay carried bytes, and
        the figure says why not otherwise."""
        unmeasured = plot.natCurves([natRun("index", 0.0, 1.0), natRun("index", 0.3, 1.0)])
        self.assertEqual(plot.relayPanel(unmeasured),
                         (False, "no panel of bytes relayed: the runs did not measure it"))
        carried = plot.natCurves([natRun("index", 0.0, 1.0),
                                  natRun("index", 0.3, 1.0, relayed=10, peers=0)])
        self.assertEqual(plot.relayPanel(carried), (True, ""))


class MergedTests(SynchronousTestCase):
    def test_rowsTogetherInOrder(self):
        """The rows of every run, ordered by size."""
        both = plot.merged([result(1, 64, 256), result(1, 128)])
        self.assertEqual([row["nodes"] for row in both["rows"]], [64, 128, 256])
        self.assertEqual(both["seed"], 1)

    def test_otherSeedRefused(self):
        """Runs of other seeds (or experiments) are not one figure."""
        self.assertRaises(ValueError, plot.merged, [result(1, 64), result(2, 128)])
        self.assertRaises(ValueError, plot.merged,
                          [result(1, 64), result(1, 64, experiment="churn")])


class MainTests(SynchronousTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)
        self.patch(sys, "stdout", io.StringIO())

    def write(self, name, content):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def refused(self, argv):
        with self.assertRaises(SystemExit) as caught:
            plot.main(argv)
        self.assertEqual(caught.exception.code, 2)
        # The reason, then where help is (as every command of the project).
        reason, see = self.stderr.getvalue().splitlines()[-2:]
        self.assertEqual(see, "see python -m twisted_bazaar.sim.plot --help")
        return reason

    def test_withoutMatplotlib(self):
        """Without matplotlib it says what to install."""
        missing = object()
        saved = sys.modules.get("matplotlib", missing)
        sys.modules["matplotlib"] = None

        def restore():
            if saved is missing:
                del sys.modules["matplotlib"]
            else:
                sys.modules["matplotlib"] = saved

        self.addCleanup(restore)
        line = self.refused([os.path.join(self.dir, "p.png"),
                             self.write("a.json", result(1, 64))])
        self.assertEqual(line, "python -m twisted_bazaar.sim.plot: error: drawing "
                               "needs matplotlib: pip install 'twisted-bazaar[plot]'")

    def test_badFiles(self):
        """A file that is missing, or not an experiment's JSON, is named."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise self.skipTest("matplotlib is not installed") from None
        out = os.path.join(self.dir, "p.png")
        missing = os.path.join(self.dir, "missing.json")
        self.assertIn(f"cannot read {missing}", self.refused([out, missing]))
        bad = self.write("bad.json", "[1, 2]")
        self.assertIn(f"{bad} is not the --json of a chord experiment",
                      self.refused([out, bad]))
        self.assertIn("different experiments or seeds", self.refused(
            [out, self.write("a.json", result(1, 64)),
             self.write("b.json", result(2, 128))]))

    def test_drawsNatRuns(self):
        """Runs at several --nat fractions make one PNG, with the relay's
        panel when the runs measured relayed bytes."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise self.skipTest("matplotlib is not installed") from None
        for name, relayed in (("plain.png", None), ("relayed.png", 4000)):
            out = os.path.join(self.dir, name)
            plot.main([out, self.write("a.json", natRun("index", 0.0, 1.0)),
                       self.write("b.json", natRun("index", 0.5, 0.8, relayed=relayed))])
            with open(out, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_natFigureWithoutRelayedBytes(self):
        """A --nat sweep whose relays carried no byte (sellers all public,
        buying direct) draws two panels and says why there is no third,
        rather than an empty one; one that carried some draws the third,
        naming the points at 0 its log scale leaves out."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise self.skipTest("matplotlib is not installed") from None
        out = os.path.join(self.dir, "nat.png")
        none = plot.natCurves([natRun("index", 0.0, 1.0),
                               natRun("index", 0.4, 1.0, relayed=0, peers=0)])
        labels, title = plot.plotNat(none, 60, 1, out)
        self.assertEqual(labels, ["purchase success", "search to buyOK (virtual ms)"])
        self.assertEqual(title.splitlines()[1], "no panel of bytes relayed: no byte "
                         "went through a relay at any fraction")
        some = plot.natCurves([natRun("index", 0.0, 1.0),
                               natRun("index", 0.2, 1.0, relayed=0),
                               natRun("index", 0.4, 1.0, relayed=4000)])
        labels, title = plot.plotNat(some, 60, 1, out)
        self.assertEqual(labels[2], "bytes relayed per purchase")
        self.assertEqual(title.splitlines()[1],
                         "no byte relayed (not drawn on the log scale): index at 0.2")

    def test_drawsAttackRuns(self):
        """Market runs' files make one PNG of success against the
        fraction; mixed with an experiment's, they are refused."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise self.skipTest("matplotlib is not installed") from None
        out = os.path.join(self.dir, "attack.png")
        runs = [self.write("h.json", run("chord", 1.0)),
                self.write("w.json", run("chord", 0.9, 0.2, "withhold")),
                self.write("f.json", run("flood", 0.97, 0.2, "misroute"))]
        plot.main([out, *runs])
        with open(out, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertIn("mix market runs and chord experiments", self.refused(
            [out, runs[0], self.write("a.json", result(1, 64))]))
        self.assertIn("different sizes or seeds", self.refused(
            [out, runs[1], self.write("s.json", run("chord", 0.9, 0.1, "sybil",
                                                    nodes=1000))]))

    def test_drawsHowRunsGrow(self):
        """Honest runs of several sizes make one PNG of wall time and
        memory against N; two runs of one size and scheme are refused."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise self.skipTest("matplotlib is not installed") from None
        out = os.path.join(self.dir, "scale.png")
        runs = [self.write(f"{n}.json", run("index", 1.0, nodes=n, wall=n / 1000,
                                            rss=n / 100))
                for n in (10_000, 100_000)]
        plot.main([out, *runs])
        with open(out, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertIn("two runs of index with 10000 nodes", self.refused(
            [out, *runs, self.write("again.json", run("index", 1.0))]))

    def test_draws(self):
        """Two runs' files make one PNG."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise self.skipTest("matplotlib is not installed") from None
        out = os.path.join(self.dir, "p.png")
        plot.main([out, self.write("a.json", result(1, 64, 256)),
                   self.write("b.json", result(1, 128))])
        with open(out, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


class RunFigureTests(SynchronousTestCase):
    def test_messageKindsDoNotOverlap(self):
        """The names of the message kinds under 'messages per search' (a
        dozen or more in a run) are drawn apart, none over another."""
        from types import SimpleNamespace

        from matplotlib import pyplot

        kinds = {name: 10 * (i + 1) for i, name in enumerate(
            ["buy", "buyOK", "chordFind", "chordFound", "chordNotify", "chordPing",
             "chordPong", "chordRecords", "chordStore", "hello", "nodereply",
             "reply", "search", "thisisme", "whereis"])}
        metrics = {"nodes": 300, "search_floods": 10, "messages_per_search": 4.0,
                   "messages_by_type": kinds,
                   "config": {"topology": "random", "degree": 4, "ttl": 7,
                              "discovery": "chord", "seed": 1}}
        sim = SimpleNamespace(record=SimpleNamespace(latency_ms=[5, 7], hops=[1, 2]))
        figure = plot.runFigure(sim, metrics)
        self.addCleanup(pyplot.close, figure)
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        boxes = [label.get_window_extent(renderer)
                 for label in figure.axes[2].get_yticklabels()]
        self.assertEqual(len(boxes), len(kinds))
        for left, right in zip(boxes, boxes[1:]):
            self.assertFalse(left.overlaps(right))


class MessagesTitleTests(SynchronousTestCase):

    def test_readsAsOneNumber(self):
        """482.811 trade messages read like 482,811 (s56's run): one
        decimal, and a comma only for thousands."""
        self.assertEqual(plot.messagesTitle({"messages_per_search": 482.811}),
                         "trade messages per search, by kind (482.8 in all)")
        self.assertEqual(plot.messagesTitle({"messages_per_search": 12345.67}),
                         "trade messages per search, by kind (12,345.7 in all)")
