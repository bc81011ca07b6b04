"""
Tests for twisted_bazaar.cli.commandlog: what of Twisted's log a console
command shows.
"""

import io

from service_identity.exceptions import CertificateError
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli.commandlog import commandLog
from tests.net.test_encrypted import noHostError, sslverifyEvents


class CommandLogTests(SynchronousTestCase):
    def test_whatIsShown(self):
        """Critical events and Python's warnings are written, as Twisted
        wrote them before; Twisted's traceback for a tracker's
        certificate that names no host is not (issue 96: it came above
        the command's one-line error), nor another line below critical
        (a warning is Python's, as Twisted logs it once logging began)."""
        out = io.StringIO()
        observer = commandLog(out)
        for event in sslverifyEvents(noHostError(), CertificateError("other")):
            observer(event)
        # Python's warning, as Twisted logs it once logging has begun.
        Logger(namespace="twisted.logger._global", observer=observer).warn(
            "{filename}:{lineno}: {category}: {warning}", filename="f.py", lineno=3,
            category="builtins.UserWarning", warning=UserWarning("a warning"))
        Logger(observer=observer).info("an info line")
        Logger(observer=observer).warn("a warn line of the project's")
        text = out.getvalue()
        self.assertNotIn("subjectAltName", text)
        self.assertTrue(text.startswith("while verifying certificate\nTraceback"), text)
        self.assertIn("CertificateError: other", text)
        self.assertIn("f.py:3: builtins.UserWarning: a warning\n", text)
        self.assertNotIn("an info line", text)
        self.assertNotIn("a warn line", text)
