"""
Tests for L{twisted_bazaar.cli.simshards}: ``bazaar-sim --shards N``'s
flags, refused in one line with status 2 where a sharded run cannot run,
and its merged ``--json`` (shards run in this process).
"""

import io
import json
import os
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli import sim, simshards
from twisted_bazaar.sim import codeid
from twisted_bazaar.sim.runner import SimConfig
from twisted_bazaar.sim.sweep import GiB, MiB, memoryNeeded

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
        self.assertRefused([*SMALL, "--shards", "0"], "1 to 256")
        self.assertRefused([*SMALL, "--shards", "two"], "1 to 256")

    def test_tooManyShards(self):
        """A run keeps a node's shard in a byte: 257 shards was a
        traceback (byte must be in range(0, 256)) once the 257th held a
        node."""
        self.assertRefused([*SMALL, "--start", "warm", "--shards", "257",
                            "--shard-engine", "local"],
                           "argument --shards: wants a whole number of shards, 1 to 256 "
                           "(a run keeps each node's shard in one byte), not '257'")

    def test_withoutDask(self):
        """Without the sweep extra, a run on Dask names it, as --plot and
        sweep do (before: ModuleNotFoundError, a traceback); a local one
        needs none."""
        before = sys.modules.pop("distributed", None)
        if before is not None:
            self.addCleanup(sys.modules.__setitem__, "distributed", before)
        self.addCleanup(sys.modules.pop, "distributed")  # runs first
        # An import of a name set to None raises ImportError.
        sys.modules["distributed"] = None
        self.assertRefused([*SMALL, "--start", "warm", "--shards", "2"],
                           "--shards runs its shards on Dask distributed: pip install "
                           "'twisted-bazaar[sweep]' (or --shard-engine local runs them "
                           "in this process)")
        status, out, err = run([*SMALL, "--start", "warm", "--shards", "2",
                                "--shard-engine", "local"])
        # Its stderr may hold its progress bar, on a busy machine.
        self.assertEqual(status, 0, err)
        self.assertNotIn("error", err)
        self.assertIn("shard 1 of 2", out)

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
            "busy_s", "bytes_to_other_shards", "cpu_s", "events", "messages_to_other_shards",
            "nodes", "peak_rss_mb", "shard", "waiting_s", "wall_s"])
        self.assertIn("shard 1 of 2", out)


class ShardMemoryTests(SynchronousTestCase):
    """What a shard declares (L{simshards.shardMemory})."""

    def config(self, nodes, discovery="index", start="warm"):
        return SimConfig(nodes=nodes, discovery=discovery, start=start, crypto="fast",
                         searches=500)

    def test_indexByMeasure(self):
        """
        A warm index shard declares what its share was measured to hold,
        with room: more than the larger shard's 5,225.7 MiB of a million
        nodes on two shards, and less than a sweep's run of its share
        (whose 15.5 KiB a node refused 1.6 million on two shards of a
        23 GiB machine; 2 million fit in each worker's half of it).
        """
        million = simshards.shardMemory(self.config(1_000_000), 2)
        self.assertGreater(million, 5_225.7 * MiB)
        self.assertLess(million, memoryNeeded(500_000, "warm", "index", 500))
        self.assertLess(simshards.shardMemory(self.config(2_000_000), 2), 11.75 * GiB)

    def test_moreShardsEachLess(self):
        """More shards, less each: but each holds its part of the whole
        run while it builds, so four do not declare half of two's."""
        two = simshards.shardMemory(self.config(400_000), 2)
        four = simshards.shardMemory(self.config(400_000), 4)
        self.assertLess(four, two)
        self.assertGreater(four, two / 2)

    def test_othersAsSweeps(self):
        """The schemes not measured so, and cold starts, declare a sweep's
        run of their share."""
        for discovery, start in (("chord", "warm"), ("flood", "warm"), ("index", "cold")):
            config = self.config(100_000, discovery, start)
            self.assertEqual(simshards.shardMemory(config, 2),
                             memoryNeeded(50_000, start, discovery, 500))


