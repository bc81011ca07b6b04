"""
Tests of L{twisted_bazaar.tap.common}: the ``--metrics`` port each
daemon (node and tracker) opens answers to the names it serves alone
(``--metrics-names`` among them), and refuses a rebinding name.
"""

from prometheus_client import CollectorRegistry, Counter
from twisted.application.service import MultiService
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap import node as tapnode, tracker as taptracker
from twisted_bazaar.tap.common import addMetrics

from tests.daemon.httpclient import ask


class _Metrics:
    """A daemon's metrics, as addMetrics takes them: a registry holding
    what a node bought, and where the reactor's lag goes."""

    def __init__(self):
        self.registry = CollectorRegistry()
        Counter("bazaar_purchases", "bought", ["item"], registry=self.registry).labels(
            item="apple").inc()
        self.lags = []

    def reactorLag(self, lag):
        self.lags.append(lag)


class _Exit:
    def fail(self, why):
        raise AssertionError(why)


class MetricsPortTests(SynchronousTestCase):
    def served(self, module):
        """The site of the metrics port the daemon of module opens with
        ``--metrics tcp:9100 --metrics-names scrape.example``."""
        options = module.Options()
        options.parseOptions(["--metrics", "tcp:9100", "--metrics-names", "scrape.example"])
        reactor, parent = MemoryReactorClock(), MultiService()
        addMetrics(parent, reactor, options, _Metrics(), _Exit())
        parent.startService()
        self.addCleanup(parent.stopService)
        [(port, site, _, _)] = reactor.tcpServers
        self.assertEqual(port, 9100)
        return site

    def test_eachDaemonsPortRefusesARebindingName(self):
        """A node's and a tracker's metrics port: a request naming the
        port by a rebinding name is refused 421 (with user info, 400)
        and reads nothing; by an address, or a name of --metrics-names,
        it reads the metrics."""
        for module in (tapnode, taptracker):
            site = self.served(module)
            for hosts, code in (([b"rebind.test:9100"], 421),
                                ([b"rebind.test@127.0.0.1:9100"], 400),
                                ([b"127.0.0.1:9100", b"rebind.test:9100"], 400)):
                status, _, body = ask(site, b"/metrics", hosts)
                self.assertEqual(status, code, (module.__name__, hosts))
                self.assertNotIn(b"bazaar_purchases", body)
            for host in (b"127.0.0.1:9100", b"10.0.0.5:9100", b"scrape.example:9100"):
                status, _, body = ask(site, b"/metrics", [host])
                self.assertEqual(status, 200, (module.__name__, host))
                self.assertIn(b'bazaar_purchases_total{item="apple"} 1.0', body)


class VersionTests(SynchronousTestCase):
    def test_theProjectsVersion(self):
        """--version names twisted-bazaar's version (and Twisted's), not
        Twisted's alone (new user, issue 96: ``twistd bazaar-node
        --version`` said only ``Twisted version: 26.10.0``)."""
        import io
        import sys
        from importlib import metadata

        import twisted

        for cls in (tapnode.Options, taptracker.Options):
            out = io.StringIO()
            self.patch(sys, "stdout", out)
            with self.assertRaises(SystemExit) as caught:
                cls().parseOptions(["--version"])
            self.assertEqual(caught.exception.code, 0)
            self.assertEqual(out.getvalue(),
                             f"(twisted-bazaar) {metadata.version('twisted-bazaar')}; "
                             f"Twisted {twisted.__version__}\n")


class SslWithoutKeyTests(SynchronousTestCase):
    def test_theDefaultKeyFileIsExplained(self):
        """An ssl: endpoint naming no privateKey= that fails on Twisted's
        default server.pem says how to name the key (new user: the line
        named only a server.pem the user never gave); one that names its
        file, or another kind, is said as before."""
        import os
        import tempfile

        from twisted_bazaar.tap.common import serverEndpoint

        class Status:
            def refusal(self, text):
                return SystemExit(text)

        folder = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, folder)
        here = os.getcwd()
        os.chdir(folder)
        self.addCleanup(os.chdir, here)
        for description, hint in (("ssl:0", True), ("ssl:0:privateKey=k.pem", False)):
            with self.assertRaises(SystemExit) as caught:
                serverEndpoint(MemoryReactorClock(), description, "--listen", Status())
            text = str(caught.exception.code)
            self.assertTrue(text.startswith("--listen: bad endpoint: "), text)
            self.assertEqual("privateKey=FILE, server.pem in the current folder when "
                             "none is named" in text, hint, text)
