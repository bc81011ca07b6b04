"""
Tests for L{twisted_bazaar.cli.sweep}, ``bazaar-sim sweep``: tiny grids
on real Dask clusters of worker processes (one shared by the tests, one
of the sweep's own), its results against a single run's, resume,
failures, and the refusals before anything starts.
"""

import contextlib
import csv
import io
import json
import logging
import os
import shutil
import socket
import threading
import time

import pytest

from twisted_bazaar.cli import sim as cli
from twisted_bazaar.cli import simcommand
from twisted_bazaar.cli import sweep
from twisted_bazaar.sim.sweep import GiB

#: A run that takes a fraction of a second.
TINY = ["--searches", "5", "--start", "warm", "--crypto", "fast"]

#: Four runs.
GRID = ["--nodes", "30,40", "--seeds", "1,2", *TINY]

NAMES = ["nodes-30_seed-1", "nodes-30_seed-2", "nodes-40_seed-1", "nodes-40_seed-2"]

#: Two runs, for the tests whose point needs no more: each run is a
#: process of its own, some 0.5 CPU-s to start.
PAIR = ["--nodes", "30,40", *TINY]

PAIR_NAMES = ["nodes-30", "nodes-40"]

#: What each worker of the shared cluster declares (MEMORY).
WORKER_MEMORY = 4 * GiB


@pytest.fixture(scope="module")
def scheduler():
    """The address of a cluster of two worker processes, one thread each,
    each declaring 4 GiB."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      resources={sweep.MEMORY: WORKER_MEMORY}, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"},
                      silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def grid(scheduler, tmp_path_factory):
    """The grid swept once on the shared cluster: its --out, and what it
    wrote to stdout and to stderr.  The tests that start from a finished
    grid copy its --out rather than run its four runs again (some 0.5
    CPU-s each)."""
    out = tmp_path_factory.mktemp("grid") / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert sweep.main([*GRID, "--out", str(out), "--scheduler", scheduler]) == 0
    return out, stdout.getvalue(), stderr.getvalue()


def finished(grid, tmp_path):
    """A copy of the finished grid's --out, for a test to change."""
    return shutil.copytree(grid[0], tmp_path / "out")


def measured(data):
    """A --json's metrics but those that measure the machine."""
    metrics = json.loads(data)
    del metrics["wall_s"], metrics["peak_rss_mb"]
    return metrics


def read(folder, name):
    with open(os.path.join(folder, name + ".json"), "rb") as f:
        return f.read()


def single(tmp_path, argv):
    """What bazaar-sim --json writes for argv."""
    target = tmp_path / "single.json"
    assert cli.main([*argv, "--quiet", "--json", str(target)]) == 0
    return target.read_bytes()


def test_gridOnCluster(grid, tmp_path):
    """Each run of the grid leaves in --out what bazaar-sim --json writes
    for its flags, to the byte but for wall_s and peak_rss_mb; the
    summary has a row for each run; progress goes to stderr."""
    out, stdout, stderr = grid
    assert sorted(os.listdir(out)) == sorted([n + ".json" for n in NAMES]
                                             + ["summary.csv", "summary.md"])
    data = read(out, "nodes-40_seed-2")
    alone = single(tmp_path, ["--nodes", "40", "--seed", "2", *TINY])
    assert measured(data) == measured(alone)
    for line_sweep, line_alone in zip(data.splitlines(), alone.splitlines()):
        if b'"wall_s"' not in line_sweep and b'"peak_rss_mb"' not in line_sweep:
            assert line_sweep == line_alone
    with open(out / "summary.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["run"], r["nodes"], r["seed"], r["success_rate"], r["error"])
            for r in rows] == [(n, n[6:8], n[-1], "1.0", "") for n in NAMES]
    assert (out / "summary.md").read_text().splitlines()[2].startswith(
        "| nodes-30_seed-1 | 30 | 1 | 1.0 | 5 | 5 | 0 |")
    assert stdout == (f"4 of 4 runs done, 0 not; summary: {out}/summary.csv, "
                      f"{out}/summary.md\n")
    lines = stderr.splitlines()
    assert lines[0] == ("sweep: 0 of 4 runs done, 0 running, 0 failed, time left not known "
                        "until a run ends")
    assert lines[-1] == "sweep: 4 of 4 runs done, 0 running, 0 failed"


def test_sameFromOneWorkerAndTwo(grid, tmp_path):
    """A local cluster of one worker (the sweep's own) writes the same
    --json as the shared cluster of two (the grid's, seed 2)."""
    one = tmp_path / "one"
    assert sweep.main([*PAIR, "--seed", "2", "--out", str(one), "--workers", "1",
                       "--worker-memory", "2"]) == 0
    for name in PAIR_NAMES:
        assert measured(read(one, name)) == measured(read(grid[0], name + "_seed-2"))


