"""
Tests for twisted_bazaar.web.access and the gate of web/resources.py: the
web view answers only to its own names (DNS rebinding refused), its API
only to its own pages, and shows what a node tells its operator only to a
request that carries the operator's token; over HTTP, on a fake
transport.
"""

import json
import os
import re
import stat

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.status.messages import NodeState
from twisted_bazaar.base.httphosts import ServedNames, hostNames
from twisted_bazaar.web.access import STALE, OperatorToken
from twisted_bazaar.web.publicview import TwoViews
from twisted_bazaar.web.resources import STATIC, webSite
from twisted_bazaar.wire.ids import wireId

from tests.daemon.httpclient import ask as askRaw
from tests.files.helpers import scratchDir

#: The operator's node, and a stranger's.
MINE, OTHER = 17, 18


def ask(site, path, host=b"127.0.0.1:8080", method=b"GET", headers=()):
    """One request over HTTP: (status, headers as a dict of lower-case
    names, body)."""
    address = IPv4Address("TCP", "127.0.0.1", 40000)
    channel = site.buildProtocol(address)
    transport = StringTransport(peerAddress=address)
    channel.makeConnection(transport)
    lines = [method + b" " + path + b" HTTP/1.1"]
    if host is not None:
        lines.append(b"Host: " + host)
    lines += [name + b": " + value for name, value in headers]
    channel.dataReceived(b"\r\n".join(lines) + b"\r\n\r\n")
    head, _, body = transport.value().partition(b"\r\n\r\n")
    status, *rows = head.split(b"\r\n")
    found = {}
    for row in rows:
        name, _, value = row.partition(b": ")
        found.setdefault(name.lower(), []).append(value)
    channel.connectionLost(Failure(ConnectionDone()))
    # Twisted dates a response by the wall clock: two answers compared
    # byte for byte differed across a second's turn (seen in a full run).
    found.pop(b"date", None)
    return int(status.split()[1]), found, body


def state(node_id, public=False):
    """A node's whole state: a bag, a trade with its seller's id, a
    message, a direct link."""
    return NodeState(node_id, "10.0.0.1", 9001, "flood",
                     ((OTHER, "10.0.0.2", 9002, "direct", False),),
                     {"apple": 2}, {"pear": 3}, 1,
                     recent=((5, "in", OTHER, "buyOK"),),
                     trades=((5, 1, "pear", 3, (MINE, OTHER)),))


