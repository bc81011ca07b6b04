"""
Tests for L{twisted_bazaar.sim.cli}, the ``bazaar-sim`` console script:
its flags, JSON file, summary table, errors, and progress bar.
"""

import io
import json
import os
import re
import shutil
import sys
import tempfile
import time

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import plugins
from twisted_bazaar.cli import sim as cli, simcommand, simshards
from twisted_bazaar.sim.homes import PATHS
from twisted_bazaar.sim.runner import SimConfig, Simulation

#: A run that takes a fraction of a second.
QUICK = ["--nodes", "20", "--items", "2", "--searches", "6"]

#: The row names of the summary table, in order.
TABLE_ROWS = ["nodes / edges", "purchases / searches", "success rate", "double sells",
              "finds (search floods)", "messages per find", "busiest node's messages",
              "hops to first reply",
              "latency ms", "messages by type", "bytes sent per node",
              "virtual time", "wall time", "peak RSS"]


class FakeTime:
    """A perf_counter that moves only when told to, or by ``step`` on
    every reading."""

    def __init__(self, step=0.0):
        self.now = 1000.0
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


class StubSim:
    """What the progress bar reads of a simulation."""

    def __init__(self, searches, purchases, virtual):
        self.config = SimConfig(searches=searches)
        self._purchases = purchases
        self.clock = self
        self._virtual = virtual

    def purchases(self):
        return self._purchases

    def seconds(self):
        return self._virtual


def hideModule(case, name):
    """Make ``import name`` fail for the rest of the test, as it does
    where the module is not installed."""
    missing = object()
    saved = sys.modules.get(name, missing)
    sys.modules[name] = None

    def restore():
        if saved is missing:
            del sys.modules[name]
        else:
            sys.modules[name] = saved

    case.addCleanup(restore)


class CliTestCase(SynchronousTestCase):
    def setUp(self):
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.patch(sys, "stdout", self.stdout)
        self.patch(sys, "stderr", self.stderr)
        self.folder = tempfile.mkdtemp(prefix="bazaar-sim-test-")
        self.addCleanup(shutil.rmtree, self.folder)

    def path(self, name):
        return os.path.join(self.folder, name)

    def runJSON(self, *argv):
        """Run main quietly with --json; return the metrics written."""
        target = self.path("m.json")
        self.assertEqual(cli.main([*argv, "--quiet", "--json", target]), 0)
        with open(target, encoding="utf-8") as f:
            return json.load(f)


