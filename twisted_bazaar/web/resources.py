"""
The web view's twisted.web resources:

- ``/`` the market's page, ``/node/ID`` a node's page, ``/static/...``
  their script and style (all from ``static/``, shipped in the package);
- ``/api/market`` and ``/api/node/ID``: the same data as JSON;
- ``/api/events`` (``?node=ID`` for one node): Server-Sent Events, one
  ``market`` (or ``node``) event at once and then one each time the view
  publishes a change.
"""

import json
from pathlib import Path

from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from twisted_bazaar.daemon.site import QuietSite
from twisted_bazaar.wire.ids import NO_ID, parseWireId

#: The page's assets.
STATIC = Path(__file__).with_name("static")
#: Most event streams open at once; more are answered 503.
MAX_STREAMS = 64
#: Content types of the assets, by suffix.
TYPES = {".html": b"text/html; charset=utf-8", ".js": b"text/javascript; charset=utf-8",
         ".css": b"text/css; charset=utf-8"}


def _json(request, data):
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def _nodeId(text):
    """A node id from a path segment or argument (its wire text), or
    None."""
    try:
        text = text.decode("ascii") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        return None
    node_id = parseWireId(text)
    return None if node_id is None or node_id == NO_ID else node_id


class MarketData(Resource):
    """``/api/market``: the view's snapshot."""

    isLeaf = True

    def __init__(self, view):
        super().__init__()
        self.view = view

    def render_GET(self, request):
        return _json(request, self.view.snapshot())


class NodeData(Resource):
    """``/api/node/ID``: one live node, or 404."""

    def __init__(self, view):
        super().__init__()
        self.view = view

    def getChild(self, name, request):
        page = self.view.node(_nodeId(name))
        if page is None:
            return notFound("No such node", "No live node has this id.")
        return _Fixed(page)


class Asset(Resource):
    """One file of ``static/``, read once."""

    isLeaf = True

    def __init__(self, path):
        super().__init__()
        self.body = path.read_bytes()
        self.type = TYPES[path.suffix]

    def render_GET(self, request):
        request.setHeader(b"content-type", self.type)
        return self.body


class _Fixed(Resource):
    isLeaf = True

    def __init__(self, data):
        super().__init__()
        self.data = data

    def render_GET(self, request):
        return _json(request, self.data)


class EventStream(Resource):
    """
    ``/api/events``: Server-Sent Events.  Each event carries the whole
    picture (the market, or with ``?node=ID`` that node), so a page that
    missed one loses nothing.  At most L{MAX_STREAMS} at once.
    """

    isLeaf = True

    def __init__(self, view, limit=MAX_STREAMS):
        super().__init__()
        self.view = view
        self.limit = limit
        self.open = 0

    def render_GET(self, request):
        if self.open >= self.limit:
            request.setResponseCode(503)
            return _json(request, {"error": f"too many event streams ({self.limit})"})
        node_id = _nodeId((request.args.get(b"node") or [b""])[0])
        if node_id is None:
            name, data = "market", self.view.snapshot
        else:
            name, data = "node", lambda: self.view.node(node_id)
        request.setHeader(b"content-type", b"text/event-stream")
        request.setHeader(b"cache-control", b"no-store")

        def send():
            payload = json.dumps(data(), separators=(",", ":"))
            request.write(f"event: {name}\ndata: {payload}\n\n".encode("utf-8"))

        self.open += 1
        unsubscribe = self.view.subscribe(send)

        def ended(_):
            self.open -= 1
            unsubscribe()

        request.notifyFinish().addBoth(ended)
        send()
        return NOT_DONE_YET


class _Folder(Resource):
    """Its children, and a 404 page for anything else."""

    def getChild(self, name, request):
        return notFound("Not found", "The web view has no such page.")


class _Pages(Resource):
    """``/node/ID``: the node page, whatever the id (the page asks)."""

    def __init__(self):
        super().__init__()
        self.page = Asset(STATIC / "node.html")

    def getChild(self, name, request):
        if _nodeId(name) is None:
            return notFound("Not a node", "Node pages are /node/ID.")
        return self.page


def webSite(view):
    """The web view's Site, on a L{MarketView}."""
    api = _Folder()
    api.putChild(b"market", MarketData(view))
    api.putChild(b"node", NodeData(view))
    api.putChild(b"events", EventStream(view))
    root = _Folder()
    root.putChild(b"", Asset(STATIC / "index.html"))
    root.putChild(b"node", _Pages())
    assets = _Folder()
    for path in sorted(STATIC.iterdir()):
        assets.putChild(path.name.encode("ascii"), Asset(path))
    root.putChild(b"static", assets)
    root.putChild(b"api", api)
    return QuietSite(root)
