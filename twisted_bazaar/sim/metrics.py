"""Measuring a simulation: what each buyer saw, summary statistics, and
the metrics of a whole run."""

import resource

import attr
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.forwarding import declaredBy, forward
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.schemes.chord.messages import ChordRecords
from twisted_bazaar.sim.homes import homeMetrics, nodeRelays, pathOf
from twisted_bazaar.store.records import IStore
from twisted_bazaar.wire.trade import BuyOK

#: Where Linux tells a process its own peak resident memory.
STATUS = "/proc/self/status"


def peakRssMB(status=STATUS):
    """
    This process's peak resident memory, in MB: Linux's VmHWM, the peak
    of this program's own memory, where there is one; else getrusage's
    peak, which on Linux also counts what the parent held when it forked
    the process (a simulation started by a large benchmark runner would
    show the runner's size).
    """
    try:
        with open(status, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def percentiles(values, points=(50, 95, 99)):
    """Nearest-rank percentiles and the mean of values (None if empty)."""
    if not values:
        return {"mean": None, **{f"p{p}": None for p in points}}
    ordered = sorted(values)
    out = {"mean": round(sum(ordered) / len(ordered), 6)}
    for p in points:
        rank = max(1, -(-p * len(ordered) // 100))
        out[f"p{p}"] = round(ordered[rank - 1], 6)
    return out




class BuyerProbe(NodeObserver):
    """
    Watches one buyer node through the events its discovery scheme
    announces: the hops of the first offer to arrive for each find, and,
    for each purchase recorded, the virtual time from the first find for
    its item to its buyOK and the way that buyOK came.  Only a purchase
    counts (a L{_ProbedStore} in front of the node's store tells it, as
    the daemon's metrics are told): a buyOK the buyer refused (not its
    buy, or not its seller's) times nothing.  For a scheme whose finds
    are routed lookups (Chord), it also records the hops each lookup took
    to the node that answered it (see L{delivers}): an offer itself is
    direct, one hop.  (A lookup the buyer's node answers itself, about
    one in N, is not delivered and not counted.)
    """

    def __init__(self, node, record):
        """Watch node: call before its buyer is built (the buyer takes
        the node's store then)."""
        self.node = node
        self.record = record
        self._first_find = {}
        self._awaiting = set()
        #: buy id -> the way the first buyOK for it came, until a
        #: purchase of it is recorded.
        self._came = {}
        node.store = _ProbedStore(node.store, self)
        node.addObserver(self)

    def findStarted(self, item):
        self.record.floods += 1
        self._awaiting.add(item)
        self._first_find.setdefault(item, self.node.clock.seconds())

    def offerArrived(self, item, offer):
        if item in self._awaiting:
            self._awaiting.discard(item)
            self.record.hops.append(len(offer.route) - 1)

    def _lookupAnswered(self, link, message):
        """An answer to a routed lookup: its C{hops} say how many links the
        lookup crossed to reach the node that answered it."""
        self.record.lookup_hops.append(message.hops)

    def _arrived(self, link, message):
        """A buyOK: which way it came, for the purchase it may make."""
        self._came.setdefault(message.id, pathOf(link))

    delivers = {ChordRecords: _lookupAnswered, BuyOK: _arrived}

    def bought(self, purchase):
        """A purchase on disk: its units by the way their buyOK came, and
        one latency per unit (a buy of several brings them all), from its
        item's first find to its buyOK (the purchase's ``time``)."""
        units = purchase.units
        path = self._came.pop(purchase.buy_id, None)
        if path is not None:
            self.record.paths[path] = self.record.paths.get(path, 0) + units
        started = self._first_find.pop(purchase.item, None)
        if started is not None:
            self.record.latency_ms.extend(
                [max(0.0, purchase.time - started) * 1000.0] * units)


#: What a probed store passes on to the store it watches.
_STORE = declaredBy(IStore)


@implementer(IStore)
class _ProbedStore:
    """A buyer's store, with each purchase told to its L{BuyerProbe} once
    recorded; everything else passes straight through."""

    def __init__(self, store, probe):
        self._store = store
        self._probe = probe

    def __getattr__(self, name):
        # The rest of the store's interface, and nothing else.
        return forward(self, self.__dict__.get("_store"), name, _STORE)

    def commitPurchase(self, purchase):
        def recorded(result):
            self._probe.bought(purchase)
            return result

        return self._store.commitPurchase(purchase).addCallback(recorded)


class Record:
    """Everything the probes collect during one run."""

    def __init__(self):
        self.floods = 0
        self.hops = []
        self.lookup_hops = []
        self.latency_ms = []
        #: The units bought, by the way their buyOK came (L{pathOf}).
        self.paths = {}


def tradeTypes():
    """Message types that belong to trading, as opposed to upkeep
    (handshakes, keepalive, introductions, and the messages a scheme marks
    with a true C{upkeep} class attribute, like Chord's ring maintenance):
    every other type a scheme or role declares, and error."""
    return {name for name, cls in wire.MESSAGE_TYPES.items()
            if cls.__module__ != wire.ThisIsMe.__module__
            and not getattr(cls, "upkeep", False)} | {"error"}


def runMetrics(sim, wall_s):
    """The metrics of a L{Simulation} run that took wall_s seconds: what
    ``bazaar-sim --json`` writes."""
    config = sim.config
    alive = [node for node in sim.nodes if node not in sim.killed]
    edges = sum(len(node.links) for node in alive) // 2
    floods = sim.record.floods
    stats = dict(sim.stats)
    for sent in sim.node_stats.values():
        for kind, count in sent.items():
            stats[kind] = stats.get(kind, 0) + count
    trade_types = tradeTypes()
    trade = sum(stats.get(kind, 0) for kind in trade_types)
    # The tracker counts as a node: with the index it answers every
    # lookup.
    busiest = max(sum(sent.get(kind, 0) for kind in trade_types)
                  for sent in [sim.stats, *sim.node_stats.values()])
    purchases = sim.purchases()
    searches = config.searches
    metrics = {
        "config": attr.asdict(config, filter=_shown),
        "nodes": config.nodes,
        "edges": edges,
        "searches": searches,
        "search_floods": floods,
        "purchases": purchases,
        "success_rate": round(min(purchases, searches) / searches, 6)
        if searches else None,
        "double_sells": doubleSells(sim),
        "messages_per_search": round(trade / floods, 3) if floods else None,
        "search_messages_per_search": round(stats.get("search", 0) / floods, 3)
        if floods else None,
        "messages_by_type": dict(sorted(stats.items())),
        "busiest_node_messages": busiest,
        "superpeers": len(sim.superpeers),
        "hops_to_first_reply": percentiles(sim.record.hops),
        "lookup_hops": percentiles(sim.record.lookup_hops),
        "latency_ms": percentiles(sim.record.latency_ms),
        "virtual_s": round(sim.clock.seconds(), 3),
        "killed": len(sim.killed),
        "failed_links": sim.failed_links,
        "faults": dict(sim.network.faults.counts) if sim.network.faults else {},
        "bytes_per_node": round(sim.network.bytes_written / config.nodes, 1),
        "wall_s": round(wall_s, 3),
        "peak_rss_mb": peakRssMB(),
    }
    if sim.attack is not None:
        metrics["adversaries"] = sim.attack.metrics()
    if sim.homes is not None:
        relay = sim.market.tracker.relay if sim.market is not None else None
        metrics["nat"] = homeMetrics(sim.homes, sim.nodes, sim.sellers, sim.buyers, relay,
                                      sim.punches, nodeRelays(sim), sim.record.paths)
        metrics["nat"]["direct"] = sim.direct.metrics()
    return metrics


#: Settings added since figures were kept, left out of a run's ``config``
#: while at their default (empty), so that the runs without them report
#: what they did before.
_NEWER = frozenset({"nat_mix"})


def _shown(attribute, value):
    """Whether a run's ``config`` shows a setting (L{_NEWER})."""
    return attribute.name not in _NEWER or bool(value)


def doubleSells(sim):
    """Units a L{Simulation}'s sellers sold beyond their stock, plus buy
    ids in two ledgers."""
    over = 0
    seen = {}
    for node, seller in sim.sellers.items():
        for item, initial in sim.initial_stock[node].items():
            sold = sum(sale.units for sale in seller.ledger.values() if sale.item == item)
            over += max(0, sold - initial)
        for buy_id in seller.ledger:
            seen[buy_id] = seen.get(buy_id, 0) + 1
    return over + sum(count - 1 for count in seen.values() if count > 1)
