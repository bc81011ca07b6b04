"""
The Chord experiments of ``bazaar-sim --discovery chord --experiment NAME``,
after the Chord paper (Stoica et al., SIGCOMM 2001), run on the real chord
node code on in-memory links and virtual time:

 - ``pathlength``: hops per lookup against N, on a stable ring;
 - ``failures``: lookups that fail when a fraction of the nodes crash at
   once, before any repair and after stabilization;
 - ``churn``: lookups that reach the right node while nodes join, quit and
   crash continuously.

Large rings (``pathlength``, ``failures``) start in the state
stabilization converges to (L{Joining.place}), which saves
thousands of joins; the invariants are checked before anything is
measured.  ``churn`` joins every node through a real tracker.  Every
random choice comes from the seed.
"""

import math
import random
import time

import attr
from zope.interface import implementer

from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.daemon.build import buildNode, plugScheme
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.core.market import IShop
from twisted_bazaar.schemes.chord.invariants import holders, violations
from twisted_bazaar.schemes.chord.node import ChordDiscovery
from twisted_bazaar.schemes.chord.ring import SIZE
from twisted_bazaar.sim.clock import HeapClock
from twisted_bazaar.sim.metrics import percentiles
from twisted_bazaar.sim.warm import placeRing
from twisted_bazaar.testing import Market, MemoryConnector, MemoryNetwork
from twisted_bazaar.testing.market import NodeClock
from twisted_bazaar.tracker import ID_SPACE

EXPERIMENTS = ("pathlength", "failures", "churn")
#: Seconds between two lookups a run starts (so that no link's rate limit
#: drops any).
LOOKUP_GAP = 0.005


def _stats(values):
    stats = percentiles(values, points=(1, 50, 99))
    return {key: (round(value, 3) if value is not None else None)
            for key, value in stats.items()}


class Lookups:
    """Lookups started one after another, and how each ended."""

    def __init__(self):
        self.hops = []
        self.ok = 0
        self.wrong = 0
        self.lost = 0

    def result(self):
        total = self.ok + self.wrong + self.lost
        return {"lookups": total, "failed": self.wrong + self.lost,
                "failed_fraction": round((self.wrong + self.lost) / total, 4)
                if total else None,
                "lost": self.lost, "wrong": self.wrong, "hops": _stats(self.hops)}


class SeededRing:
    """
    N chord nodes on a L{MemoryNetwork}, placed where a stable ring has
    them: exact successor lists, predecessors and fingers, and the links
    between them established (a warm start: L{twisted_bazaar.sim.warm}).
    """

    def __init__(self, count, seed, settings, latency_ms=(10.0, 50.0), keyed=False):
        """
        @param keyed: give each node a key pair, its id the key's (a seller
            signs its records with it); else ids are drawn at random and
            the nodes have no keys (no node of the ring can sell).
        """
        self.rng = random.Random(seed)
        self.clock = HeapClock()
        low, high = latency_ms
        self.network = MemoryNetwork(self.clock, random.Random(seed + 1),
                                     (low / 1000.0, high / 1000.0))
        self.settings = settings
        self.link_settings = LinkSettings(ping_interval=60.0)
        config = NodeConfig(link=self.link_settings, max_connections=1, direct_slots=1)
        identities = {}
        if keyed:
            while len(identities) < count:
                identity = Identity.fromRandom(self.rng)
                identities.setdefault(identity.id, identity)
            self.ids = sorted(identities)
        else:
            self.ids = sorted(self.rng.sample(range(ID_SPACE), count))
        self.schemes = {}
        self.alive = set(self.ids)
        self.sellers = set()
        for index, node_id in enumerate(self.ids):
            host = f"n{index}"
            node = buildNode(NodeClock(self.clock),
                             random.Random(self.rng.getrandbits(64)),
                             MemoryConnector(self.network, host), config,
                             identity=identities.get(node_id)).node
            port = self.network.listen(OverlayFactory(node), host)
            node.setAddress(host, port.getHost().port)
            node.setId(node_id)
            self.schemes[node_id] = plugScheme(node, ChordDiscovery(node, settings))
        self._link()

    def _link(self):
        """Each node placed where the converged ring has it, and one ring
        link, established as after its handshake, for each pair of nodes
        where either needs the other (L{warm.placeRing})."""
        placeRing(self.network, [self.schemes[node_id].node for node_id in self.ids])

    def run(self, seconds):
        self.clock.runFor(seconds)

    def live(self):
        return [self.schemes[node_id] for node_id in sorted(self.alive)]

    def holderOf(self, key):
        ring = sorted(self.alive)
        return holders(ring, key, 0)[0]

    def addSellers(self, items):
        """Make ``items`` random nodes sellers of one item each, published
        and refreshed by the real scheme; returns item -> seller id."""
        sellers = {}
        for number, node_id in enumerate(self.rng.sample(self.ids, items)):
            item = f"item{number}"
            self.schemes[node_id].advertise(_Shop(item))
            sellers[item] = node_id
        self.sellers = set(sellers.values())
        return sellers

    def crash(self, fraction):
        """Crash that fraction of the nodes at once (never a seller)."""
        count = round(fraction * len(self.alive))
        victims = self.rng.sample(sorted(self.alive - self.sellers), count)
        for node_id in victims:
            node = self.schemes[node_id].node
            self.alive.discard(node_id)
            node.clock.stopped = True
            node.overlay.refuseLinks()
            self.network.crash(node.host)
        return victims

    def lookups(self, count, check, start):
        """Start count lookups from random live nodes, one every LOOKUP_GAP
        seconds, and run until they are all over; ``start(scheme)`` starts
        one and returns (Deferred, what check needs)."""
        tally = Lookups()
        live = sorted(self.alive)

        def launch():
            scheme = self.schemes[self.rng.choice(live)]
            deferred, wanted = start(scheme)
            deferred.addCallback(lambda answer: check(tally, answer, wanted))

        for number in range(count):
            self.clock.callLater(number * LOOKUP_GAP, launch)
        self.run(count * LOOKUP_GAP + self.settings.lookup_timeout + 1)
        return tally


