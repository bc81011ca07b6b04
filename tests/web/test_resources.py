"""
Tests for twisted_bazaar.web.resources: the web view's pages, JSON and
event stream, rendered with twisted.web's DummyRequest (no sockets).
"""

import json

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest

from twisted_bazaar.status.messages import NodeState
from twisted_bazaar.web.resources import STATIC, EventStream, webSite
from twisted_bazaar.web.view import MarketView


def render(site, path, args=None):
    """Render GET /path; return (request, body or NOT_DONE_YET)."""
    request = DummyRequest([segment.encode() for segment in path.split("/")])
    request.args = args or {}
    resource = site.getResourceFor(request)
    result = resource.render(request)
    if result is NOT_DONE_YET:
        return request, result
    return request, result


def contentType(request):
    return request.responseHeaders.getRawHeaders(b"content-type")[0]


def events(request):
    """The (event, data) pairs written on a stream so far."""
    text = b"".join(request.written).decode("utf-8")
    found = []
    for block in text.split("\n\n")[:-1]:
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((lines["event"], json.loads(lines["data"])))
    return found


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

    def test_notFound(self):
        for path in ("node/apple", "api/node/18", "api/node/x", "static/nothing.js",
                     "nothing", "api/nothing"):
            request, _ = render(self.site, path)
            self.assertEqual(request.responseCode, 404, path)

    def test_marketJSON(self):
        request, body = render(self.site, "api/market")
        self.assertEqual(contentType(request), b"application/json")
        market = json.loads(body)
        self.assertEqual(market["offers"], {"apple": [{"node": "17", "units": 2}]})
        self.assertEqual([node["id"] for node in market["nodes"]], ["17"])

    def test_nodeJSON(self):
        _, body = render(self.site, "api/node/17")
        node = json.loads(body)
        self.assertEqual((node["id"], node["stock"], node["links"]),
                         ("17", {"apple": 2}, []))

    def test_eventStream(self):
        """The market at once, then again on each published change, until
        the client goes."""
        request, result = render(self.site, "api/events")
        self.assertIs(result, NOT_DONE_YET)
        self.assertEqual(contentType(request), b"text/event-stream")
        self.view.stateSeen(NodeState(17, "10.0.0.1", 9001, "flood", (),
                                      {"apple": 1}, {}, 0))
        self.view.publish()
        [(first, before), (second, after)] = events(request)
        self.assertEqual((first, second), ("market", "market"))
        self.assertEqual(before["offers"]["apple"][0]["units"], 2)
        self.assertEqual(after["offers"]["apple"][0]["units"], 1)
        self.assertEqual(after["events"][-1]["kind"], "sold")
        request.processingFailed(ConnectionError("gone"))
        self.assertEqual(self.view.subscribers, 0)

    def test_nodeEventStream(self):
        request, _ = render(self.site, "api/events", {b"node": [b"17"]})
        self.view.membersSeen([])
        self.view.publish()
        [(kind, node), (_, gone)] = events(request)
        self.assertEqual((kind, node["id"], gone["id"], "left" in gone),
                         ("node", "17", "17", True))

    def test_streamsBounded(self):
        stream = EventStream(self.view, limit=1)
        first = DummyRequest([b""])
        stream.render(first)
        second = DummyRequest([b""])
        body = stream.render(second)
        self.assertEqual(second.responseCode, 503)
        self.assertEqual(json.loads(body), {"error": "too many event streams (1)"})
        first.finish()
        third = DummyRequest([b""])
        stream.render(third)
        self.assertEqual([kind for kind, _ in events(third)], ["market"])
