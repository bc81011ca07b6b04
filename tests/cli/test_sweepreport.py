"""
Tests for L{twisted_bazaar.cli.sweepreport}: a sweep's progress line and
its summary table.
"""

import io
import json
import os

from twisted_bazaar.cli import sweepreport
from twisted_bazaar.cli.sweepreport import Progress, duration


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_duration():
    assert [duration(s) for s in (4.4, 65, 3725)] == ["4 s", "1 min 5 s", "1 h 2 min"]


def test_progressLinesWhenNotATerminal():
    """Off a terminal: a plain line when a run ends (not when only the
    count running changes), the time left at the pace of the runs ended
    in this sweep, those done before it counted as done."""
    stream, clock = Stream(tty=False), Clock()
    progress = Progress(stream, total=10, already=2, clock=clock)
    progress.running = 2
    progress.show()
    progress.running = 1
    progress.show()
    clock.now += 60
    progress.finished = 1
    progress.failed = 1
    progress.show()
    assert stream.getvalue().splitlines() == [
        "sweep: 2 of 10 runs done, 2 running, 0 failed, time left not known until a run ends",
        "sweep: 3 of 10 runs done, 1 running, 1 failed, about 3 min 0 s left",
    ]


def test_progressOnATerminal():
    """On a terminal the line is redrawn in place; a failed run's line
    goes above it."""
    stream = Stream(tty=True)
    progress = Progress(stream, total=1, already=0, clock=Clock())
    progress.show()
    progress.failed = 1
    progress.say("x: failed: no")
    progress.finish()
    assert stream.getvalue() == (
        "\rsweep: 0 of 1 runs done, 0 running, 0 failed, time left not known until a run "
        "ends\033[K\r\033[Kx: failed: no\n\rsweep: 0 of 1 runs done, 0 running, 1 failed"
        "\033[K\n")


def metrics(nodes=30, seed=1, discovery="flood", adversaries=0.0, adversary=(),
            success=1.0, **config):
    """A run's --json, as much as the summary and the figures read."""
    return {"success_rate": success, "purchases": 5, "searches": 5, "double_sells": 0,
            "messages_per_search": 9.5, "latency_ms": {"p50": 100.0, "p95": 200.0},
            "virtual_s": 15.0, "wall_s": 0.1, "peak_rss_mb": 55.0, "nodes": nodes,
            "config": {"seed": seed, "discovery": discovery, "adversaries": adversaries,
                       "adversary": list(adversary), **config}}


def test_summary(tmp_path):
    """One row a run: its values, its metrics or why it has none."""
    header, table = sweepreport.rows(
        [("a", [("--nodes", "30")], metrics(), None),
         ("b", [("--nodes", "40")], None, "failed | badly")], ["--nodes"])
    csv_path, md_path = sweepreport.writeSummary(str(tmp_path), "s", header, table)
    assert (csv_path, md_path) == (f"{tmp_path}/s.csv", f"{tmp_path}/s.md")
    assert open(csv_path).read().splitlines() == [
        "run,nodes,success_rate,purchases,searches,double_sells,messages_per_search,"
        "latency_ms_p50,latency_ms_p95,virtual_s,wall_s,peak_rss_mb,error",
        "a,30,1.0,5,5,0,9.5,100.0,200.0,15.0,0.1,55.0,",
        "b,40,,,,,,,,,,,failed | badly"]
    assert open(md_path).read().splitlines()[3] == (
        "| b | 40 |  |  |  |  |  |  |  |  |  |  | failed \\| badly |")


def test_summaryWrittenWhole(tmp_path, monkeypatch):
    """A summary whose write fails midway (a full disk) leaves the earlier
    one as it was and no part beside it, not an empty file."""
    earlier = tmp_path / "s.csv"
    earlier.write_text("earlier\n")
    header, table = sweepreport.rows([("a", [("--nodes", "30")], metrics(), None)],
                                     ["--nodes"])

    class Full:
        def __init__(self, f):
            pass

        def writerow(self, row):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(sweepreport.csv, "writer", Full)
    try:
        sweepreport.writeSummary(str(tmp_path), "s", header, table)
    except OSError as e:
        assert e.errno == 28
    else:
        raise AssertionError("the write did not fail")
    assert earlier.read_text() == "earlier\n"
    assert sorted(os.listdir(tmp_path)) == ["s.csv"]


def test_readResult(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(metrics()))
    bad.write_text('{"success_rate": 1.0}')
    assert sweepreport.readResult(str(good))["nodes"] == 30
    assert sweepreport.readResult(str(bad)) is None
    assert sweepreport.readResult(str(tmp_path / "none.json")) is None