def test_resume(scheduler, grid, tmp_path, capsys):
    """A sweep stopped midway goes on: the runs whose --json is there are
    not run again; a file it was writing (.part) counts for nothing."""
    out = finished(grid, tmp_path)
    kept = read(out, NAMES[0])
    os.remove(out / (NAMES[1] + ".json"))
    os.remove(out / (NAMES[2] + ".json"))
    (out / (NAMES[2] + ".json.part")).write_bytes(b"{")
    capsys.readouterr()
    assert sweep.main([*GRID, "--out", str(out), "--scheduler", scheduler]) == 0
    assert read(out, NAMES[0]) == kept
    assert sorted(n for n in os.listdir(out) if n.endswith(".json")) == [
        n + ".json" for n in NAMES]
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("sweep: 2 of 4 runs done, 0 running")
    assert err[-1] == "sweep: 4 of 4 runs done, 0 running, 0 failed"


def test_allDoneNeedsNoCluster(grid, tmp_path, capsys):
    """A sweep whose every run is done writes its summary (here under a
    name of its own) without a cluster: the scheduler named is not asked."""
    out = finished(grid, tmp_path)
    assert sweep.main([*GRID, "--out", str(out), "--scheduler", "tcp://127.0.0.1:1",
                       "--summary", "again"]) == 0
    assert capsys.readouterr().out == (f"4 of 4 runs done, 0 not; summary: "
                                       f"{out}/again.csv, {out}/again.md\n")
    assert (out / "again.csv").read_text() == (out / "summary.csv").read_text()


def bounded(call, seconds=120.0):
    """What call returns, failing the test if it takes more than seconds
    (a run Dask cannot place would wait for a worker for ever)."""
    outcome = []

    def attempt():
        try:
            outcome.append((call(), None))
        except BaseException as e:
            outcome.append((None, e))

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still going after {seconds:g} s"
    result, error = outcome[0]
    if error is not None:
        raise error
    return result


def test_failedRunReportedOthersGoOn(scheduler, tmp_path, capsys):
    """A run that cannot be placed (it needs more memory than any worker
    declares) fails alone, at once, with its reason in the summary and
    on stderr; the others run, and the sweep ends with status 1."""
    out = tmp_path / "out"
    argv = ["--nodes", "30,300000", *TINY, "--out", str(out), "--scheduler", scheduler]
    assert bounded(lambda: sweep.main(argv)) == 1
    reason = ("needs 5.4 GiB and no worker declares so much (the largest: 4.0 GiB; see "
              "--workers, --worker-memory, --run-memory)")
    assert f"nodes-300000: {reason}" in capsys.readouterr().err.splitlines()
    assert os.path.exists(out / "nodes-30.json")
    assert not os.path.exists(out / "nodes-300000.json")
    with open(out / "summary.csv", encoding="utf-8") as f:
        assert [(r["run"], r["error"]) for r in csv.DictReader(f)] == [
            ("nodes-30", ""), ("nodes-300000", reason)]


def test_runOverItsLimitFailsAlone(scheduler, tmp_path, capsys):
    """Runs that outgrow the memory they declare are killed, each with
    its reason; the workers live on to run the next sweep."""
    out = tmp_path / "out"
    argv = ["--nodes", "30,40", *TINY, "--out", str(out), "--scheduler", scheduler]
    assert sweep.main([*argv, "--run-memory", "0.001"]) == 1
    err = capsys.readouterr().err
    assert "nodes-30: failed: over its memory limit: " in err
    assert "limit 1 MiB; killed (the sweep's --run-memory raises the limit)" in err
    assert sweep.main(argv) == 0


def test_badValueRefusedBeforeAnything(tmp_path, capsys):
    """A grid value a run would refuse stops the sweep before anything
    starts (no --out made), naming the flag, through bazaar-sim too."""
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as caught:
        simcommand.main(["sweep", "--nodes", "30,1", "--out", str(out)])
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        "bazaar-sim sweep: error: --nodes 1: argument --nodes: wants a whole number at "
        "least 2, not 1\nsee bazaar-sim sweep --help\n")
    assert not out.exists()