@implementer(IShop)
class _Shop:
    """A seller of one unit of one item, for the simulator."""

    def __init__(self, item):
        self.item = item

    def inventory(self):
        return {self.item: 1}

    def offerTo(self, item, buyer):
        return item == self.item


def _checkHolder(ring):
    def check(tally, found, key):
        if found is None:
            tally.lost += 1
        elif found.node.id == ring.holderOf(key):
            tally.ok += 1
            tally.hops.append(found.hops)
        else:
            tally.wrong += 1
    return check


def _locateRandom(ring):
    def start(scheme):
        key = ring.rng.randrange(SIZE)
        return scheme.locate(key), key
    return start


def pathRing(count, seed, settings, latency_ms=(10.0, 50.0)):
    """The ring whose lookups L{pathLength} counts: keyed, so that its
    nodes spread over the whole ring, as the random keys looked up do (a
    keyless id is a place among the first 2^31 of 2^128: every key past
    them would be held by the first node, and each lookup would go to the
    same place)."""
    return SeededRing(count, seed, settings, latency_ms, keyed=True)


def pathLength(sizes, lookups, seed, settings, latency_ms=(10.0, 50.0), report=None):
    """Hops per lookup for each ring size, after the ring has run a while;
    ``report(row)`` is told of each row as it is done."""
    rows = []
    for count in sizes:
        started = time.perf_counter()
        ring = pathRing(count, seed, settings, latency_ms)
        ring.run(3 * settings.stabilize)
        broken = violations(ring.live())
        tally = ring.lookups(lookups, _checkHolder(ring), _locateRandom(ring))
        row = {"nodes": count, "goal_mean": round(0.5 * math.log2(count) + 1, 3),
               "invariant_violations": len(broken), **tally.result(),
               "wall_s": round(time.perf_counter() - started, 1)}
        rows.append(row)
        if report is not None:
            report(row)
    return rows


