"""Tests of L{twisted_bazaar.base.deferreds}."""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.deferreds import Outstanding, ignoreCancelled


class IgnoreCancelledTests(SynchronousTestCase):
    def test_cancelIsNoError(self):
        d = defer.Deferred()
        d.addErrback(ignoreCancelled)
        d.cancel()
        self.assertIsNone(self.successResultOf(d))

    def test_otherFailuresGoOn(self):
        d = defer.fail(ValueError("bad"))
        d.addErrback(ignoreCancelled)
        self.failureResultOf(d, ValueError)


class OutstandingTests(SynchronousTestCase):
    def test_keptUntilFired(self):
        outstanding = Outstanding()
        d = defer.Deferred()
        self.assertIs(outstanding.own(d), d)
        self.assertEqual(outstanding, {d})
        seen = []
        d.addCallback(lambda result: seen.append((result, set(outstanding))))
        d.callback(7)
        self.assertEqual((outstanding, seen), (set(), [(7, set())]))

    def test_failurePassesThrough(self):
        outstanding = Outstanding()
        d = outstanding.own(defer.Deferred())
        d.errback(ValueError("no"))
        self.assertEqual(outstanding, set())
        self.failureResultOf(d, ValueError)

    def test_cancelAll(self):
        outstanding = Outstanding()
        first, second = defer.Deferred(), defer.Deferred()
        for d in (first, second):
            outstanding.own(d).addErrback(ignoreCancelled)
        outstanding.cancelAll()
        self.assertEqual(outstanding, set())
        self.assertTrue(first.called and second.called)
