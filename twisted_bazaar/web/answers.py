"""
What the web view's API answers, as JSON: its data, shown as a reader
may see it, and its errors (``{"error": why}`` with a status), and the
node a path or an argument names.
"""

from twisted.web.resource import Resource

from twisted_bazaar.base.text import jsonText, shownData
from twisted_bazaar.wire.ids import NO_ID, parseWireId


def shownJSON(data):
    """
    The view's data as the page receives it: every string shown as a
    reader may see it (L{twisted_bazaar.base.text.shown}: a peer's bidi
    override or control character escaped, visibly), in JSON, which the
    page puts into the document as text, never as HTML.
    """
    return jsonText(shownData(data), separators=(",", ":"))


def jsonBody(request, data):
    """data as a JSON body, never cached."""
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return shownJSON(data).encode("utf-8")


def nodeId(text):
    """A node id from a path segment or argument (its wire text), or
    None."""
    try:
        text = text.decode("ascii") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        return None
    node_id = parseWireId(text)
    return None if node_id is None or node_id == NO_ID else node_id


class JSONError(Resource):
    """An error for a program: ``{"error": why}`` as JSON, with its status
    (404 for a path that names nothing, 400 for a malformed id, 405 for
    another method than GET) and any headers it needs."""

    isLeaf = True

    def __init__(self, code, why, headers=()):
        super().__init__()
        self.code = code
        self.why = why
        self.headers = headers

    def render(self, request):
        request.setResponseCode(self.code)
        for name, value in self.headers:
            request.setHeader(name, value)
        return jsonBody(request, {"error": self.why})


#: The methods the API answers: it is read, never written to.
READ = (b"GET", b"HEAD")


def methodRefused(request):
    """The JSON 405 for a request by another method than GET (or HEAD,
    which twisted.web answers as GET without its body), or None."""
    if request.method in READ:
        return None
    return JSONError(405, "the web view's API is read with GET",
                     headers=((b"allow", b", ".join(READ)),))


def nodePage(view, text):
    """The view's page of the node a path segment or argument names, or
    the L{JSONError} that says why there is none."""
    node_id = nodeId(text)
    if node_id is None:
        return JSONError(400, "not a node id: an id is a node's whole id, its wire "
                              "text (protocol.md §3)")
    page = view.node(node_id)
    if page is None:
        return JSONError(404, "no node has this id that is live or left lately")
    return page