class LocalClusterTests(SynchronousTestCase):
    def test_itListensOnLoopback(self):
        """A local cluster's scheduler, workers and dashboard listen on
        127.0.0.1 (its dashboard listened on every interface: issue 93)."""
        import distributed

        made = {}

        def cluster(**kwargs):
            made.update(kwargs)
            return "cluster"

        self.patch(distributed, "LocalCluster", cluster)
        self.patch(distributed, "Client", lambda cluster: cluster)
        self.assertEqual(simshards._connect(None, 2)[0], "cluster")
        self.assertEqual((made["host"], made["scheduler_kwargs"]["dashboard_address"]),
                         ("127.0.0.1", "127.0.0.1:0"))

    def test_itWakesLessOften(self):
        """A local cluster is made with Dask's checks spaced out (its
        scheduler and workers take them as they start), and the
        configuration is put back."""
        import dask
        import distributed

        made = {}

        def cluster(**kwargs):
            made.update({key: dask.config.get(key) for key in simshards.QUIET_CLUSTER})
            return "cluster"

        self.patch(distributed, "LocalCluster", cluster)
        self.patch(distributed, "Client", lambda cluster: cluster)
        before = dask.config.get("distributed.admin.tick.interval")
        simshards._connect(None, 2)
        self.assertEqual(made, {"distributed.admin.tick.interval": "1s",
                                "distributed.worker.profile.enabled": False,
                                "distributed.worker.memory.monitor-interval": "1s",
                                "distributed.admin.system-monitor.interval": "5s",
                                "distributed.worker.preload": ["twisted_bazaar.sim.deafworker"]})
        self.assertEqual(dask.config.get("distributed.admin.tick.interval"), before)
        self.assertNotEqual(before, "1s")


class FailedTests(SynchronousTestCase):
    def test_aLostStreamIsOneLine(self):
        """A shard that cannot reach its peer's stream (a firewall between
        workers) ends the run in one line with status 1, no traceback
        (it printed the RuntimeError's traceback)."""
        from twisted_bazaar.sim.shardstream import StreamFailed

        class Client:
            def submit(self, *args, **kwargs):
                return None

            def close(self):
                pass

        class Driver:
            def __init__(self, *args, **kwargs):
                pass

            def run(self):
                raise StreamFailed("shard 1 could not reach shard 0 at 10.0.0.1:4242: "
                                   "[Errno 113] No route to host")

        self.patch(simshards, "_connect", lambda scheduler, shards: (Client(), 64 * GiB))
        self.patch(simshards, "_workersOf", lambda client, futures, shards, places: [
            "tcp://10.0.0.1:1", "tcp://10.0.0.2:1"])
        self.patch(simshards, "Windows", Driver)

        class Future:
            def result(self):
                return "actor"

        self.patch(Client, "submit", lambda self, *args, **kwargs: Future())
        out = os.path.join(tempfile.mkdtemp(), "run.json")
        status, _, err = run([*SMALL, "--start", "warm", "--shards", "2", "--quiet",
                              "--json", out])
        self.assertEqual(status, 1)
        self.assertFalse(os.path.exists(out))
        self.assertEqual(err.splitlines(), [
            "bazaar-sim: error: --shards 2: shard 1 could not reach shard 0 at "
            "10.0.0.1:4242: [Errno 113] No route to host"])

    def test_aCloseThatFailsLosesNoRun(self):
        """A local cluster that does not close in time (seen beside four
        busy loops: a chord run of 20,000 nodes on two shards) lost a
        finished run: a traceback, status 1, no --json.  The run's file is
        written, and the close said in one line."""
        class Cluster:
            def close(self):
                raise TimeoutError("the workers took longer than 30 s to stop")

        class Client:
            cluster = Cluster()

            def submit(self, *args, **kwargs):
                return Actor()

            def close(self):
                pass

        self.patch(simshards, "_connect", lambda scheduler, shards: (Client(), 64 * GiB))
        self.patch(simshards, "_workersOf", lambda client, futures, shards, places: [
            "tcp://10.0.0.1:1", "tcp://10.0.0.2:1"])
        self.patch(simshards, "Windows", Finished)
        self.patch(simshards, "merged", lambda config, tallies, wall, engine: {
            "searches": 2, "shards": {"count": 2}, "tallies": tallies})
        out = os.path.join(tempfile.mkdtemp(), "run.json")
        status, _, err = run([*SMALL, "--start", "warm", "--shards", "2", "--quiet",
                              "--json", out])
        self.assertEqual((status, err.splitlines()), (0, [
            "bazaar-sim: warning: closing the Dask local cluster failed (the workers "
            "took longer than 30 s to stop); the run is not affected"]))
        with open(out, encoding="utf-8") as f:
            written = json.load(f)
        self.assertEqual((written["tallies"], written["shards"]["windows"]),
                         (["tallies"], Finished.windows))

    def test_aCloseAfterAFailureLeavesTheFailure(self):
        """A client that fails to close after a failed run: the run's own
        failure is what ends it, the cluster is still closed."""
        closed = []

        class Cluster:
            def close(self):
                closed.append("cluster")

        class Client:
            cluster = Cluster()

            def close(self):
                raise OSError("the scheduler is gone")

        err = io.StringIO()
        simshards.letGo(Client(), err)
        self.assertEqual((closed, err.getvalue()), (["cluster"], (
            "bazaar-sim: warning: closing the Dask client failed (the scheduler is "
            "gone); the run is not affected\n")))


