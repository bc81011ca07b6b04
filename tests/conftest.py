"""Settings for the whole suite."""

import os
import sys
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

#: Ctrl-C and SIGTERM stop the suite and every process it started
#: (twisted_bazaar/testing/stopping.py says why pytest alone does not);
#: the daemons are forked from a process that has imported twistd
#: (tests/forkserver.py); a TestCase class's fixtures are looked for among
#: the names it defines itself, not its framework's (tests/casescan.py); a
#: test that leaves a timer in the global reactor fails (tests/globaltimers.py).
pytest_plugins = [
    "twisted_bazaar.testing.stopping", "tests.cputime", "tests.forkplugin", "tests.casescan",
    "tests.globaltimers",
]

#: The files whose tests a parallel run (``make test``: pytest-xdist with
#: ``--dist loadgroup``) keeps on one worker, by group (L{GroupScheduling}):
#: a group's tests run one after the other, beside other tests, never two
#: at once; the groups go first, the most tests first.  Every
#: other test goes to whichever worker is free: the end-to-end tests'
#: daemons listen on ports the kernel picks (or ones tests/e2e/helpers.py
#: picks out of its way), in folders and network namespaces of their own.
GROUPS = {
    # A cluster of Dask worker processes for the module (a fixture), set
    # up by each worker that runs one of its tests: spread out, it would
    # be started on each, and the sweeps' own clusters beside them, more
    # processes than 2 cores serve in time.
    "tests/cli/test_sweep.py": "sweep",
    # Both build the docs site, whose hook keeps the search's shim under
    # build/ in the checkout, fetched when it is not there: two builds at
    # once would write the same files.
    "tests/test_docs_site.py": "docs-site",
    "tests/e2e/test_docs_site_live.py": "docs-site",
    # They measure time: a relayed transfer's pace against its cap, a
    # purchase within a bound after a kill or a punch, how soon a dead
    # peer is found out, how soon a stopped run ends.  One at a time, no
    # two of them share the machine's moment.
    "tests/e2e/test_relay_pace_live.py": "timing",
    "tests/e2e/test_several_trackers_live.py": "timing",
    "tests/e2e/test_chord_live.py": "timing",
    "tests/e2e/test_punched_live.py": "timing",
    "tests/e2e/test_lan_live.py": "timing",
    "tests/e2e/test_suite_stops_live.py": "timing",
    # Thirteen markets behind NAT routers, each a minute or so at load,
    # whose waits are bounded like any end-to-end test's and measure
    # nothing: one at a time, in a group of their own.  In "timing" they
    # made it one worker's ten minutes at load, longer than the rest of
    # the suite (a group is one unit of work, given to one worker).
    "tests/e2e/test_nat_live.py": "nat",
    "tests/e2e/test_class_live.py": "nat",
    # Four Chromium browsers at once (each of these files starts one, and
    # a market of up to 20 nodes) take more memory and CPU than 2 cores
    # and a small machine have: one browser at a time.
    "tests/e2e/test_web_live.py": "browser",
    "tests/e2e/test_web_market_live.py": "browser",
    "tests/e2e/test_web_relayed_live.py": "browser",
    "tests/e2e/test_web_steady_live.py": "browser",
}

#: Files whose tests share what their process computes once (a cache of
#: the module's: the simulator's runs of tests/sim/test_attack.py, the
#: rings of tests/schemes/chord/test_detour.py, a CPU-s or more).
#: Spread over the workers, each worker that ran one of a file's tests
#: computed it again; so each file is a group of its own, its tests on
#: one worker, the others' beside it.
ONCE_A_PROCESS = ("tests/schemes/chord/test_detour.py", "tests/sim/test_attack.py")
GROUPS.update((path, path) for path in ONCE_A_PROCESS)

#: The checks of the package's source, which share one parse of it a
#: process (tests/packagesource.py, 1.2 to 2 CPU-s): one group, so that
#: one worker parses it, not each worker that runs one of them.
SOURCE_CHECKS = (
    "tests/reach/test_sources.py",
    "tests/test_capability_probes.py",
    "tests/test_class_coupling.py",
    "tests/test_dials.py",
    "tests/test_dispatch_style.py",
    "tests/test_foreign_writes.py",
    "tests/test_hooks.py",
    "tests/test_host_port.py",
    "tests/test_layers.py",
    "tests/test_parts_own_state.py",
    "tests/test_peer_log_lint.py",
    "tests/test_reach_holds_no_node.py",
)
GROUPS.update((path, "source") for path in SOURCE_CHECKS)


#: The end-to-end tests: real daemons, which mostly wait on each other.
E2E = "tests/e2e/"


def interleaved(items):
    """
    The items, each module's together and in its order, with the modules
    of the end-to-end tests spread evenly among the others.  A parallel
    run hands its workers the tests in this order: in the order found,
    the 61 end-to-end modules come in one block after tests/daemon, and
    the workers all waited on daemons at once, the cores idle, then all
    ran the CPU-bound unit tests at once, each starving the others.
    """
    modules = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    e2e = [tests for module, tests in modules.items() if module.startswith(E2E)]
    rest = [tests for module, tests in modules.items() if not module.startswith(E2E)]
    if not e2e or not rest:
        return items
    result, placed = [], 0
    for i, tests in enumerate(rest):
        # The end-to-end modules due by this one, evenly: all by the last.
        due = len(e2e) * (i + 1) // len(rest)
        while placed < due:
            result.extend(e2e[placed])
            placed += 1
        result.extend(tests)
    return result


def groupOf(nodeid):
    """The unit of work a test is given to a worker in: its file's group
    (L{GROUPS}), or the test alone."""
    return GROUPS.get(nodeid.split("::")[0].split("@")[0], nodeid)


