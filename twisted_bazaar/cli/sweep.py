"""
``bazaar-sim sweep``: a grid of ``bazaar-sim`` runs, each run one task on
Dask distributed, on a local cluster of worker processes or on one
started with ``dask-scheduler`` and ``dask-worker``.

Each task declares the memory its run needs as the Dask resource
``MEMORY``, which every worker declares as its limit, so the scheduler
never gives a worker runs that together need more; a run that outgrows
what it declared is killed alone (L{twisted_bazaar.sim.sweep}).
"""

import argparse
import contextlib
import logging
import os
import sys

from twisted_bazaar.base.options import boundedInt
from twisted_bazaar.cli import (daskscheduler, sim, simshards, sweepfigures, sweepgrid,
                                sweepreport)
from twisted_bazaar.cli.common import addVersion
from twisted_bazaar.base.usage import OneLineParser, argumentType
from twisted_bazaar.sim import deafworker
from twisted_bazaar.sim.sweep import BASE_BYTES, GiB, RunFailed, memoryNeeded, runWithin

#: Seconds a --scheduler has to answer: the command, started, ends within 10 s.
SCHEDULER_TIMEOUT = daskscheduler.SCHEDULER_TIMEOUT

#: The Dask resource of memory: each worker declares its limit in bytes,
#: each run what it needs.
MEMORY = daskscheduler.MEMORY

#: Seconds between two redraws of the progress line.
PROGRESS_EVERY = 1.0


def _gib(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"wants a number of GiB above 0, not {text!r}")
    return int(value * GiB)


def parser():
    p = OneLineParser(
        prog="bazaar-sim sweep",
        description="Run a grid of bazaar-sim runs on Dask distributed: every flag of "
        "bazaar-sim, with a comma list where a run takes one value (--nodes "
        "1000,10000 --discovery flood,chord --adversaries 0.1,0.2 --adversary "
        "withhold,sybil --seeds 1,2,3); every combination is a run.  Each run's "
        "--json is written in --out; a run whose file is there is not run again.",
        epilog="The runs' flags are bazaar-sim's (bazaar-sim --help), but --json, "
        "--plot FILE, --quiet and --experiment.  Each run declares the memory it needs "
        "(a Dask resource MEMORY, in bytes): 1 GiB and 15.5 KiB a node warm, 1 GiB "
        "and 64 KiB a node cold, and for a flood 160 bytes per search and node it "
        "may reach (20,000 at most), unless --run-memory; the workers of a --scheduler "
        "declare theirs: dask worker ADDRESS --nthreads 1 --resources MEMORY=BYTES.")
    add = p.add_argument
    add("--out", metavar="DIR", required=True,
        help="folder of the runs' --json files and the summary")
    add("--workers", type=argumentType(boundedInt(1)),
        help="worker processes of the local cluster, each running one run at a time "
        "(default: one a core, but no more than the machine's memory holds of the "
        "grid's largest run)")
    add("--scheduler", metavar="tcp://HOST:8786",
        help="run on the cluster of this Dask scheduler instead of a local one")
    add("--worker-memory", type=_gib, metavar="GIB",
        help="local cluster: the memory each worker may give its runs (default: the "
        "machine's memory shared among the workers)")
    add("--run-memory", type=_gib, metavar="GIB",
        help="the memory each run declares and may use, instead of the estimate")
    add("--name", metavar="TEMPLATE",
        help="each run's file name, from its flags: '{discovery}-{nodes}' (default: "
        "the values it varies, such as nodes-1000_seed-2)")
    add("--summary", metavar="NAME", default="summary",
        help="the summary's file name in --out, NAME.csv and NAME.md (default: "
        "summary)")
    add("--seeds", metavar="S,S,...", help="the same as --seed S,S,...")
    add("--plot", action="store_true",
        help="draw the grid's figures in --out (needs matplotlib), and exit 1 if it "
        f"makes none or one cannot be drawn: {sweepfigures.GRIDS}")
    addVersion(p)
    return p


class Refused(Exception):
    """A sweep that cannot start; the reason in one line."""