@pytest.mark.parametrize("argv, reason", [
    (["--nodez", "3"], "the run: unrecognized arguments: --nodez 3 (did you mean --nodes?)"),
    (["--discovery", "chrod,flood"], "--discovery chrod: argument --discovery: invalid "
     "choice: 'chrod' (choose from 'chord', 'flood', 'index', 'superpeer') (did you "
     "mean chord?)"),
    ([], "the following arguments are required: --out"),
    (["--plot", "x.png"], "--plot x.png: a sweep's --plot takes no file: it draws the "
     "grid's figures in --out"),
    # A path would fail only once every run has run, saying the folder of --out.
    (["--nodes", "30", "--summary", "../x"], "--summary ../x: a file name, NAME.csv "
     "and NAME.md in --out, not a path"),
    (["--nodes", "30", "--summary", ""], "--summary : a file name, NAME.csv and NAME.md "
     "in --out, not a path")])
def test_usageErrorInOneLine(tmp_path, capsys, argv, reason):
    """A sweep's usage error is one line and a pointer to its help, no
    synopsis, as bazaar's and the daemons' are."""
    out = ["--out", str(tmp_path / "out")] if argv else []
    with pytest.raises(SystemExit) as caught:
        simcommand.main(["sweep", *out, *argv])
    assert caught.value.code == 2
    assert capsys.readouterr().err == (f"bazaar-sim sweep: error: {reason}\n"
                                       "see bazaar-sim sweep --help\n")


@pytest.mark.parametrize("seed", [["--seed", "3"], ["--seed=3,4"]])
def test_seedsOneWay(tmp_path, capsys, seed):
    """--seeds with --seed, in any of its forms, is refused."""
    with pytest.raises(SystemExit):
        sweep.main(["--seeds", "1,2", *seed, "--out", str(tmp_path)])
    assert capsys.readouterr().err.splitlines()[0] == (
        "bazaar-sim sweep: error: --seeds and --seed: give the seeds one way")


def test_refusedScheduler(tmp_path, capsys):
    """A scheduler address where nothing listens fails at once, in one
    line, with status 1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    started = time.monotonic()
    with pytest.raises(SystemExit) as caught:
        sweep.main([*TINY, "--out", str(tmp_path), "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert time.monotonic() - started < sweep.SCHEDULER_TIMEOUT
    assert caught.value.code == 1
    assert capsys.readouterr().err == (f"bazaar-sim sweep: error: --scheduler "
                                       f"tcp://127.0.0.1:{port}: no answer (Connection "
                                       "refused)\n")


def test_silentScheduler(tmp_path, capsys, monkeypatch):
    """A scheduler address that takes the connection and never answers
    fails when SCHEDULER_TIMEOUT (8 s, shortened here) has passed."""
    monkeypatch.setattr(sweep, "SCHEDULER_TIMEOUT", 0.5)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        with pytest.raises(SystemExit) as caught:
            bounded(lambda: sweep.main([*TINY, "--out", str(tmp_path),
                                        "--scheduler", f"tcp://127.0.0.1:{port}"]), 30)
    finally:
        listener.close()
    assert caught.value.code == 1
    assert capsys.readouterr().err == (f"bazaar-sim sweep: error: --scheduler "
                                       f"tcp://127.0.0.1:{port}: no answer within 0.5 s "
                                       "(no handshake)\n")


def test_schedulerTimeoutWithinTen():
    """The command gives up on a silent scheduler with time to spare to
    start and end within 10 s."""
    assert sweep.SCHEDULER_TIMEOUT <= 8


def test_clusterWithoutMemoryRefused(tmp_path, capsys):
    """A cluster none of whose workers declares MEMORY could place no run:
    refused, saying how to start its workers."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                      silence_logs=logging.ERROR) as cluster:
        with pytest.raises(SystemExit) as caught:
            sweep.main([*TINY, "--out", str(tmp_path),
                        "--scheduler", cluster.scheduler_address])
    assert caught.value.code == 1
    assert capsys.readouterr().err == (
        f"bazaar-sim sweep: error: --scheduler {cluster.scheduler_address}: no worker "
        "declares its memory; start them with dask worker ADDRESS --nthreads 1 "
        "--resources MEMORY=BYTES\n")


def test_writtenWhole(tmp_path, monkeypatch):
    """A run's file appears whole or not at all: stopped before the
    rename, nothing is there under its name."""
    path = tmp_path / "run.json"

    def stopped(source, target):
        raise KeyboardInterrupt()

    monkeypatch.setattr(sweep.os, "replace", stopped)
    with pytest.raises(KeyboardInterrupt):
        sweep._write(str(path), b"{}\n")
    assert not path.exists()
    monkeypatch.undo()
    sweep._write(str(path), b"{}\n")
    assert (path.read_bytes(), os.listdir(tmp_path)) == (b"{}\n", ["run.json"])


