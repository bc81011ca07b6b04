"""
Tests for twisted_bazaar.store.executors: the writer thread runs writes off
the reactor's thread, in order, and its results come back through
callFromThread.
"""

import operator
import queue
import threading
import time

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store import ThreadExecutor


class ThreadExecutorTests(SynchronousTestCase):
    """The writer thread, driven by a fake reactor: functions run on
    another thread, in order, and results come back through the reactor."""

    def setUp(self):
        self.reactor = ThreadedFakeReactor()
        self.executor = ThreadExecutor(self.reactor)
        self.executor.start()
        self.addCleanup(self.stop)

    def stop(self):
        d = self.executor.stop()
        self.reactor.runUntil(lambda: d.called)

    def test_offTheCallersThread(self):
        d = self.executor.submit(threading.get_ident)
        self.reactor.runUntil(lambda: d.called)
        self.assertNotEqual(self.successResultOf(d), threading.get_ident())

    def test_inOrder(self):
        seen = []
        ds = [self.executor.submit(seen.append, n) for n in range(20)]
        self.reactor.runUntil(lambda: all(d.called for d in ds))
        self.assertEqual(seen, list(range(20)))

    def test_failure(self):
        d = self.executor.submit(operator.truediv, 1, 0)
        self.reactor.runUntil(lambda: d.called)
        self.failureResultOf(d, ZeroDivisionError)

    def test_stoppedByTheReactorsShutdown(self):
        """Never stopped, the thread ends with the reactor's shutdown, and
        its last word reaches a reactor still running calls quietly."""
        (phase, event, shutdown), = self.reactor.triggers
        self.assertEqual((phase, event), ("during", "shutdown"))
        shutdown()
        self.reactor.runUntil(lambda: not self.executor._thread.is_alive()
                              and self.reactor.calls.empty())
        self.assertEqual(self.reactor.triggers, [])
        self.failureResultOf(self.executor.submit(int), RuntimeError)
        self.successResultOf(self.executor.stop())

    def test_stopped(self):
        self.stop()
        self.failureResultOf(self.executor.submit(int), RuntimeError)
        self.assertEqual(self.reactor.triggers, [])


class ThreadedFakeReactor:
    """Just what deferToThreadPool and ThreadExecutor use of a reactor:
    callFromThread queues, and the test runs the queue."""

    def __init__(self):
        self.calls = queue.Queue()
        self._triggers = {}
        self._added = 0

    @property
    def triggers(self):
        """The triggers added and not removed, in order."""
        return list(self._triggers.values())

    def callFromThread(self, f, *args, **kwargs):
        self.calls.put((f, args, kwargs))

    def addSystemEventTrigger(self, phase, event, f):
        self._added += 1
        self._triggers[self._added] = (phase, event, f)
        return self._added

    def removeSystemEventTrigger(self, trigger):
        del self._triggers[trigger]

    def runUntil(self, condition, limit=10.0):
        deadline = time.monotonic() + limit
        while not condition():
            f, args, kwargs = self.calls.get(timeout=max(0.0, deadline - time.monotonic()))
            f(*args, **kwargs)
