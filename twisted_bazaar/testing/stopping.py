"""
A pytest plugin that stops the suite when told: Ctrl-C or SIGTERM.

Left to themselves, neither signal stops a run of this suite:

- pytest-twisted runs the reactor in a greenlet, and a KeyboardInterrupt
  raised while that greenlet runs is caught and logged by the reactor's
  main loop, so a Ctrl-C during a test on the real reactor is lost;
- Twisted's own SIGTERM handler stops the reactor, and pytest goes on
  without it, each later reactor test failing in turn;
- the end-to-end daemons run in sessions of their own (so that a Ctrl-C
  reaches only the suite, which stops them in order), so no signal sent
  to the terminal or to ``make`` reaches them when the suite dies first.

So the first SIGINT or SIGTERM raises KeyboardInterrupt in the test at
hand (L{Stopper.interrupt} says how) and sends SIGTERM to every process
the suite started; whatever still runs at the end of the session is
killed.  A second signal ends the run at once.
Scratch folders (``tempfile``'s, and the daemons' ``TMPDIR``) are made
inside one folder of the run's own, removed when the session ends however
it ends.  The exit status of a stopped run is pytest's "interrupted" (2).

A test that ends in any other way once the signal came (a command under
test that catches KeyboardInterrupt and exits 1, as ``bazaar-sim sweep``
does) is an interrupted test too, not a failed one: the run says
"interrupted".

In a parallel run (pytest-xdist) each worker runs this plugin too, below
the first process (the controller), which sends SIGTERM to every process
below it, workers included.  So a worker takes a signal after its first
as said already (a Ctrl-C reaches the controller and its workers, then the
controller's SIGTERM reaches the workers again): the controller alone
ends the run at a second signal.  The workers' scratch folders are inside
the controller's, and what a worker killed before its cleanups left (the
network namespaces of L{twisted_bazaar.testing.netns}, named after the
worker's pid) the controller removes at the end.  A worker's session
over, it ignores SIGINT: execnet sends one to a worker that has not ended
5 s after its controller closed it.
"""

import os
import shutil
import signal
import tempfile
import threading

import pytest

#: The signals that stop the suite.
STOPPING = (signal.SIGINT, signal.SIGTERM)
#: Seconds the suite's processes get after SIGTERM before they are killed.
GRACE = 5.0
#: The prefix of the run's scratch folder in the system's temporary folder.
SCRATCH_PREFIX = "bazaar-tests-"


def descendants(pid, proc="/proc"):
    """
    The ids of every process below pid (children, their children, ...),
    read from ``/proc``: a daemon in a session of its own is still its
    parent's child.  A process that ends while being read is left out.
    """
    parents = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(os.path.join(proc, name, "stat"), "rb") as stat:
                # The command's name is in parentheses and may hold any
                # byte, so the fields are read after the last one.
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def signalAll(pids, signum):
    """Send signum to each process still there."""
    for pid in pids:
        try:
            os.kill(pid, signum)
        except OSError:
            pass


