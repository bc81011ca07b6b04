"""
Tests for L{twisted_bazaar.sim.sweep}: the memory a run declares, and
how a run is watched and killed past it.
"""

import subprocess
import sys

import pytest

from twisted_bazaar.sim import sweep
from twisted_bazaar.sim.sweep import GiB, MiB, RunFailed, memoryNeeded


def test_millionWarmFitsIssueFigure():
    """A warm million declares more than the largest measured (chord,
    15,064 MiB) and at most the 16 GiB a million nodes needs."""
    need = memoryNeeded(1_000_000, "warm")
    assert 15_064 * MiB < need <= 16 * GiB


def test_measuredRunsFit():
    """Each size measured in docs/simulator.md declares more than its peak:
    warm 100,000 (chord's 1,950 MB at most), cold 10,000 (440 MB)."""
    assert memoryNeeded(100_000, "warm") > 1_950 * 10**6
    assert memoryNeeded(10_000, "cold") > 440 * 10**6


def test_coldNeedsMoreThanWarm():
    assert memoryNeeded(10_000, "cold") > memoryNeeded(10_000, "warm")
    assert memoryNeeded(20, "warm") == sweep.BASE_BYTES + 20 * sweep.PER_NODE_BYTES["warm"]


class FakeChild:
    """A Popen that ends after waits timeouts, or when killed."""

    def __init__(self, waits):
        self.waits = waits
        self.killed = False
        self.returncode = None

    def wait(self, timeout=None):
        if self.killed or self.waits == 0:
            self.returncode = -9 if self.killed else 0
            return self.returncode
        self.waits -= 1
        raise subprocess.TimeoutExpired("bazaar-sim", timeout)

    def kill(self):
        self.killed = True


class Gone(Exception):
    pass


class FakeProcess:
    """psutil's Process: the resident sizes it reports, one a look; Gone
    when None."""

    def __init__(self, sizes, children=()):
        self.sizes = list(sizes)
        self.family = list(children)

    def children(self, recursive=False):
        assert recursive
        return self.family

    def memory_info(self):
        size = self.sizes.pop(0)
        if size is None:
            raise Gone()
        return type("Info", (), {"rss": size})


def test_watchKillsPastLimit():
    """A run whose resident memory passes its limit is killed, with a
    reason that says by how much."""
    child = FakeChild(waits=10)
    with pytest.raises(RunFailed) as caught:
        sweep._watch(child, FakeProcess([10 * MiB, 30 * MiB]), 20 * MiB, Gone)
    assert (child.killed, child.waits) == (True, 9)
    assert str(caught.value) == ("over its memory limit: 30 MiB resident, limit 20 MiB; "
                                 "killed (the sweep's --run-memory raises the limit)")


def test_watchLetsRunWithinLimitEnd():
    """A run within its limit ends on its own; a look that finds the
    process gone (it is ending) is no failure."""
    child = FakeChild(waits=2)
    sweep._watch(child, FakeProcess([10 * MiB, None, 20 * MiB]), 20 * MiB, Gone)
    assert (child.killed, child.returncode) == (False, 0)


def test_watchCountsTheRunsChildren():
    """A run's children count with it: a run with --shards holds its nodes
    in its local cluster's workers (its own process, the Dask client,
    stayed within any limit); a child gone between two looks is none."""
    child = FakeChild(waits=10)
    workers = [FakeProcess([8 * MiB, 12 * MiB]), FakeProcess([None, 12 * MiB])]
    with pytest.raises(RunFailed) as caught:
        sweep._watch(child, FakeProcess([4 * MiB, 4 * MiB], workers), 20 * MiB, Gone)
    assert (child.killed, child.waits) == (True, 9)
    assert str(caught.value).startswith("over its memory limit: 28 MiB resident")


def test_watchLooksAtOnce():
    """The first look is before any wait: a run already past its limit
    is killed however soon it would end."""
    child = FakeChild(waits=0)
    with pytest.raises(RunFailed):
        sweep._watch(child, FakeProcess([30 * MiB]), 20 * MiB, Gone)
    assert child.killed


def test_reason():
    """A failed run's reason is the last line it wrote on stderr, or how
    it ended."""
    assert sweep._reason(2, b"usage: ...\nbazaar-sim: error: no\n\n") == "bazaar-sim: error: no"
    assert sweep._reason(2, b"bazaar-sim: error: no\nsee bazaar-sim --help\n") == \
        "bazaar-sim: error: no"
    assert sweep._reason(1, b"") == "exit status 1"
    assert sweep._reason(-9, b"") == "killed by signal 9"
    assert sweep._reason(-6, b"Fatal\n") == "killed by signal 6: Fatal"


def test_runWithin():
    """runWithin gives the bytes of the run's --json; a run it cannot
    keep within its limit fails with the reason; a run bazaar-sim refuses
    fails with bazaar-sim's error."""
    argv = ["--nodes", "20", "--searches", "3", "--start", "warm", "--crypto", "fast"]
    text = sweep.runWithin(argv, GiB)
    assert text.startswith(b"{\n") and text.endswith(b"}\n")
    with pytest.raises(RunFailed, match="^over its memory limit: .* limit 1 MiB; killed"):
        sweep.runWithin(argv, MiB)
    with pytest.raises(RunFailed, match="^bazaar-sim: error: argument --nodes"):
        sweep.runWithin(["--nodes", "1"], GiB)


PARENT = """
import subprocess, sys
from twisted_bazaar.sim.sweep import _dieWithParent
child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"],
                         preexec_fn=_dieWithParent)
print(child.pid, flush=True)
child.wait()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_childDiesWithParent():
    """A run's process dies with the worker that started it (a sweep
    stopped with Ctrl-C closes its workers and leaves no run going)."""
    import psutil

    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    child = psutil.Process(int(parent.stdout.readline()))
    parent.kill()
    parent.wait()
    parent.stdout.close()
    child.wait(timeout=30)
    assert not child.is_running()


def test_floodsDeclareTheirSearchesTraces():
    """A flood of 10,000 nodes and 500 searches with the default ttl
    peaked at 1,816 MB (docs/adversaries/n10000): it declares more."""
    assert memoryNeeded(10_000, "warm", "flood", 500) > 1_816 * 10**6
    assert memoryNeeded(10_000, "warm", "chord", 500) == memoryNeeded(10_000, "warm")
