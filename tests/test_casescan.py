"""
Tests for tests/casescan.py: a TestCase class's fixture walk covers the
names its own classes define, and only those.
"""

import pytest
from twisted.trial.unittest import SynchronousTestCase

from tests import casescan


class Mixin:
    def helper(self):
        pass


class Sample(Mixin, SynchronousTestCase):
    """A class to walk (collected and run as any).  Synchronous: a trial
    TestCase that runs the reactor fails on what any earlier test left in
    the global one (the fresh-clone CI run of 43f2b9ac: an HTTP channel's
    forceAbortClient), which is not this class's to find."""

    def test_one(self):
        pass


class OwnNamesTests(SynchronousTestCase):
    def test_ownAndMixinNames(self):
        """The names of the class and its mixins are walked."""
        names = casescan.ownNames(Sample)
        self.assertIn("test_one", names)
        self.assertIn("helper", names)

    def test_frameworkNamesLeftOut(self):
        """trial's and unittest's own names are not."""
        names = casescan.ownNames(Sample)
        for name in ("assertEqual", "successResultOf", "addCleanup", "run", "__init__"):
            self.assertNotIn(name, names)

    def test_scannedInstanceListsOwnNames(self):
        """The instance walked is of the class and lists its own names."""
        instance = casescan.scanned(Sample)("runTest")
        self.assertIsInstance(instance, Sample)
        self.assertIs(instance.__class__, Sample)
        self.assertEqual(dir(instance), casescan.ownNames(Sample))
        self.assertEqual(type(instance).__qualname__, Sample.__qualname__)


class FixtureFoundTests(SynchronousTestCase):
    """
    A fixture a TestCase class defines is still found: this class's runs
    before each of its tests (were its name left out of the walk, the
    test would fail).
    """

    @pytest.fixture(autouse=True)
    def _prepared(self, request):
        self.prepared = True
        self.collector = request.node.parent

    def test_ownFixtureRuns(self):
        self.assertTrue(getattr(self, "prepared", False))

    def test_collectedByScannedCase(self):
        """This class was collected by the plugin's collector."""
        self.assertIsInstance(self.collector, casescan.ScannedCase)
