"""
C{/metrics} over twisted.web, for Prometheus to scrape.

The answer is the registry as C{prometheus_client} writes it; every value
in it is kept current by the code paths that change it, so writing it
costs a sample per message type, purpose and item, whatever the load.
It is served by the daemon's reactor: on an overloaded reactor the
answer comes as late as the reactor's backlog (C{bazaar_reactor_lag_seconds}
says how late), never with stale values.

It is read by a scraper, or by a person who types its address, by a
name it serves: a loopback name or address, the address it is bound
to, with a wildcard bind any IP address, and the operator's
``--metrics-names``.  A request naming any other (a page whose name
rebinds to this machine, reading the port as its own origin) is refused
421 before anything is read, by the check every HTTP port of a daemon
makes (L{twisted_bazaar.base.httphosts}): what a node's metrics say
of its purchases is no page's to read.  Its answers may be neither
framed nor loaded by another origin's page.
"""

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.web.resource import Resource

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.httphosts import ServedNames
from twisted_bazaar.daemon.site import ConnectionGuard, QuietSite, Refusal

#: Connections the metrics port holds open at once, and from one address
#: group: a Prometheus scrape needs one.
MAX_CONNECTIONS = 8
GROUP_CONNECTIONS = 4
CONNECTIONS_LIMIT = declare(
    "metrics.connections", MAX_CONNECTIONS, "connections",
    "connections open to the metrics port (each holds a descriptor)",
    group=GROUP_CONNECTIONS, owner=__name__)

#: Headers every answer carries: never framed, never loaded by another
#: origin's page (a <script> or <img> of it), no sniffing.
ALWAYS = ((b"x-frame-options", b"DENY"),
          (b"content-security-policy", b"frame-ancestors 'none'"),
          (b"x-content-type-options", b"nosniff"),
          (b"cross-origin-resource-policy", b"same-origin"))


class MetricsResource(Resource):
    """One registry's samples, in Prometheus' text format."""

    isLeaf = True

    def __init__(self, registry):
        super().__init__()
        self.registry = registry

    def render_GET(self, request):
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode("ascii"))
        return generate_latest(self.registry)


class _Root(Resource):
    def getChildWithDefault(self, name, request):
        for header, value in ALWAYS:
            request.setHeader(header, value)
        return super().getChildWithDefault(name, request)

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"twisted-bazaar metrics: see /metrics\n"


def refusal(request, code, why):
    """The answer to a request the port does not serve (its Host): plain
    text, saying why, under L{ALWAYS}."""
    for header, value in ALWAYS:
        request.setHeader(header, value)
    return Refusal(code, why)


def metricsGuard(clock, rate=None):
    """The rules of a metrics port (L{ConnectionGuard}): its connections'
    account, ``rate`` new ones a second per address group (None: the
    declared default), and each request's deadline."""
    return ConnectionGuard(clock, CONNECTIONS_LIMIT, rate, what="metrics connection")


def metricsNames(names=()):
    """The L{ServedNames} of a metrics port: loopback's and ``names``
    (``--metrics-names``) until it listens."""
    return ServedNames(names=names, what="the metrics port")


def metricsSite(registry, guard=None, names=None):
    """A twisted.web Site serving the registry at C{/metrics} to the
    names given (L{metricsNames}; None: loopback's), under guard's
    rules if given."""
    root = _Root()
    root.putChild(b"metrics", MetricsResource(registry))
    names = metricsNames() if names is None else names
    return QuietSite(root, names, guard=guard, refusal=refusal)