def test_localWorkersIgnoreCtrlC(monkeypatch):
    """A local cluster's workers are started with the preload that makes
    them ignore Ctrl-C (the sweep, stopped, closes them itself: each
    printed a KeyboardInterrupt traceback), and the configuration is put
    back."""
    import argparse

    import dask
    import distributed

    made = {}

    def cluster(**kwargs):
        made["preload"] = dask.config.get("distributed.worker.preload")
        return "cluster"

    monkeypatch.setattr(distributed, "LocalCluster", cluster)
    monkeypatch.setattr(distributed, "Client", lambda cluster: cluster)
    before = dask.config.get("distributed.worker.preload")
    own = argparse.Namespace(scheduler=None, workers=1, worker_memory=GiB)
    assert sweep.connect(own, GiB) == ("cluster", GiB)
    assert made == {"preload": ["twisted_bazaar.sim.deafworker"]}
    assert dask.config.get("distributed.worker.preload") == before


def test_localWorkers():
    """A local cluster has a worker a core, but no more than the memory
    holds of the grid's largest run, and at least one."""
    assert sweep.localWorkers(cores=2, memory=23 * GiB, largest=GiB) == 2
    assert sweep.localWorkers(cores=2, memory=23 * GiB, largest=16 * GiB) == 1
    assert sweep.localWorkers(cores=64, memory=23 * GiB, largest=2 * GiB) == 11
    assert sweep.localWorkers(cores=2, memory=8 * GiB, largest=16 * GiB) == 1


def test_shardedRunDeclaresItsShards():
    """A run with --shards on Dask declares its client and each of its
    shards as bazaar-sim --shards declares them: its shards are its local
    cluster's workers (it declared one process's need, 1.3 GiB for 8
    shards of 20,000 nodes, each shard's worker 0.5 GiB alone); one in
    this process (--shard-engine local), or unsharded, one process's."""
    from twisted_bazaar.cli import simshards, sweepgrid
    from twisted_bazaar.sim.sweep import BASE_BYTES, memoryNeeded

    base = ["--nodes", "20000", "--searches", "500", "--start", "warm", "--crypto",
            "fast", "--discovery", "index"]
    sharded = sweepgrid.runFlags([*base, "--shards", "8"])
    assert sweep.runMemory(sharded) == (
        BASE_BYTES + 8 * simshards.shardMemory(sharded, 8))
    assert sweep.runMemory(sharded) > 8 * simshards.SHARD_BASE_BYTES
    one = memoryNeeded(20_000, "warm", "index", 500)
    assert sweep.runMemory(sweepgrid.runFlags(base)) == one
    assert sweep.runMemory(sweepgrid.runFlags(
        [*base, "--shards", "8", "--shard-engine", "local"])) == one


def test_cannotWrite(scheduler, grid, tmp_path, capsys, monkeypatch):
    """A run whose --json cannot be written is a failed run, the others
    kept; a summary that cannot be written ends the sweep in one line
    (the grid's, finished: its runs need not be run again for that)."""
    out = tmp_path / "out"
    write = sweep._write

    def full(path, data):
        if path.endswith("nodes-40.json"):
            raise OSError(28, "No space left on device")
        write(path, data)

    monkeypatch.setattr(sweep, "_write", full)
    argv = ["--nodes", "30,40", *TINY, "--out", str(out), "--scheduler", scheduler]
    assert sweep.main(argv) == 1
    reason = f"cannot write {out}/nodes-40.json: No space left on device"
    assert f"nodes-40: failed: {reason}" in capsys.readouterr().err.splitlines()
    with open(out / "summary.csv", encoding="utf-8") as f:
        assert [(r["run"], r["error"]) for r in csv.DictReader(f)] == [
            ("nodes-30", ""), ("nodes-40", reason)]

    def refused(*args):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(sweep.sweepreport, "writeSummary", refused)
    done = shutil.copytree(grid[0], tmp_path / "done")
    with pytest.raises(SystemExit) as caught:
        sweep.main([*GRID, "--out", str(done), "--scheduler", scheduler])
    assert caught.value.code == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"bazaar-sim sweep: error: cannot write the summary in {done}: Permission denied")


def test_failureInOneLine():
    """A failed task's error as the summary shows it: a run's own reason,
    a worker that died, or the exception's type and first words."""
    from distributed import KilledWorker

    from twisted_bazaar.sim.sweep import RunFailed

    assert sweep._failure(RunFailed("over its memory limit")) == "over its memory limit"
    assert sweep._failure(KilledWorker("t", None, 3)) == (
        "its worker died while running it (out of memory?)")
    assert sweep._failure(ValueError("no")) == "ValueError: no"
