"""
Tests for twisted_bazaar.base.tlssupport: an ssl: or tls: endpoint in an
installation without Twisted's TLS support (pip install . without the
tls extra) is refused as it is read, naming the extra.
"""

import sys
from contextlib import contextmanager
from unittest import mock

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.address import TCP_OR_TLS, parseAddress
from twisted_bazaar.base.tlssupport import tlsMissing

#: What every refusal names.
EXTRA = "pip install 'twisted-bazaar[tls]'"


@contextmanager
def withoutTLS():
    """Within it, pyOpenSSL is not installed, as after ``pip install .``
    alone: importing C{twisted.internet.ssl} raises as it does there
    (its module is imported again, and fails); sys.modules is as it was
    after."""
    with mock.patch.dict(sys.modules, {"OpenSSL": None}):
        sys.modules.pop("twisted.internet.ssl", None)
        yield


class TlsMissingTests(SynchronousTestCase):
    def test_installed(self):
        """The suite's installation has it (the test extra pulls the tls
        one): nothing is missing, for any kind."""
        for kind in ("ssl", "tls", "TLS", "tcp", "ws"):
            self.assertIsNone(tlsMissing(kind), kind)

    def test_missing(self):
        """Without it, the TLS kinds are refused with the extra to install;
        the others are not."""
        with withoutTLS():
            for kind in ("ssl", "tls", "TLS"):
                why = tlsMissing(kind)
                self.assertIn(f"{kind}: endpoints need Twisted's TLS support", why)
                self.assertTrue(why.endswith(EXTRA), why)
                self.assertIn("OpenSSL", why)
            for kind in ("tcp", "tcp6", "ws", "unix"):
                self.assertIsNone(tlsMissing(kind), kind)
        self.assertIsNone(tlsMissing("tls"))

    def test_anAddressRefused(self):
        """A tls: tracker address was taken, and the daemon or command
        failed later: "name 'optionsForClientTLS' is not defined"."""
        with withoutTLS():
            for text in ("tls:tracker.example.org:7700:trustRoots=ca",
                         "ssl:tracker.example.org:7700:caCertsDir=ca"):
                error = self.assertRaises(ValueError, parseAddress, text, TCP_OR_TLS)
                self.assertTrue(str(error).endswith(EXTRA), str(error))
            self.assertEqual(parseAddress("tcp:127.0.0.1:7700", TCP_OR_TLS).port, 7700)