class JSONTests(CliTestCase):
    def test_writesMetrics(self):
        """--json writes the metrics the same configuration gives."""
        metrics = self.runJSON(*QUICK)
        expected = Simulation(SimConfig(nodes=20, items=2, searches=6)).run()
        for key in ("wall_s", "peak_rss_mb"):
            del metrics[key], expected[key]
        self.assertEqual(metrics, json.loads(json.dumps(expected)))
        self.assertEqual((metrics["nodes"], metrics["searches"],
                          metrics["success_rate"]), (20, 6, 1.0))

    def test_sortedAndNewlineTerminated(self):
        """The file is indented JSON with sorted keys and a final newline,
        so runs compare with diff."""
        self.runJSON(*QUICK)
        with open(self.path("m.json"), encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(text, json.dumps(json.loads(text), indent=2,
                                          sort_keys=True) + "\n")

    def test_writtenWhole(self):
        """The file appears once the run ends, and nothing is left beside
        it."""
        self.runJSON(*QUICK)
        self.assertEqual(os.listdir(self.folder), ["m.json"])

    def test_interruptedInOneLine(self):
        """Ctrl-C during a run (here as it runs its nodes) ends bazaar-sim
        with 130 and one line, not a traceback, and leaves an earlier
        --json as it was, with no partial file beside it."""
        target = self.path("m.json")
        with open(target, "w", encoding="utf-8") as f:
            f.write('{"earlier": true}\n')

        def interrupted(sim, quiet):
            raise KeyboardInterrupt()

        self.patch(cli, "_run", interrupted)
        self.assertEqual(simcommand.main([*QUICK, "--quiet", "--json", target]), 130)
        self.assertEqual(self.stderr.getvalue(),
                         "\nbazaar-sim: stopped by SIGINT (Ctrl-C); a run writes its "
                         "--json only once it ends\n")
        self.assertEqual(os.listdir(self.folder), ["m.json"])
        with open(target, encoding="utf-8") as f:
            self.assertEqual(f.read(), '{"earlier": true}\n')

    def test_failedRunKeepsEarlierFile(self):
        """A run that fails after the file was checked (here its shards'
        engine refuses it) leaves the file as it was, an earlier run's
        metrics, and no partial file."""
        target = self.path("m.json")
        with open(target, "w", encoding="utf-8") as f:
            f.write('{"earlier": true}\n')

        def refused(args, config, progress=None):
            raise simshards.Refused("no worker has the memory")

        self.patch(simshards, "run", refused)
        with self.assertRaises(SystemExit) as exited:
            cli.main([*QUICK, "--start", "warm", "--crypto", "fast", "--shards", "2",
                      "--shard-engine", "local", "--quiet", "--json", target])
        self.assertEqual(exited.exception.code, 2)
        self.assertIn("bazaar-sim: error: no worker has the memory", self.stderr.getvalue())
        self.assertEqual(os.listdir(self.folder), ["m.json"])
        with open(target, encoding="utf-8") as f:
            self.assertEqual(f.read(), '{"earlier": true}\n')

    def test_flagsReachConfig(self):
        """Every flag lands in the configuration the run used."""
        metrics = self.runJSON(
            "--nodes", "24", "--sellers", "0.25", "--items", "3", "--stock", "4",
            "--searches", "5", "--degree", "2", "--topology", "ring", "--ttl", "12",
            "--latency-ms", "5..20", "--drop", "0.01", "--dup", "0.02",
            "--reorder", "0.03", "--kill", "0.1", "--discovery", "flood",
            "--seed", "9", "--max-time", "40", "--ping-interval", "15",
            "--start", "warm", "--crypto", "fast", "--adversaries", "0.25",
            "--adversary", "withhold", "--adversary", "notyet", "--no-baseline")
        self.assertEqual(metrics["config"], {
            "nodes": 24, "sellers": 0.25, "items": 3, "stock": 4, "searches": 5,
            "degree": 2, "topology": "ring", "ttl": 12, "latency_ms": [5.0, 20.0],
            "drop": 0.01, "dup": 0.02, "reorder": 0.03, "kill": 0.1,
            "discovery": "flood", "superpeers": 0.05, "scheme_options": [],
            "seed": 9, "warmup": 5.0, "join_spread": 0.0, "spread": 10.0,
            "max_time": 40.0, "ping_interval": 15.0, "start": "warm", "crypto": "fast",
            "adversaries": 0.25, "adversary": ["withhold", "notyet"],
            "nat": 0.0, "nat_symmetric": 0.0, "home_size": 1})
        self.assertEqual(metrics["killed"], 2)

    def test_natFlags(self):
        """--nat and --nat-symmetric reach the run, which reports its homes."""
        metrics = self.runJSON(*QUICK, "--topology", "tracker", "--nat", "0.5",
                               "--nat-symmetric", "0.5")
        self.assertEqual((metrics["config"]["nat"], metrics["config"]["nat_symmetric"]),
                         (0.5, 0.5))
        self.assertGreater(metrics["nat"]["homes"], 0)

    def test_superpeerFlags(self):
        """--superpeers and --scheme-option reach the run, parsed by the
        scheme's own options."""
        metrics = self.runJSON(*QUICK, "--discovery", "superpeer", "--superpeers",
                               "0.1", "--scheme-option", "query-ttl=2",
                               "--scheme-option", "dynamic-querying=no")
        self.assertEqual((metrics["config"]["superpeers"], metrics["superpeers"]),
                         (0.1, 2))
        self.assertEqual(metrics["config"]["scheme_options"],
                         [["query-ttl", 2], ["dynamic-querying", False]])
        self.assertEqual(metrics["success_rate"], 1.0)
        self.assertTrue(metrics["busiest_node_messages"] > 0)

    def test_badSchemeOption(self):
        for args, reason in [
                (["--scheme-option", "query-ttl=99", "--discovery", "superpeer"],
                 "--scheme-option query-ttl=99: wants a whole number from 1 to 16, "
                 "not 99"),
                (["--scheme-option", "query-ttl=2"],
                 "--scheme-option query-ttl=2: the flood scheme has no option "
                 "'query-ttl' (its options: seen-limit, settle, ttl)"),
                (["--scheme-option", "super=1", "--discovery", "superpeer"],
                 "--scheme-option super=1: takes no value")]:
            error = self.assertRaises(SystemExit, cli.main, [*QUICK, *args])
            self.assertEqual(error.code, 2)
            self.assertIn(reason, self.stderr.getvalue())

    def test_usageErrorInOneLine(self):
        """A mistyped flag or choice: one line with what it may have meant,
        and where to read more; not the 30-line synopsis."""
        for args, reason in (
                (["--nodez", "3"], "unrecognized arguments: --nodez 3 (did you mean "
                 "--nodes?)"),
                (["--discovery", "chrod"], "argument --discovery: invalid choice: "
                 "'chrod' (choose from 'chord', 'flood', 'index', 'superpeer') (did "
                 "you mean chord?)")):
            self.stderr.truncate(0)
            self.stderr.seek(0)
            error = self.assertRaises(SystemExit, cli.main, args)
            self.assertEqual(error.code, 2)
            self.assertEqual(self.stderr.getvalue(), f"bazaar-sim: error: {reason}\n"
                             "see bazaar-sim --help\n")

    def test_schemeOptionFlags(self):
        """A scheme's options are flags too, the same as --scheme-option:
        both reach the run (the one flag taking no value, --super, is
        refused: IdleFlagTests)."""
        metrics = self.runJSON(*QUICK, "--discovery", "superpeer", "--query-ttl", "2",
                               "--scheme-option", "dynamic-querying=no")
        self.assertEqual(metrics["config"]["scheme_options"],
                         [["query-ttl", 2], ["dynamic-querying", False]])

    def test_chordHoldersReachTheNodes(self):
        """--chord-holders reaches every chord node of the run: its
        settings and the router that sends its requests for sellers and
        its stores (3, the daemon's default, without the flag)."""
        built = []

        class Recorded(Simulation):
            def build(self):
                Simulation.build(self)
                built.append(self)

        self.patch(cli, "Simulation", Recorded)
        for given, holders in [((), 3), (("--chord-holders", "1"), 1),
                               (("--scheme-option", "chord-holders=2"), 2)]:
            del built[:]
            self.runJSON(*QUICK, "--discovery", "chord", "--start", "warm", *given)
            [sim] = built
            self.assertEqual(len(sim.nodes), 20)
            self.assertEqual({(node.discovery.settings.holders, node.discovery.router.holders)
                              for node in sim.nodes}, {(holders, holders)})

    def test_badChordHolders(self):
        """--chord-holders outside 1 ... 32 is a usage error with the
        range, before any run."""
        for value, shown in [("0", "0"), ("33", "33"), ("three", "'three'")]:
            error = self.assertRaises(SystemExit, cli.main,
                                      [*QUICK, "--discovery", "chord", "--chord-holders", value])
            self.assertEqual(error.code, 2)
            self.assertIn(f"argument --chord-holders: wants a whole number from 1 to 32, "
                          f"not {shown}", self.stderr.getvalue())

    def test_badSchemeOptionFlag(self):
        """A flag of another scheme, or an option given both ways, is a
        usage error naming it."""
        for args, reason in [
                (["--chord-successors", "3"],
                 "--chord-successors: not an option of the flood scheme (its "
                 "options: seen-limit, settle, ttl)"),
                (["--discovery", "superpeer", "--query-ttl", "2", "--scheme-option",
                  "query-ttl=3"],
                 "--query-ttl and --scheme-option query-ttl=...: give the option "
                 "one way")]:
            error = self.assertRaises(SystemExit, cli.main, [*QUICK, *args])
            self.assertEqual(error.code, 2)
            self.assertIn(reason, self.stderr.getvalue())

    def test_singleLatency(self):
        """--latency-ms A means A..A."""
        metrics = self.runJSON(*QUICK, "--latency-ms", "7")
        self.assertEqual(metrics["config"]["latency_ms"], [7.0, 7.0])


class OutputTests(CliTestCase):
    def test_quiet(self):
        """--quiet prints nothing at all (the metrics go to the --json file)."""
        target = self.path("m.json")
        self.assertEqual(cli.main([*QUICK, "--quiet", "--json", target]), 0)
        self.assertEqual((self.stdout.getvalue(), self.stderr.getvalue()), ("", ""))
        self.assertTrue(os.path.getsize(target))

    def test_quietAloneIsRefused(self):
        """--quiet without --json or --plot would print nothing: a usage
        error says so, before anything runs."""
        error = self.assertRaises(SystemExit, cli.main, [*QUICK, "--quiet"])
        self.assertEqual(error.code, 2)
        self.assertEqual(self.stdout.getvalue(), "")
        self.assertEqual(self.stderr.getvalue(),
                         "bazaar-sim: error: --quiet prints nothing: add --json FILE (or "
                         "--plot FILE.png), or drop --quiet to see the table\n"
                         "see bazaar-sim --help\n")

    def test_homeSize(self):
        """--home-size reaches the run, whose table shows the nodes at home
        and their homes, the units by the way they came and the relays'
        bytes; without --nat, or beyond a /24, it is refused, saying why."""
        target = self.path("m.json")
        self.assertEqual(cli.main([*QUICK, "--topology", "tracker", "--nat", "0.5",
                                   "--home-size", "3", "--json", target]), 0)
        with open(target, encoding="utf-8") as f:
            nat = json.load(f)["nat"]
        rows = {line.split("  ")[0]: line.split("  ")[-1].strip()
                for line in self.stdout.getvalue().splitlines()}
        self.assertEqual(rows["nodes at home / homes"],
                         f"{nat['nodes_at_home']} / {nat['homes']}")
        self.assertEqual(nat["homes"], -(-nat["nodes_at_home"] // 3))
        self.assertEqual(rows["bought over"], ", ".join(
            f"{path}={nat['bought_by_path'][path]}" for path in PATHS))
        self.assertTrue(rows["relay bytes"].endswith(
            f"(tracker's {nat['relayed_bytes']}, nodes' {nat['peer_relayed_bytes']})"))
        for args, reason in ((["--home-size", "2"], "--home-size puts nodes at home on "
                              "a shared LAN: it needs --nat"),
                             (["--nat", "0.5", "--home-size", "254"],
                              "argument --home-size: ")):
            error = self.assertRaises(SystemExit, cli.main, [*QUICK, *args])
            self.assertEqual(error.code, 2)
            self.assertIn(reason, self.stderr.getvalue())

    def test_natMix(self):
        """--nat-mix reaches the run, whose table shows the direct share of
        the pairs through a relay; a bad mix, or one without --nat, is
        refused saying why."""
        target = self.path("m.json")
        self.assertEqual(cli.main([*QUICK, "--topology", "tracker", "--nat", "0.8",
                                   "--nat-mix", "field", "--json", target]), 0)
        with open(target, encoding="utf-8") as f:
            metrics = json.load(f)
        direct = metrics["nat"]["direct"]
        self.assertEqual(metrics["config"]["nat_mix"][0], ["full-cone", 0.25])
        rows = {line.split("  ")[0]: line.split("  ")[-1].strip()
                for line in self.stdout.getvalue().splitlines()}
        self.assertEqual(rows["direct share"], (
            f"{direct['direct_share']} of {direct['tried']} pairs through a relay "
            f"(TCP-punched {direct['tcp_punched']}, UDP-punched "
            f"{direct['udp_punched']})"))
        for args, reason in ((["--nat-mix", "field"], "--nat-mix draws the kinds of "
                              "the routers of the nodes at home: it needs --nat"),
                             (["--nat", "0.5", "--nat-mix", "cone=1"],
                              "argument --nat-mix: a NAT mix is 'field' or")):
            error = self.assertRaises(SystemExit, cli.main, [*QUICK, *args])
            self.assertEqual(error.code, 2)
            self.assertIn(reason, self.stderr.getvalue())

    def test_tableNamesTheIndexLookups(self):
        """An index run's table counts lookups, not search floods."""
        self.assertEqual(cli.main([*QUICK, "--discovery", "index"]), 0)
        rows = [line.split("  ")[0] for line in self.stdout.getvalue().splitlines()]
        self.assertIn("finds (index lookups)", rows)
        self.assertNotIn("finds (search floods)", rows)

    def test_tableShowsChordLookupHops(self):
        """A chord run's table has a row for the hops of its lookups, after
        the offers' hops; the other schemes' tables have none."""
        target = self.path("m.json")
        self.assertEqual(cli.main([*QUICK, "--discovery", "chord", "--json", target]), 0)
        with open(target, encoding="utf-8") as f:
            hops = json.load(f)["lookup_hops"]
        rows = {line.split("  ")[0]: line.split("  ")[-1].strip()
                for line in self.stdout.getvalue().splitlines()}
        names = list(rows)
        self.assertEqual(names.index("lookup hops"), names.index("hops to first reply") + 1)
        self.assertEqual(rows["lookup hops"].split()[1], f"p50={hops['p50']}")

    def test_helpShowsDefaults(self):
        error = self.assertRaises(SystemExit, cli.main, ["--help"])
        self.assertEqual(error.code, 0)
        text = " ".join(self.stdout.getvalue().split())
        for default in ("number of nodes (default: 100)",
                        "hop limit of searches (default: 7)",
                        "random seed (default: 1)",
                        "(default: 10..50)",
                        "ring sizes (default: 64,128,256,512,1024,2048,4096,8192,16384)"):
            self.assertIn(default, text)
        # No default where there is none to tell, none told twice, no
        # Python value where the user types another form.
        for noise in ("(default: None)", "(default: [])", "(default: False)",
                      "(default: (", "(default: ["):
            self.assertNotIn(noise, text)
        self.assertIn("--chord-puzzle VALUE a daemon's, refused here", text)
        self.assertIn("--super a daemon's, refused here", text)

    def test_version(self):
        error = self.assertRaises(SystemExit, cli.main, ["--version"])
        self.assertEqual(error.code, 0)
        self.assertTrue(self.stdout.getvalue().startswith(
            "bazaar-sim (twisted-bazaar) "), self.stdout.getvalue())

    def test_table(self):
        """Without --quiet the summary table goes to stdout, one row per
        figure, agreeing with the JSON of the same run.  (Its wall clock
        stands still: on a loaded machine the run passed PROGRESS_AFTER
        and drew its bar on stderr.)"""
        self.patch(time, "perf_counter", FakeTime())
        target = self.path("m.json")
        self.assertEqual(cli.main([*QUICK, "--json", target]), 0)
        with open(target, encoding="utf-8") as f:
            metrics = json.load(f)
        lines = self.stdout.getvalue().splitlines()
        self.assertEqual([line.split("  ")[0].rstrip() for line in lines], TABLE_ROWS)
        rows = {line[:len(name)]: line[len(name):].strip()
                for name, line in zip(TABLE_ROWS, lines)}
        self.assertEqual(rows["nodes / edges"], f"20 / {metrics['edges']}")
        self.assertEqual(rows["purchases / searches"], f"{metrics['purchases']} / 6")
        self.assertEqual(rows["double sells"], "0")
        self.assertEqual(rows["success rate"], "1.0")
        self.assertEqual(rows["peak RSS"], f"{metrics['peak_rss_mb']} MB")
        self.assertEqual(self.stderr.getvalue(), "")

    def test_progressOnLongRun(self):
        """A run whose wall time passes PROGRESS_AFTER shows the bar on
        stderr, redrawn in place and ending its line, while the table
        stays on stdout."""
        self.patch(time, "perf_counter", FakeTime(step=1.0))
        self.stderr.isatty = lambda: True
        target = self.path("m.json")
        self.assertEqual(cli.main([*QUICK, "--json", target]), 0)
        with open(target, encoding="utf-8") as f:
            metrics = json.load(f)
        bar = self.stderr.getvalue()
        last = re.fullmatch(r"(?s)\r\[.*\r\[#{30}\] 6/6 purchases, virtual (\d+) s, "
                            r"wall \d+ s\n", bar)
        self.assertIsNotNone(last, repr(bar))
        self.assertEqual(int(last.group(1)), metrics["virtual_s"])
        self.assertEqual(self.stdout.getvalue().splitlines()[0][:13], "nodes / edges")
        self.assertNotIn("purchases,", self.stdout.getvalue())


class ErrorTests(CliTestCase):
    def assertUsageError(self, argv, message):
        """main exits 2 with one error line and where to read more."""
        with self.assertRaises(SystemExit) as caught:
            cli.main(argv)
        self.assertEqual(caught.exception.code, 2)
        lines = self.stderr.getvalue().splitlines()
        self.assertEqual(lines, ["bazaar-sim: error: " + message, "see bazaar-sim --help"])
        self.assertEqual(self.stdout.getvalue(), "")

    def test_schemeRefusesTheOptionsTogether(self):
        """Options each good alone that the scheme refuses together
        (chord's records expiring before their refresh, given as flags
        or as --scheme-option) are a usage error before the run, not a
        traceback from its first node."""
        reason = ("--chord-expiry (10 s) must be more than --chord-refresh (30 s), "
                  "or records expire before they are stored again")
        for given, reason in [
                (["--chord-expiry", "10"], reason),
                (["--scheme-option", "chord-expiry=10"], reason),
                (["--start", "warm", "--chord-expiry", "100000"],
                 "--chord-expiry must be at most 86400 s (a day)")]:
            self.stderr.truncate(0)
            self.stderr.seek(0)
            self.assertUsageError([*QUICK, "--discovery", "chord", *given], reason)

    def test_tooFewNodes(self):
        self.assertUsageError(["--nodes", "1"], "argument --nodes: wants a whole "
                              "number at least 2, not 1")

    def test_nodesNotANumber(self):
        self.assertUsageError(["--nodes", "many"], "argument --nodes: wants a whole "
                              "number at least 2, not 'many'")

    def test_sellersNotAFraction(self):
        self.assertUsageError(["--sellers", "2"], "argument --sellers: wants a "
                              "fraction from 0 to 1, not '2'")

    def test_negativeDrop(self):
        self.assertUsageError(["--drop", "-0.1"], "argument --drop: wants a "
                              "fraction from 0 to 1, not '-0.1'")

    def test_latencyBackwards(self):
        self.assertUsageError(["--latency-ms", "5..2"], "argument --latency-ms: "
                              "wants A..B milliseconds with 0 <= A <= B, not '5..2'")

    def test_latencyNegative(self):
        """A range that begins with "-" is judged as a range (it was
        argparse's "expected one argument", as if no value were given)."""
        self.assertUsageError(["--latency-ms", "-5..10"], "argument --latency-ms: "
                              "wants A..B milliseconds with 0 <= A <= B, not '-5..10'")

    def test_latencyInfinite(self):
        self.assertUsageError(["--latency-ms", "1..inf"], "argument --latency-ms: "
                              "wants A..B milliseconds with 0 <= A <= B, not '1..inf'")

    def test_ttlOverWireLimit(self):
        """Nodes reject searches with a TTL over 16, so the flag does too."""
        self.assertUsageError(["--ttl", "17"], "argument --ttl: wants a whole number "
                              "from 1 to 16, not 17")

    def test_seedNotANumber(self):
        """--seed in the project's words, as --nodes says it (it was
        argparse's "invalid int value: 'x'"); any whole number is a seed."""
        self.assertUsageError(["--seed", "x"], "argument --seed: wants a whole number, "
                              "not 'x'")
        self.assertEqual(cli.parser().parse_args(["--seed", "-3"]).seed, -3)

    def test_noOptionInArgparsesWords(self):
        """No option of bazaar-sim (or its sweep) takes argparse's own int
        or float, whose refusal is argparse's wording, not the project's."""
        from twisted_bazaar.cli import sweep

        for parser in (cli.parser(), sweep.parser()):
            for action in parser._actions:
                self.assertNotIn(action.type, (int, float), action.option_strings)

    def test_unknownTopology(self):
        with self.assertRaises(SystemExit) as caught:
            cli.main(["--topology", "moon"])
        self.assertEqual(caught.exception.code, 2)
        self.assertTrue(self.stderr.getvalue().splitlines()[0].startswith(
            "bazaar-sim: error: argument --topology: invalid choice: 'moon'"))

    def test_unknownStart(self):
        with self.assertRaises(SystemExit) as caught:
            cli.main(["--start", "lukewarm"])
        self.assertEqual(caught.exception.code, 2)
        self.assertTrue(self.stderr.getvalue().splitlines()[0].startswith(
            "bazaar-sim: error: argument --start: invalid choice: 'lukewarm'"))

    def test_unknownCrypto(self):
        with self.assertRaises(SystemExit) as caught:
            cli.main(["--crypto", "none"])
        self.assertEqual(caught.exception.code, 2)
        self.assertTrue(self.stderr.getvalue().splitlines()[0].startswith(
            "bazaar-sim: error: argument --crypto: invalid choice: 'none'"))

    def test_warmTrackerTopology(self):
        """A warm start builds a generated overlay: the tracker's
        introductions are refused with the reason, before any run."""
        self.assertUsageError(
            ["--start", "warm", "--topology", "tracker"],
            "--start warm builds the overlay of a generated --topology (random, "
            "ring, smallworld); the tracker's introductions are a cold start's")

    def test_warmJoinSpread(self):
        """--join-spread staggers a cold start's joins: with a warm start it
        is refused with the reason; a negative one is refused as seconds."""
        self.assertUsageError(["--start", "warm", "--join-spread", "2"],
                              "--join-spread staggers a cold start's joins; a warm "
                              "start has no joins")
        with self.assertRaises(SystemExit) as caught:
            cli.main(["--join-spread", "-1"])
        self.assertEqual(caught.exception.code, 2)
        self.assertIn("argument --join-spread", self.stderr.getvalue())

    def test_warmNat(self):
        """Nodes at home are dialled, not placed: --nat with a warm start is
        refused with the reason; a fraction over 1 as a fraction."""
        self.assertUsageError(["--start", "warm", "--nat", "0.2"],
                              "--nat puts nodes behind routers that let no connection "
                              "in: a warm start's links are placed, not dialled; use "
                              "--start cold")
        with self.assertRaises(SystemExit):
            cli.main(["--nat-symmetric", "1.5"])
        self.assertIn("argument --nat-symmetric: wants a fraction",
                      self.stderr.getvalue())

    def test_joinSpreadConfig(self):
        """--join-spread reaches the run's config, and its JSON."""
        args = cli.parser().parse_args(["--join-spread", "2.5"])
        self.assertEqual(cli.simConfig(args, ()).join_spread, 2.5)

    def test_unwritableJSON(self):
        """An unwritable --json is reported before the run, not after."""
        self.assertUsageError(["--json", "/nonexistent/dir/x.json"],
                              "--json: cannot write /nonexistent/dir/x.json: "
                              "its folder /nonexistent/dir does not exist")

    def test_plotWithoutMatplotlib(self):
        """--plot without matplotlib says what to install."""
        hideModule(self, "matplotlib")
        self.assertUsageError([*QUICK, "--plot", self.path("p.png")],
                              "--plot needs matplotlib: pip install "
                              "'twisted-bazaar[plot]'")
        self.assertFalse(os.path.exists(self.path("p.png")))


class IdleFlagTests(CliTestCase):
    """
    A flag given a value the run would not use is refused before the run:
    without the flag it needs, the run is the same as without it, and a
    sweep over it runs one run again and again.
    """

    assertUsageError = ErrorTests.assertUsageError

    def test_superpeersOfAnotherScheme(self):
        self.assertUsageError(
            [*QUICK, "--superpeers", "0.5"],
            "--superpeers is the superpeer scheme's share of super-peers: the flood "
            "scheme has none (add --discovery superpeer)")

    def test_superpeersDefaultTaken(self):
        """--superpeers at its default, or with its scheme, is taken."""
        metrics = self.runJSON(*QUICK, "--superpeers", "0.05")
        self.assertEqual(metrics["config"]["superpeers"], 0.05)

    def test_superIsTheRunsChoice(self):
        """--super, a daemon's, is refused, either way it is given: given
        to every node it made the leaves super-peers too, while the run
        still reported --superpeers' share (1 of 20 here)."""
        for argv in (["--super"], ["--scheme-option", "super"]):
            self.stderr.seek(0)
            self.stderr.truncate()
            self.assertUsageError(
                [*QUICK, "--discovery", "superpeer", *argv],
                "--super is a daemon's: bazaar-sim makes --superpeers' share of its "
                "nodes super-peers (--superpeers 1: every one)")

    def test_superpeerLinksOfAGeneratedGraph(self):
        """--superpeer-links changes nothing where the super-peers link
        along a generated graph (the same metrics with it as without)."""
        for argv in (["--superpeer-links", "1"], ["--scheme-option", "superpeer-links=1"]):
            self.stderr.seek(0)
            self.stderr.truncate()
            self.assertUsageError(
                [*QUICK, "--discovery", "superpeer", *argv],
                "--superpeer-links is how many super-peers a super-peer asks the "
                "tracker for: with --topology random they link along that graph "
                "instead (add --topology tracker)")

    def test_superpeerLinksThroughTheTracker(self):
        metrics = self.runJSON(*QUICK, "--discovery", "superpeer", "--topology",
                               "tracker", "--superpeer-links", "1")
        self.assertEqual(metrics["config"]["scheme_options"], [["superpeer-links", 1]])

    def test_everyNodeASuperPeer(self):
        """What --super meant: --superpeers 1, every node a super-peer, and
        counted so."""
        metrics = self.runJSON(*QUICK, "--discovery", "superpeer", "--superpeers", "1")
        self.assertEqual(metrics["superpeers"], metrics["nodes"])

    def test_natSymmetricWithoutNat(self):
        self.assertUsageError(
            [*QUICK, "--nat-symmetric", "0.5"],
            "--nat-symmetric makes some of the routers of the nodes at home symmetric: "
            "it needs --nat, the fraction of the nodes at home")

    def test_noBaselineWithoutAdversaries(self):
        self.assertUsageError(
            [*QUICK, "--no-baseline"],
            "--no-baseline leaves out the honest run an --adversaries run is measured "
            "against: without --adversaries there is none")

    def test_noBaselineWithNoAdversary(self):
        """--adversaries 0 (a sweep's honest column) takes --no-baseline."""
        metrics = self.runJSON(*QUICK, "--adversaries", "0", "--adversary", "withhold",
                               "--no-baseline")
        self.assertEqual(metrics["searches"], 6)

    def test_experimentFlagWithoutExperiment(self):
        self.assertUsageError(
            [*QUICK, "--sizes", "64"],
            "--sizes is a parameter of --experiment pathlength, which is not run (add "
            "it, with --discovery chord)")

    def test_experimentFlagOfAnother(self):
        self.assertUsageError(
            ["--discovery", "chord", "--experiment", "churn", "--lookups", "10"],
            "--lookups is a parameter of --experiment pathlength or failures, not of "
            "churn")

    def test_oneParserARun(self):
        """The defaults are read from the run's own parser: the check built
        two more (about 200 arguments each, which a 1,000-node run's
        instructions counted)."""
        built = []
        parser = cli.parser
        self.patch(cli, "parser", lambda: built.append(1) or parser())
        self.runJSON(*QUICK)
        self.assertEqual(len(built), 1)


class OutputPlaceTests(CliTestCase):
    """
    --json and --plot are checked before the run (a run of an hour does
    not end in a traceback about its output), and one that cannot be
    written once the run ended is said in one line, the run's metrics
    kept.
    """

    assertUsageError = ErrorTests.assertUsageError

    def setUp(self):
        super().setUp()
        self.ran = []
        run = cli._run

        def counted(sim, quiet):
            self.ran.append(sim)
            return run(sim, quiet)

        self.patch(cli, "_run", counted)

    def test_jsonIsADirectory(self):
        self.assertUsageError([*QUICK, "--json", self.folder],
                              f"--json: cannot write {self.folder}: it is a folder")
        self.assertEqual(self.ran, [])

    def test_plotInAMissingFolder(self):
        target = self.path("missing/p.png")
        self.assertUsageError([*QUICK, "--plot", target],
                              f"--plot: cannot write {target}: its folder "
                              f"{os.path.dirname(target)} does not exist")
        self.assertEqual(self.ran, [])

    def test_plotOfNoImageFormat(self):
        """A name matplotlib would refuse after the run (.txt), or write
        under another name (no suffix: it adds .png), is refused."""
        for name in ("p.txt", "p"):
            self.stderr.truncate(0)
            self.stderr.seek(0)
            target = self.path(name)
            with self.assertRaises(SystemExit):
                cli.main([*QUICK, "--plot", target])
            self.assertIn(f"bazaar-sim: error: --plot {target}: name an image file "
                          "ending in one of ", self.stderr.getvalue())
            self.assertIn(".png, ", self.stderr.getvalue())
        self.assertEqual(self.ran, [])
        self.assertEqual(os.listdir(self.folder), [])

    def test_plotWrittenWhole(self):
        """--plot writes the image, and nothing beside it."""
        target = self.path("p.svg")
        self.assertEqual(cli.main([*QUICK, "--plot", target, "--quiet"]), 0)
        with open(target, encoding="utf-8") as f:
            self.assertIn("<svg", f.read())
        self.assertEqual(os.listdir(self.folder), ["p.svg"])

    def test_jsonFailsAfterTheRun(self):
        """A --json that cannot be written once the run ended (a full
        disk) ends bazaar-sim with 1 and one line; the metrics go to
        stdout, and an earlier file is left as it was."""
        target = self.path("m.json")
        with open(target, "w", encoding="utf-8") as f:
            f.write('{"earlier": true}\n')
        realDump = json.dump

        def full(value, out, **kwargs):
            if out is not self.stdout:
                raise OSError(28, "No space left on device")
            realDump(value, out, **kwargs)

        self.patch(json, "dump", full)
        self.assertEqual(cli.main([*QUICK, "--quiet", "--json", target]), 1)
        self.assertEqual(self.stderr.getvalue(),
                         f"bazaar-sim: error: --json: cannot write {target}: No space "
                         "left on device; the metrics follow on stdout\n")
        self.assertEqual(json.loads(self.stdout.getvalue())["searches"], 6)
        self.assertEqual(os.listdir(self.folder), ["m.json"])
        with open(target, encoding="utf-8") as f:
            self.assertEqual(f.read(), '{"earlier": true}\n')

    def test_experimentJSONChecked(self):
        """A chord experiment's --json is checked before it runs too."""
        target = self.path("missing/c.json")
        self.assertUsageError(["--discovery", "chord", "--experiment", "pathlength",
                               "--sizes", "8", "--lookups", "5", "--json", target],
                              f"--json: cannot write {target}: its folder "
                              f"{os.path.dirname(target)} does not exist")


class LoggedProgressTests(SynchronousTestCase):
    """Off a terminal (a log), the bar is a line at each tenth of the
    purchases, not one line of carriage returns."""

    def test_aLineATenth(self):
        self.patch(time, "perf_counter", FakeTime(step=1.0))
        stream = io.StringIO()
        progress = cli.Progress(stream)
        for done in (0, 0, 1, 2, 2, 20):
            progress.show(20, done, 7.0)
        progress.finish()
        lines = stream.getvalue().split("\n")
        self.assertNotIn("\r", stream.getvalue())
        self.assertEqual([line.split("]")[1].split(",")[0] for line in lines[:-1]],
                         [" 0/20 purchases", " 2/20 purchases", " 20/20 purchases"])
        self.assertEqual(lines[-1], "")


class ProgressTests(SynchronousTestCase):
    def setUp(self):
        self.time = FakeTime()
        self.patch(time, "perf_counter", self.time)
        self.stream = io.StringIO()
        self.progress = cli.Progress(self.stream, terminal=True)

    def test_silentAtFirst(self):
        """Before PROGRESS_AFTER wall seconds nothing is written, and
        finish() adds no empty line."""
        self.time.now += cli.PROGRESS_AFTER - 0.01
        self.progress(StubSim(10, 4, 7.0))
        self.progress.finish()
        self.assertEqual(self.stream.getvalue(), "")

    def test_barAfterDelay(self):
        """Once PROGRESS_AFTER has passed, each call redraws the bar in
        place, and finish() ends its line."""
        self.time.now += cli.PROGRESS_AFTER
        self.progress(StubSim(10, 4, 7.2))
        self.time.now += 1.0
        self.progress(StubSim(10, 10, 9.0))
        self.progress.finish()
        self.assertEqual(self.stream.getvalue(),
                         "\r[############..................] 4/10 purchases, "
                         "virtual 7 s, wall 2 s"
                         "\r[##############################] 10/10 purchases, "
                         "virtual 9 s, wall 3 s\n")

    def test_purchasesCapped(self):
        """Purchases past the searches asked fill the bar, no more."""
        self.time.now += 5
        self.progress(StubSim(3, 5, 1.0))
        self.assertTrue(self.stream.getvalue().startswith("\r[" + "#" * 30 + "] 3/3 "))

    def test_noSearches(self):
        """With zero searches the bar still draws, without dividing by 0."""
        self.time.now += 5
        self.progress(StubSim(0, 0, 1.0))
        self.assertTrue(self.stream.getvalue().startswith("\r[" + "." * 30 + "] 0/1 "))

    def test_defaultStreamIsCurrentStderr(self):
        """The bar goes to sys.stderr as it is when the bar is made, so a
        redirected stderr is honoured."""
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        progress = cli.Progress()
        self.time.now += 5
        progress(StubSim(1, 0, 0.0))
        self.assertIn("0/1 purchases", stderr.getvalue())


class AdversaryTests(CliTestCase):
    """--adversaries and --adversary: the run, its baseline, the rows."""

    assertUsageError = ErrorTests.assertUsageError

    FLAGS = ["--nodes", "60", "--items", "2", "--searches", "6", "--adversaries", "0.2",
             "--adversary", "misroute", "--adversary", "withhold"]

    def test_jsonAgainstHonest(self):
        """The JSON has the adversaries' section, with the same seed's
        honest run to compare with (itself in the JSON of a plain run)."""
        attack = self.runJSON(*self.FLAGS)["adversaries"]
        honest = self.runJSON("--nodes", "60", "--items", "2", "--searches", "6")
        self.assertEqual((attack["count"], attack["by_kind"], attack["kinds"]),
                         (12, {"misroute": 6, "withhold": 6}, ["misroute", "withhold"]))
        self.assertEqual(attack["against_honest"]["success_rate"],
                         honest["success_rate"])

    def test_noBaseline(self):
        attack = self.runJSON(*self.FLAGS, "--no-baseline")["adversaries"]
        self.assertNotIn("against_honest", attack)

    def test_tableRows(self):
        self.assertEqual(cli.main(self.FLAGS), 0)
        rows = [line.split("  ")[0] for line in self.stdout.getvalue().splitlines()]
        start = rows.index("adversaries")
        self.assertEqual(rows[start:start + 4],
                         ["adversaries", "finds with an honest seller",
                          "adversaries spent", "against the honest run"])

    def test_honestSellerShare(self):
        """The share of finds with an honest seller reads as a share of
        the finds, not as a count of them."""
        self.assertEqual(cli.main(self.FLAGS), 0)
        row = [line for line in self.stdout.getvalue().splitlines()
               if line.startswith("finds with an honest seller")]
        self.assertEqual(len(row), 1)
        self.assertRegex(row[0], r"  \d{1,3}\.\d% of \d+$")

    def test_kindWithoutFraction(self):
        self.assertUsageError(["--adversary", "withhold"],
                              "--adversary needs --adversaries FRACTION")

    def test_fractionWithoutKind(self):
        self.assertUsageError(["--adversaries", "0.1"],
                              "--adversaries 0.1 needs at least one --adversary KIND")

    def test_unknownKind(self):
        with self.assertRaises(SystemExit):
            cli.main(["--adversaries", "0.1", "--adversary", "lie"])
        self.assertIn("invalid choice: 'lie'", self.stderr.getvalue())

    def test_tooMany(self):
        self.assertUsageError(
            ["--nodes", "20", "--searches", "10", "--adversaries", "0.9", "--adversary",
             "withhold"],
            "--adversaries 0.9 of 20 nodes is 18 nodes, and only 8 neither buy nor "
            "sell: lower --searches or --sellers, or add --nodes")


#: A discovery scheme from outside, written for the delivered(message)
#: event nodes no longer send.
_OLD_SCHEME = """
from twisted.application.service import Service
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.schemes import IDiscovery, IDiscoveryPlugin


@implementer(IDiscovery)
class OldScheme(Service, NodeObserver):
    name = "oldscheme"
    superpeer = None

    def __init__(self, node):
        self.node = node
        node.addObserver(self)

    def delivered(self, message):
        pass


@implementer(IPlugin, IDiscoveryPlugin)
class OldSchemePlugin:
    name = "oldscheme"
    description = "a scheme of the old delivered event"
    options = ()

    def configure(self, config):
        return {}

    def build(self, node, settings):
        return OldScheme(node)


oldscheme = OldSchemePlugin()
"""


class ObsoletePluginTests(CliTestCase):
    def test_oldDeliveredSchemeIsOneLine(self):
        """A scheme plugin still defining delivered(message) ends the run
        with one line naming it, status 1, not a traceback."""
        with open(self.path("bazaar_simold.py"), "w", encoding="utf-8") as f:
            f.write(_OLD_SCHEME)
        plugins.__path__.append(self.folder)
        self.addCleanup(plugins.__path__.remove, self.folder)
        # The schemes bazaar-sim offers are read once, when it is imported.
        self.patch(cli, "DISCOVERY", cli.DISCOVERY + ["oldscheme"])
        error = self.assertRaises(SystemExit, cli.main,
                                  ["--nodes", "4", "--discovery", "oldscheme", "--quiet",
                                   "--json", self.path("m.json")])
        self.assertEqual(error.code, 1)
        self.assertEqual(self.stderr.getvalue().strip(),
                         "bazaar-sim: error: twisted_bazaar.plugins.bazaar_simold.OldScheme "
                         "defines delivered(message), which no node calls any more: "
                         "declare the messages it takes as a class table, delivers = "
                         "{MessageType: handler}, each handler called (observer, link, "
                         "message) (README.md, \"Writing a role\")")


class UnusablePluginTests(SynchronousTestCase):
    def test_twoSchemesOfOneNameSayOneLine(self):
        """A second discovery scheme plugin named flood installed beside
        the project: bazaar-sim, which looks its schemes up as it is
        imported, gave a traceback; now the plugin's line, status 1."""
        folder = tempfile.mkdtemp(prefix="bazaar-sim-plugin-")
        self.addCleanup(shutil.rmtree, folder, True)
        with open(os.path.join(folder, "bazaar_simtwin.py"), "w") as f:
            f.write("from twisted_bazaar.schemes.flood.plugin import FloodScheme\n"
                    "flood = FloodScheme()\n")
        code = ("import sys, twisted_bazaar.plugins as p; p.__path__.append(sys.argv[1]); "
                "from twisted_bazaar.cli.simcommand import main; "
                "sys.exit(main(['--nodes', '10', '--quiet', '--json', '-']))")
        import subprocess

        done = subprocess.run([sys.executable, "-c", code, folder], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual((done.returncode, done.stdout), (1, ""))
        self.assertRegex(done.stderr, r"\Abazaar-sim: error: two discovery scheme plugins "
                         r"are named 'flood': .*\n\Z")
