"""
The web view's twisted.web resources:

- ``/`` the market's page, ``/node/ID`` a node's page, ``/static/...``
  their script and style (from ``static/``, shipped in the package, and
  the graph library's, from its installed files: L{graphlib});
- ``/api/market`` and ``/api/node/ID``: the same data as JSON; every
  path under ``/api`` answers JSON: ``/api`` its paths, a path that
  names nothing 404, a malformed id 400, another method than GET (or
  HEAD) 405, each with a JSON object whose ``error`` says why;
- ``/api/events`` (``?node=ID`` for one node): Server-Sent Events, one
  ``market`` (or ``node``) event at once and then one each time the view
  publishes a change (L{twisted_bazaar.web.stream}).

A request whose Host the view does not answer to is refused 421 (400
for a Host missing, repeated or malformed) by its site, as at every HTTP
port of a daemon (L{twisted_bazaar.base.httphosts}), JSON under
``/api``.  Every other request passes L{_Gate} first
(L{twisted_bazaar.web.access}): the API from another origin is refused
403, and only a request with the operator's token is shown the
operator's view; any other the public one.  The token's link (``?token=``)
is taken on a page alone; a token in any other URL is refused 400.
"""

from pathlib import Path

from twisted.web.pages import errorPage, notFound
from twisted.web.resource import Resource
from twisted.web.util import Redirect
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.httphosts import ServedNames
from twisted_bazaar.daemon.site import ConnectionGuard, QuietSite
from twisted_bazaar.net.account import Account
from twisted_bazaar.web.access import ALWAYS, STALE, TOKEN_ARG, bearer, whyNotThisOrigin
from twisted_bazaar.web.answers import (JSONError, jsonBody, methodRefused, nodeId,
                                        nodePage)
from twisted_bazaar.web.graphlib import libraryFiles
from twisted_bazaar.web.stream import MAX_STREAMS, STREAMS_LIMIT, EventStream

__all__ = ["MAX_STREAMS", "EventStream", "webSite"]

#: Connections the web view's port holds open at once, and from one
#: address group (each holds a descriptor): its event streams and a page's
#: other requests.
MAX_CONNECTIONS = 96
GROUP_CONNECTIONS = 24
CONNECTIONS_LIMIT = declare(
    "web.connections", MAX_CONNECTIONS, "connections",
    "connections open to the web view's port (each holds a descriptor)",
    group=GROUP_CONNECTIONS, owner=__name__)

#: The page's assets.
STATIC = Path(__file__).with_name("static")
#: Content types of the assets, by suffix.
TYPES = {".html": b"text/html; charset=utf-8", ".js": b"text/javascript; charset=utf-8",
         ".css": b"text/css; charset=utf-8", ".svg": b"image/svg+xml"}


class JSONResource(Resource):
    """
    A leaf of ``/api/`` that answers JSON: its data, or a JSON 404
    (L{JSONError}) to a path that goes on past it (``/api/market/x``).
    Another method than GET is refused before it is reached (L{_API}).
    """

    isLeaf = True

    def render(self, request):
        if any(request.postpath):
            return JSONError(404, "the web view's API has no such path").render(request)
        return jsonBody(request, self.data())

    def data(self):
        raise NotImplementedError()


class MarketData(JSONResource):
    """``/api/market``: the view's snapshot."""

    def __init__(self, view):
        super().__init__()
        self.view = view

    def data(self):
        return self.view.snapshot()


#: What ``/api`` itself answers: the paths under it.
API_PATHS = {"/api/market": "the whole market",
             "/api/node/ID": "one node (ID: its whole id, its wire text)",
             "/api/events": "the market as Server-Sent Events, at each change",
             "/api/events?node=ID": "one node as Server-Sent Events, at each change"}


class APIIndex(JSONResource):
    """``/api``: the paths of the API."""

    def data(self):
        return {"paths": API_PATHS}


class NodeData(Resource):
    """``/api/node/ID``: one live node (or one that left lately); a JSON
    400 for what is no id, a JSON 404 for an id no node has."""

    def __init__(self, view):
        super().__init__()
        self.view = view

    def render(self, request):
        return JSONError(404, "give a node's whole id: /api/node/ID").render(request)

    def getChild(self, name, request):
        if not name:
            return self
        found = nodePage(self.view, name)
        if isinstance(found, JSONError):
            return found
        return _Fixed(found)


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


class _Fixed(JSONResource):
    def __init__(self, data):
        super().__init__()
        self.fixed = data

    def data(self):
        return self.fixed


class _Folder(Resource):
    """Its children, and a 404 page for anything else."""

    def getChild(self, name, request):
        return notFound("Not found", "The web view has no such page.")


class _API(Resource):
    """``/api/``: its children, its index (L{APIIndex}) for ``/api`` and
    ``/api/``, and a JSON 404 for anything else.  Another method than GET
    (or HEAD) on any of its paths is refused here, as JSON, before a
    child looks at the rest of the path: a stream or an id that is none
    never answers in its place."""

    def __init__(self):
        super().__init__()
        self.index = APIIndex()

    def render(self, request):
        return self.getChildWithDefault(b"", request).render(request)

    def getChildWithDefault(self, name, request):
        refused = methodRefused(request) if not name or name in self.children else None
        return refused or super().getChildWithDefault(name, request)

    def getChild(self, name, request):
        if not name:
            return self.index
        return JSONError(404, "the web view's API has no such path")