class Stopper:
    """
    The plugin's state for one session: its scratch folder, whether (and
    by what) it was told to stop, and the timer that kills what SIGTERM
    did not stop.
    """

    def __init__(self, kill=signalAll, find=descendants, makeTimer=threading.Timer,
                 removeNamespaces=None):
        self._kill = kill
        self._find = find
        self._makeTimer = makeTimer
        self._removeNamespaces = removeNamespaces or _removeNamespaces
        self._timer = None
        self.told = []
        #: True in a worker of a parallel run, which leaves a second
        #: signal to its controller.
        self.worker = False
        #: Every process found below this one once told to stop.
        self.seen = set()
        #: True once pytest has seen the KeyboardInterrupt.
        self.interrupted = False
        self.scratch = None
        self._previous = {}

    # -- the session ---------------------------------------------------------

    def start(self):
        """Make the run's scratch folder and take the stopping signals."""
        self.scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
        self._outside = (tempfile.tempdir, os.environ.get("TMPDIR"))
        tempfile.tempdir = self.scratch
        os.environ["TMPDIR"] = self.scratch
        self.takeSignals()

    def takeSignals(self):
        """Handle the stopping signals here (again, after the reactor
        has put its own SIGTERM handler in)."""
        for signum in STOPPING:
            previous = signal.signal(signum, self.onSignal)
            self._previous.setdefault(signum, previous)

    def finish(self):
        """
        The session's end, however it ends: kill what a stopped run left,
        give the signals back and remove the scratch folder.

        @return: True if the run was told to stop.
        """
        if self.told:
            if self._timer is not None:
                self._timer.cancel()
            self._kill(self._below(), signal.SIGKILL)
            if not self.worker:
                self._removeNamespaces({os.getpid(), *self.seen})
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
        if self.worker:
            # execnet sends its worker process SIGINT itself when the
            # worker has not ended 5 s after its controller closed it (a
            # worker's last collections, under load): Python's handler then
            # raised KeyboardInterrupt in whatever ran, as hypothesis's gc
            # callback (an unraisable exception, pytest's warning at the
            # end of the run).  The controller kills a worker that has not
            # ended 10 s after it closed it, and a Ctrl-C is its to handle.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
            tempfile.tempdir, tmpdir = self._outside
            if tmpdir is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = tmpdir
        return bool(self.told)

    # -- the signals -----------------------------------------------------

    def onSignal(self, signum, frame):
        """The first signal stops the test at hand and the suite's
        processes; a second ends the run at once."""
        self.told.append(signum)
        if len(self.told) > 1:
            if self.worker:
                return
            self._kill(self._below(), signal.SIGKILL)
            self._removeNamespaces({os.getpid(), *self.seen})
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
            os._exit(128 + signum)
            return
        self._kill(self._below(), signal.SIGTERM)
        self._timer = self._makeTimer(GRACE, self._killLeft)
        self._timer.daemon = True
        self._timer.start()
        self.interrupt()

    def interrupt(self):
        """
        Raise KeyboardInterrupt in the test at hand.  pytest-twisted calls
        every test inside its reactor's greenlet, where the exception
        fails the test and pytest sees it; but if the signal came while
        the reactor waited for events, its main loop logs and drops it,
        and the test waits on in the main greenlet: a call on the reactor
        throws it there, unless pytest has seen one already.
        """
        reactorGreenlet = _reactorGreenlet()
        if reactorGreenlet is not None:
            import greenlet
            if greenlet.getcurrent() is reactorGreenlet:
                import pytest_twisted
                pytest_twisted._instances.reactor.callLater(
                    0, self._throwInto, reactorGreenlet.parent)
        raise KeyboardInterrupt

    def _throwInto(self, main):
        if not self.interrupted:
            main.throw(KeyboardInterrupt)

    def _killLeft(self):
        self._kill(self._below(), signal.SIGKILL)

    def _below(self):
        """The processes below this one now (noted in L{seen})."""
        found = self._find(os.getpid())
        self.seen.update(found)
        return found


def _removeNamespaces(pids):
    """Remove the network namespaces a test bed of one of these processes
    left (L{twisted_bazaar.testing.netns.removeLeft}), if any can be."""
    from twisted_bazaar.testing import netns

    netns.removeLeft(pids)


def _reactorGreenlet():
    """pytest-twisted's reactor greenlet, if it has made one."""
    try:
        import pytest_twisted
    except ImportError:
        return None
    return pytest_twisted._instances.gr_twisted


_stopper = Stopper()


def pytest_configure(config):
    _stopper.worker = hasattr(config, "workerinput")
    _stopper.start()


def pytest_sessionstart(session):
    # pytest-twisted starts its reactor at the first test that needs it,
    # and the reactor's start puts Twisted's SIGTERM handler in.
    try:
        import pytest_twisted
    except ImportError:
        return
    reactor = pytest_twisted._instances.reactor
    if reactor is not None:
        reactor.addSystemEventTrigger("after", "startup", _stopper.takeSignals)


def _interrupted():
    """Run a test's phase (its setup, call or teardown); once told to
    stop, end it with KeyboardInterrupt however it ended, so that pytest
    stops and calls the run interrupted, whatever the test made of the
    signal (a SystemExit, a failure, a pass)."""
    try:
        result = yield
    except BaseException:
        if _stopper.told:
            raise KeyboardInterrupt from None
        raise
    if _stopper.told:
        raise KeyboardInterrupt
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    # A test may put in a handler of its own (a demo's, a daemon's), and
    # not give ours back.
    if any(signal.getsignal(signum) != _stopper.onSignal for signum in STOPPING):
        _stopper.takeSignals()
    return (yield from _interrupted())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _interrupted())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    return (yield from _interrupted())


def pytest_terminal_summary(terminalreporter):
    if _stopper.told and not _stopper.worker:
        names = " and ".join(signal.Signals(signum).name for signum in _stopper.told)
        terminalreporter.write_sep(
            "!", f"interrupted ({names}): the run stopped, the tests left were not run")


def pytest_keyboard_interrupt(excinfo):
    _stopper.interrupted = True


def pytest_sessionfinish(session, exitstatus):
    if _stopper.finish():
        session.exitstatus = 2
