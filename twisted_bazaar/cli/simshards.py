"""
``bazaar-sim --shards N``: one run split into N shards
(L{twisted_bazaar.sim.shard}), each a Dask actor on a worker of its own
(a local cluster of N worker processes, or the workers of a
``--scheduler``), synchronised window by window
(L{twisted_bazaar.sim.windows}); or with ``--shard-engine local`` all in
this process, one after the other.

Each shard declares the memory it needs as the Dask resource ``MEMORY``,
as a sweep's runs do (L{twisted_bazaar.cli.sweep}, whose connection to a
scheduler it shares, L{daskscheduler}): on a local cluster a shard takes
a whole worker, on a scheduler a worker of its own (L{placement}).
"""

import argparse
import contextlib
import logging
import sys
import time
import uuid

from twisted_bazaar.cli import daskscheduler
from twisted_bazaar.sim import codeid, deafworker
from twisted_bazaar.sim.shard import ShardSimulation, refusal
from twisted_bazaar.sim.shardstream import StreamFailed
from twisted_bazaar.sim.sweep import GiB, memoryNeeded
from twisted_bazaar.sim.windows import Windows, merged, runLocal

#: The Dask resource of memory, as a sweep's (L{twisted_bazaar.cli.sweep}).
MEMORY = daskscheduler.MEMORY
#: Where a local cluster's scheduler, its workers and its dashboard
#: listen: this machine alone (a dashboard on every interface showed the
#: run to the network, issue 93).
LOCAL_HOST = "127.0.0.1"
#: Seconds a --scheduler has to answer.
SCHEDULER_TIMEOUT = daskscheduler.SCHEDULER_TIMEOUT
#: Seconds a shard's worker has to make its actor: a worker that cannot
#: (twisted-bazaar missing there: it could not read the task, and left)
#: left the run waiting for ever.
SHARD_START_S = 120.0
#: How a shard's Dask key begins: a worker holding one runs a run's shard.
SHARD_KEY = "bazaar-shard-"
#: The Dask lock a run holds on a scheduler from the look at its free
#: workers until its shards are made there: two runs started together
#: both saw the same workers free, and their shards shared them.
PLACING = "bazaar-shard-placing"
#: Seconds a run waits for another to place its shards.
PLACING_WAIT_S = 2 * SHARD_START_S
#: What a local cluster's scheduler and workers look at less often than
#: Dask's defaults, which wake each process dozens of times a second (its
#: event loop's tick every 20 ms, the profiler's sample of the actor's
#: thread every 10 ms, memory every 100 ms, the system every 500 ms): an
#: idle local cluster of two workers took 80 ms of CPU a second of wall
#: so, 6 ms with these (docs/simulator.md, "One-way streams").  A run's
#: shards have no use for the profiles, and a worker still checks its
#: memory limit each second.
QUIET_CLUSTER = {
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    # Ctrl-C ends the command, which closes its cluster, in one line.
    "distributed.worker.preload": [deafworker.__name__],
}

#: What a shard's worker holds whatever its share (the interpreter, Dask,
#: the modules; about 180 MB measured), declared with room.
SHARD_BASE_BYTES = 512 * 2**20
#: Bytes a node of a warm run costs at its shard's peak, by scheme, with
#: room: the index's 10.5 KiB measured on two shards at a million, and
#: 10.4 KiB at 1.6 million, before its node was 0.9 kB lighter (the
#: tracker's part spread over the run's nodes; docs/simulator.md, "One run
#: on many machines", sixth round), declared as 11 KiB.
SHARD_NODE_BYTES = {"index": 11 * 1024}
#: Bytes a node of the whole run costs every shard while it builds (what it
#: knows of the other shards' nodes, the graph, the ids drawn): about 180
#: measured at 100,000 index nodes, declared as 256.
SHARD_RUN_BYTES = 256

#: Where a sharded run's shards run: Dask actors, or this process.
ENGINES = ("dask", "local")
#: The most shards a run has: a run's builder keeps each node's shard in
#: one byte (L{twisted_bazaar.sim.shardbuild}).
MOST_SHARDS = 256
#: What a run on Dask needs installed, as the command says to install it.
DASK_EXTRA = "pip install 'twisted-bazaar[sweep]'"


class Refused(Exception):
    """A sharded run that cannot start; the reason in one line."""


class Failed(Exception):
    """A sharded run that started and could not go on (a shard's stream to
    a peer could not be made or was lost); the reason in one line."""


