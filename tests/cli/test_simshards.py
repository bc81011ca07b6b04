"""
Tests for L{twisted_bazaar.cli.simshards}: ``bazaar-sim --shards N``'s
flags, refused in one line with status 2 where a sharded run cannot run,
and its merged ``--json`` (shards run in this process).
"""

import io
import json
import os
import tempfile
from contextlib import redirect_stderr, redirect_stdout

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli import sim

SMALL = ["--nodes", "60", "--searches", "6", "--crypto", "fast", "--discovery", "index"]


def run(argv):
    """(exit status, stdout, stderr) of bazaar-sim argv."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = sim.main(argv)
        except SystemExit as e:
            status = e.code
    return status, out.getvalue(), err.getvalue()


class RefusedTests(SynchronousTestCase):
    def assertRefused(self, argv, words):
        status, _, err = run(argv)
        self.assertEqual(status, 2)
        lines = [line for line in err.splitlines() if line.startswith("bazaar-sim: error")]
        self.assertEqual(len(lines), 1, err)
        self.assertIn(words, lines[0])

    def test_noShards(self):
        self.assertRefused([*SMALL, "--shards", "0"], "1 or more")
        self.assertRefused([*SMALL, "--shards", "two"], "1 or more")

    def test_unsupported(self):
        self.assertRefused([*SMALL, "--shards", "2"], "--start warm")
        self.assertRefused([*SMALL, "--start", "warm", "--shards", "2", "--drop", "0.1"],
                           "--drop")
        self.assertRefused([*SMALL, "--start", "warm", "--shards", "2", "--kill", "0.1"],
                           "--kill")
        self.assertRefused([*SMALL, "--start", "warm", "--shards", "2", "--plot", "x.png"],
                           "--plot")
        self.assertRefused([*SMALL, "--start", "warm", "--shards", "2", "--shard-engine",
                            "local", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler")

    def test_placementWithoutShards(self):
        self.assertRefused([*SMALL, "--scheduler", "tcp://127.0.0.1:1"], "--shards")
        self.assertRefused([*SMALL, "--shard-engine", "local"], "--shards")


class ShardedJsonTests(SynchronousTestCase):
    def test_json(self):
        """The merged --json has each shard's figures under shards, and the
        table a line for each shard."""
        with tempfile.TemporaryDirectory() as folder:
            target = os.path.join(folder, "m.json")
            status, out, _ = run([*SMALL, "--start", "warm", "--shards", "2",
                                  "--shard-engine", "local", "--json", target])
            with open(target, encoding="utf-8") as f:
                metrics = json.load(f)
        self.assertEqual(status, 0)
        self.assertEqual(metrics["purchases"], 6)
        shards = metrics["shards"]
        self.assertEqual((shards["count"], shards["engine"]), (2, "in-process"))
        self.assertEqual(sorted(shards["each"][0]), [
            "busy_s", "bytes_to_other_shards", "events", "messages_to_other_shards",
            "nodes", "peak_rss_mb", "shard", "wall_s"])
        self.assertIn("shard 1 of 2", out)
