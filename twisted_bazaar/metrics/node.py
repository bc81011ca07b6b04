"""
L{NodeMetrics}: one node's Prometheus metrics, in its own registry.

Built on a node before its roles (they take the node's store when they are
built), it counts:

    - every message in and out, drops and protocol errors (a L{Traffic}
      its links share, through the node's L{LinkSettings});
    - sales and purchases by item, commit latency and batch size, and the
      pending buys (a L{MeteredStore} in front of the node's store: every
      trade is written there, so no role needs to know of metrics);
    - the time from a search for an item (as a node observer) to the
      buyOK of the purchase it made, once recorded;
    - at scrape time, from counts the node already keeps: links by
      purpose (and of them those over QUIC) and each seller's stock (one
      sample per purpose and item), the files it shares (a count and
      their bytes, never as stock) and its downloads (by state, and the
      bytes verified), and whether other nodes can dial it (its
      reachability).
"""

import functools
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar.base.forwarding import declaredBy, forward
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.transports.quic.transport import isQuic
from twisted_bazaar.reach.reachable.reachability import REACHABILITIES
from twisted_bazaar.metrics.lag import LATENCY_BUCKETS, LagMetrics
from twisted_bazaar.metrics.limits import LimitsCollector
from twisted_bazaar.metrics.traffic import Traffic, TrafficCollector
from twisted_bazaar.store.records import IStore

#: Buckets of the commit batch size histogram, in sales.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
#: Buckets of the search-to-buyOK histogram, in seconds.
SEARCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)


class NodeMetrics(NodeObserver):
    """
    The metrics of one node.

    @ivar registry: its own C{CollectorRegistry} (serve it with
        L{twisted_bazaar.metrics.web.metricsSite}).
    @ivar traffic: the L{Traffic} its links count into.
    """

    def __init__(self, node, registry=None):
        """
        Meter the node: give its links a L{Traffic} (its L{LinkSettings}
        must be its own, not shared with other nodes) and put a
        L{MeteredStore} in front of its store.  Call before the node's
        roles are built.
        """
        self.node = node
        self.clock = node.clock
        self.registry = registry if registry is not None else CollectorRegistry()
        self.traffic = node.config.link.traffic = Traffic()
        registry = self.registry
        registry.register(TrafficCollector(self.traffic))
        registry.register(_NodeCollector(self))
        registry.register(LimitsCollector())
        self.sales = Counter("bazaar_sales", "Units sold (committed), by item",
                             ["item"], registry=registry)
        self.purchases = Counter("bazaar_purchases", "Units bought (committed), "
                                 "by item", ["item"], registry=registry)
        self.commit_latency = Histogram(
            "bazaar_commit_latency_seconds", "Time a store write takes, by what "
            "is written (sales, purchase, pending)", ["what"],
            buckets=LATENCY_BUCKETS, registry=registry)
        self.commit_batch = Histogram(
            "bazaar_commit_batch_size", "Sales written per commit (group commit)",
            buckets=BATCH_BUCKETS, registry=registry)
        self.search_to_buy = Histogram(
            "bazaar_search_to_buyok_seconds", "Time from the first search for an "
            "item to the buyOK that bought it", buckets=SEARCH_BUCKETS,
            registry=registry)
        #: Call with a lag probe's lateness (L{LagProbe}).
        self.reactorLag = LagMetrics(registry)
        #: item -> when the search that is still to end in a buyOK began.
        self._searching = {}
        node.store = MeteredStore(node.store, self)
        node.addObserver(self)

    # -- node events ----------------------------------------------------------

    def findStarted(self, item):
        self._searching.setdefault(item, self.clock.seconds())

    def nodeStopping(self):
        self._searching.clear()

    # -- what the store tells ------------------------------------------------------

    def written(self, what, started):
        self.commit_latency.labels(what).observe(self.clock.seconds() - started)

    def sold(self, sales):
        self.commit_batch.observe(len(sales))
        counts = {}
        for sale in sales:
            counts[sale.item] = counts.get(sale.item, 0) + sale.units
        for item, n in counts.items():
            self.sales.labels(item).inc(n)

    def bought(self, purchase):
        """A purchase on disk: its units, and the time from the item's
        first search to the buyOK the buyer took for it (its ``time``).
        Any buyOK a peer sends is no purchase: one the buyer refused (not
        its buy, or not signed by its seller) counts nothing."""
        self.purchases.labels(purchase.item).inc(purchase.units)
        started = self._searching.pop(purchase.item, None)
        if started is not None:
            self.search_to_buy.observe(max(0.0, purchase.time - started))



#: What a metered store passes on to the store it times.
_STORE = declaredBy(IStore)


