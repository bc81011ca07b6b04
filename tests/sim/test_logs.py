"""
Tests for L{twisted_bazaar.sim.logs}: a simulation shows the log events it
showed before (critical ones, Python's warnings) and drops the nodes' info
at once.
"""

import io

from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.logs import WARNINGS, criticalOnly


class CriticalOnlyTests(SynchronousTestCase):
    def setUp(self):
        self.stream = io.StringIO()
        publisher = LogPublisher(criticalOnly(self.stream))
        self.log = Logger(namespace="sim.test", observer=publisher)
        self.warnings = Logger(namespace=WARNINGS, observer=publisher)

    def test_criticalShown(self):
        self.log.critical("Unhandled error in Deferred: {why}", why="boom")
        self.assertIn("Unhandled error in Deferred: boom", self.stream.getvalue())

    def test_pythonWarningsShown(self):
        self.warnings.warn("a DeprecationWarning")
        self.assertIn("a DeprecationWarning", self.stream.getvalue())

    def test_restDropped(self):
        for level in (LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error):
            self.log.emit(level, "linked to node {peer}", peer=7)
        self.assertEqual(self.stream.getvalue(), "")
