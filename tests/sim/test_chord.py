"""
Tests for twisted_bazaar.sim.chord (the Chord experiments) and their
``bazaar-sim --experiment`` flags: small rings, so each runs in a second
or two; the figures of docs/simulator.md come from the same code at full
size.
"""

import io
import json
import os
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli import sim as cli
from twisted_bazaar.schemes.chord.invariants import violations
from twisted_bazaar.schemes.chord.ring import SIZE, place
from twisted_bazaar.schemes.chord.settings import ChordSettings
from twisted_bazaar.sim.chord import SeededRing, churn, failures, pathLength, pathRing
from twisted_bazaar.sim.metrics import tradeTypes
from twisted_bazaar.sim.runner import Simulation, SimConfig

#: Periods that back off to 4 s at most: news of a join or a death
#: travels back along the successor lists one period a node, so the quiet
#: times below (20 s) cover it.
SETTINGS = ChordSettings(stabilize=1, fix_fingers=1, ping=2, missed=3, refresh=10,
                         expiry=30, probe=30, max_period=4)


class SeededRingTests(SynchronousTestCase):
    def test_aSeededRingKeepsItsInvariants(self):
        ring = SeededRing(40, 1, SETTINGS)
        self.assertEqual(violations(ring.live()), [])
        ring.run(10)
        self.assertEqual(violations(ring.live()), [])
        self.assertTrue(all(len(s.node.links) >= SETTINGS.successors for s in ring.live()))

    def test_crashedNodesAreNeverSellers(self):
        ring = SeededRing(20, 2, SETTINGS, keyed=True)
        sellers = set(ring.addSellers(5).values())
        victims = ring.crash(0.5)
        self.assertEqual(len(victims), 10)
        self.assertFalse(sellers & set(victims))