def runs(own, rest):
    """
    The grid's points and their names.

    @raise Refused: for a run bazaar-sim would refuse, naming the flag.
    """
    if own.seeds is not None:
        run_parser = sim.parser()
        if any(getattr(sweepgrid.optionAction(run_parser, token.partition("=")[0]), "dest",
                       None) == "seed" for token in rest if token.startswith("--")):
            raise Refused("--seeds and --seed: give the seeds one way")
        rest = [*rest, "--seed", own.seeds]
    try:
        points = sweepgrid.grid(rest)
        return points, sweepgrid.names(points, own.name)
    except ValueError as reason:
        raise Refused(str(reason)) from None


def _plotFile(argv):
    """The file a single run's ``--plot FILE`` habit put after a sweep's
    ``--plot`` (which takes none: its figures go in --out), or None."""
    for flag, after in zip(argv, argv[1:]):
        if flag == "--plot" and not after.startswith("-"):
            return after
    return None


def localWorkers(cores, memory, largest):
    """The workers of a local cluster by default: one a core, but no more
    than memory holds of the largest run."""
    return max(1, min(cores, memory // largest))


def runMemory(args):
    """
    The bytes a run of a grid declares: a run with ``--shards`` on Dask
    runs its shards in a local cluster of its own, each declaring what
    ``bazaar-sim --shards`` declares for it, beside its client (it declared
    one process's need, which 8 small shards' workers pass); any other run
    one process's (L{memoryNeeded}).
    """
    if args.shards is not None and args.shard_engine == "dask":
        return BASE_BYTES + args.shards * simshards.shardMemory(args, args.shards)
    return memoryNeeded(args.nodes, args.start, args.discovery, args.searches)


def connect(own, largest_run):
    """
    A Dask client of a --scheduler, or of a local cluster; and the memory
    the largest worker declares.

    @raise Refused: for a scheduler that does not answer within
        L{SCHEDULER_TIMEOUT}, or a cluster no worker of which declares MEMORY.
    """
    import dask
    from distributed import Client, LocalCluster

    if own.scheduler:
        try:
            return daskscheduler.connect(own.scheduler, SCHEDULER_TIMEOUT)
        except daskscheduler.Unanswered as e:
            raise Refused(str(e)) from None
    import psutil

    memory = psutil.virtual_memory().total
    workers = own.workers or localWorkers(os.cpu_count() or 1, memory, largest_run)
    share = own.worker_memory or memory // workers
    with dask.config.set({"distributed.worker.preload": [deafworker.__name__]}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               memory_limit=share, resources={MEMORY: share},
                               dashboard_address=None, silence_logs=logging.ERROR,
                               # its HTTP routes on a free port, not the dashboard's 8787
                               scheduler_kwargs={"dashboard_address": ":0"})
    return Client(cluster), share


def _failure(error):
    """A failed task's error in one line."""
    if isinstance(error, RunFailed):
        return str(error)
    if type(error).__name__ == "KilledWorker":
        return "its worker died while running it (out of memory?)"
    return f"{type(error).__name__}: {error}"


def _executing(client):
    """How many runs the workers said, at their last heartbeat, they run."""
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        return sum(w.get("metrics", {}).get("task_counts", {}).get("executing", 0)
                   for w in workers)
    except (OSError, KeyError, TypeError):
        return 0


def sweep(client, largest, todo, progress, out):
    """
    Run todo ([(name, point, need)]) on client's cluster, each run's --json
    written in out as it ends; the errors of those that failed, by name.
    """
    from distributed import wait

    errors = {}
    futures = {}
    for run_name, point, need in todo:
        if need > largest:
            errors[run_name] = (f"needs {need / GiB:.1f} GiB and no worker declares so much "
                                f"(the largest: {largest / GiB:.1f} GiB; see --workers, "
                                "--worker-memory, --run-memory)")
            progress.failed += 1
            progress.say(f"{run_name}: {errors[run_name]}")
            continue
        future = client.submit(runWithin, point.argv, need, resources={MEMORY: need},
                               pure=False, retries=0)
        futures[future] = run_name
    pending = set(futures)
    while pending:
        try:
            wait(pending, timeout=PROGRESS_EVERY, return_when="FIRST_COMPLETED")
        except TimeoutError:
            pass
        ended = [f for f in pending if f.done()]
        pending.difference_update(ended)
        progress.running = min(_executing(client), len(pending))
        for future in ended:
            run_name = futures[future]
            path = os.path.join(out, run_name + ".json")
            if future.status == "finished":
                try:
                    _write(path, future.result())
                    progress.finished += 1
                    continue
                except OSError as e:
                    errors[run_name] = f"cannot write {path}: {e.strerror}"
            else:
                errors[run_name] = ("cancelled" if future.status == "cancelled"
                                    else _failure(future.exception()))
            progress.failed += 1
            progress.say(f"{run_name}: failed: {errors[run_name]}")
        progress.show()
    return errors


def _sweepOn(own, todo, progress):
    """Run todo on the cluster own names; the errors of the runs that failed."""
    client, largest = connect(own, max(need for _, _, need in todo))
    with (client.cluster or contextlib.nullcontext()), client:
        progress.show()
        return sweep(client, largest, todo, progress, own.out)


def _write(path, data):
    """Write data to path at once: a sweep stopped midway leaves no part of a file."""
    partial = path + ".part"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, path)


def main(argv):
    p = parser()
    own, rest = p.parse_known_args(argv)
    given = _plotFile(argv)
    if given is not None:
        p.error(f"--plot {given}: a sweep's --plot takes no file: it draws the grid's "
                "figures in --out")
    if own.summary in ("", ".", "..") or os.sep in own.summary or (
            os.altsep and os.altsep in own.summary):
        p.error(f"--summary {own.summary}: a file name, NAME.csv and NAME.md in --out, "
                "not a path")
    if own.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            p.error("--plot needs matplotlib: pip install 'twisted-bazaar[plot]'")
    try:
        import distributed  # noqa: F401
    except ImportError:
        p.error("a sweep runs on Dask distributed: pip install 'twisted-bazaar[sweep]'")
    try:
        points, names = runs(own, rest)
    except Refused as reason:
        p.error(str(reason))
    try:
        os.makedirs(own.out, exist_ok=True)
    except OSError as e:
        p.error(f"--out: cannot make {own.out}: {e.strerror}")
    axes = list(dict.fromkeys(flag for point in points for flag, _ in point.varied))
    paths = [os.path.join(own.out, n + ".json") for n in names]
    todo = [(n, point, own.run_memory or runMemory(point.args))
            for n, point, path in zip(names, points, paths) if not os.path.exists(path)]
    progress = sweepreport.Progress(sys.stderr, len(points), len(points) - len(todo))
    errors = {}
    if todo:
        try:
            errors = _sweepOn(own, todo, progress)
        except Refused as reason:
            p.exit(1, f"{p.prog}: error: {reason}\n")
        except KeyboardInterrupt:
            progress.finish()
            p.exit(1, f"{p.prog}: stopped: the runs done are in {own.out}; the same "
                   "command goes on from there\n")
        progress.finish()
    results = {n: sweepreport.readResult(path) for n, path in zip(names, paths)}
    try:
        summary = sweepreport.writeSummary(own.out, own.summary, *sweepreport.rows(
            [(n, point.varied, results[n], errors.get(n) or (
                None if results[n] else "its --json cannot be read"))
             for n, point in zip(names, points)], axes))
    except OSError as e:
        p.exit(1, f"{p.prog}: error: cannot write the summary in {own.out}: "
               f"{e.strerror}\n")
    done = sum(result is not None for result in results.values())
    sys.stdout.write(f"{done} of {len(points)} runs done, {len(points) - done} not; "
                     f"summary: {', '.join(summary)}\n")
    drawn = True
    if own.plot:
        said, drawn = sweepfigures.drawFigures(own.out, [r for r in results.values() if r])
        for line in said:
            sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0 if done == len(points) and drawn else 1
