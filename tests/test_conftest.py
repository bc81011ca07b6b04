"""
Tests of tests/conftest.py's order of the suite (L{interleaved}): the
end-to-end modules spread among the others, each module whole, none lost;
of its units of work (L{groupOf}): a group's files one unit; and of the
bytecode its processes keep apart (L{bytecodeCache}); of the global
log that keeps no test's objects alive (L{unbufferedLog}); of the
clocks' start (L{clockStart}); and of the Hypothesis plugins the suite's
package leaves out (tests/__init__.py).
"""

import gc
import os
import subprocess
import re
import sys
import warnings
import weakref
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

from twisted.logger import LogBeginner, LogPublisher, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from tests.conftest import (E2E_WEIGHT, GROUPS, GroupScheduling, bytecodeCache, clockStart,
                            groupOf, groupsFirst, interleaved, unbufferedLog, weight)

#: The suite's folder, and a function of a module's own that keeps what
#: it computed for the rest of the process.
TESTS = Path(__file__).resolve().parent
CACHED = re.compile(r"^@(functools\.)?(cache|lru_cache)\b", re.MULTILINE)


def items(*modules):
    return [SimpleNamespace(nodeid=f"{module}::test_{n}")
            for module, count in modules for n in range(count)]


class InterleavedTests(SynchronousTestCase):
    def test_spreadWholeAndAll(self):
        found = items(("tests/a/test_1.py", 2), ("tests/a/test_2.py", 1),
                      ("tests/e2e/test_x.py", 3), ("tests/e2e/test_y.py", 1),
                      ("tests/b/test_3.py", 2), ("tests/test_4.py", 1))
        ordered = interleaved(found)
        self.assertEqual(sorted(item.nodeid for item in ordered),
                         sorted(item.nodeid for item in found))
        modules = [item.nodeid.split("::")[0] for item in ordered]
        runs = [module for i, module in enumerate(modules)
                if i == 0 or modules[i - 1] != module]
        self.assertEqual(runs, ["tests/a/test_1.py", "tests/e2e/test_x.py",
                                "tests/a/test_2.py", "tests/b/test_3.py",
                                "tests/e2e/test_y.py", "tests/test_4.py"])
        # Each module's tests in their own order.
        self.assertEqual([item.nodeid for item in ordered][:2],
                         ["tests/a/test_1.py::test_0", "tests/a/test_1.py::test_1"])

    def test_oneKindAlone(self):
        """Only unit tests, or only end-to-end ones: as found."""
        for found in (items(("tests/a/test_1.py", 2)), items(("tests/e2e/test_x.py", 2))):
            self.assertEqual(interleaved(found), found)


class Worker:
    """An xdist worker's controller, as the scheduler sees one: what it
    is told to run, by index in its collection."""

    def __init__(self):
        self.given = []

    def send_runtest_some(self, indices):
        self.given.append(indices)


class GroupTests(SynchronousTestCase):
    def test_aGroupIsOneUnit(self):
        """Every test of a group's files is one unit of work, whatever
        the test (or a group mark xdist may yet add to its id); any other
        test is a unit alone."""
        timing = [path for path, group in GROUPS.items() if group == "timing"]
        self.assertGreater(len(timing), 1)
        units = {groupOf(f"{path}::Tests::test_{n}{mark}")
                 for path in timing for n in range(3) for mark in ("", "@timing")}
        self.assertEqual(units, {"timing"})
        alone = "tests/core/test_node.py::NodeTests::test_ready"
        self.assertEqual(groupOf(alone), alone)

    def test_aFileThatComputesOnceAProcessIsOneUnit(self):
        """A test file with a cache of its own (a function of its top
        level under functools.cache or lru_cache) is in a group: spread
        over the workers, each would compute it again."""
        cached = {path.relative_to(TESTS.parent).as_posix()
                  for path in TESTS.rglob("test_*.py") if CACHED.search(path.read_text())}
        self.assertIn("tests/test_dials.py", cached)
        self.assertEqual(sorted(path for path in cached if path not in GROUPS), [])

    def test_theHeaviestGroupsFirst(self):
        """The groups are given out first, the heaviest first, an
        end-to-end test weighing E2E_WEIGHT unit tests (xdist's own order,
        by number of tests, put "sweep" before "nat"); every other test
        after them, in the order found."""
        sweep = {f"tests/cli/test_sweep.py::test_{n}": False for n in range(25)}
        nat = {f"tests/e2e/test_nat_live.py::T::test_{n}": False for n in range(15)}
        alone = ["tests/e2e/test_x.py::T::test_a", "tests/a/test_1.py::test_b"]
        queue = {"sweep": sweep, "nat": nat, **{nodeid: {nodeid: False} for nodeid in alone}}
        ordered = groupsFirst(queue)
        self.assertEqual(list(ordered), ["nat", "sweep", *alone])
        self.assertEqual(ordered["nat"], nat)
        self.assertEqual(weight(nat), 15 * E2E_WEIGHT)

    def test_theSchedulerGivesOutTheHeaviestGroupFirst(self):
        """The scheduler orders its queue once, as it gives out the first
        unit of work, the queue whole by then."""
        scheduler = GroupScheduling.__new__(GroupScheduling)
        scheduler._ordered = False
        scheduler.workqueue = OrderedDict(
            [("sweep", {"tests/cli/test_sweep.py::test_a": False,
                        "tests/cli/test_sweep.py::test_b": False}),
             ("nat", {"tests/e2e/test_nat_live.py::T::test_a": False})])
        node = Worker()
        scheduler.assigned_work = {}
        scheduler.registered_collections = {node: ["tests/e2e/test_nat_live.py::T::test_a"]}
        scheduler._assign_work_unit(node)
        self.assertEqual((node.given, list(scheduler.workqueue)), ([[0]], ["sweep"]))

    def test_theSchedulerSplitsByGroup(self):
        """xdist's scheduling by scope, the scope a test's group: the
        scheduler xdist is given for --dist loadgroup."""
        scheduler = GroupScheduling.__new__(GroupScheduling)
        self.assertEqual(scheduler._split_scope("tests/e2e/test_nat_live.py::T::test_a"),
                         "nat")


