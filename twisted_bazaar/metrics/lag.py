"""
L{LagProbe}: how late the reactor runs what it was asked to.

Every L{INTERVAL} seconds the probe asks the clock to call it back at
once, and measures how late that call came: on an idle reactor about
nothing, on an overloaded one the time its backlog takes.  The figure is
in the metrics, so a scrape answered late (the web server shares the
reactor) says how late.
"""

from prometheus_client import Gauge, Histogram
from twisted.application.service import Service

#: Seconds between probes.
INTERVAL = 1.0
#: Buckets of the latency histograms, in seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                   0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class LagMetrics:
    """The lag figures of one registry; call it with a probe's lateness."""

    def __init__(self, registry):
        self.last = Gauge("bazaar_reactor_lag_seconds", "How late the last "
                          "reactor lag probe ran", registry=registry)
        self.histogram = Histogram(
            "bazaar_reactor_lag_histogram_seconds", "How late each reactor lag "
            "probe ran", buckets=LATENCY_BUCKETS, registry=registry)

    def __call__(self, seconds):
        self.last.set(seconds)
        self.histogram.observe(seconds)


class LagProbe(Service):
    """
    Tells ``report(seconds)`` the lateness of each probe, while running.
    """

    def __init__(self, clock, report, interval=INTERVAL):
        self.clock = clock
        self.report = report
        self.interval = interval
        self._call = None

    def startService(self):
        super().startService()
        self._schedule()

    def _schedule(self):
        self._due = self.clock.seconds() + self.interval
        self._call = self.clock.callLater(self.interval, self._fired)

    def _fired(self):
        self._call = None
        self.report(max(0.0, self.clock.seconds() - self._due))
        self._schedule()

    def stopService(self):
        super().stopService()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