class ExperimentTests(SynchronousTestCase):
    def test_pathLengthGrowsWithLogN(self):
        small, large = pathLength([16, 128], 200, 3, SETTINGS)
        for row in (small, large):
            self.assertEqual((row["failed"], row["invariant_violations"]), (0, 0))
            self.assertLessEqual(row["hops"]["mean"], row["goal_mean"])
        self.assertLess(small["hops"]["mean"], large["hops"]["mean"])

    def test_pathLengthRingSpreadsOverTheWholeRing(self):
        """The nodes whose lookups are counted are placed over the whole
        ring, as the keys looked up are: every quarter of it holds some."""
        ring = pathRing(64, 1, SETTINGS)
        quarters = {place(node_id) * 4 // SIZE for node_id in ring.ids}
        self.assertEqual(quarters, {0, 1, 2, 3})

    def test_failuresBeforeAndAfterRepair(self):
        [row] = failures(60, [0.3], 10, 100, 4, SETTINGS, repair_s=60)
        self.assertEqual(row["invariant_violations_before_crash"], 0)
        self.assertLess(row["before_repair"]["failed_fraction"], 0.3)
        self.assertEqual(row["after_repair"]["failed"], 0)
        self.assertEqual(row["invariant_violations_after_repair"], 0)

    def test_churnCountsEveryEventAndLookup(self):
        [row] = churn(20, [1.0], 20, 2, 5, SETTINGS, settle_s=20)
        self.assertEqual(sum(row["events"].values()) > 5, True)
        self.assertGreater(row["lookups"], 20)
        self.assertGreater(1 - row["failed_fraction"], 0.9)
        self.assertEqual(row["invariant_violations_after_quiet"], 0)

    def test_runsRepeatExactly(self):
        first = pathLength([32], 50, 6, SETTINGS)[0]
        second = pathLength([32], 50, 6, SETTINGS)[0]
        first.pop("wall_s"), second.pop("wall_s")
        self.assertEqual(first, second)


class MarketTests(SynchronousTestCase):
    def test_aChordMarketInTheSimulator(self):
        config = SimConfig(nodes=30, sellers=0.2, items=2, searches=10, max_time=60.0,
                           discovery="chord", topology="tracker",
                           scheme_options=(("chord-stabilize", 0.5),))
        metrics = Simulation(config).run()
        self.assertEqual((metrics["success_rate"], metrics["double_sells"]), (1.0, 0))
        self.assertGreater(metrics["messages_by_type"]["chordRequest"], 0)
        # Lookups are routed over the ring; the offers they find are direct.
        self.assertGreaterEqual(metrics["lookup_hops"]["mean"], 1)
        self.assertEqual(metrics["hops_to_first_reply"]["p99"], 1)


class TradeTypeTests(SynchronousTestCase):
    def test_ringUpkeepIsNotTrade(self):
        """Chord's lookups, answers and stores (and a detour's steps)
        count as trade; its ring upkeep does not."""
        chord = {name for name in tradeTypes() if name.startswith("chord")}
        self.assertEqual(chord, {"chordRequest", "chordRecords", "chordStore",
                                 "chordStored", "chordNext", "chordNextIs"})


class CommandTests(SynchronousTestCase):
    def main(self, *argv):
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        self.assertEqual(cli.main(list(argv)), 0)
        return out.getvalue()

    def test_pathlengthTableAndJson(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(lambda: [os.remove(os.path.join(folder, f))
                                 for f in os.listdir(folder)] and os.rmdir(folder))
        path = os.path.join(folder, "p.json")
        text = self.main("--discovery", "chord", "--experiment", "pathlength",
                         "--sizes", "16,32", "--lookups", "20", "--chord-successors",
                         "3", "--json", path)
        self.assertIn("N=16 ", text)
        self.assertIn("N=32 ", text)
        with open(path) as f:
            result = json.load(f)
        self.assertEqual(result["settings"]["chord-successors"], 3)
        self.assertEqual([row["nodes"] for row in result["rows"]], [16, 32])

    def rows(self, terminal):
        """A two-row pathlength run's (stdout, stderr), its stdout a
        terminal or not."""
        out, err = io.StringIO(), io.StringIO()
        out.isatty = lambda: terminal
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        self.assertEqual(cli.main(["--discovery", "chord", "--experiment", "pathlength",
                                   "--sizes", "16,32", "--lookups", "20"]), 0)
        return out.getvalue(), err.getvalue()

    def test_eachRowOnceOnATerminal(self):
        """On a terminal each row is printed once, as it is done (it was
        printed on stderr as done, then again in the table at the end)."""
        out, err = self.rows(terminal=True)
        self.assertEqual([line.split()[0] for line in out.splitlines()], ["N=16", "N=32"])
        self.assertEqual(err, "")

    def test_eachRowAsDoneOnStderrElse(self):
        """stdout redirected: each row on stderr as it is done, the whole
        table on stdout at the end."""
        out, err = self.rows(terminal=False)
        self.assertEqual([line.split()[0] for line in out.splitlines()], ["N=16", "N=32"])
        self.assertEqual([line.split()[0] for line in err.splitlines()], ["N=16", "N=32"])

    def test_experimentsNeedChord(self):
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit):
            cli.main(["--experiment", "pathlength"])
        self.assertIn("--experiment needs --discovery chord", err.getvalue())

    def test_aPuzzleIsADaemonsOnly(self):
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit):
            cli.main(["--discovery", "chord", "--chord-puzzle", "8"])
        self.assertIn("--chord-puzzle is a daemon's: bazaar-sim draws its nodes' keys",
                      err.getvalue())

    def test_failuresNeedNodesThatSellNothing(self):
        """More sellers than a crash can spare is refused with a reason,
        not a traceback."""
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit):
            cli.main(["--discovery", "chord", "--experiment", "failures",
                      "--nodes", "50", "--records", "100"])
        self.assertIn("--records 100 with --nodes 50 leaves 0 nodes that sell nothing",
                      err.getvalue())

    def test_badSchemeOptionValuesAreRefusedWithAReason(self):
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit):
            cli.main(["--discovery", "chord", "--chord-successors", "1"])
        self.assertIn("wants a whole number from 2 to 32, not 1", err.getvalue())
        with self.assertRaises(SystemExit):
            cli.main(["--discovery", "chord", "--experiment", "failures",
                      "--chord-refresh", "40", "--chord-expiry", "30"])
        self.assertIn("must be more than --chord-refresh", err.getvalue())
