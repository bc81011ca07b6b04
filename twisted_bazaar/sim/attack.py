"""
Adversaries in a run (``bazaar-sim --adversaries FRACTION --adversary
KIND``): which nodes they are, what each is made to do
(L{twisted_bazaar.sim.adversaries}), what they spent, and what the honest
buyers saw of them.

The honest market is the one the seed draws without adversaries: the
same nodes, graph, sellers and buyers.  The adversaries are drawn among
the other nodes (those that neither buy nor sell), from a random source
of their own, so that a run with a fraction of 0 is the honest run, and
the same seed gives the same adversaries.
"""

import bisect
import random

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.daemon.build import plugRole
from twisted_bazaar.roles.seller import DEFAULT_LEASE
from twisted_bazaar.schemes.chord.messages import ChordRecords
from twisted_bazaar.schemes.chord.ring import SIZE, keyOf, place
from twisted_bazaar.sim.adversaries import (
    KINDS,
    Misroute,
    NotYetSeller,
    SquatSeller,
    Withhold,
    grindBetween,
)

#: Offsets of the seed of the adversaries' own random sources: which nodes
#: they are, and the keys a sybil grinds (the run's others use 1 to 5).
CHOICE_SEED, GRIND_SEED = 11, 12


def checkAdversaries(fraction, kinds):
    """
    @raise ValueError: for a fraction without a kind, a kind without a
        fraction, or an unknown kind.
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"--adversary {unknown[0]}: no such kind (the kinds: "
                         f"{', '.join(KINDS)})")
    if fraction and not kinds:
        raise ValueError(f"--adversaries {fraction:g} needs at least one "
                         "--adversary KIND")
    if kinds and fraction is None:
        raise ValueError("--adversary needs --adversaries FRACTION")


def bystanders(config):
    """How many nodes of a run neither buy nor sell (as
    L{Builder.assignRoles} draws them): the sellers, at least one and
    not every node, and a buyer for each search while there are nodes."""
    sellers = max(1, min(config.nodes - 1, round(config.sellers * config.nodes)))
    return config.nodes - sellers - min(config.searches, config.nodes - sellers)


class _Seen(NodeObserver):
    """What one honest buyer saw: its finds, those that found an honest
    seller, and, for each find (chord), whether any holder answered it and
    whether an honest one did (a find counts once, however many holders
    answered it, and a detour's direct questions included)."""

    def __init__(self, attack, node):
        self.attack = attack
        #: item -> [answered, answered by an honest holder] of its last
        #: find.
        self._open = {}
        node.addObserver(self)

    def findStarted(self, item):
        self.attack.finds += 1
        self._open[item] = [False, False]

    def offersFound(self, item, offers):
        # The find stays open to its answers (a node is told of a message
        # after its scheme took it, so the answer that ended the find comes
        # after this) until the next find of the item.
        if any(offer.seller in self.attack.honest_sellers for offer in offers):
            self.attack.honest_finds += 1

    def _records(self, link, message):
        find = self._open.get(message.item)
        if find is None:
            return
        if not find[0]:
            find[0] = True
            self.attack.lookups_answered += 1
        if not find[1] and message.holder not in self.attack.ids:
            find[1] = True
            self.attack.honest_holders += 1

    delivers = {ChordRecords: _records}


class Attack:
    """
    The adversaries of one simulation.

    @ivar kinds: node -> its kind.
    @ivar behaviours: node -> its L{Withhold} (or L{Misroute}), if any.
    @ivar keys: key pairs the adversaries made (a sybil's grinding included).
    """

    def __init__(self, sim):
        self.sim = sim
        config = sim.config
        self.fraction = config.adversaries or 0.0
        self.kind_names = tuple(config.adversary)
        self.kinds = {}
        self.behaviours = {}
        self.ids = set()
        self.honest_sellers = set()
        self.keys = 0
        self.ground = 0
        self.finds = self.honest_finds = 0
        self.lookups_answered = self.honest_holders = 0
        self.count = round(self.fraction * config.nodes)
        free = bystanders(config)
        if self.count > free:
            raise ValueError(
                f"--adversaries {self.fraction:g} of {config.nodes} nodes is {self.count} "
                f"nodes, and only {free} neither buy nor sell: lower --searches or "
                "--sellers, or add --nodes")

    # -- planting --------------------------------------------------------------------

    def plant(self):
        """Draw the adversaries and make each what its kind is; call once
        the roles are assigned, before a warm start places the ring."""
        sim = self.sim
        candidates = [node for node in sim.nodes
                      if node not in sim.sellers and node not in sim.buyers]
        rng = random.Random(sim.config.seed + CHOICE_SEED)
        chosen = rng.sample(candidates, self.count) if self.count else []
        wanted = sorted({item for stock in sim.initial_stock.values() for item in stock})
        sellers = 0
        sybils = []
        for index, node in enumerate(chosen):
            kind = self.kind_names[index % len(self.kind_names)]
            self.kinds[node] = kind
            self.keys += 1
            if kind in ("withhold", "sybil"):
                self.behaviours[node] = Withhold(node)
                if kind == "sybil":
                    sybils.append(node)
            elif kind == "misroute":
                self.behaviours[node] = Misroute(node)
            else:
                item = wanted[sellers % len(wanted)]
                sellers += 1
                role = NotYetSeller if kind == "notyet" else SquatSeller
                plugRole(node, role(node, {item: sim.config.searches + len(sim.buyers)},
                                    lease=DEFAULT_LEASE))
        if sybils and sim.config.discovery == "chord":
            self._grind(sybils, wanted)
        # notyet and squat hold and relay as honest nodes do.
        self.ids = {node.id for node in self.behaviours}
        self.honest_sellers = {node.id for node in sim.sellers}

    def _grind(self, sybils, items):
        """
        Each sybil a key ground to sit on the ring between an item's key
        and the honest node that would hold it: the item's holder and
        replicas, in turn over the items, as many per item as there are
        holders of a record (its holder and its successors); the sybils
        left over keep the key they have.
        """
        sim = self.sim
        honest = sorted(place(node.id) for node in sim.nodes if node not in self.kinds)
        holders = sybils[0].discovery.settings.successors + 1
        rng = random.Random(sim.config.seed + GRIND_SEED)
        for index, node in enumerate(sybils[:holders * len(items)]):
            key = keyOf(items[index % len(items)])
            holder = honest[bisect.bisect_left(honest, key) % len(honest)]
            identity, made = grindBetween(rng, (key - 1) % SIZE, (holder - 1) % SIZE)
            self.keys += made - 1
            self.ground += made
            node.identity = identity
            node.setId(identity.id)

    def watch(self, node):
        """Watch what an honest buyer sees (from when it starts buying)."""
        _Seen(self, node)

    # -- measuring -----------------------------------------------------------------------

    def metrics(self):
        """The adversaries' section of a run's metrics."""
        sim = self.sim
        by_kind = {}
        for kind in self.kinds.values():
            by_kind[kind] = by_kind.get(kind, 0) + 1
        sent = sum(sum(sim.node_stats[node].values()) for node in self.kinds)
        chord = sim.config.discovery == "chord"
        return {
            "fraction": self.fraction,
            "kinds": list(self.kind_names),
            "count": len(self.kinds),
            "by_kind": dict(sorted(by_kind.items())),
            "keys_generated": self.keys,
            "keys_ground": self.ground,
            "messages_sent": sent,
            "dropped": sum(each.dropped for each in self.behaviours.values()),
            "answered_falsely": sum(getattr(each, "answered", 0)
                                    for each in self.behaviours.values()),
            "finds": self.finds,
            "finds_with_honest_seller": _ratio(self.honest_finds, self.finds),
            "lookups_answered": self.lookups_answered if chord else None,
            "lookups_honest_holder": _ratio(self.honest_holders, self.finds)
            if chord else None,
        }


def _ratio(part, whole):
    return round(part / whole, 6) if whole else None


def againstHonest(attacked, honest):
    """
    What the adversaries cost the honest buyers, from the metrics of a run
    with them (``attacked``) and of the same seed without (``honest``):
    stored in the attacked run's adversaries section, and returned.
    """

    def less(key, *inner):
        a, b = attacked[key], honest[key]
        for name in inner:
            a, b = a[name], b[name]
        return None if a is None or b is None else round(a - b, 3)

    compared = {
        "success_rate": honest["success_rate"],
        "extra_messages_per_search": less("messages_per_search"),
        "extra_messages": sum(attacked["messages_by_type"].values())
        - sum(honest["messages_by_type"].values()),
        "extra_latency_ms_mean": less("latency_ms", "mean"),
        "extra_latency_ms_p95": less("latency_ms", "p95"),
    }
    attacked["adversaries"]["against_honest"] = compared
    return compared