class SchedulerClient:
    """A Dask client of a scheduler, as a sharded run sees it: its workers
    (address: MEMORY), the keys each holds and is making, and what was
    submitted."""

    def __init__(self, workers, held=None, making=None, code=None, limits=None):
        self.workers = workers
        self.limits = limits or {}
        self.held = held or {}
        self.making = making or {}
        self.code = code or {}
        self.submitted = []
        self.log = []

    def scheduler_info(self, n_workers):
        self.log.append("look")
        return {"workers": {address: {"resources": {simshards.MEMORY: memory},
                                      "memory_limit": self.limits.get(address, 0)}
                            for address, memory in self.workers.items()}}

    def run(self, function, *args, workers, on_error):
        """Each worker's answer: its code (L{codeid}), as code says, or
        this process's; its metadata and Python as this process's."""
        assert on_error == "return"
        self.log.append(f"ask {function.__name__}")
        return {address: self.code.get(address, codeid.shardCode())
                if function is codeid.shardCode else function(*args)
                for address in workers}

    def has_what(self):
        return self.held

    def processing(self):
        return self.making

    def submit(self, *args, **kwargs):
        self.log.append("submit")
        self.submitted.append(kwargs)
        return Actor()

    def close(self):
        pass


class Lock:
    """The scheduler's lock of placing shards, as the client's log sees
    it; taken by another run when held."""

    def __init__(self, client, held=False):
        self.client = client
        self.held = held

    def acquire(self, timeout):
        self.client.log.append("lock" if not self.held else f"wait {timeout:g} s")
        return not self.held

    def release(self):
        self.client.log.append("unlock")


class Actor:
    def result(self):
        return "actor"


class Finished:
    """A Windows driver whose run ends at once."""
    windows = 1

    def __init__(self, *args, **kwargs):
        pass

    def run(self):
        return ["tallies"]