def failures(count, fractions, items, lookups, seed, settings, repair_s,
             latency_ms=(10.0, 50.0), report=None):
    """
    For each fraction p: a fresh stable ring in which ``items`` sellers
    (never crashed) have published an item each loses p of its other nodes
    at once; requests for the items start right away (before any node has
    missed enough pings to declare another dead) and again after repair_s
    seconds.  A request succeeds if its answer names the item's seller.
    """
    rows = []
    for fraction in fractions:
        started = time.perf_counter()
        ring = SeededRing(count, seed, settings, latency_ms, keyed=True)
        ring.run(1.0)  # the ring's links are up: the sellers' stores get through
        sellers = ring.addSellers(items)
        ring.run(4 * settings.stabilize)
        before_crash = violations(ring.live(), sorted(sellers.items()))
        ring.crash(fraction)

        def check(tally, answer, wanted):
            if answer is None:
                tally.lost += 1
            elif wanted in [record.seller for record in answer.sellers]:
                tally.ok += 1
                tally.hops.append(answer.hops)
            else:
                tally.wrong += 1

        def start(scheme):
            item = ring.rng.choice(sorted(sellers))
            return scheme.request(item), sellers[item]

        before = ring.lookups(lookups, check, start)
        ring.run(repair_s)
        broken = violations(ring.live(), sorted(sellers.items()))
        after = ring.lookups(lookups, check, start)
        rows.append({"nodes": count, "failed_nodes": fraction,
                     "invariant_violations_before_crash": len(before_crash),
                     "before_repair": before.result(), "after_repair": after.result(),
                     "invariant_violations_after_repair": len(broken),
                     "wall_s": round(time.perf_counter() - started, 1)})
        if report is not None:
            report(rows[-1])
    return rows


def churn(count, rates, duration, lookup_rate, seed, settings, settle_s,
          latency_ms=(10.0, 50.0), report=None):
    """
    For each rate (events a second): a ring of count nodes that joined
    through a real tracker goes through duration seconds in which nodes
    join (half the events), quit politely (a quarter) or crash (a
    quarter), while lookups for random keys start lookup_rate times a
    second from random live nodes.  A lookup succeeds if it ends at the
    live node that holds its key.
    """
    options = {"chord-" + name.replace("_", "-"): value
               for name, value in attr.asdict(settings).items()}
    rows = []
    for rate in rates:
        started = time.perf_counter()
        rng = random.Random(seed)
        clock = HeapClock()
        low, high = latency_ms
        network = MemoryNetwork(clock, random.Random(seed + 1), (low / 1000.0, high / 1000.0))
        link_settings = LinkSettings(ping_interval=60.0)
        market = Market(network, seed=seed + 2, link_settings=link_settings)
        config = NodeConfig(link=link_settings, max_connections=1, direct_slots=1)

        def add():
            return market.addNode(config, discovery="chord", scheme=options)

        for _ in range(count):
            add()
            clock.runFor(0.05)
        clock.runFor(settle_s)
        broken_before = violations([node.discovery for node in market.nodes])
        tally = Lookups()
        events = {"join": 0, "quit": 0, "crash": 0}

        def check(tally, found, key):
            if found is None:
                tally.lost += 1
                return
            if found.node.id == holders(ring(), key, 0)[0]:
                tally.ok += 1
                tally.hops.append(found.hops)
            else:
                tally.wrong += 1

        def ring():
            return sorted(node.id for node in market.nodes if node.discovery.joined)

        def lookup():
            node = rng.choice([node for node in market.nodes if node.discovery.joined])
            key = rng.randrange(SIZE)
            node.discovery.locate(key).addCallback(lambda found: check(tally, found, key))

        end = clock.seconds() + duration
        next_event = clock.seconds() + rng.expovariate(rate)
        next_lookup = clock.seconds() + rng.expovariate(lookup_rate)
        while clock.seconds() < end:
            if next_event <= next_lookup:
                clock.runFor(max(0.0, next_event - clock.seconds()))
                kind = rng.choice(["join", "join", "quit", "crash"])
                events[kind] += 1
                if kind == "join":
                    add()
                elif len(market.nodes) > 2:
                    victim = rng.choice(market.nodes)
                    if kind == "quit":
                        market.services.pop(victim).stopService()
                    else:
                        market.crash(victim)
                next_event += rng.expovariate(rate)
            else:
                clock.runFor(max(0.0, next_lookup - clock.seconds()))
                lookup()
                next_lookup += rng.expovariate(lookup_rate)
        clock.runFor(settings.lookup_timeout + 1)
        clock.runFor(settle_s)
        broken_after = violations([node.discovery for node in market.nodes])
        rows.append({"nodes": count, "events_per_s": rate, "events": events,
                     "invariant_violations_before": len(broken_before),
                     "invariant_violations_after_quiet": len(broken_after),
                     **tally.result(), "wall_s": round(time.perf_counter() - started, 1)})
        if report is not None:
            report(rows[-1])
    return rows
