"""Tests for tests/cputime.py, the suite's CPU meter."""

import os
import resource
import shutil
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests import cputime


def scratch(case):
    """A folder of the test's own, removed when it ends."""
    folder = tempfile.mkdtemp(prefix="bazaar-cputime-")
    case.addCleanup(shutil.rmtree, folder, True)
    return folder


class FakeProcesses:
    """The readings a L{cputime.Meter} takes, set by the test."""

    def __init__(self):
        self.own = {resource.RUSAGE_SELF: 0.0, resource.RUSAGE_CHILDREN: 0.0}
        self.running = {}

    def meter(self):
        return cputime.Meter(
            pid=1, own=self.own.__getitem__, find=lambda pid: list(self.running),
            read=self.running.get)


class MeterTests(SynchronousTestCase):
    def setUp(self):
        self.processes = FakeProcesses()
        self.meter = self.processes.meter()

    def test_ownTime(self):
        """The time of the process itself since the last reading."""
        self.processes.own[resource.RUSAGE_SELF] = 2.5
        self.assertEqual(self.meter.charge(), (2.5, 0.0))
        self.processes.own[resource.RUSAGE_SELF] = 3.0
        self.assertEqual(self.meter.charge(), (0.5, 0.0))

    def test_aRunningChildIsChargedWhatItUsedSince(self):
        """A daemon that runs on is charged by the piece to each test."""
        self.processes.running[7] = 1.0
        self.assertEqual(self.meter.charge(), (0.0, 1.0))
        self.processes.running[7] = 1.75
        self.assertEqual(self.meter.charge(), (0.0, 0.75))

    def test_aReapedChildIsNotChargedTwice(self):
        """
        A child seen running, then reaped: its whole time reaches
        RUSAGE_CHILDREN, less what was charged already.
        """
        self.processes.running[7] = 1.0
        self.meter.charge()
        del self.processes.running[7]
        self.processes.own[resource.RUSAGE_CHILDREN] = 1.5
        self.assertEqual(self.meter.charge(), (0.0, 0.5))

    def test_aChildStartedAndReapedWithinATest(self):
        """A child never seen running is charged all of its time."""
        self.processes.own[resource.RUSAGE_CHILDREN] = 4.0
        self.assertEqual(self.meter.charge(), (0.0, 4.0))


class ProcessSecondsTests(SynchronousTestCase):
    def test_readsTheFourTimes(self):
        """utime, stime, cutime and cstime, in ticks, are added up."""
        proc = scratch(self)
        os.makedirs(os.path.join(proc, "42"))
        fields = ["S"] + ["0"] * 10 + ["100", "50", "30", "20"] + ["0"] * 30
        with open(os.path.join(proc, "42", "stat"), "w") as stat:
            stat.write("42 (a (name) here) " + " ".join(fields))
        self.assertEqual(cputime.processSeconds(42, proc=proc, hz=100), 2.0)

    def test_goneIsNone(self):
        self.assertIsNone(cputime.processSeconds(42, proc=scratch(self), hz=100))

    def test_thisProcess(self):
        """This process has used some CPU time, and /proc says so."""
        seconds = cputime.processSeconds(os.getpid())
        self.assertGreater(seconds, 0.0)


class TableTests(SynchronousTestCase):
    def test_linesRoundTrip(self):
        text = cputime.formatLine(1.25, 0.5, "tests/a/test_b.py::T::test_c[x y]")
        self.assertEqual(list(cputime.parseLines(text)),
                         [(1.25, 0.5, "tests/a/test_b.py::T::test_c[x y]")])

    def test_totalsMostFirst(self):
        """Files and folders are summed and listed most CPU first."""
        rows = [(1.0, 0.0, "tests/a/test_x.py::t1"), (1.0, 2.0, "tests/a/test_x.py::t2"),
                (0.5, 0.0, "tests/b/test_y.py::t3"), (0.0, 9.0, "tests/b/test_z.py::t4")]
        self.assertEqual(cputime.totals(rows, cputime.fileOf), [
            ("tests/b/test_z.py", [0.0, 9.0, 1]),
            ("tests/a/test_x.py", [2.0, 2.0, 2]),
            ("tests/b/test_y.py", [0.5, 0.0, 1]),
        ])
        self.assertEqual(cputime.totals(rows, cputime.folderOf), [
            ("tests/b", [0.5, 9.0, 2]), ("tests/a", [2.0, 2.0, 2])])

    def test_table(self):
        text = cputime.table([(1.0, 2.0, "tests/a/test_x.py::t1")], top=1)
        self.assertIn("1 tests, 3.0 CPU-s: 1.0 in pytest, 2.0 in its processes", text)
        self.assertIn("    3.00     1.00      2.00      1  tests/a/test_x.py::t1", text)


