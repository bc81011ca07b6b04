"""
L{TrackerMetrics}: the tracker's Prometheus metrics, in its own registry:
its links' traffic (a L{Traffic}), the number of live nodes, and the
bytes its relay copied (a counter: the figure only grows).
"""

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily

from twisted_bazaar.metrics.lag import LagMetrics
from twisted_bazaar.metrics.limits import LimitsCollector
from twisted_bazaar.metrics.traffic import Traffic, TrafficCollector


class TrackerMetrics:
    """
    @ivar registry: its own C{CollectorRegistry}.
    @ivar traffic: the L{Traffic} the tracker's links count into.
    """

    def __init__(self, tracker, registry=None):
        """Meter the tracker: give its links (its L{LinkSettings}) a
        L{Traffic}.  Call before it takes connections."""
        self.registry = registry if registry is not None else CollectorRegistry()
        self.traffic = tracker.settings.traffic = Traffic()
        self.registry.register(TrafficCollector(self.traffic))
        self.registry.register(LimitsCollector())
        members = Gauge("bazaar_tracker_nodes", "Live nodes registered with the "
                        "tracker (status clients left out)", registry=self.registry)
        members.set_function(lambda: tracker.live)
        self.registry.register(_RelayedCollector(tracker))
        #: Call with a lag probe's lateness (L{LagProbe}).
        self.reactorLag = LagMetrics(self.registry)


class _RelayedCollector:
    """The bytes the tracker's relay copied, read from it at each scrape:
    a counter (``bazaar_tracker_relayed_bytes_total``), as a figure that
    only grows is, so that ``rate()`` reads it."""

    def __init__(self, tracker):
        self.tracker = tracker

    def collect(self):
        relay = getattr(self.tracker, "relay", None)
        yield CounterMetricFamily("bazaar_tracker_relayed_bytes", "Bytes the "
                                  "tracker's relay copied, all circuits together, "
                                  "both ways", value=0 if relay is None else relay.relayed)
