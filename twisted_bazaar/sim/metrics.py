"""Measuring a simulation: what each buyer saw, summary statistics, and
the metrics of a whole run."""

import resource

import attr

from twisted_bazaar import wire
from twisted_bazaar.core.events import NodeObserver
from twisted_bazaar.schemes.chord.messages import ChordRecords
from twisted_bazaar.sim.homes import homeMetrics, nodeRelays, pathOf
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
    announces: the hops of the first offer to arrive for each find, and the
    virtual time from the first find for a unit to its buyOK.  For a
    scheme whose finds are routed lookups (Chord), it also records the
    hops each lookup took to the node that answered it (see
    L{delivers}): an offer itself is direct, one hop.  (A lookup
    the buyer's node answers itself, about one in N, is not delivered and
    not counted.)
    """

    def __init__(self, node, record):
        self.node = node
        self.record = record
        self._first_find = {}
        self._awaiting = set()
        self._confirmed = set()
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

    def _bought(self, link, message):
        if message.id not in self._confirmed:
            # A duplicated buyOK must not end the timing of the next unit.
            self._confirmed.add(message.id)
            paths = self.record.paths
            path = pathOf(link)
            paths[path] = paths.get(path, 0) + (message.count or 1)
            started = self._first_find.pop(message.item, None)
            if started is not None:
                # One latency per unit: a buy of several brings them all.
                self.record.latency_ms.extend(
                    [(self.node.clock.seconds() - started) * 1000.0] * (message.count or 1))

    delivers = {ChordRecords: _lookupAnswered, BuyOK: _bought}


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
        "config": attr.asdict(config),
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
    return metrics


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