#: What an end-to-end test weighs against a unit test in a group's
#: L{weight}: its daemons' start and waits, seconds to tens of seconds at
#: load, where most unit tests take a fraction of one.
E2E_WEIGHT = 20


def weight(nodeids):
    """A unit of work's guess at how long it runs: its tests, each
    end-to-end one counted L{E2E_WEIGHT} times."""
    return sum(E2E_WEIGHT if nodeid.startswith(E2E) else 1 for nodeid in nodeids)


def groupsFirst(workqueue):
    """
    xdist's queue of units of work (scope -> its tests) in the order they
    are given out: the groups first, the heaviest (L{weight}) first, then
    every other test in the order found (L{interleaved}).  A worker takes
    a group whole and little else meanwhile, so a long group given out
    last would run on alone at the end; xdist orders them by their
    number of tests, which put the checks of the source and the sweeps
    (CPU-s in a minute) before the "timing", "nat" and "browser" groups
    (minutes of end-to-end waits each).
    """
    names = set(GROUPS.values())
    groups = sorted((scope for scope in workqueue if scope in names),
                    key=lambda scope: weight(workqueue[scope]), reverse=True)
    return {scope: workqueue[scope]
            for scope in [*groups, *(scope for scope in workqueue if scope not in names)]}


class GroupScheduling(LoadScopeScheduling):
    """
    xdist's scheduling by scope, a test's scope its group (L{groupOf}),
    the groups given out heaviest first (L{groupsFirst}).  xdist's own
    ``--dist loadgroup`` marks a group in the test's node id, which
    pytest 9.2's structured node ids no longer take
    (pytest-dev/pytest-xdist#1386): every group's tests were spread over
    the workers, the timing tests run at once, two docs builds at once.
    """

    def __init__(self, config, log=None):
        super().__init__(config, log)
        self._ordered = False

    def _split_scope(self, nodeid):
        return groupOf(nodeid)

    def _assign_work_unit(self, node):
        # The queue is whole by the first unit given out, in the same call.
        if not self._ordered:
            self._ordered = True
            ordered = groupsFirst(self.workqueue)
            self.workqueue.clear()
            self.workqueue.update(ordered)
        super()._assign_work_unit(node)


#: Where the suite's processes keep the bytecode they compile when the
#: environment says to write none beside the sources (L{bytecodeCache}).
PYCACHE = Path(__file__).resolve().parent.parent / "build" / "pycache"


def bytecodeCache(environ, folder=PYCACHE, interpreter=sys):
    """
    With ``PYTHONDONTWRITEBYTECODE`` set (as on the machines the suite's
    figures are measured on), every Python process compiles each module it
    imports from source: each daemon and command the suite starts paid
    some 0.2 CPU-s for it (a tracker's and a node's code imported: 0.71
    user-s against 0.49 from bytecode).  So the processes the
    suite starts keep their bytecode in C{folder} instead
    (``PYTHONPYCACHEPREFIX``, under build/, outside the sources), and
    read it there; so does the suite's own process (C{interpreter}) for
    what it imports from now on: as the xdist controller it rewrote and
    compiled the asserts of some 100 modules at every run, 3 of its 5
    CPU-s over tests/core, and in one process (``JOBS=0``) every test
    module's.  An environment that writes bytecode, or names its own
    folder, is left as it is.
    """
    if environ.get("PYTHONDONTWRITEBYTECODE") and not environ.get("PYTHONPYCACHEPREFIX"):
        del environ["PYTHONDONTWRITEBYTECODE"]
        environ["PYTHONPYCACHEPREFIX"] = str(folder)
        interpreter.dont_write_bytecode = False
        interpreter.pycache_prefix = str(folder)


def unbufferedLog(beginner=None, publisher=None):
    """
    Stop Twisted's global log keeping every event until a log is begun.

    Until C{beginLoggingTo} is called, which the suite's own process
    never does, C{globalLogBeginner} keeps the last 65,536 events; each
    holds its C{log_source}, a node with its clock, links and timers, so
    every test's objects outlived it and each later test ran on a larger
    heap (C{tests/sim/test_shard.py::test_superpeer} 0.44 CPU-s alone,
    0.95 after C{tests/roles}).
    """
    from twisted.logger import globalLogBeginner, globalLogPublisher

    beginner = beginner or globalLogBeginner
    publisher = publisher or globalLogPublisher
    temporary = beginner._temporaryObserver
    if temporary is not None:
        publisher.removeObserver(temporary)


def pytest_addoption(parser):
    parser.addoption(
        "--clock-start", type=float, default=None, metavar="SECONDS",
        help="start every task.Clock at SECONDS, not 0: a daemon's clocks never"
             " read 0 (its wall clock an epoch, 1.8e9; its monotonic one a"
             " machine's uptime, 1.728e7 after 200 days)")


def clockStart(seconds, clock=None):
    """
    Start every C{task.Clock} made from now on at C{seconds} (its class's
    C{rightNow}, which a clock keeps until it is advanced).  A test that
    holds only at 0 (a fixture signed at 0 ms, an absolute time in an
    assert) hides what a daemon, whose clocks never read 0, does:
    C{--clock-start} runs the suite so.
    """
    from twisted.internet import task

    (clock or task.Clock).rightNow = float(seconds)


def pytest_configure(config):
    # Before xdist starts its workers, which inherit it with the daemons.
    bytecodeCache(os.environ)
    unbufferedLog()
    start = config.getoption("clock_start", None)
    if start is not None:
        clockStart(start)


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadgroup":
        return GroupScheduling(config, log)
    return None


def pytest_collection_modifyitems(config, items):
    items[:] = interleaved(items)