class PluginTests(SynchronousTestCase):
    def test_offByDefault(self):
        """Without the variable, no plugin is registered."""
        registered = []

        class Config:
            pluginmanager = type("PM", (), {"register": lambda self, *a: registered.append(a)})()

        environ = dict(os.environ)
        environ.pop(cputime.VARIABLE, None)
        self.patch(os, "environ", environ)
        cputime.pytest_configure(Config())
        self.assertEqual(registered, [])

    def registered(self, workerinput=None, environ=None):
        """What pytest_configure registers, for a worker given
        C{workerinput} or the first process given C{environ}."""
        registered = []

        class Config:
            pluginmanager = type("PM", (), {"register": lambda self, *a: registered.append(a)})()

        config = Config()
        if workerinput is not None:
            config.workerinput = workerinput
        cputime.pytest_configure(config, environ)
        return registered

    def test_theFirstProcessTakesTheVariable(self):
        """The first process takes the variable out of its environment, so
        a pytest the suite runs of its own (which would gather the
        workers' lines as a first process) is not on."""
        path = os.path.join(scratch(self), "cpu.txt")
        environ = {cputime.VARIABLE: path}
        (plugin, name), = self.registered(environ=environ)
        self.assertEqual((plugin._lines.name, name), ("cpu.txt.main", "bazaar-cputime"))
        self.assertEqual(environ, {})
        self.assertEqual(self.registered(environ=environ), [])

    def test_workersAreToldTheTable(self):
        """Each xdist worker is told the table by the first process, and
        writes its lines beside it."""
        path = os.path.join(scratch(self), "cpu.txt")
        (plugin, _), = self.registered(environ={cputime.VARIABLE: path})
        node = type("Node", (), {"workerinput": {"workerid": "gw3"}})()
        plugin.pytest_configure_node(node)
        (worker, _), = self.registered(workerinput=node.workerinput, environ={})
        self.assertEqual(worker._lines, Path(path + ".gw3"))
        self.assertEqual(self.registered(workerinput={"workerid": "gw4"}, environ={}), [])

    def test_aProcessWritesItsLinesAndTheFirstTheTable(self):
        """
        Each test's charge goes to the process's file; the first process
        adds up every process's file into the table, and removes them.
        """
        folder = os.path.join(scratch(self), "run")
        path = os.path.join(folder, "cpu.txt")
        processes = FakeProcesses()
        plugin = cputime.CPUPlugin(path, "main", meter=processes.meter())
        with open(path + ".gw1", "w") as other:
            other.write(cputime.formatLine(0.0, 3.0, "tests/test_other.py::t"))

        class Item:
            nodeid = "tests/test_here.py::t"

        run = plugin.pytest_runtest_protocol(Item(), None)
        next(run)
        processes.own[resource.RUSAGE_SELF] = 1.5
        with self.assertRaises(StopIteration):
            next(run)

        class Session:
            config = object()

        # Half a second more before the end: outside any test.
        processes.own[resource.RUSAGE_SELF] = 2.0
        plugin.pytest_sessionfinish(Session())
        with open(path) as table:
            text = table.read()
        self.assertIn("\n    3.00     0.00      3.00      1  tests/test_other.py\n", text)
        self.assertIn("\n    1.50     1.50      0.00      1  tests/test_here.py\n", text)
        self.assertIn("\n    0.50     0.50      0.00      1  (outside tests)\n", text)
        self.assertTrue(text.startswith("2 tests, 5.0 CPU-s: "), text)
        self.assertEqual(sorted(os.listdir(folder)), ["cpu.txt"])
