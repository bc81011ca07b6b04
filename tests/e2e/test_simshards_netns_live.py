"""
A sharded run on workers that share nothing but a network, as on
machines of one net: a Dask scheduler and two workers, each in a network
namespace of its own (L{twisted_bazaar.testing.netns}: its own address,
no loopback shared), and ``bazaar-sim --shards 2 --scheduler`` run from a
fourth.  The shards hand their messages worker to worker
(L{twisted_bazaar.sim.exchange}), over the bridge; the run's ``--json``
must be the local cluster's (the machine's, ``wall_s``, ``peak_rss_mb``
and ``shards`` aside).

It needs root, ``ip`` (iproute2) with network namespaces and Dask's
``dask`` command; without them it is skipped with the reason.  The
namespaces, and every process in them, go when the test ends.
"""

import json
import re
import os
import shutil
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_bazaar.testing.daemons import Daemon
from twisted_bazaar.testing.netns import NetBed, missing, tagOf

#: Seconds a server may take to start, and a run to end (a loaded machine).
TIMEOUT = 120.0
RUN_TIMEOUT = 600.0
PORT = 8786
#: The run: a flood, whose searches cross the shards at every hop.
RUN = ["--nodes", "150", "--seed", "2", "--searches", "10", "--start", "warm",
       "--crypto", "fast", "--discovery", "flood", "--quiet", "--shards", "2"]


def comparable(metrics):
    return {key: value for key, value in metrics.items()
            if key not in ("wall_s", "peak_rss_mb", "shards")}


class ShardsAcrossNamespacesTests(SynchronousTestCase):
    def setUp(self):
        reason = missing()
        self.dask = os.path.join(os.path.dirname(sys.executable), "dask")
        if reason is None and not os.path.exists(self.dask):
            reason = "no dask command beside this Python: pip install distributed"
        if reason is not None:
            raise SkipTest(reason)
        self.bed = NetBed(tagOf(os.getpid()))
        self.addCleanup(self.bed.remove)
        self.folder = tempfile.mkdtemp(prefix="bazaar-simnetns-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.servers = []
        self.addCleanup(self.stopServers)

    def stopServers(self):
        for server in reversed(self.servers):
            server.terminate()
        for server in reversed(self.servers):
            server.finish()

    def serve(self, name, host, *args):
        server = Daemon(name, [self.dask, *args], self.folder, wrapper=host.wrapper,
                        twistd=False)
        self.servers.append(server)
        return server

    def sim(self, name, wrapper, *args):
        """bazaar-sim's --json, run by wrapper (in a namespace, or not)."""
        out = os.path.join(self.folder, f"{name}.json")
        done = subprocess.run([*wrapper, sys.executable, "-m", "twisted_bazaar.cli.sim",
                               *RUN, *args, "--json", out], cwd=self.folder,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(done.returncode, 0, f"{name}: {done.stderr[-2000:]}")
        with open(out) as f:
            return json.load(f)

    def test_sameAsTheLocalCluster(self):
        """Two workers in namespaces of their own, and a client in a third,
        give the local cluster's metrics; each shard sent the other
        messages."""
        scheduler, one, two, client = (self.bed.public(name)
                                       for name in ("s", "wa", "wb", "c"))
        address = f"tcp://{scheduler.address}:{PORT}"
        self.serve("scheduler", scheduler, "scheduler", "--host", scheduler.address,
                   "--port", str(PORT), "--no-dashboard"
                   ).waitFor(r"Scheduler at:", TIMEOUT)
        workers = [self.serve(f"worker {host.namespace}", host, "worker", address,
                              "--host", host.address, "--nthreads", "1", "--no-nanny",
                              "--no-dashboard", "--resources", f"MEMORY={4 * 2**30}")
                   for host in (one, two)]
        for worker in workers:
            worker.waitFor(rf"Registered to: +{re.escape(address)}", TIMEOUT)
        apart = self.sim("apart", client.wrapper, "--scheduler", address)
        local = self.sim("local", ())
        self.assertEqual(comparable(apart), comparable(local))
        self.assertEqual(apart["purchases"], 10)
        each = apart["shards"]["each"]
        self.assertEqual((apart["shards"]["engine"], len(each)), ("dask", 2))
        self.assertTrue(all(shard["messages_to_other_shards"] > 0 for shard in each))
