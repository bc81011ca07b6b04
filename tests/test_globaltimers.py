"""
Tests of tests/globaltimers.py: a test that leaves a timer in the global
reactor is named and its timer cancelled; one that leaves none, or whose
process never imported the reactor, passes.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.conftest import pytest_plugins
from tests.globaltimers import REACTOR, leftBehind, pendingCalls


def idleTimeout():
    """Stands for twisted.web's idle timeout of a connection."""


class GlobalTimersTests(SynchronousTestCase):
    def setUp(self):
        # A Clock has the reactor's getDelayedCalls: it stands for the module.
        self.reactor = Clock()
        self.modules = {REACTOR: self.reactor}

    def test_noReactorImported(self):
        """Where no test imported the reactor, nothing is pending (and
        nothing imports it, which would install one)."""
        self.assertEqual(pendingCalls({}), frozenset())

    def test_aLeftTimerIsNamedAndCancelled(self):
        kept = self.reactor.callLater(1, print)
        before = pendingCalls(self.modules)
        left = self.reactor.callLater(60, idleTimeout)
        account = leftBehind(before, pendingCalls(self.modules))
        self.assertIn("left 1 timer(s) in the global reactor", account)
        self.assertIn("idleTimeout", account)
        self.assertFalse(left.active())
        self.assertTrue(kept.active())

    def test_aTimerEndedByTheTestIsNotCounted(self):
        before = pendingCalls(self.modules)
        self.reactor.callLater(60, idleTimeout).cancel()
        self.reactor.callLater(1, idleTimeout)
        self.reactor.advance(1)
        self.assertIsNone(leftBehind(before, pendingCalls(self.modules)))

    def test_theSuiteLoadsIt(self):
        self.assertIn("tests.globaltimers", pytest_plugins)
