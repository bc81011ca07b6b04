"""Measuring a simulation: what each buyer saw, summary statistics, and
the metrics of a whole run."""

import resource

import attr
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.forwarding import declaredBy, forward
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.punch.tcp import messages as punchmessages
from twisted_bazaar.schemes.chord.messages import ChordRecords
from twisted_bazaar.sim.homes import homeMetrics, nodeRelays, pathOf
from twisted_bazaar.status import messages as statusmessages
from twisted_bazaar.store.records import IStore
from twisted_bazaar.transports.relay import messages as relaymessages
from twisted_bazaar.wire import udpreach
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


#: Modules whose messages are upkeep, not trade: the handshake, keepalive
#: and introductions; a node's way to be reached (relay circuits and
#: reservations, TCP and UDP hole punches), which makes a link as a
#: handshake does; and the status views' questions.  Neither a scheme nor
#: a role declares them (with --nat, relay reservations were two thirds of
#: an index run's "trading" messages).
UPKEEP_MODULES = frozenset(module.__name__ for module in
                           (wire.core, relaymessages, punchmessages, udpreach,
                            statusmessages))


def tradeTypes():
    """Message types that belong to trading, as opposed to upkeep
    (L{UPKEEP_MODULES}, and the messages a scheme marks with a true
    C{upkeep} class attribute, like Chord's ring maintenance): every other
    type a scheme or role declares, and error."""
    return {name for name, cls in wire.MESSAGE_TYPES.items()
            if cls.__module__ not in UPKEEP_MODULES
            and not getattr(cls, "upkeep", False)} | {"error"}


def runMetrics(sim, wall_s):
    """The metrics of a L{Simulation} run that took wall_s seconds: what
    ``bazaar-sim --json`` writes."""
    metrics = summary(sim.config, tally(sim), wall_s, peakRssMB())
    if sim.attack is not None:
        metrics["adversaries"] = sim.attack.metrics()
    if sim.homes is not None:
        relay = sim.market.tracker.relay if sim.market is not None else None
        metrics["nat"] = homeMetrics(sim.homes, sim.nodes, sim.sellers, sim.buyers, relay,
                                      sim.punches, nodeRelays(sim), sim.record.paths)
        metrics["nat"]["direct"] = sim.direct.metrics()
    return metrics


def tally(sim):
    """
    What L{summary} makes a run's metrics of, counted over a
    L{Simulation}'s nodes: a dict of counts, lists and tables that
    L{combine} adds up over the shards of a run.
    """
    alive = [node for node in sim.nodes if node not in sim.killed]
    stats = dict(sim.stats)
    for sent in sim.node_stats.values():
        for kind, count in sent.items():
            stats[kind] = stats.get(kind, 0) + count
    trade_types = tradeTypes()
    over, buy_ids = _sold(sim)
    return {
        "link_ends": sum(node.overlay.linkedCount() for node in alive),
        "floods": sim.record.floods,
        "stats": stats,
        # Counted here, where the scheme's messages are known (L{tradeTypes}
        # knows those of the modules imported).
        "trade": sum(stats.get(kind, 0) for kind in trade_types),
        # The tracker counts as a node: with the index it answers every
        # lookup.
        "busiest": max(sum(sent.get(kind, 0) for kind in trade_types)
                       for sent in [sim.stats, *sim.node_stats.values()]),
        "purchases": sim.purchases(),
        "superpeers": len(sim.superpeers),
        "oversold": over,
        "buy_ids": buy_ids,
        "hops": list(sim.record.hops),
        "lookup_hops": list(sim.record.lookup_hops),
        "latency_ms": list(sim.record.latency_ms),
        "virtual_s": sim.clock.seconds(),
        "killed": len(sim.killed),
        "failed_links": sim.failed_links,
        "faults": dict(sim.network.faults.counts) if sim.network.faults else {},
        "bytes": sim.network.bytes_written,
    }


def combine(tallies):
    """One L{tally} of several, each of a part of one run's nodes."""
    first, *rest = tallies
    out = {key: (dict(value) if isinstance(value, dict)
                 else list(value) if isinstance(value, list) else value)
           for key, value in first.items()}
    for each in rest:
        for key, value in each.items():
            if key in ("busiest", "virtual_s"):
                out[key] = max(out[key], value)
            elif isinstance(value, dict):
                table = out[key]
                for name, count in value.items():
                    table[name] = table.get(name, 0) + count
            else:
                out[key] = out[key] + value
    return out


def summary(config, counted, wall_s, peak_rss_mb):
    """The metrics of a run of config, from its L{tally} (or the
    L{combine}d tallies of its shards)."""
    floods = counted["floods"]
    stats = counted["stats"]
    trade = counted["trade"]
    purchases = counted["purchases"]
    searches = config.searches
    return {
        "config": attr.asdict(config, filter=_shown),
        "nodes": config.nodes,
        "edges": counted["link_ends"] // 2,
        "searches": searches,
        "search_floods": floods,
        "purchases": purchases,
        "success_rate": round(min(purchases, searches) / searches, 6)
        if searches else None,
        "double_sells": counted["oversold"] + sum(
            count - 1 for count in counted["buy_ids"].values() if count > 1),
        "messages_per_search": round(trade / floods, 3) if floods else None,
        "search_messages_per_search": round(stats.get("search", 0) / floods, 3)
        if floods else None,
        "messages_by_type": dict(sorted(stats.items())),
        "busiest_node_messages": counted["busiest"],
        "superpeers": counted["superpeers"],
        "hops_to_first_reply": percentiles(counted["hops"]),
        "lookup_hops": percentiles(counted["lookup_hops"]),
        "latency_ms": percentiles(counted["latency_ms"]),
        "virtual_s": round(counted["virtual_s"], 3),
        "killed": counted["killed"],
        "failed_links": counted["failed_links"],
        "faults": counted["faults"],
        "bytes_per_node": round(counted["bytes"] / config.nodes, 1),
        "wall_s": round(wall_s, 3),
        "peak_rss_mb": peak_rss_mb,
    }


#: Settings added since figures were kept, left out of a run's ``config``
#: while at their default (empty), so that the runs without them report
#: what they did before.
_NEWER = frozenset({"nat_mix"})


def _shown(attribute, value):
    """Whether a run's ``config`` shows a setting (L{_NEWER})."""
    return attribute.name not in _NEWER or bool(value)


def _sold(sim):
    """(units sold beyond their stock, buy id -> the ledgers it is in) of a
    L{Simulation}'s sellers."""
    over = 0
    seen = {}
    for node, seller in sim.sellers.items():
        for item, initial in sim.initial_stock[node].items():
            sold = sum(sale.units for sale in seller.ledger.values() if sale.item == item)
            over += max(0, sold - initial)
        for buy_id in seller.ledger:
            seen[buy_id] = seen.get(buy_id, 0) + 1
    return over, seen