@implementer(IStore)
class MeteredStore:
    """
    A node's store, timed: every write is passed on, and its latency, and
    what it recorded once it succeeded, told to the L{NodeMetrics}.
    Reads and the rest of the store's API pass straight through.

    @ivar pending_ids: the ids of the pending buys in the store.
    """

    def __init__(self, store, metrics):
        self._store = store
        self._metrics = metrics
        self.pending_ids = {pending.buy_id for pending in store.pending()}

    def __getattr__(self, name):
        # The rest of the store's interface (its reads), and nothing else.
        return forward(self, self.__dict__.get("_store"), name, _STORE)

    def _timed(self, what, write, argument, then):
        """Write, timing it; once it succeeded, ``then(argument)``."""
        started = self._metrics.clock.seconds()
        d = defer.maybeDeferred(write, argument)

        def written(result):
            self._metrics.written(what, started)
            then(argument)
            return result

        return d.addCallback(written)

    def commitSales(self, sales, forget_before=None):
        return self._timed("sales", functools.partial(self._store.commitSales,
                                                      forget_before=forget_before),
                           list(sales), self._metrics.sold)

    def commitPurchase(self, purchase):
        return self._timed("purchase", self._store.commitPurchase, purchase,
                           self._bought)

    def _bought(self, purchase):
        self.pending_ids.discard(purchase.buy_id)
        self._metrics.bought(purchase)

    def addPending(self, pending):
        return self._timed("pending", self._store.addPending, pending,
                           self._pendingAdded)

    def _pendingAdded(self, pending):
        self.pending_ids.add(pending.buy_id)

    def dropPending(self, buy_id):
        return self._timed("pending", self._store.dropPending, buy_id,
                           self.pending_ids.discard)


class _NodeCollector:
    """Samples read from counts the node keeps anyway, at scrape time:
    one per link purpose (all links, and those over QUIC) and per item on
    sale."""

    def __init__(self, metrics):
        self.metrics = metrics

    def collect(self):
        node = self.metrics.node
        links = GaugeMetricFamily("bazaar_links", "Established links, by purpose",
                                  labels=["purpose"])
        quic = GaugeMetricFamily("bazaar_links_quic", "Established links that run "
                                 "over QUIC on UDP, by purpose (in bazaar_links too)",
                                 labels=["purpose"])
        over = Tally(link.purpose for link in node.linkEnds() if isQuic(link))
        for purpose, n in sorted(node.linksByPurpose().items()):
            links.add_metric([purpose], n)
            quic.add_metric([purpose], over[purpose])
        yield links
        yield quic
        stock = GaugeMetricFamily("bazaar_stock", "Units on sale, by item (shared "
                                  "files are counted apart)", labels=["item"])
        shared, downloads, units = {}, [], {}
        for role in node.roles:
            for name, size, *_ in role.sharedFiles():
                shared[name] = size
            downloads += role.downloadsHeld()
            for item, count in role.stockHeld().items():
                units[item] = units.get(item, 0) + count
        for item, count in sorted(units.items()):
            stock.add_metric([item], count)
        yield stock
        yield GaugeMetricFamily("bazaar_shared_files", "Files shared (--share)",
                                value=len(shared))
        yield GaugeMetricFamily("bazaar_shared_bytes", "Bytes of the files shared",
                                value=sum(shared.values()))
        states = GaugeMetricFamily("bazaar_downloads", "Downloads, by state "
                                   "(describing, fetching, stalled, failed)",
                                   labels=["state"])
        counts = dict.fromkeys(("describing", "fetching", "stalled", "failed"), 0)
        for row in downloads:
            counts[row["state"]] = counts.get(row["state"], 0) + 1
        for state, n in counts.items():
            states.add_metric([state], n)
        yield states
        yield GaugeMetricFamily("bazaar_download_bytes", "Bytes verified of the "
                                "downloads under way", value=sum(
                                    row["have"] for row in downloads
                                    if row["state"] != "failed"))
        yield GaugeMetricFamily("bazaar_pending_buys", "Buys sent (or about to "
                                "be) and not yet resolved",
                                value=len(node.store.pending_ids))
        yield GaugeMetricFamily("bazaar_node_ready", "1 while a tracker holds "
                                "this node registered, as it has shown, and its "
                                "id is on disk", value=int(node.registered))
        reach = GaugeMetricFamily("bazaar_node_reach", "1 for whether other nodes "
                                  "can dial this one, as the tracker's check last "
                                  "found (public, private, unknown), 0 for the "
                                  "others", labels=["reach"])
        for state in REACHABILITIES:
            reach.add_metric([state], int(node.reach.state == state))
        yield reach
