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
        the command's one-line error), nor a line below critical."""
        out = io.StringIO()
        observer = commandLog(out)
        for event in sslverifyEvents(noHostError(), CertificateError("other")):
            observer(event)
        Logger(namespace="py.warnings", observer=observer).warn("a warning")
        Logger(observer=observer).info("an info line")
        text = out.getvalue()
        self.assertNotIn("subjectAltName", text)
        self.assertTrue(text.startswith("while verifying certificate\nTraceback"), text)
        self.assertIn("CertificateError: other", text)
        self.assertIn("a warning\n", text)
        self.assertNotIn("an info line", text)
