"""
One run of a sweep (``bazaar-sim sweep``), as a Dask worker runs it:
``bazaar-sim`` in a child process, watched so that it stays within the
memory it declared, and how much memory a run declares.

A run is a child process rather than a call in the worker so that its
``--json`` is what ``bazaar-sim --json`` writes (its own interpreter, its
own peak RSS), and so that a run that outgrows its memory is killed
alone: the worker and the runs beside it go on.
"""

import ctypes
import os
import subprocess
import sys
import tempfile

MiB = 2**20
GiB = 2**30

#: What a run holds whatever its size (the interpreter, the modules, the
#: searches' records), with room to spare.
BASE_BYTES = GiB

#: Bytes a node at a run's peak, by start: a warm million peaked at
#: 10.4 to 14.7 GiB (docs/simulator.md, "A million nodes"), so 15.5 KiB
#: a node declares 15.8 GiB for it; a cold start of 10,000 peaked at 262
#: to 440 MB ("Scale: 100,000 nodes", the simgoals run), and 64 KiB a
#: node leaves room for faults and real signatures.
PER_NODE_BYTES = {"warm": 15_872, "cold": 64 * 1024}

#: Bytes a flooded search leaves at each node it reaches (its id in the
#: seen-set, its path): warm floods of 10,000 nodes, 500 searches and the
#: default ttl (7, which reaches every node) peaked at 1,005 to 1,816 MB
#: (docs/adversaries/n10000), over the 1,175 MiB the per-node figure
#: alone declares; 160 bytes for each of 500 x 10,000 declares 1,938 MiB.
FLOOD_SEARCH_BYTES = 160
#: Nodes a flooded search is counted to reach at most (the million-node
#: floods use ttl 5, which reaches a few thousand).
FLOOD_REACH = 20_000

#: Seconds between two looks at a run's memory.
WATCH_EVERY = 0.2


def memoryNeeded(nodes, start, discovery="flood", searches=0):
    """The bytes a run of nodes with that start declares (and may use):
    a flood also the searches' traces at the nodes they reach."""
    need = BASE_BYTES + nodes * PER_NODE_BYTES[start]
    if discovery == "flood":
        need += searches * min(nodes, FLOOD_REACH) * FLOOD_SEARCH_BYTES
    return need


class RunFailed(Exception):
    """A run that ended without its ``--json``; the reason in one line."""


def runWithin(argv, limit):
    """
    Run ``bazaar-sim ARGV --quiet --json FILE`` in a child process, killed
    as soon as its resident memory passes limit bytes.

    @return: the bytes of the ``--json`` file.
    @raise RunFailed: for a run that failed or was killed.
    """
    import psutil

    with tempfile.TemporaryDirectory(prefix="bazaar-sweep-") as folder:
        target = os.path.join(folder, "run.json")
        with open(os.path.join(folder, "stderr"), "w+b") as errors:
            child = subprocess.Popen(
                [sys.executable, "-m", "twisted_bazaar.cli.sim", *argv, "--quiet",
                 "--json", target],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                preexec_fn=_dieWithParent)
            try:
                _watch(child, psutil.Process(child.pid), limit, psutil.NoSuchProcess)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            if child.returncode:
                errors.seek(0)
                raise RunFailed(_reason(child.returncode, errors.read()))
        with open(target, "rb") as f:
            return f.read()


def _watch(child, process, limit, gone):
    """Wait for child to end; kill it if its resident memory, with its own
    children's, passes limit (looked at first as soon as it runs); a
    sharded run's workers end with it."""
    while True:
        resident = _resident(process, gone)
        if resident > limit:
            child.kill()
            child.wait()
            raise RunFailed(f"over its memory limit: {resident / MiB:,.0f} MiB resident, "
                            f"limit {limit / MiB:,.0f} MiB; killed (the sweep's "
                            "--run-memory raises the limit)")
        try:
            child.wait(WATCH_EVERY)
            return
        except subprocess.TimeoutExpired:
            pass


def _resident(process, gone):
    """
    The resident bytes of process and every process under it: a run with
    ``--shards`` holds its nodes in its local cluster's workers, its
    children (the child alone, its Dask client, was watched: a sharded
    run never passed its limit).
    """
    try:
        family = [process, *process.children(recursive=True)]
    except gone:
        return 0
    total = 0
    for each in family:
        try:
            total += each.memory_info().rss
        except gone:
            pass
    return total


def _reason(status, stderr):
    """One line on why a child ended with status: its last line of stderr
    (a usage error's own line, not the "see --help" after it)."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()
             if line.strip()]
    if len(lines) > 1 and lines[-1].startswith("see ") and lines[-1].endswith("--help"):
        lines.pop()
    if status < 0:
        return f"killed by signal {-status}" + (f": {lines[-1]}" if lines else "")
    return lines[-1] if lines else f"exit status {status}"


def _prctl():
    """Linux's prctl, to tie a child's life to its worker's; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()
#: prctl's PR_SET_PDEATHSIG, and SIGKILL.
_PR_SET_PDEATHSIG, _SIGKILL = 1, 9


def _dieWithParent():
    """In the child, before it runs: die when the worker that started it
    does (a sweep stopped with Ctrl-C closes its workers, and leaves no run
    going on alone)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, _SIGKILL)