def addArguments(parser):
    """The flags of a sharded run."""
    add = parser.add_argument
    add("--shards", type=_shards, default=None, metavar="N",
        help="split the run into N shards, each on a Dask worker of its own, "
        "synchronised in windows of the smallest latency; the same --seed gives "
        "the same metrics with any N (a warm start of any scheme so far; "
        "docs/simulator.md, 'One run on many machines')")
    add("--shard-engine", choices=ENGINES, default="dask",
        help="with --shards: dask runs each shard as a Dask actor (a local cluster "
        "of N workers, or --scheduler's); local runs them all in this process, one "
        "after the other (the same metrics, for tests and small runs)")
    add("--scheduler", metavar="tcp://HOST:8786",
        help="with --shards: run the shards on this Dask scheduler's workers, each "
        "declaring its memory: dask worker ADDRESS --nthreads 1 --resources "
        "MEMORY=BYTES")


def _shards(text):
    """A number of shards, 1 to L{MOST_SHARDS}."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MOST_SHARDS:
        raise argparse.ArgumentTypeError(
            f"wants a whole number of shards, 1 to {MOST_SHARDS} (a run keeps each "
            f"node's shard in one byte), not {text!r}")
    return value


def _daskInstalled():
    """Whether Dask distributed can be imported (the ``sweep`` extra)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def check(args, config):
    """
    Refuse the flags of a sharded run it cannot run.

    @raise Refused: in one line.
    """
    if args.scheduler is not None and not args.scheduler.strip():
        # An empty one ran on a local cluster, as if none were given.
        raise Refused(f"--scheduler {args.scheduler!r}: not tcp://HOST:PORT")
    if args.shards is None:
        if args.scheduler or args.shard_engine != "dask":
            flag = "--scheduler" if args.scheduler else "--shard-engine"
            raise Refused(f"{flag} places the shards of a run: add --shards N")
        return
    why = refusal(config)
    if why is not None:
        raise Refused(why)
    if args.plot:
        raise Refused("--plot draws a run held in this process: not with --shards yet")
    if config.adversaries:
        raise Refused("--shards does not run --adversaries yet")
    if args.scheduler and args.shard_engine != "dask":
        raise Refused("--scheduler places the shards on Dask: not with --shard-engine "
                      "local")
    if args.shard_engine == "dask" and not _daskInstalled():
        raise Refused(f"--shards runs its shards on Dask distributed: {DASK_EXTRA} "
                      f"(or --shard-engine local runs them in this process)")


