"""
The web view's twisted.web resources:

- ``/`` the market's page, ``/node/ID`` a node's page, ``/static/...``
  their script and style (all from ``static/``, shipped in the package);
- ``/api/market`` and ``/api/node/ID``: the same data as JSON (a path
  under ``/api/`` that names nothing answers 404 with a JSON object
  whose ``error`` says why);
- ``/api/events`` (``?node=ID`` for one node): Server-Sent Events, one
  ``market`` (or ``node``) event at once and then one each time the view
  publishes a change (L{twisted_bazaar.web.stream}).
"""

from pathlib import Path

from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted_bazaar.daemon.site import QuietSite
from twisted_bazaar.web.stream import MAX_STREAMS, EventStream, jsonBody, nodeId

__all__ = ["MAX_STREAMS", "EventStream", "webSite"]

#: The page's assets.
STATIC = Path(__file__).with_name("static")
#: Content types of the assets, by suffix.
TYPES = {".html": b"text/html; charset=utf-8", ".js": b"text/javascript; charset=utf-8",
         ".css": b"text/css; charset=utf-8"}


class MarketData(Resource):
    """``/api/market``: the view's snapshot."""

    isLeaf = True

    def __init__(self, view):
        super().__init__()
        self.view = view

    def render_GET(self, request):
        return jsonBody(request, self.view.snapshot())


class JSONNotFound(Resource):
    """A 404 for a program: ``{"error": why}`` as JSON."""

    isLeaf = True

    def __init__(self, why):
        super().__init__()
        self.why = why

    def render(self, request):
        request.setResponseCode(404)
        return jsonBody(request, {"error": self.why})


class NodeData(Resource):
    """``/api/node/ID``: one live node, or a JSON 404."""

    def __init__(self, view):
        super().__init__()
        self.view = view

    def getChild(self, name, request):
        node_id = nodeId(name)
        if node_id is None:
            return JSONNotFound("not a node id: an id is a node's whole id, "
                                "its wire text (protocol.md §3)")
        page = self.view.node(node_id)
        if page is None:
            return JSONNotFound("no node has this id that is live or left lately")
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
        return jsonBody(request, self.data)


class _Folder(Resource):
    """Its children, and a 404 page for anything else."""

    def getChild(self, name, request):
        return notFound("Not found", "The web view has no such page.")


class _API(Resource):
    """``/api/``: its children, and a JSON 404 for anything else."""

    def getChild(self, name, request):
        return JSONNotFound("the web view's API has no such path")


class _Pages(Resource):
    """``/node/ID``: the node page, whatever the id (the page asks)."""

    def __init__(self):
        super().__init__()
        self.page = Asset(STATIC / "node.html")

    def getChild(self, name, request):
        if nodeId(name) is None:
            return notFound("Not a node", "Node pages are /node/ID.")
        return self.page


def webSite(view):
    """The web view's Site, on a L{MarketView}."""
    api = _API()
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
