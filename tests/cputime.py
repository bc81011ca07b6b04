"""
A pytest plugin that says where the suite's CPU time goes, test by test:
on only when ``BAZAAR_TEST_CPU`` names the table to write, e.g.::

    BAZAAR_TEST_CPU=build/cpu.txt .venv/bin/python -m pytest -q -n 2 tests/e2e

Wall time says little on a machine others load; CPU time is what a
loaded machine has to find for the suite.  Each test (its setup, call
and teardown) is charged with the CPU time of the pytest process that
ran it plus that of every process below it:

- a process still running (a daemon of a module's fixture, say) is read
  from ``/proc/<pid>/stat`` (its utime and stime, and the cutime and
  cstime of what it reaped itself) at each test's start and end, and
  charged with what it used in between;
- a process reaped during the test is in pytest's ``RUSAGE_CHILDREN``
  in full, less what earlier tests were charged for it while it ran.

So a module's daemons are charged to the tests they served, and a
module's total is right whichever fixture started them.  Each process
(every xdist worker) writes its lines beside the table; the first
process adds them up into the table at the end: the tests, files and
folders, most CPU first.
"""

import os
import resource
from pathlib import Path

import pytest

from twisted_bazaar.testing.stopping import descendants

#: The environment variable naming the table; the plugin is off without it.
VARIABLE = "BAZAAR_TEST_CPU"
#: The name the table gives each process's time outside its tests.
OUTSIDE = "(outside tests)"
#: How many tests the table lists one by one (files and folders: all).
TOP_TESTS = 60


def ticksPerSecond():
    """The unit of /proc's CPU times."""
    return os.sysconf("SC_CLK_TCK")


def processSeconds(pid, proc="/proc", hz=None):
    """
    CPU seconds of a running process and of the children it reaped, from
    ``/proc/<pid>/stat``; None once it is gone.
    """
    try:
        with open(os.path.join(proc, str(pid), "stat"), "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the name: state is field 3, utime..cstime fields 14 to 17.
    return sum(int(field) for field in fields[11:15]) / (hz or ticksPerSecond())


def ownSeconds(who):
    """The user and system seconds of getrusage(who)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """
    The CPU time charged since the last reading: this process's, the
    reaped children's, and the running descendants'.
    """

    def __init__(self, pid=None, own=ownSeconds, find=descendants, read=processSeconds):
        self._pid = pid or os.getpid()
        self._own = own
        self._find = find
        self._read = read
        self._last = self._reading()

    def _reading(self):
        running = {}
        for child in self._find(self._pid):
            seconds = self._read(child)
            if seconds is not None:
                running[child] = seconds
        return (self._own(resource.RUSAGE_SELF),
                self._own(resource.RUSAGE_CHILDREN), running)

    def ownTotal(self):
        """This process's CPU seconds since it started."""
        return self._own(resource.RUSAGE_SELF)

    def charge(self):
        """(own, children) CPU seconds since the last call, or creation."""
        selfBefore, reapedBefore, runningBefore = self._last
        selfNow, reapedNow, runningNow = self._last = self._reading()
        children = reapedNow - reapedBefore
        for pid, seconds in runningNow.items():
            children += seconds - runningBefore.get(pid, 0.0)
        for pid, seconds in runningBefore.items():
            if pid not in runningNow:
                # Gone since: its whole time reached its reaper's count.
                children -= seconds
        return selfNow - selfBefore, max(children, 0.0)


def formatLine(own, children, nodeid):
    """One measured test, as a process writes it."""
    return f"{own:.3f} {children:.3f} {nodeid}\n"


def parseLines(text):
    """The (own, children, nodeid) of a process's lines."""
    for line in text.splitlines():
        own, children, nodeid = line.split(" ", 2)
        yield float(own), float(children), nodeid


def totals(rows, key):
    """Sum (own, children, count) by key(nodeid), most CPU first."""
    sums = {}
    for own, children, nodeid in rows:
        entry = sums.setdefault(key(nodeid), [0.0, 0.0, 0])
        entry[0] += own
        entry[1] += children
        entry[2] += 1
    return sorted(sums.items(), key=lambda item: -(item[1][0] + item[1][1]))


def fileOf(nodeid):
    return nodeid.split("::")[0]


def folderOf(nodeid):
    return os.path.dirname(fileOf(nodeid)) or fileOf(nodeid)


def table(rows, top=TOP_TESTS):
    """The report: totals, then folders, files and the costliest tests."""
    rows = list(rows)
    own = sum(row[0] for row in rows)
    children = sum(row[1] for row in rows)
    tests = sum(not row[2].startswith(OUTSIDE) for row in rows)
    lines = [f"{tests} tests, {own + children:.1f} CPU-s: "
             f"{own:.1f} in pytest, {children:.1f} in its processes",
             "", "CPU-s    pytest   processes  tests  where"]

    def section(title, entries):
        lines.extend(["", title])
        for name, (o, c, n) in entries:
            lines.append(f"{o + c:8.2f} {o:8.2f} {c:9.2f} {n:6d}  {name}")

    section("by folder", totals(rows, folderOf))
    section("by file", totals(rows, fileOf))
    section(f"the {top} costliest tests",
            totals(rows, lambda nodeid: nodeid)[:top])
    return "\n".join(lines) + "\n"


class CPUPlugin:
    """The plugin of one process, writing its lines to C{path}.<name>."""

    def __init__(self, path, name, meter=None):
        self._path = Path(path)
        self._lines = Path(f"{path}.{name}")
        self._lines.parent.mkdir(parents=True, exist_ok=True)
        self._lines.write_text("")
        self._meter = meter or Meter()
        self._charged = 0.0

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self._meter.charge()
        yield
        own, children = self._meter.charge()
        self._charged += own
        with self._lines.open("a") as out:
            out.write(formatLine(own, children, item.nodeid))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        """Name the table to each xdist worker (L{pytest_configure})."""
        node.workerinput[VARIABLE] = str(self._path)

    def pytest_sessionfinish(self, session):
        # What this process spent outside any test: its start-up, its
        # imports and the collection.
        with self._lines.open("a") as out:
            out.write(formatLine(self._meter.ownTotal() - self._charged, 0.0,
                                 f"{OUTSIDE}::{self._lines.suffix[1:]}"))
        if hasattr(session.config, "workerinput"):
            return
        rows = []
        for part in sorted(self._path.parent.glob(self._path.name + ".*")):
            rows.extend(parseLines(part.read_text()))
            part.unlink()
        self._path.write_text(table(rows))


def pytest_configure(config, environ=None):
    """
    On in the first process where the variable names the table, and in
    its xdist workers, told by L{CPUPlugin.pytest_configure_node}.  The
    first takes the variable out of its environment: a pytest the suite
    runs of its own (tests/test_clock_start.py's) took it, as a first
    process, and gathered the workers' lines into its own table while
    they ran, their tests until then lost.
    """
    environ = os.environ if environ is None else environ
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        path, worker = environ.pop(VARIABLE, None), "main"
    else:
        path, worker = workerinput.get(VARIABLE), workerinput["workerid"]
    if path:
        config.pluginmanager.register(CPUPlugin(os.path.abspath(path), worker), "bazaar-cputime")
