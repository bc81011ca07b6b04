"""
Tests for twisted_bazaar.web.access and the gate of web/resources.py: the
web view answers only to its own names (DNS rebinding refused), its API
only to its own pages, and shows what a node tells its operator only to a
request that carries the operator's token; over HTTP, on a fake
transport.
"""

import json
import os
import stat

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.status.messages import NodeState
from twisted_bazaar.web.access import OperatorToken, ServedNames, hostNames
from twisted_bazaar.web.publicview import TwoViews
from twisted_bazaar.web.resources import webSite
from twisted_bazaar.wire.ids import wireId

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
    channel.connectionLost(None)
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

    def test_privateFieldsOnlyWithTheToken(self):
        """Without the token, the market and the operator's node page
        hold none of what only the operator is told: no bag, no trade, no
        path, no message, no direct link (no seller's id anywhere, but in
        the members); with it (cookie or header), all of it."""
        for headers in ((), ((b"cookie", b"bazaar-token=wrong"),),
                        ((b"authorization", b"Bearer wrong"),)):
            body = self.market(headers)
            self.assertNotIn(b"pear", body)
            self.assertNotIn(b'"operator":true', body)
            _, _, page = ask(self.site, b"/api/node/" + wireId(MINE).encode(),
                             headers=headers)
            for private in (b"pear", b"buyOK", b"direct", b'"bag"', b'"trades"'):
                self.assertNotIn(private, page)
        for headers in (((b"cookie", b"bazaar-token=" + self.token.secret.encode()),),
                        ((b"authorization", b"Bearer " + self.token.secret.encode()),)):
            self.assertIn(b"pear", self.market(headers))
            _, found, page = ask(self.site, b"/api/node/" + wireId(MINE).encode(),
                                 headers=headers)
            self.assertIn(b"buyOK", page)
            self.assertEqual(json.loads(page)["bag"], {"pear": 3})
            self.assertEqual(found[b"cache-control"], [b"no-store"])

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

    def test_theTokensLinkSetsAStrictCookie(self):
        """The link printed at start sets the token as a cookie no other
        site's page sends (HttpOnly, SameSite=Strict) and sends the
        browser on without the token in its address; another token is
        refused, saying why."""
        status, headers, _ = ask(self.site, b"/node/x?token=" + self.token.secret.encode())
        self.assertEqual(status, 303)
        self.assertEqual(headers[b"location"], [b"/node/x"])
        cookie = headers[b"set-cookie"][0]
        self.assertTrue(cookie.startswith(b"bazaar-token=" + self.token.secret.encode()))
        self.assertIn(b"HttpOnly", cookie)
        self.assertIn(b"SameSite=Strict", cookie)
        for path in (b"//evil.example/", b"/\\evil.example/"):
            _, headers, _ = ask(self.site, path + b"?token=" + self.token.secret.encode())
            self.assertEqual(headers[b"location"], [b"/evil.example/"])
        status, headers, body = ask(self.site, b"/?token=guessed")
        self.assertEqual(status, 403)
        self.assertNotIn(b"set-cookie", headers)
        self.assertIn(b"not this web view's", body)

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
        self.cookie = (b"cookie", b"bazaar-token=" + self.token.secret.encode())

    def test_aRebindingNameIsRefused(self):
        """A page under another name that resolves here (DNS rebinding)
        is refused 421, saying why, on its pages and its API, cookie or
        not; so is a request without a Host."""
        for path in (b"/", b"/api/market", b"/api/events", b"/static/app.js"):
            for host in (b"evil.example:8080", b"evil.example", b"127.0.0.1.evil.example",
                         None):
                status, _, body = ask(self.site, path, host=host, headers=(self.cookie,))
                self.assertEqual(status, 421, (path, host))
                self.assertIn(b"DNS rebinding", body)
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
        origin is refused 403, with the token's cookie or without; a
        link to a page from anywhere is followed."""
        for headers in (((b"origin", b"http://evil.example"),),
                        ((b"origin", b"http://127.0.0.1:9999"),),
                        ((b"origin", b"null"),),
                        ((b"sec-fetch-site", b"cross-site"),)):
            for path in (b"/api/market", b"/api/events", b"/api"):
                status, _, body = ask(self.site, path, headers=headers + (self.cookie,))
                self.assertEqual(status, 403, (path, headers))
                self.assertNotIn(b"apple", body)
            status, _, _ = ask(self.site, b"/", method=b"POST", headers=headers)
            self.assertEqual(status, 403)
            self.assertEqual(ask(self.site, b"/", headers=headers)[0], 200)
        same = ((b"origin", b"http://127.0.0.1:8080"), (b"sec-fetch-site", b"same-origin"))
        self.assertEqual(ask(self.site, b"/api/market", headers=same)[0], 200)

    def test_neverFramedNorReferred(self):
        """Every answer forbids framing (clickjacking) and Referers."""
        for path, host in ((b"/", b"localhost"), (b"/api/market", b"localhost"),
                           (b"/", b"evil.example")):
            _, headers, _ = ask(self.site, path, host=host)
            self.assertEqual(headers[b"x-frame-options"], [b"DENY"])
            self.assertEqual(headers[b"content-security-policy"],
                             [b"frame-ancestors 'none'"])
            self.assertEqual(headers[b"referrer-policy"], [b"no-referrer"])
