"""
C{/metrics} over twisted.web, for Prometheus to scrape.

The answer is the registry as C{prometheus_client} writes it; every value
in it is kept current by the code paths that change it, so writing it
costs a sample per message type, purpose and item, whatever the load.
It is served by the daemon's reactor: on an overloaded reactor the
answer comes as late as the reactor's backlog (C{bazaar_reactor_lag_seconds}
says how late), never with stale values.
"""

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.web.resource import Resource

from twisted_bazaar.daemon.site import QuietSite


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
    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"twisted-bazaar metrics: see /metrics\n"


def metricsSite(registry):
    """A twisted.web Site serving the registry at C{/metrics}."""
    root = _Root()
    root.putChild(b"metrics", MetricsResource(registry))
    return QuietSite(root)
