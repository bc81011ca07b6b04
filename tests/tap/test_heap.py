"""
Tests for L{twisted_bazaar.tap.heap}: a daemon under twistd freezes what
its start left once its reactor runs; a service built elsewhere (a
test's) leaves the heap alone.
"""

import gc

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap.heap import freezeStart


class _Reactor(Clock):
    """A clock whose callWhenRunning calls are run by L{run}."""

    def __init__(self):
        super().__init__()
        self.whenRunning = []

    def callWhenRunning(self, f, *args):
        self.whenRunning.append((f, args))

    def run(self):
        for f, args in self.whenRunning:
            f(*args)


class _Options(dict):
    pass


class FreezeStartTests(SynchronousTestCase):
    def setUp(self):
        gc.unfreeze()
        self.addCleanup(gc.unfreeze)
        self.reactor = _Reactor()

    def test_underTwistdFrozenOnceRunning(self):
        """Nothing is frozen while the daemon is built, nor in the turn its
        reactor starts in (the other startup calls run first); then what
        is alive is."""
        options = _Options()
        options.parent = _Options()
        freezeStart(options, self.reactor)
        self.assertEqual(gc.get_freeze_count(), 0)
        self.reactor.run()
        self.assertEqual(gc.get_freeze_count(), 0)
        self.reactor.advance(0)
        self.assertGreater(gc.get_freeze_count(), 0)

    def test_elsewhereNothing(self):
        freezeStart(_Options(), self.reactor)
        self.reactor.run()
        self.reactor.advance(0)
        self.assertEqual((self.reactor.whenRunning, gc.get_freeze_count()), ([], 0))
