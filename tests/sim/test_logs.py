"""
Tests for L{twisted_bazaar.sim.logs}: a simulation shows the log events it
showed before (critical ones, Python's warnings) and drops the nodes' info
at once.
"""

import io

from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.pywarnings import WARNING_FORMAT
from twisted_bazaar.sim.logs import criticalOnly


class CriticalOnlyTests(SynchronousTestCase):
    def setUp(self):
        self.stream = io.StringIO()
        publisher = LogPublisher(criticalOnly(self.stream))
        self.log = Logger(namespace="sim.test", observer=publisher)
        self.warnings = Logger(namespace="twisted.logger._global", observer=publisher)

    def test_criticalShown(self):
        self.log.critical("Unhandled error in Deferred: {why}", why="boom")
        self.assertIn("Unhandled error in Deferred: boom", self.stream.getvalue())

    def test_pythonWarningsShown(self):
        """As Twisted logs them once logging has begun: at warn, in its own
        namespace (a filter on ``py.warnings`` dropped them)."""
        self.warnings.warn(WARNING_FORMAT, filename="x.py", lineno=3,
                           category="DeprecationWarning", warning="old")
        self.assertIn("x.py:3: DeprecationWarning: old", self.stream.getvalue())

    def test_restDropped(self):
        for level in (LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error):
            self.log.emit(level, "linked to node {peer}", peer=7)
        self.assertEqual(self.stream.getvalue(), "")