class OperatorTests(SynchronousTestCase):
    def setUp(self):
        self.views = TwoViews(Clock())
        self.views.membersSeen([(MINE, "10.0.0.1", 9001, "flood"),
                                (OTHER, "10.0.0.2", 9002, "flood")])
        self.views.stateSeen(state(MINE))
        self.token = OperatorToken()
        self.site = webSite(self.views.whole, public=self.views.public,
                            token=self.token)

    def market(self, headers=()):
        status, _, body = ask(self.site, b"/api/market", headers=headers)
        self.assertEqual(status, 200)
        return body

    def bearer(self, token=None):
        return ((b"authorization", b"Bearer " + (token or self.token.secret).encode()),)

    def test_privateFieldsOnlyWithTheToken(self):
        """Without the token, the market and the operator's node page
        hold none of what only the operator is told: no bag, no trade, no
        path, no message, no direct link (no seller's id anywhere, but in
        the members); a wrong token is answered as none, byte for byte
        but for the mark that it is stale (L{test_aWrongTokenIsMarked});
        with it, in Authorization: Bearer, all of it."""
        node = b"/api/node/" + wireId(MINE).encode()
        stranger = ask(self.site, b"/api/market"), ask(self.site, node)

        def unmarked(answer):
            status, found, body = answer
            return status, {name: value for name, value in found.items()
                            if name != STALE[0]}, body

        for headers in (self.bearer("wrong"), self.bearer(self.token.secret[:-1]),
                        ((b"authorization", b"Basic " + self.token.secret.encode()),),
                        # A cookie carries no token: a browser sends one to
                        # every port of its host.
                        ((b"cookie", b"bazaar-token=" + self.token.secret.encode()),)):
            self.assertEqual((unmarked(ask(self.site, b"/api/market", headers=headers)),
                              unmarked(ask(self.site, node, headers=headers))), stranger,
                             headers)
        body = stranger[0][2]
        self.assertNotIn(b"pear", body)
        self.assertNotIn(b'"operator":true', body)
        for private in (b"pear", b"buyOK", b"direct", b'"bag"', b'"trades"'):
            self.assertNotIn(private, stranger[1][2])
        self.assertIn(b"pear", self.market(self.bearer()))
        _, found, page = ask(self.site, node, headers=self.bearer())
        self.assertIn(b"buyOK", page)
        self.assertEqual(json.loads(page)["bag"], {"pear": 3})
        self.assertEqual(found[b"cache-control"], [b"no-store"])
        self.assertEqual(found[b"vary"], [b"Authorization"])

    def test_aWrongTokenIsMarked(self):
        """The page of a view since restarted (a new token) sends the old
        token: it was shown the public market without a word, the header
        green, "live".  Its answers (the event stream's too) are marked
        L{STALE}, for its script to say so; no other answer is."""
        for path in (b"/api/market", b"/api/events"):
            _, found, _ = ask(self.site, path, headers=self.bearer("old"))
            self.assertEqual(found.get(STALE[0]), [STALE[1]], path)
            for headers in ((), self.bearer(),
                            ((b"authorization", b"Basic " + self.token.secret.encode()),)):
                _, found, _ = ask(self.site, path, headers=headers)
                self.assertNotIn(STALE[0], found, (path, headers))

    def test_anEventStreamWithTheToken(self):
        """The event stream of a request with the token in its header
        carries the operator's market."""
        address = IPv4Address("TCP", "127.0.0.1", 40000)
        channel = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        channel.dataReceived(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n"
                             b"Authorization: Bearer " + self.token.secret.encode()
                             + b"\r\n\r\n")
        self.assertIn(b"event: market", transport.value())
        self.assertIn(b"pear", transport.value())
        channel.connectionLost(Failure(ConnectionDone()))

    def test_anEventStreamWithoutTheTokenIsPublic(self):
        """The event stream of a request without the token carries the
        public market too."""
        address = IPv4Address("TCP", "127.0.0.1", 40000)
        channel = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        channel.dataReceived(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertIn(b"event: market", transport.value())
        self.assertNotIn(b"pear", transport.value())

    def test_theTokensLinkOpensAPage(self):
        """The link printed at start opens the page it names, as the
        operator's (never stored), and sets no cookie: the page keeps
        the token.  Another token is refused 403, saying why."""
        for path in (b"/", b"/node/" + wireId(MINE).encode()):
            status, headers, body = ask(self.site, path + b"?token="
                                        + self.token.secret.encode())
            self.assertEqual(status, 200, path)
            self.assertIn(b"/static/app.js", body)
            self.assertEqual(headers[b"cache-control"], [b"no-store"])
        status, headers, body = ask(self.site, b"/?token=guessed")
        self.assertEqual(status, 403)
        self.assertIn(b"not this web view's", body)

    def test_aTokenInAnyOtherURLIsRefused(self):
        """A token in the URL of the API, its event stream or an asset is
        refused 400, right or wrong, saying where it goes: a data
        request never carries it in a URL (a log's, a proxy's)."""
        for secret in (self.token.secret.encode(), b"wrong"):
            for path in (b"/api/market", b"/api/events", b"/api/node/"
                         + wireId(MINE).encode(), b"/static/app.js", b"/favicon.ico"):
                status, _, body = ask(self.site, path + b"?token=" + secret)
                self.assertEqual(status, 400, path)
                self.assertIn(b"Authorization: Bearer", body)
                self.assertNotIn(b"pear", body)
        status, _, body = ask(self.site, b"/api/market?token=x")
        self.assertIn("Authorization: Bearer", json.loads(body)["error"])

    def test_neverACookie(self):
        """No answer sets a cookie: the token's link, the operator's API
        and pages, a stranger's, a refusal."""
        secret = self.token.secret.encode()
        for path, headers in ((b"/?token=" + secret, ()), (b"/?token=x", ()),
                              (b"/api/market?token=" + secret, ()),
                              (b"/api/market", self.bearer()), (b"/", self.bearer()),
                              (b"/node/x", ()), (b"/static/app.js", ())):
            _, found, _ = ask(self.site, path, headers=headers)
            self.assertNotIn(b"set-cookie", found, path)

    def test_theTokenIsKeptForItsOwnerAlone(self):
        folder = scratchDir(self)
        path = self.token.keep(folder)
        self.assertEqual(path, os.path.join(folder, "web-token"))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as kept:
            self.assertTrue(self.token.matches(kept.read().strip()))
        self.assertEqual(OperatorToken().matches(self.token.secret), False)


class HostAndOriginTests(SynchronousTestCase):
    def setUp(self):
        self.views = TwoViews(Clock())
        self.views.membersSeen([(MINE, "10.0.0.1", 9001, "flood")])
        self.views.stateSeen(state(MINE))
        self.token = OperatorToken()
        self.names = ServedNames()
        self.site = webSite(self.views.whole, self.names, public=self.views.public,
                            token=self.token)
        self.bearer = (b"authorization", b"Bearer " + self.token.secret.encode())

    def test_aRebindingNameIsRefused(self):
        """A page under another name that resolves here (DNS rebinding)
        is refused 421, saying why, on its pages and its API (in JSON),
        token or not."""
        for path in (b"/", b"/api/market", b"/api/events", b"/static/app.js"):
            for host in (b"evil.example:8080", b"evil.example", b"127.0.0.1.evil.example",
                         b"rebind.test:8080"):
                status, headers, body = ask(self.site, path, host=host,
                                            headers=(self.bearer,))
                self.assertEqual(status, 421, (path, host))
                self.assertIn(b"DNS rebinding", body)
                self.assertNotIn(b"apple", body)
                self.assertEqual(headers[b"x-frame-options"], [b"DENY"])
        self.assertIn("DNS rebinding", json.loads(
            ask(self.site, b"/api/market", host=b"evil.example")[2])["error"])

    def test_whatNoBrowserSendsIsRefused(self):
        """A Host with user info (``NAME@127.0.0.1:PORT``), two Hosts (one
        of them served), or none: refused 400, token or not, pages and
        API."""
        for path in (b"/", b"/api/market"):
            for hosts in ([b"rebind.test@127.0.0.1:8080"], [b"127.0.0.1:8080@rebind.test"],
                          [b"127.0.0.1:8080", b"rebind.test:8080"],
                          [b"127.0.0.1:8080", b"127.0.0.1:8080"], []):
                status, _, body = askRaw(self.site, path, hosts,
                                         headers=(self.bearer,), version=b"HTTP/1.0")
                self.assertEqual(status, 400, (path, hosts))
                self.assertNotIn(b"apple", body)

    def test_itsOwnNames(self):
        """Loopback's names and addresses are served; the address it is
        bound to once it listens; on a wildcard bind any address, but no
        name."""
        for host in (b"127.0.0.1:8080", b"localhost:8080", b"LOCALHOST", b"[::1]:8080",
                     b"127.0.0.2"):
            self.assertEqual(ask(self.site, b"/api/market", host=host)[0], 200, host)
        self.assertEqual(ask(self.site, b"/", host=b"10.0.0.5:8080")[0], 421)
        self.names.bind("10.0.0.5")
        self.assertEqual(ask(self.site, b"/", host=b"10.0.0.5:8080")[0], 200)
        self.assertEqual(ask(self.site, b"/", host=b"10.0.0.6:8080")[0], 421)
        anywhere = ServedNames("0.0.0.0")
        self.assertTrue(anywhere.serves("10.0.0.6:8080"))
        self.assertFalse(anywhere.serves("market.example:8080"))

    def test_theNamesTheOperatorGives(self):
        """--web-names (bazaar web --names): the names other machines reach
        the view by are served too, and no other; a list that holds no
        host name is refused, saying which."""
        names = ServedNames("0.0.0.0", names=hostNames("Market.example, m2.example."))
        site = webSite(self.views.whole, names, public=self.views.public,
                       token=self.token)
        for host, code in ((b"market.example:8080", 200), (b"m2.example", 200),
                           (b"10.0.0.6:8080", 200), (b"evil.example:8080", 421)):
            self.assertEqual(ask(site, b"/api/market", host=host)[0], code, host)
        for bad in ("", "evil.example/x", "a..b", "-a.example"):
            self.assertRaises(ValueError, hostNames, bad)

    def test_theAPIFromAnotherOriginIsRefused(self):
        """A request to the API (or any other method) from another
        origin is refused 403, with the token or without; a
        link to a page from anywhere is followed."""
        for headers in (((b"origin", b"http://evil.example"),),
                        ((b"origin", b"http://127.0.0.1:9999"),),
                        ((b"origin", b"null"),),
                        ((b"sec-fetch-site", b"cross-site"),)):
            for path in (b"/api/market", b"/api/events", b"/api"):
                status, _, body = ask(self.site, path, headers=headers + (self.bearer,))
                self.assertEqual(status, 403, (path, headers))
                self.assertNotIn(b"apple", body)
            status, _, _ = ask(self.site, b"/", method=b"POST", headers=headers)
            self.assertEqual(status, 403)
            self.assertEqual(ask(self.site, b"/", headers=headers)[0], 200)
        same = ((b"origin", b"http://127.0.0.1:8080"), (b"sec-fetch-site", b"same-origin"))
        self.assertEqual(ask(self.site, b"/api/market", headers=same)[0], 200)

    def test_neverFramedNorReferredNorInjected(self):
        """Every answer forbids framing (clickjacking), Referers, another
        origin's handle on its window or load of it, and lets a page run
        its own scripts alone, fetch its own origin alone."""
        for path, host in ((b"/", b"localhost"), (b"/api/market", b"localhost"),
                           (b"/?token=x", b"localhost"), (b"/", b"evil.example")):
            _, headers, _ = ask(self.site, path, host=host)
            self.assertEqual(headers[b"x-frame-options"], [b"DENY"])
            self.assertEqual(headers[b"referrer-policy"], [b"no-referrer"])
            self.assertEqual((headers[b"cross-origin-opener-policy"],
                              headers[b"cross-origin-resource-policy"]),
                             ([b"same-origin"], [b"same-origin"]))
            [policy] = headers[b"content-security-policy"]
            directives = dict(part.strip().split(b" ", 1) for part in policy.split(b";"))
            self.assertEqual((directives[b"default-src"], directives[b"script-src"],
                              directives[b"connect-src"], directives[b"frame-ancestors"]),
                             (b"'self'", b"'self'", b"'self'", b"'none'"))
            self.assertNotIn(b"unsafe", policy)

    def test_thePagesHoldNoInlineScriptOrStyle(self):
        """What the policy forbids, the pages do not need: every script is
        a file of the view's, no element has a style or a handler."""
        for name in ("index.html", "node.html"):
            page = (STATIC / name).read_text()
            self.assertEqual(re.findall(r"<script(?![^>]*\ssrc=)", page), [], name)
            self.assertEqual(re.findall(r"<style|\sstyle=|\son[a-z]+=", page), [], name)
