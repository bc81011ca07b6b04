"""
Where work handed off the caller runs: a store's writes in tests and the
simulator, a signer's batches.

An executor runs functions one at a time, in the order they were
submitted, and returns a Deferred for each result.  L{InlineExecutor}
runs them at once and returns an already-fired Deferred, so that tests
on a ``task.Clock`` and the simulator stay deterministic (a daemon's
store writes in a process of its own instead:
L{twisted_bazaar.store.writer}); L{ThreadExecutor} runs them on a thread
of its own (a signer asked to sign off the reactor's thread).
"""

import queue
import threading

from twisted.internet import defer
from twisted.python.failure import Failure


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
    Runs functions on a thread of its own, in order; results come back
    on the reactor thread.

    Each function waits in a C{queue.SimpleQueue}: putting one there is a
    C call that wakes the thread only if it is idle, so a thread kept busy
    is handed the next without a wake-up, and the reactor takes no lock
    of Python's own a job (Twisted's thread pool coordinates each job
    through them: a fifth of the reactor's samples on a durable seller
    whose writes ran on threads, docs/benchmarks.md, "The ledger's writes
    in a process of their own").

    The reactor is a parameter: this module never touches the global one.
    The thread is stopped by L{stop}, or, failing that, when the reactor
    shuts down, so that a forgotten executor cannot keep the process
    alive.
    """

    def __init__(self, reactor, name="bazaar-executor"):
        self.reactor = reactor
        self.name = name
        self._jobs = queue.SimpleQueue()
        self._thread = None
        self._trigger = None
        self._stopped = None

    def start(self):
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._work, name=self.name)
        self._thread.start()
        self._trigger = self.reactor.addSystemEventTrigger("during", "shutdown",
                                                           self._join)

    def submit(self, function, *args):
        """@return: a Deferred firing, on the reactor thread, with what
        function returned on the executor's thread (or its failure)."""
        if self._thread is None or self._stopped is not None:
            return defer.fail(RuntimeError("the executor's thread is stopped"))
        d = defer.Deferred()
        self._jobs.put((d, function, args))
        return d

    def _work(self):
        """The thread's loop: each function, its outcome to the reactor,
        until told to end (None)."""
        jobs, deliver = self._jobs, self.reactor.callFromThread
        while True:
            job = jobs.get()
            if job is None:
                deliver(self._ended)
                return
            d, function, args = job
            try:
                result = function(*args)
            except BaseException:
                deliver(d.errback, Failure())
            else:
                deliver(d.callback, result)
            del job, d, function, args

    def stop(self):
        """
        Stop once every function submitted so far has run.

        @return: a Deferred that fires when the thread is gone.
        """
        if self._thread is None:
            return defer.succeed(None)
        if self._stopped is None:
            self._stopped = defer.Deferred()
            self._jobs.put(None)
        result = defer.Deferred()
        self._stopped.addBoth(_fire, result)
        return result

    def _ended(self):
        """The thread took its end (on the reactor thread): asked by
        L{stop}, or by the reactor's shutdown, which nobody waits on."""
        self._join()
        if not self._stopped.called:
            self._stopped.callback(None)

    def _join(self):
        """Wait for the thread to end (it has, or ends once the function it
        runs returns), and forget the shutdown trigger."""
        if self._trigger is not None:
            self.reactor.removeSystemEventTrigger(self._trigger)
            self._trigger = None
        if self._stopped is None:
            # The reactor's shutdown, not L{stop}: nobody waits for the end.
            self._stopped = defer.succeed(None)
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._jobs.put(None)
        thread.join()


def _fire(result, d):
    d.callback(None)
    return result
