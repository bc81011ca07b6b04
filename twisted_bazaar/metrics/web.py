"""
C{/metrics} over twisted.web, for Prometheus to scrape.

The answer is the registry as C{prometheus_client} writes it; every value
in it is kept current by the code paths that change it, so writing it
costs a sample per message type, purpose and item, whatever the load.
It is served by the daemon's reactor: on an overloaded reactor the
answer comes as late as the reactor's backlog (C{bazaar_reactor_lag_seconds}
says how late), never with stale values.

It is read by a scraper, or by a person who types its address: a
request a web page made (the browser says ``Sec-Fetch-Site`` other than
``none``, or an ``Origin``) is refused 403, so a page whose name rebinds
to this machine cannot read what a node's metrics say of its purchases.
"""

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.web.resource import Resource

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.daemon.site import ConnectionGuard, QuietSite

#: Connections the metrics port holds open at once, and from one address
#: group: a Prometheus scrape needs one.
MAX_CONNECTIONS = 8
GROUP_CONNECTIONS = 4
CONNECTIONS_LIMIT = declare(
    "metrics.connections", MAX_CONNECTIONS, "connections",
    "connections open to the metrics port (each holds a descriptor)",
    group=GROUP_CONNECTIONS, owner=__name__)


class MetricsResource(Resource):
    """One registry's samples, in Prometheus' text format."""

    isLeaf = True

    def __init__(self, registry):
        super().__init__()
        self.registry = registry

    def render_GET(self, request):
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode("ascii"))
        return generate_latest(self.registry)


class _Refused(Resource):
    isLeaf = True

    def render(self, request):
        request.setResponseCode(403)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return (b"the metrics are read by a scraper or typed in, not fetched by a "
                b"web page\n")


def madeByAPage(request):
    """Whether a browser says a web page made the request (rather than
    a person typing its address): a page under a name that rebinds here
    would read it as its own."""
    fetched = request.getHeader(b"sec-fetch-site")
    return request.getHeader(b"origin") is not None or (
        fetched is not None and fetched.lower() != b"none")


class _Root(Resource):
    def getChildWithDefault(self, name, request):
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(b"content-security-policy", b"frame-ancestors 'none'")
        if madeByAPage(request):
            return _Refused()
        return super().getChildWithDefault(name, request)

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"twisted-bazaar metrics: see /metrics\n"


def metricsGuard(clock, rate=None):
    """The rules of a metrics port (L{ConnectionGuard}): its connections'
    account, ``rate`` new ones a second per address group (None: the
    declared default), and each request's deadline."""
    return ConnectionGuard(clock, CONNECTIONS_LIMIT, rate, what="metrics connection")


def metricsSite(registry, guard=None):
    """A twisted.web Site serving the registry at C{/metrics}, under
    guard's rules if given."""
    root = _Root()
    root.putChild(b"metrics", MetricsResource(registry))
    return QuietSite(root, guard=guard)
