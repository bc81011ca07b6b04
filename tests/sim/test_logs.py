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

    def test_aPluginsFaultShownOnceAKind(self):
        """A plugin's fault, said by every node alike, is shown once for
        each line and code at fault.  Before, at error it was dropped:
        a scheme whose handler raised sold nothing, without a word."""
        line = "{fault} raised on a {type} from {peer}: {why}"
        for peer in (1, 2, 3):
            self.log.error(line, fault="Walk._walk (w.py)", type="walk", peer=peer,
                           why="ValueError")
        self.log.error(line, fault="Walk._hit (w.py)", type="walkHit", peer=1,
                       why="KeyError")
        self.log.error("{fault}'s find failed", fault="Walk._walk (w.py)")
        shown = self.stream.getvalue().splitlines()
        self.assertEqual([each.split("] ", 1)[1] for each in shown],
                         ["Walk._walk (w.py) raised on a walk from 1: ValueError",
                          "Walk._hit (w.py) raised on a walkHit from 1: KeyError",
                          "Walk._walk (w.py)'s find failed"])

    def test_restDropped(self):
        for level in (LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error):
            self.log.emit(level, "linked to node {peer}", peer=7)
        self.assertEqual(self.stream.getvalue(), "")
