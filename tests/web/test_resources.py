"""
Tests for twisted_bazaar.web.resources: the web view's pages and JSON,
rendered with twisted.web's DummyRequest (no sockets).
"""

import json

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import NOT_DONE_YET

from twisted_bazaar.status.messages import NodeState
from twisted_bazaar.web.graphlib import libraryFiles
from twisted_bazaar.web.resources import STATIC, webSite
from twisted_bazaar.web.view import MarketView
from twisted_bazaar.wire.ids import KEYED, wireId

from tests.web import StreamRequest


def render(site, path, args=None):
    """Render GET /path; return (request, body or NOT_DONE_YET)."""
    request = StreamRequest([segment.encode() for segment in path.split("/")])
    request.args = args or {}
    resource = site.getResourceFor(request)
    result = resource.render(request)
    if result is NOT_DONE_YET:
        return request, result
    return request, result


def contentType(request):
    return request.responseHeaders.getRawHeaders(b"content-type")[0]


class ResourceTests(SynchronousTestCase):
    def setUp(self):
        self.view = MarketView(Clock())
        self.view.membersSeen([(17, "10.0.0.1", 9001, "flood")])
        self.view.stateSeen(NodeState(17, "10.0.0.1", 9001, "flood", (),
                                      {"apple": 2}, {}, 0))
        self.site = webSite(self.view)

    def test_pagesAndAssetsShipInThePackage(self):
        """Every page and asset is served from static/, none from elsewhere."""
        request, body = render(self.site, "")
        self.assertEqual(body, (STATIC / "index.html").read_bytes())
        self.assertEqual(contentType(request), b"text/html; charset=utf-8")
        for name, kind in (("app.js", b"text/javascript; charset=utf-8"),
                           ("style.css", b"text/css; charset=utf-8")):
            request, body = render(self.site, f"static/{name}")
            self.assertEqual((body, contentType(request)),
                             ((STATIC / name).read_bytes(), kind))
        for name in ("index.html", "node.html"):
            page = (STATIC / name).read_text()
            self.assertNotIn("http://", page.replace("http://www.w3.org", ""))
            self.assertNotIn("https://", page)
        request, body = render(self.site, "node/17")
        self.assertEqual(body, (STATIC / "node.html").read_bytes())

    def test_favicon(self):
        """/favicon.ico, which browsers ask for whatever a page links, is
        the view's icon (an SVG), as the pages' own link is: not a 404."""
        icon = (STATIC / "favicon.svg").read_bytes()
        for path in ("favicon.ico", "static/favicon.svg"):
            request, body = render(self.site, path)
            self.assertEqual((body, contentType(request)), (icon, b"image/svg+xml"))
        for name in ("index.html", "node.html"):
            self.assertIn('<link rel="icon" href="/static/favicon.svg"',
                          (STATIC / name).read_text())

    def test_theGraphLibraryFromItsInstalledFiles(self):
        """vis-network's script and style are served from the pyvis
        package's installed files, as they are there: no copy is kept in
        the repository."""
        files = libraryFiles()
        for name, kind in (("vis-network.min.js", b"text/javascript; charset=utf-8"),
                           ("vis-network.css", b"text/css; charset=utf-8")):
            self.assertFalse((STATIC / name).exists(), name)
            self.assertIn("site-packages", str(files[name]))
            request, body = render(self.site, f"static/{name}")
            self.assertEqual((body, contentType(request)), (files[name].read_bytes(), kind))
        self.assertIn(b"vis-network", files["vis-network.min.js"].read_bytes()[:200])
        page = (STATIC / "index.html").read_text()
        self.assertLess(page.index("/static/vis-network.min.js"), page.index("/static/app.js"))

    def test_notFound(self):
        for path in ("node/apple", "node/18", "api/node/18", "static/nothing.js",
                     "nothing", "api/nothing"):
            request, _ = render(self.site, path)
            self.assertEqual(request.responseCode, 404, path)

    def test_aNodePageByTheIdAsShown(self):
        """/node/ and an id's first 8 or more hex digits, as the market's
        page and the logs show it, is sent to the page of the node the view
        keeps whose id begins so (its query kept: a link's token); a text that
        names no node says what a node page's path is."""
        whole = KEYED | 0x97551cd4 << 96 | 7
        self.view.membersSeen([(17, "10.0.0.1", 9001, "flood"),
                               (whole, "10.0.0.2", 9002, "flood")])
        for path, args, query in (("node/97551cd4", None, b""),
                                  ("node/97551CD4", {b"x": [b"1"]}, b"?x=1")):
            request = StreamRequest([segment.encode() for segment in path.split("/")])
            request.uri = b"/" + path.encode() + query
            request.args = args or {}
            self.site.getResourceFor(request).render(request)
            self.assertEqual((request.responseCode,
                              request.responseHeaders.getRawHeaders(b"location")),
                             (302, [b"/node/" + wireId(whole).encode() + query]), path)
        for path in ("node/97551cd5", "node/97551cd", "node/apple"):
            request, _ = render(self.site, path)
            self.assertEqual(request.responseCode, 404, path)
        body = b"".join(request.written)
        self.assertIn(b"Node pages are /node/ID: ID a node's whole id (32 hex digits), "
                      b"or its first 8 or more, as the market's page and the logs show "
                      b"it.", body)

    def test_apiNotFoundIsJSON(self):
        """A program asking the API for what is not there is told why in
        JSON, not given an HTML page: 404 for a path that names nothing,
        400 for an id that is none."""
        nothing = "the web view's API has no such path"
        for path, code, why in (
                ("api/node/18", 404, "no node has this id that is live or left lately"),
                ("api/node/x", 400, "not a node id: an id is a node's whole id, "
                 "its wire text (protocol.md §3)"),
                ("api/node", 404, "give a node's whole id: /api/node/ID"),
                ("api/node/", 404, "give a node's whole id: /api/node/ID"),
                ("api/nothing", 404, nothing),
                ("api/market/extra", 404, nothing),
                ("api/node/17/x", 404, nothing),
                ("api/events/x", 404, nothing)):
            request, body = render(self.site, path)
            self.assertEqual((request.responseCode, contentType(request)),
                             (code, b"application/json"), path)
            self.assertEqual(json.loads(body), {"error": why}, path)

    def test_apiItselfIsJSON(self):
        """/api (and /api/) lists the API's paths, in JSON."""
        for path in ("api", "api/"):
            request, body = render(self.site, path)
            # DummyRequest leaves the code None where none is set: a 200.
            self.assertEqual((request.responseCode or 200, contentType(request)),
                             (200, b"application/json"), path)
            self.assertIn("/api/node/ID", json.loads(body)["paths"])

    def test_otherMethodsAreJSON(self):
        """Another method than GET (or HEAD) on any of the API's paths is
        a JSON 405 naming the methods it takes: the event stream's too
        (twisted.web would answer it an HTML 405, or 501), and before an
        id is looked at."""
        for path in ("api", "api/", "api/market", "api/node/17", "api/node/zzz",
                     "api/events"):
            for method in (b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH"):
                request = StreamRequest([segment.encode() for segment in path.split("/")])
                request.method = method
                request.args = {b"node": [b"zzz"]} if path == "api/events" else {}
                body = self.site.getResourceFor(request).render(request)
                self.assertEqual(
                    (request.responseCode, contentType(request), json.loads(body),
                     request.responseHeaders.getRawHeaders(b"allow")),
                    (405, b"application/json",
                     {"error": "the web view's API is read with GET"}, [b"GET, HEAD"]),
                    (path, method))
        self.assertEqual(self.view.subscribers, 0)

    def test_otherMethodsOnNothingAreNotFound(self):
        """A path that names nothing is a 404 whatever the method."""
        request = StreamRequest([b"api", b"nothing"])
        request.method = b"POST"
        body = self.site.getResourceFor(request).render(request)
        self.assertEqual((request.responseCode, json.loads(body)),
                         (404, {"error": "the web view's API has no such path"}))

    def test_nodePageOfAnIdNeverSeen(self):
        """The page of an id the view never saw says that no live node has
        it (its event stream would be refused, and the page say nothing);
        that of a node that left lately is the node page, which says when
        it left."""
        request, _ = render(self.site, "node/18")
        self.assertEqual((request.responseCode, contentType(request)),
                         (404, b"text/html; charset=utf-8"))
        self.assertIn(b"No live node has this id", b"".join(request.written))
        self.view.membersSeen([])
        request, body = render(self.site, "node/17")
        self.assertEqual(body, (STATIC / "node.html").read_bytes())

    def test_marketJSON(self):
        request, body = render(self.site, "api/market")
        self.assertEqual(contentType(request), b"application/json")
        market = json.loads(body)
        self.assertEqual(market["offers"], {"apple": [{"node": "17", "units": 2}]})
        self.assertEqual([node["id"] for node in market["nodes"]], ["17"])

    def test_peerTextShown(self):
        """A node's hostile item name reaches the page shown: its bidi
        override and escape sequence escaped, visibly."""
        self.view.stateSeen(NodeState(17, "10.0.0.1", 9001, "flood", (),
                                      {"\u202eelppa\x1b[2J": 2}, {}, 0))
        _, body = render(self.site, "api/node/17")
        self.assertEqual(json.loads(body)["stock"], {"\\u202eelppa\\x1b[2J": 2})

    def test_pageNeverParsesDataAsHTML(self):
        """The page puts the data in as text (textContent, attributes),
        never through what parses HTML: HTML escaping by design."""
        script = (STATIC / "app.js").read_text()
        for parser in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                       "createContextualFragment", "DOMParser"):
            self.assertNotIn(parser, script)

    def test_nodeJSON(self):
        _, body = render(self.site, "api/node/17")
        node = json.loads(body)
        self.assertEqual((node["id"], node["stock"], node["links"]),
                         ("17", {"apple": 2}, []))
