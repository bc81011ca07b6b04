"""
The pools of the registry of limits as gauges: for each declared limit
the process's accounts hold (L{twisted_bazaar.net.account.accountsHeld}),
the units held and the most they may hold, labelled with the limit's
name, so an operator sees each pool fill before it refuses.
"""

from prometheus_client.core import GaugeMetricFamily

from twisted_bazaar.net.account import accountsHeld


class LimitsCollector:
    """Samples of every account alive in the process, read at scrape time."""

    def collect(self):
        used = GaugeMetricFamily("bazaar_limit_used", "Units held in a pool of the "
                                 "registry of limits, by the limit's name",
                                 labels=["limit", "unit"])
        bound = GaugeMetricFamily("bazaar_limit_capacity", "Most units a pool of the "
                                  "registry of limits holds (unbounded ones left out)",
                                  labels=["limit", "unit"])
        for name, unit, held, capacity, _ in accountsHeld():
            used.add_metric([name, unit], held)
            if capacity is not None:
                bound.add_metric([name, unit], capacity)
        yield used
        yield bound
