"""
Where a store's writes run.

An executor runs functions one at a time, in the order they were
submitted, and returns a Deferred for each result.  L{ThreadExecutor}
runs them on one writer thread of its own, so the disk never holds up the
reactor; L{InlineExecutor} runs them at once and returns an
already-fired Deferred, so that tests on a ``task.Clock`` and the
simulator stay deterministic.
"""

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool


class InlineExecutor:
    """Runs each function on the caller's thread, at once."""

    def start(self):
        pass

    def submit(self, function, *args):
        """@return: an already-fired Deferred with function's result or
        failure."""
        return defer.maybeDeferred(function, *args)

    def stop(self):
        return defer.succeed(None)


class ThreadExecutor:
    """
    Runs functions on one writer thread (a L{ThreadPool} of size 1), in
    order; results come back on the reactor thread.

    The reactor is a parameter: this module never touches the global one.
    The thread is stopped by L{stop}, or, failing that, when the reactor
    shuts down, so that a forgotten store cannot keep the process alive.
    """

    def __init__(self, reactor, name="bazaar-store-writer", threads=1):
        """
        @param threads: with more than one, that many functions may run
            at once, in no order (the syncs of L{Syncs}).
        """
        self.reactor = reactor
        self._pool = ThreadPool(minthreads=1, maxthreads=threads, name=name)
        self._trigger = None
        self._running = False
        self._stopping = False

    def start(self):
        if self._running:
            return
        self._running = True
        self._pool.start()
        self._trigger = self.reactor.addSystemEventTrigger("during", "shutdown",
                                                           self._stopPool)

    def submit(self, function, *args):
        """@return: a Deferred firing, on the reactor thread, with what
        function returned on the writer thread (or its failure)."""
        if not self._running or self._stopping:
            return defer.fail(RuntimeError("the writer thread is stopped"))
        return deferToThreadPool(self.reactor, self._pool, function, *args)

    def stop(self):
        """
        Stop once every function submitted so far has run (with more than
        one thread, call it once none runs: the others are joined).

        @return: a Deferred that fires when the thread is gone.
        """
        if not self._running or self._stopping:
            return defer.succeed(None)
        self._stopping = True
        # An empty job after all the others: when it is done, the thread
        # is idle, and joining it does not hold up the reactor.
        d = deferToThreadPool(self.reactor, self._pool, _nothing)
        d.addBoth(self._drained)
        return d

    def _drained(self, result):
        if self._trigger is not None:
            self.reactor.removeSystemEventTrigger(self._trigger)
            self._trigger = None
        self._stopPool()

    def _stopPool(self):
        if self._running:
            self._running = False
            self._pool.stop()


def _nothing():
    pass