class PlacementTests(SynchronousTestCase):
    """A worker runs its actors' calls on one thread: two shards on one
    worker waited for each other half an hour (a scheduler of fewer
    workers than shards, or two runs on one scheduler)."""

    def sharded(self, client, shards=2, driver=Finished):
        """Run SMALL sharded on client's scheduler, its windows run by
        driver; (status, stderr), and no --json left by a failed run."""
        self.patch(simshards, "_connect", lambda scheduler, n: (
            client, max(client.workers.values())))

        def workersOf(client, futures, shards, places):
            client.log.append("made")
            return [place[0] for place in places]

        self.patch(simshards, "_workersOf", workersOf)
        if not hasattr(client, "lock"):
            client.lock = Lock(client)
        self.patch(simshards, "_lock", lambda client: client.lock)
        self.patch(simshards, "Windows", driver)
        self.patch(simshards, "merged", lambda config, tallies, wall, engine: {
            "searches": 2, "shards": {"count": shards}})
        out = os.path.join(tempfile.mkdtemp(), "run.json")
        status, _, err = run([*SMALL, "--start", "warm", "--shards", str(shards),
                              "--quiet", "--scheduler", "tcp://10.0.0.1:8786",
                              "--json", out])
        self.assertEqual(os.path.exists(out), status == 0)
        return status, err

    def test_eachShardAWorkerOfItsOwn(self):
        """Each shard is placed on a worker of its own, the largest first
        (before, any worker with the MEMORY: one of 8 GB took both)."""
        client = SchedulerClient({"tcp://a:1": 8 * GiB, "tcp://b:1": 16 * GiB,
                                  "tcp://c:1": 12 * GiB})
        self.assertEqual(self.sharded(client), (0, ""))
        self.assertEqual([(each["workers"], each["allow_other_workers"])
                          for each in client.submitted],
                         [(["tcp://b:1"], False), (["tcp://c:1"], False)])

    def test_fewerWorkersThanShards(self):
        """A scheduler of one worker for two shards: refused in one line,
        status 2 (it hung)."""
        status, err = self.sharded(SchedulerClient({"tcp://a:1": 8 * GiB}))
        self.assertEqual((status, err.splitlines()), (2, [
            "bazaar-sim: error: --shards 2: a shard takes a Dask worker of its own "
            "declaring 0.5 GiB of MEMORY, and the scheduler has 1 free (and 0 running "
            "another run's shards)"]))

    def test_noWorkerLargeEnough(self):
        """A shard larger than every worker is refused, saying the shard's
        share of the nodes (it said "a shard of 60 nodes" of 30)."""
        status, err = self.sharded(SchedulerClient({"tcp://a:1": GiB // 8,
                                                    "tcp://b:1": GiB // 8}))
        self.assertEqual((status, err.splitlines()), (2, [
            "bazaar-sim: error: --shards 2: a shard (30 of the 60 nodes) declares "
            "0.5 GiB, and no worker has more than 0.1 GiB"]))

    def test_aWorkerGivesNoMoreThanItsMemoryLimit(self):
        """A worker gives a shard no more than its Dask memory limit,
        whatever MEMORY it declares: one declaring 16 GiB with
        --memory-limit 250MB took a shard, its nanny restarted it, and the
        run ended in "Unable to contact Actor's worker"."""
        client = SchedulerClient({"tcp://a:1": 16 * GiB, "tcp://b:1": 8 * GiB,
                                  "tcp://c:1": 8 * GiB},
                                 limits={"tcp://a:1": 250 * 10**6, "tcp://b:1": 8 * GiB})
        self.assertEqual(self.sharded(client), (0, ""))
        self.assertEqual([each["workers"] for each in client.submitted],
                         [["tcp://b:1"], ["tcp://c:1"]])

    def test_anotherRunsWorkersAreTaken(self):
        """Workers holding or making another run's shard are not free."""
        client = SchedulerClient(
            {"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB, "tcp://c:1": 8 * GiB},
            held={"tcp://a:1": ["bazaar-shard-0123-0-of-2"], "tcp://c:1": ["x"]},
            making={"tcp://b:1": ["bazaar-shard-0123-1-of-2"]})
        status, err = self.sharded(client)
        self.assertEqual(status, 2)
        self.assertIn("the scheduler has 1 free (and 2 running another run's shards)",
                      err)

    def test_twoRunsTwoKeys(self):
        """Two runs on one scheduler have keys of their own (both took
        bazaar-shard-0-of-2: one run built the other's shards, both ended
        in tracebacks)."""
        keys = []
        for _ in range(2):
            client = SchedulerClient({"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB})
            self.assertEqual(self.sharded(client)[0], 0)
            keys.append([each["key"] for each in client.submitted])
        self.assertTrue(all(key.startswith(simshards.SHARD_KEY) for key in keys[0]))
        self.assertEqual(len(set(keys[0] + keys[1])), 4)

    def test_placedUnderTheSchedulersLock(self):
        """A run holds the scheduler's lock from its look at the free
        workers until its shards are made there (two runs started
        together both saw the same workers free), and lets it go."""
        client = SchedulerClient({"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB})
        self.assertEqual(self.sharded(client), (0, ""))
        self.assertEqual(client.log, ["lock", "look", "ask shardCode", "submit", "submit",
                                      "made", "unlock"])

    def test_aRunStillPlacingHasTheLock(self):
        """A run that waits past PLACING_WAIT_S for another's placing is
        refused in one line, having placed nothing."""
        client = SchedulerClient({"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB})
        client.lock = Lock(client, held=True)
        status, err = self.sharded(client)
        self.assertEqual((status, err.splitlines()), (2, [
            "bazaar-sim: error: --shards 2: another run has been placing its shards on "
            "this scheduler for 240 s; try again when it has started"]))
        self.assertEqual((client.log, client.submitted), (["wait 240 s"], []))

    def test_aLockGoneWithItsSchedulerLosesNoRun(self):
        """A lock that cannot be let go (its scheduler gone as the run
        ends) changes nothing of the run's end."""
        client = SchedulerClient({"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB})
        client.lock = Lock(client)
        client.lock.release = lambda: 1 / 0
        self.assertEqual(self.sharded(client), (0, ""))

    def test_aWorkerOfOtherCode(self):
        """A worker whose twisted-bazaar is of another commit (or Python
        minor) is refused before any shard starts, in one line naming both
        (nothing was checked: the shards ran the client's objects with the
        worker's modules)."""
        ours = codeid.codeId()
        other = "twisted-bazaar 0.1.0 (code 0123456789ab), Python 3.12"
        client = SchedulerClient({"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB},
                                 code={"tcp://b:1": other})
        status, err = self.sharded(client)
        self.assertEqual((status, err.splitlines()), (2, [
            f"bazaar-sim: error: --shards 2: worker tcp://b:1 runs {other}, and this "
            f"client {ours}: install this client's commit, and its requirements, on "
            "every worker"]))
        self.assertEqual((client.submitted, client.log[-1]), ([], "unlock"))

    def test_aWorkerThatCannotSayItsCode(self):
        """A worker without this module (an older commit, or no
        twisted-bazaar) is refused so too, with what it has."""
        import platform
        from importlib import metadata

        client = SchedulerClient(
            {"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB},
            code={"tcp://a:1": Exception(
                "ModuleNotFoundError(\"No module named 'twisted_bazaar.sim.codeid'\")")})
        status, err = self.sharded(client)
        self.assertEqual(status, 2)
        self.assertEqual(err.splitlines(), [
            "bazaar-sim: error: --shards 2: worker tcp://a:1 runs no code it can tell "
            "(ModuleNotFoundError(\"No module named 'twisted_bazaar.sim.codeid'\"); "
            f"twisted-bazaar {metadata.version('twisted-bazaar')}, Python "
            f"{platform.python_version()}), and this client "
            f"{codeid.codeId()}: install this client's commit, and its requirements, on "
            "every worker"])

    def test_aWorkerThatLeaves(self):
        """A worker that cannot read its shard's task (twisted-bazaar not
        installed there) leaves: the run ends in one line at once (it
        waited for ever)."""
        import distributed

        def wait(futures, timeout):
            raise TimeoutError()

        class Pending:
            def done(self):
                return False

        self.patch(distributed, "wait", wait)
        client = SchedulerClient({"tcp://a:1": 8 * GiB})
        with self.assertRaises(simshards.Failed) as e:
            simshards._workersOf(client, [Pending(), Pending()], 2,
                               [["tcp://a:1"], ["tcp://gone:1"]])
        self.assertEqual(str(e.exception), (
            "--shards 2: shard 1's worker tcp://gone:1 left before it started the "
            "shard (is twisted-bazaar installed there, at this commit?)"))

    def test_aShardThatRaisesIsOneLine(self):
        """What a shard raises on its worker ends the run in one line with
        status 1 (it printed the client's traceback)."""
        class Raising(Finished):
            def run(self):
                raise RuntimeError("shard 0 was built before its keys were drawn\n"
                                   "more")

        status, err = self.sharded(
            SchedulerClient({"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB}), driver=Raising)
        self.assertEqual((status, err.splitlines()), (1, [
            "bazaar-sim: error: --shards 2: a shard failed on its worker: "
            "RuntimeError: shard 0 was built before its keys were drawn"]))


    def test_aWorkerThatLeftMidRunIsNamed(self):
        """A shard whose worker left during the run (its nanny restarted it
        past its memory limit) is named with its worker and the likely
        cause (the line said only "a shard failed on its worker: OSError:
        Unable to contact Actor's worker")."""
        client = SchedulerClient({"tcp://a:1": 8 * GiB, "tcp://b:1": 8 * GiB})

        class Restarted(Finished):
            def run(self):
                del client.workers["tcp://b:1"]
                raise OSError("Unable to contact Actor's worker")

        status, err = self.sharded(client, driver=Restarted)
        self.assertEqual((status, err.splitlines()), (1, [
            "bazaar-sim: error: --shards 2: shard 1's worker tcp://b:1 left during the "
            "run (killed, or restarted by its nanny past its memory limit?): OSError: "
            "Unable to contact Actor's worker"]))


class SchedulerAddressTests(SynchronousTestCase):
    """A --scheduler mistyped is refused in one line for what it is, as a
    sweep's is (L{twisted_bazaar.cli.daskscheduler})."""

    def test_notAnAddress(self):
        """A port that is not a number (it said 'no Dask scheduler answered
        within 8 s (ValueError)')."""
        status, _, err = run([*SMALL, "--start", "warm", "--shards", "2", "--quiet",
                              "--scheduler", "tcp://127.0.0.1:8786x", "--json",
                              os.path.join(tempfile.mkdtemp(), "run.json")])
        self.assertEqual((status, err.splitlines()), (2, [
            "bazaar-sim: error: --scheduler tcp://127.0.0.1:8786x: not tcp://HOST:PORT"]))

    def test_empty(self):
        """An empty --scheduler (a shell variable unset) is refused (it ran
        on a local cluster, as if none were given)."""
        def connect(scheduler, shards):
            raise simshards.Refused(f"connected to {scheduler!r}")

        self.patch(simshards, "_connect", connect)
        status, _, err = run([*SMALL, "--start", "warm", "--shards", "2", "--quiet",
                              "--scheduler", "", "--json",
                              os.path.join(tempfile.mkdtemp(), "run.json")])
        self.assertEqual(status, 2)
        self.assertEqual([line for line in err.splitlines() if "error" in line], [
            "bazaar-sim: error: --scheduler '': not tcp://HOST:PORT"])