def shardMemory(config, shards):
    """
    The bytes a shard declares: for a warm index run, its share of the
    nodes at what a node of a sharded run was measured to cost
    (L{SHARD_NODE_BYTES}), and what every shard holds of the whole run
    while it builds; for the rest, a sweep's run of its share of the
    nodes (L{memoryNeeded}: 15.5 KiB a node, which for the index refused
    runs that fit, 1.6 million on two shards of this 23 GiB machine).
    """
    share = -(-config.nodes // shards)
    if config.start == "warm" and config.discovery in SHARD_NODE_BYTES:
        return (SHARD_BASE_BYTES + share * SHARD_NODE_BYTES[config.discovery]
                + config.nodes * SHARD_RUN_BYTES)
    return memoryNeeded(share, config.start, config.discovery, config.searches)


def run(args, config, progress=None):
    """
    The merged metrics of a sharded run of config (L{merged}).

    @param progress: called as progress(purchases, virtual seconds) at
        each whole virtual second, or None.
    @raise Refused: for a scheduler that does not answer, or has no worker
        with the memory a shard declares.
    @raise Failed: for a shard that could not reach a peer's stream, or
        lost it, on the way.
    """
    if args.shard_engine == "local":
        return runLocal(config, args.shards, progress)
    return _runOnDask(args, config, progress)


def _runOnDask(args, config, progress):
    need = shardMemory(config, args.shards)
    client, largest = _connect(args.scheduler, args.shards)
    try:
        if need > largest:
            # A shard holds its share, not the run's nodes (it said "a shard
            # of 1500000 nodes" of a shard of 750,000).
            raise Refused(f"--shards {args.shards}: a shard ({-(-config.nodes // args.shards)} "
                          f"of the {config.nodes} nodes) declares {need / GiB:.1f} GiB, "
                          f"and no worker has more than {largest / GiB:.1f} GiB")
        # On a local cluster a shard takes a whole worker, and its own.
        declared = need if args.scheduler else largest
        started = time.perf_counter()
        # A key of this run's own: two runs of one scheduler shared a key's
        # actors (one built the other's shards).
        run = uuid.uuid4().hex[:12]
        with _placing(client, args.shards) if args.scheduler else contextlib.nullcontext():
            places = (_places(client, need, args.shards) if args.scheduler
                      else [None] * args.shards)
            if args.scheduler:
                sameCode(client, [place[0] for place in places], args.shards)
            actors = [client.submit(ShardSimulation, config, shard, args.shards,
                                    actor=True, resources={MEMORY: declared},
                                    workers=place, allow_other_workers=False,
                                    key=f"{SHARD_KEY}{run}-{shard}-of-{args.shards}")
                      for shard, place in enumerate(places)]
            workers = _workersOf(client, actors, args.shards,
                                 places if args.scheduler else None)
        actors = [future.result() for future in actors]
        hosts = [_hostOf(address) for address in workers]
        driver = Windows(config, actors, progress, quiet=True, hosts=hosts)
        try:
            tallies = driver.run()
        except StreamFailed as e:
            raise Failed(f"--shards {args.shards}: {e}") from None
        except Exception as e:
            # What a shard raised on its worker (a worker of another
            # commit, one killed): its reason, not the client's traceback.
            raise Failed(f"--shards {args.shards}: {_lost(client, workers)}"
                         f"{_reason(e)}") from None
        metrics = merged(config, tallies, time.perf_counter() - started, "dask")
        metrics["shards"]["windows"] = driver.windows
        metrics["shards"]["memory_declared"] = declared
        return metrics
    finally:
        letGo(client)


def letGo(client, stderr=None):
    """
    Close a run's Dask client, and its local cluster.  A close that fails
    (a local cluster's workers slower to stop than Dask waits for, on a
    loaded machine) loses nothing: a run that finished keeps its figures
    (before, its ``--json`` was lost to the close's traceback), and one
    that failed says its own failure; the close's is one line on stderr.
    """
    stderr = sys.stderr if stderr is None else stderr
    cluster = getattr(client, "cluster", None)
    for name, part in (("client", client), ("local cluster", cluster)):
        if part is None:
            continue
        try:
            part.close()
        except Exception as e:
            reason = str(e) or type(e).__name__
            stderr.write(f"bazaar-sim: warning: closing the Dask {name} failed "
                         f"({reason}); the run is not affected\n")


def _lost(client, workers):
    """What a run that failed lost: the first of its shards' workers gone
    from the scheduler (a nanny restarts a worker past its memory limit:
    the run said only "Unable to contact Actor's worker"), or a shard."""
    try:
        there = client.scheduler_info(n_workers=-1)["workers"]
    except Exception:
        there = workers
    gone = [shard for shard, address in enumerate(workers) if address not in there]
    if not gone:
        return "a shard failed on its worker: "
    return (f"shard {gone[0]}'s worker {workers[gone[0]]} left during the run (killed, "
            f"or restarted by its nanny past its memory limit?): ")


def _reason(error):
    """An exception in one line: its type, and its message's first line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def placement(workers, busy, need, shards):
    """
    The workers of a scheduler a run's shards go on, one each: a worker
    runs its actors' calls on one thread, so two shards on one worker (a
    scheduler of fewer workers than shards, or a second run beside a
    first) each waited for the other, the run hung half an hour
    (L{PEER_WAIT_S<twisted_bazaar.sim.exchange.PEER_WAIT_S>}).

    @param workers: each worker's address and the MEMORY it declares.
    @param busy: the addresses of workers holding another run's shard.
    @raise Refused: for fewer such workers than shards.
    """
    free = sorted((address for address, memory in workers.items()
                   if memory >= need and address not in busy),
                  key=lambda address: (-workers[address], address))
    if len(free) < shards:
        taken = len([address for address in busy if workers.get(address, 0) >= need])
        raise Refused(f"--shards {shards}: a shard takes a Dask worker of its own "
                      f"declaring {need / GiB:.1f} GiB of {MEMORY}, and the scheduler "
                      f"has {len(free)} free (and {taken} running another run's "
                      f"shards)")
    return [[address] for address in free[:shards]]


def _lock(client):
    """The scheduler's lock of placing shards (L{PLACING})."""
    from distributed import Lock

    return Lock(PLACING, scheduler_rpc=client.scheduler, loop=client.loop)


@contextlib.contextmanager
def _placing(client, shards, wait_s=PLACING_WAIT_S):
    """
    Hold the scheduler's lock of placing shards: no other run looks for
    free workers until this run's shards are made (Dask lets a lock go
    30 s after its client died).

    @raise Refused: for a lock another run holds past wait_s.
    """
    lock = _lock(client)
    if not lock.acquire(timeout=wait_s):
        raise Refused(f"--shards {shards}: another run has been placing its shards on "
                      f"this scheduler for {wait_s:g} s; try again when it has started")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            # A lock whose scheduler is gone is gone with it.
            lock.release()


def sameCode(client, workers, shards):
    """
    Refuse workers that run other code than this client, or cannot import
    a shard's modules (L{codeid}): a shard runs the client's pickled
    objects with its worker's modules.

    @raise Refused: naming the first such worker, its code and the client's.
    """
    ours = codeid.shardCode()
    theirs = client.run(codeid.shardCode, workers=workers, on_error="return")
    for address in workers:
        what = theirs.get(address, "no answer")
        if what == ours:
            continue
        if not isinstance(what, str):
            what = f"no code it can tell ({_installed(client, address, what)})"
        raise Refused(f"--shards {shards}: worker {address} runs {what}, and this client "
                      f"{ours}: install this client's commit, and its requirements, on "
                      f"every worker")