class _Pages(Resource):
    """``/node/ID``: the node page, for a node live or that left lately
    (the page asks the rest); a 404 page saying so for an id the view
    never saw, since the page's event stream would be refused, and the
    page would say nothing of why."""

    def __init__(self, view):
        super().__init__()
        self.view = view
        self.page = Asset(STATIC / "node.html")

    def getChild(self, name, request):
        node_id = nodeId(name)
        if node_id is None or self.view.node(node_id) is None:
            # The first digits of an id, as the page and the logs show it.
            whole = self.view.named(name)
            if whole is not None:
                query = request.uri.partition(b"?")[1:]
                return Redirect(b"/node/" + whole.encode("ascii") + b"".join(query))
        if node_id is None:
            return notFound("Not a node", "Node pages are /node/ID: ID a node's whole "
                            "id (32 hex digits), or its first 8 or more, as the "
                            "market's page and the logs show it.")
        if self.view.node(node_id) is None:
            return notFound("No such node", "No live node has this id: it left before "
                            "this view started (or more than 50 nodes ago), or never "
                            "joined. The market's page, /, lists the live nodes.")
        return self.page


#: The first segments of the pages' paths (``/``, ``/node/ID``): the only
#: paths whose link may carry the token.
PAGES = frozenset({b"", b"node"})


class _Gate(Resource):
    """
    The root: checks each request's Origin (L{twisted_bazaar.web.access};
    its Host was checked by the site), and hands the request to the
    operator's tree if it carries the token (``Authorization: Bearer``,
    or the link to a page), to the public tree otherwise.  It sets no
    cookie: the page keeps the token (static/app.js).
    """

    def __init__(self, token, operator, public):
        super().__init__()
        self.token = token
        self.operator = operator
        self.public = public

    def getChildWithDefault(self, name, request):
        for header, value in ALWAYS:
            request.setHeader(header, value)
        api = name == b"api"
        why = whyNotThisOrigin(request, page=not api)
        if why is not None:
            return _refusal(403, api, why)
        if TOKEN_ARG in request.args:
            refused = self._tokenLink(request, name, api)
            if refused is not None:
                return refused
            operator = True
        else:
            operator = self.token is not None and self.token.carried(request)
            if not operator and bearer(request) is not None:
                request.setHeader(*STALE)
        if operator:
            # The operator's answers are no-one else's: never kept.
            request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"vary", b"Authorization")
        tree = self.operator if operator else self.public
        return tree.getChildWithDefault(name, request)

    def _tokenLink(self, request, name, api):
        """The refusal of a request with ``?token=``, or None for the
        token's link to a page (whose script keeps the token and takes it
        out of the address).  A token in any other URL is refused, right
        or wrong: it would be written where URLs are (logs, history)."""
        if name not in PAGES:
            return _refusal(400, api, "the token goes in an Authorization: Bearer "
                                      "header, never in this URL (only the link to a "
                                      "page carries it, once)")
        if self.token is None or not self.token.matches(request.args[TOKEN_ARG][0]):
            return _refusal(403, api, "this link's token is not this web view's (a new "
                                      "one is made each time bazaar web starts: use "
                                      "the link it printed last)")
        return None

    def render(self, request):
        return self.getChildWithDefault(b"", request).render(request)


def refusal(request, code, why):
    """The answer to a request the view does not serve (its Host, and
    why: L{twisted_bazaar.base.httphosts}), under L{ALWAYS}: JSON under
    ``/api``, a page elsewhere."""
    for header, value in ALWAYS:
        request.setHeader(header, value)
    return _refusal(code, request.postpath[:1] == [b"api"], why)


def _refusal(code, api, why):
    if api:
        return JSONError(code, why)
    return errorPage(code, "Refused", why)


def _tree(view, streams):
    """The view's pages and API, on a L{MarketView}."""
    api = _API()
    api.putChild(b"market", MarketData(view))
    api.putChild(b"node", NodeData(view))
    api.putChild(b"events", EventStream(view, streams=streams))
    root = _Folder()
    root.putChild(b"", Asset(STATIC / "index.html"))
    # Browsers ask for /favicon.ico whatever the page links.
    root.putChild(b"favicon.ico", Asset(STATIC / "favicon.svg"))
    root.putChild(b"node", _Pages(view))
    assets = _Folder()
    for path in sorted(STATIC.iterdir()):
        assets.putChild(path.name.encode("ascii"), Asset(path))
    for name, path in libraryFiles().items():
        assets.putChild(name.encode("ascii"), Asset(path))
    root.putChild(b"static", assets)
    root.putChild(b"api", api)
    return root


def webGuard(clock, rate=None):
    """The rules of a web view's port (L{ConnectionGuard}): its
    connections' account, ``rate`` new ones a second per address group
    (None: the declared default), and each request's deadline."""
    return ConnectionGuard(clock, CONNECTIONS_LIMIT, rate, what="web view connection")


def webSite(view, names=None, public=None, token=None, guard=None):
    """
    The web view's Site.

    @param view: the L{MarketView} shown to the operator (to everyone,
        when ``public`` is None: a view that is no node's operator).
    @param names: the L{ServedNames} it answers to (None: loopback's).
    @param public: the L{MarketView} of the public facts alone
        (L{twisted_bazaar.web.publicview.TwoViews}), shown to a request
        without the token; None: ``view`` holds nothing else.
    @param token: the L{OperatorToken}, or None (nothing is the
        operator's).
    @param guard: the listener's L{ConnectionGuard
        <twisted_bazaar.daemon.site.ConnectionGuard>}, or None.
    """
    names = ServedNames() if names is None else names
    streams = Account.of(STREAMS_LIMIT)
    operator = _tree(view, streams)
    shown = operator if public is None else _tree(public, streams)
    return QuietSite(_Gate(token, operator, shown), names, guard=guard, refusal=refusal)
