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
"""

import os
import shutil
import signal
import tempfile
import threading

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

    def __init__(self, kill=signalAll, find=descendants, makeTimer=threading.Timer):
        self._kill = kill
        self._find = find
        self._makeTimer = makeTimer
        self._timer = None
        self.told = []
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
            self._kill(self._find(os.getpid()), signal.SIGKILL)
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
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
            self._kill(self._find(os.getpid()), signal.SIGKILL)
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
            os._exit(128 + signum)
            return
        self._kill(self._find(os.getpid()), signal.SIGTERM)
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
        self._kill(self._find(os.getpid()), signal.SIGKILL)


def _reactorGreenlet():
    """pytest-twisted's reactor greenlet, if it has made one."""
    try:
        import pytest_twisted
    except ImportError:
        return None
    return pytest_twisted._instances.gr_twisted


_stopper = Stopper()


def pytest_configure(config):
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


def pytest_runtest_setup(item):
    # A test may put in a handler of its own (a demo's, a daemon's), and
    # not give ours back.
    if any(signal.getsignal(signum) != _stopper.onSignal for signum in STOPPING):
        _stopper.takeSignals()


def pytest_keyboard_interrupt(excinfo):
    _stopper.interrupted = True


def pytest_sessionfinish(session, exitstatus):
    if _stopper.finish():
        session.exitstatus = 2