class BytecodeCacheTests(SynchronousTestCase):
    def test_keptApartWhenNoneIsWritten(self):
        """Told to write no bytecode, the suite's processes keep it in the
        folder given, away from the sources, and read it there."""
        environ = {"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/bin"}
        interpreter = SimpleNamespace(dont_write_bytecode=True, pycache_prefix=None)
        bytecodeCache(environ, "/checkout/build/pycache", interpreter)
        self.assertEqual(environ, {"PYTHONPYCACHEPREFIX": "/checkout/build/pycache",
                                   "PATH": "/bin"})
        self.assertEqual(interpreter, SimpleNamespace(
            dont_write_bytecode=False, pycache_prefix="/checkout/build/pycache"))

    def test_anEnvironmentsOwnChoiceKept(self):
        """Bytecode written beside the sources, or to a folder of the
        environment's own: left as it is."""
        for environ in ({"PATH": "/bin"}, {"PYTHONDONTWRITEBYTECODE": ""},
                        {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/mine"}):
            before = dict(environ)
            interpreter = SimpleNamespace(dont_write_bytecode=True, pycache_prefix=None)
            bytecodeCache(environ, "/checkout/build/pycache", interpreter)
            self.assertEqual(environ, before)
            self.assertEqual(interpreter, SimpleNamespace(dont_write_bytecode=True,
                                                          pycache_prefix=None))


class Source:
    """An event's C{log_source}: a node, say, with all it holds."""


def sourceOutlives(publisher):
    """Whether an event's source outlives the event, once published."""
    source = Source()
    alive = weakref.ref(source)
    publisher({"log_source": source, "log_format": "an event"})
    del source
    gc.collect()
    return alive() is not None


class UnbufferedLogTests(SynchronousTestCase):
    def test_beginnerKeepsEventsUntilUnbuffered(self):
        publisher = LogPublisher()
        beginner = LogBeginner(publisher, sys.stderr, sys, warnings)
        self.assertTrue(sourceOutlives(publisher))
        unbufferedLog(beginner, publisher)
        self.assertFalse(sourceOutlives(publisher))

    def test_suiteKeepsNoEvent(self):
        """The suite's own global log lets a test's objects go."""
        self.assertFalse(sourceOutlives(globalLogPublisher))


class ClockStartTests(SynchronousTestCase):
    def test_everyClockStartsThere(self):
        """C{--clock-start}'s clocks read its seconds until advanced, each
        its own; its class is left as found."""
        from twisted.internet import task

        class Clock(task.Clock):
            pass

        clockStart(1.8e9, Clock)
        first, second = Clock(), Clock()
        first.advance(5)
        self.assertEqual((first.seconds(), second.seconds()), (1.8e9 + 5, 1.8e9))
        self.assertEqual(task.Clock.rightNow, task.Clock().seconds())


class HypothesisPluginsTests(SynchronousTestCase):
    def test_noOtherPackagesPlugins(self):
        """Importing the suite's package loads no Hypothesis plugin of
        another package: trio, whose plugin is one, is not imported."""
        found = subprocess.run(
            [sys.executable, "-c", "import sys, tests; print('trio' in sys.modules)"],
            cwd=TESTS.parent, capture_output=True, text=True, timeout=120,
            env={name: value for name, value in os.environ.items()
                 if name != "HYPOTHESIS_NO_PLUGINS"})
        self.assertEqual((found.returncode, found.stdout.strip()), (0, "False"), found.stderr)
