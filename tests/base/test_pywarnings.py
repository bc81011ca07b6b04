"""
Tests for L{twisted_bazaar.base.pywarnings}: Python's warnings known in
Twisted's log by their form.
"""

import io
import types

from twisted.logger import LogBeginner, LogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.pywarnings import WARNING_FORMAT, isPythonWarning


class IsPythonWarningTests(SynchronousTestCase):
    def test_aWarningAsTwistedLogsIt(self):
        """The event a log beginner's C{showwarning} gives once logging
        has begun (a beginner of its own here, not the process's)."""
        events = []
        publisher = LogPublisher(events.append)
        beginner = LogBeginner(publisher, io.StringIO(), types.SimpleNamespace(),
                               types.SimpleNamespace(showwarning=None))
        beginner.showwarning(UserWarning("old"), UserWarning, "x.py", 3)
        [event] = [event for event in events if "warning" in event]
        self.assertTrue(isPythonWarning(event))

    def test_otherEventsAreNot(self):
        self.assertFalse(isPythonWarning({"log_format": "linked to node {peer}",
                                          "peer": 7}))
        self.assertFalse(isPythonWarning({"log_format": WARNING_FORMAT}))
        self.assertFalse(isPythonWarning({}))
