"""
Tests of L{twisted_bazaar.base.httphosts}: what a ``Host`` header names
(strictly ``NAME[:PORT]``), the names a port serves, and the rule of
every HTTP port's upgrades (the check as a site applies it:
tests/daemon/test_site.py, HostCheckTests).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.httphosts import ServedNames, hostName, hostNames, refusal


class HostNameTests(SynchronousTestCase):
    def test_whatAHostNames(self):
        """A name, an IPv4 address or a bracketed IPv6 address, with a
        port or not: lower case, brackets and a final dot taken off."""
        for host, name in ((b"127.0.0.1:9100", "127.0.0.1"), ("LocalHost.", "localhost"),
                           (b"[::1]:9100", "::1"), (b"[::FFFF:127.0.0.1]", "::ffff:7f00:1"),
                           (b"market.example:80", "market.example"), (b"10.0.0.5", "10.0.0.5")):
            self.assertEqual(hostName(host), name, host)

    def test_malformed(self):
        """Anything else names nothing: user info (a lax parser reads
        ``NAME@127.0.0.1`` as 127.0.0.1), a path, spaces, a port past
        65535 or empty, an IPv6 address without brackets, an IPv4 one
        within them, bytes that are not ASCII, nothing."""
        for host in (b"rebind.test@127.0.0.1:9100", b"127.0.0.1:9100@rebind.test",
                     b"127.0.0.1/metrics", b"127.0.0.1 :9100", b" 127.0.0.1",
                     b"127.0.0.1:65536", b"127.0.0.1:", b"127.0.0.1:9100:9100", b"::1",
                     b"[::1", b"[127.0.0.1]", b"\xff.example", b"a..b", b"-a.example",
                     b"127.0.0.1%2f", b"", None):
            self.assertIsNone(hostName(host), host)

    def test_namesAFlagGives(self):
        self.assertEqual(hostNames("Scrape.example, m2.example."),
                         ("scrape.example", "m2.example"))
        for bad in ("", "evil.example/x", "a@b.example", "-a.example"):
            self.assertRaises(ValueError, hostNames, bad)


class ServedNamesTests(SynchronousTestCase):
    def test_loopbackAndTheBoundAddress(self):
        names = ServedNames()
        for host in ("127.0.0.1:9100", "localhost", "[::1]:9100", "127.0.0.2"):
            self.assertTrue(names.serves(host), host)
        self.assertFalse(names.serves("10.0.0.5:9100"))
        names.bind("10.0.0.5")
        self.assertTrue(names.serves("10.0.0.5:9100"))
        self.assertFalse(names.serves("10.0.0.6:9100"))
        self.assertFalse(names.serves("rebind.test@127.0.0.1:9100"))

    def test_aWildcardBindServesAddressesNotNames(self):
        names = ServedNames("0.0.0.0", names=("scrape.example",))
        self.assertTrue(names.serves("10.0.0.6:9100"))
        self.assertTrue(names.serves("SCRAPE.example:9100"))
        self.assertFalse(names.serves("rebind.test:9100"))


def headersOf(**given):
    """``headers(name)`` of a request's headers, given by name (``_`` for
    ``-``) as lists of values."""
    return lambda name: given.get(name.decode("ascii").replace("-", "_"), [])


class UpgradeTests(SynchronousTestCase):
    """The rule of every HTTP port's WebSocket upgrades: one that carries
    an ``Origin`` is a page's, refused 403."""

    NAMES = ServedNames("127.0.0.1", what="this WebSocket port")

    def test_anUpgradeWithAnOriginIsRefused(self):
        code, why = refusal(self.NAMES, headersOf(
            host=[b"127.0.0.1:8080"], upgrade=[b"WebSocket"],
            origin=[b"http://127.0.0.1:8080"]))
        self.assertEqual(code, 403)
        self.assertIn("this WebSocket port takes no upgrade a page asks for "
                      "(Origin 'http://127.0.0.1:8080')", why)

    def test_anUpgradeWithoutOriginPasses(self):
        self.assertIsNone(refusal(self.NAMES, headersOf(
            host=[b"127.0.0.1:8080"], upgrade=[b"keep-alive, websocket"])))

    def test_theHostIsCheckedFirst(self):
        """A rebinding page's upgrade is refused for its Host, as any of
        its requests is."""
        self.assertEqual(refusal(self.NAMES, headersOf(
            host=[b"rebind.test:8080"], upgrade=[b"websocket"],
            origin=[b"http://rebind.test:8080"]))[0], 421)

    def test_anOriginWithoutUpgradeIsAPagesOwnRequest(self):
        """A page's POST to its own web view carries Origin: no upgrade,
        not refused here (the view's own rules judge it)."""
        self.assertIsNone(refusal(self.NAMES, headersOf(
            host=[b"127.0.0.1:8080"], origin=[b"http://127.0.0.1:8080"])))