def _installed(client, address, error):
    """What a worker that cannot say its code has: its error, the
    twisted-bazaar its metadata names, its Python."""
    import platform
    from importlib import metadata

    version, python = (client.run(ask, *more, workers=[address], on_error="return")
                       .get(address) for ask, *more in (
                           (metadata.version, "twisted-bazaar"),
                           (platform.python_version,)))
    package = (f"twisted-bazaar {version}" if isinstance(version, str)
               else "no twisted-bazaar")
    python = python if isinstance(python, str) else "?"
    return f"{str(error) or type(error).__name__}; {package}, Python {python}"


def _places(client, need, shards):
    """L{placement} on the scheduler's workers as they are now."""
    workers = {address: _givesAShard(worker) for address, worker
               in client.scheduler_info(n_workers=-1)["workers"].items()}
    # A shard made (its actor in memory) or being made.
    held = [*client.has_what().items(), *client.processing().items()]
    busy = {address for address, keys in held
            if any(str(key).startswith(SHARD_KEY) for key in keys)}
    return placement(workers, busy, need, shards)


def _givesAShard(worker):
    """
    The bytes a worker (as the scheduler describes it) gives a shard: the
    MEMORY it declares, but no more than Dask's memory limit, past which
    its nanny restarts it (a worker declaring 16e9 with --memory-limit
    250MB took a shard of 0.8 GiB, was restarted, and the run ended in
    "Unable to contact Actor's worker").
    """
    declared = worker.get("resources", {}).get(MEMORY, 0)
    limit = worker.get("memory_limit") or declared
    return min(declared, limit)


def _hostOf(address):
    """A worker's host, from its address: where its shard listens for its
    peers' streams (L{ShardSimulation.listen})."""
    from distributed.comm.addressing import get_address_host

    return get_address_host(address)


def _workersOf(client, futures, shards, places=None, wait_s=SHARD_START_S):
    """
    The address of the worker each future's actor is on.

    @param places: the worker each shard was placed on (L{placement}), or
        None for a local cluster's.
    @raise Failed: for an actor whose worker left before it was made (a
        worker without twisted-bazaar cannot read the task, and leaves),
        not made within wait_s, or that failed.
    """
    from distributed import wait

    deadline = time.monotonic() + wait_s
    while True:
        try:
            wait(futures, timeout=1.0)
            break
        except TimeoutError:
            late = [shard for shard, future in enumerate(futures) if not future.done()]
        if places is not None:
            there = client.scheduler_info(n_workers=-1)["workers"]
            gone = [shard for shard in late if places[shard][0] not in there]
            if gone:
                raise Failed(f"--shards {shards}: shard {gone[0]}'s worker "
                             f"{places[gone[0]][0]} left before it started the shard "
                             f"(is twisted-bazaar installed there, at this commit?)")
        if time.monotonic() > deadline:
            raise Failed(f"--shards {shards}: shard {late[0]} did not start on a worker "
                         f"within {wait_s:g} s (is twisted-bazaar installed there, at "
                         f"this commit?)")
    for shard, future in enumerate(futures):
        if future.status != "finished":
            raise Failed(f"--shards {shards}: shard {shard} could not start on its "
                         f"worker: {_reason(future.exception())}")
    held = client.who_has(futures)
    return [held[future.key][0] for future in futures]


def _connect(scheduler, shards):
    """
    A Dask client of the scheduler, or of a local cluster of a worker a
    shard, each declaring its share of this machine's memory; and the
    memory the largest worker declares.

    @raise Refused: for a scheduler that does not answer within
        L{SCHEDULER_TIMEOUT}, or none of whose workers declares MEMORY.
    """
    if scheduler:
        try:
            return daskscheduler.connect(scheduler, SCHEDULER_TIMEOUT)
        except daskscheduler.Unanswered as e:
            raise Refused(str(e)) from None
    import dask
    import psutil
    from distributed import Client, LocalCluster

    share = psutil.virtual_memory().total // shards
    # The workers take the configuration they are started with.
    with dask.config.set(QUIET_CLUSTER):
        cluster = LocalCluster(n_workers=shards, threads_per_worker=1, processes=True,
                               memory_limit=share, resources={MEMORY: share},
                               host=LOCAL_HOST, dashboard_address=None,
                               silence_logs=logging.ERROR,
                               scheduler_kwargs={"dashboard_address": f"{LOCAL_HOST}:0"})
    return Client(cluster), share
