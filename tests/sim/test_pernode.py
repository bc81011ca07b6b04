"""
What a simulated node holds that it never uses: nothing.  A warm run
holds every node in one process, and a container each node makes empty
and never fills costs a million nodes its bytes a million times
(base/sparing.py; docs/simulator.md, "Memory a node").  These count the
parts a quiet node holds, not the process's memory: they do not depend
on the machine.
"""

import gc
import os
import subprocess
import sys
import tracemalloc
from functools import cached_property
from types import FunctionType

from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.sparing import NO_MEMBERS, NOTHING
from twisted_bazaar.reach.reachable.reserving import ReservationService
from twisted_bazaar.schemes.chord.node import ChordDiscovery
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery
from twisted_bazaar.schemes.superpeer.discovery import SuperPeerDiscovery
from twisted_bazaar.schemes.index.node import NO_ITEMS, IndexDiscovery
from twisted_bazaar.store.records import NO_SALES, NOT_REMEMBERED
from twisted_bazaar.sim.crypto import signatures
from twisted_bazaar.sim.runner import SimConfig, Simulation

WARM = SimConfig(nodes=30, sellers=0.2, items=2, searches=10, discovery="index",
                 start="warm", crypto="fast")


def quietParts(node):
    """The containers a node that has not dialled, bought nor sold holds
    empty: name -> what it holds there."""
    dialer, state, index = node.dialer, node.store.snapshot, node.discovery
    parts = {
        "book of paths": node.whereabouts._book,
        "LAN paths": node.whereabouts._lan,
        "host checks": node.whereabouts._hosts,
        "dialer's punch waiters": dialer._linkWaits,
        "store's sales": state._sales._rows,
        "store's book of sales": state._sales,
        "store's closes remembered": state._closed,
        "store's copies remembered": state._copies,
        "store's bag": state._bag,
        "store's pending buys": state._pending,
        "index lookups": index._lookups,
        "index lookups' times": index._asked,
        "tracker session's link factory": node.membership._factory,
        "tracker session's reach": node.membership._reaching,
    }
    if not node.roles:
        # A seller signs its records as it is built; a node that sells
        # nothing signs nothing.
        parts["key's signer"] = node.identity._signer
        parts["items registered"] = index.registered
        parts["items listed"] = index.listed
        parts["records"] = index._book
        parts["roles"] = node.roles
        parts["index's shops"] = index.shops
        parts["index registrations unacknowledged"] = index._unacked
        parts["store's stock"] = state._inventory
        parts["store's copies sold"] = state._copies_sold
    for role in node.roles:
        parts[f"{type(role).__name__}'s trades"] = role.trades._entries
        closes = getattr(role, "closes", None)
        if closes is not None:
            parts["closed buys"] = closes.closed._entries
            parts["copies sold"] = closes.copies._entries
            parts["closes being written"] = closes._writing
            parts["paths waiting for a close"] = closes._waiting_paths
            parts["sales not on disk"] = role.sales.uncommitted
            parts["answers signed alone"] = role.answers._alone
    return parts


class QuietNodeTests(SynchronousTestCase):
    """A warm node that has done nothing yet holds none of the parts it
    would make at its first use."""

    def setUp(self):
        self.sim = Simulation(WARM)
        self.sim.build()

    def test_aQuietNodeHoldsNothingItNeverUsed(self):
        held = {}
        for node in self.sim.nodes:
            for name, part in quietParts(node).items():
                if not any(part is shared for shared in (None, (), NOTHING, NO_MEMBERS,
                                                         NO_ITEMS, NO_SALES,
                                                         NOT_REMEMBERED)):
                    held.setdefault(name, 0)
                    held[name] += 1
        self.assertEqual(held, {})

    def test_rolesArePlugged(self):
        """The test above looks at sellers' parts, and at nodes of no role."""
        names = {name for node in self.sim.nodes for name in quietParts(node)}
        self.assertTrue({"Seller's trades", "closed buys", "key's signer"} <= names,
                        names)


class QuietFloodTests(SynchronousTestCase):
    """A warm flood's node that has not searched nor sold holds its
    discovery's book of records, table of searches, shops and its
    topology's unlinkable peers as nothing, or the shared empty ones
    (0.33 kB of every node built, with their parts in slots)."""

    def test_aFloodNodeHoldsOnlyWhatItFilled(self):
        sim = Simulation(SimConfig(nodes=40, sellers=0.2, items=2, searches=10,
                                   discovery="flood", start="warm", crypto="fast"))
        with signatures("fast"):
            sim.build()
        held, quiet = {}, 0
        for node in sim.nodes:
            scheme = node.discovery
            parts = {"searches": scheme._finds, "unlinkable peers":
                     scheme.topology._unlinkable}
            if not node.roles:
                quiet += 1
                parts.update({"records": scheme._book, "shops": scheme.shops})
            for name, part in parts.items():
                if not any(part is shared for shared in (None, (), NOTHING)):
                    held[name] = held.get(name, 0) + 1
        self.assertEqual(held, {})
        self.assertGreater(quiet, len(sim.nodes) // 2)


class PingedLinkTests(SynchronousTestCase):
    """A warm run's link end past its first keepalive check holds the time
    of its peer's one ping, not a bucket (112 bytes an end: a flood run's
    peak at 20,000 nodes rose 22 MB at its pings; docs/simulator.md, "A
    keepalive's ping holds no bucket")."""

    def test_onePingItsTime(self):
        sim = Simulation(SimConfig(nodes=30, sellers=0.2, items=2, searches=10,
                                   discovery="flood", start="warm", crypto="fast"))
        with signatures("fast"):
            sim.build()
            sim.clock.runFor(130.0)
        held = {}
        for node in sim.nodes:
            for link in node.overlay.linkEnds():
                kind = type((link._buckets or {}).get("ping")).__name__
                held[kind] = held.get(kind, 0) + 1
        self.assertNotIn("TokenBucket", held)
        self.assertGreater(held.get("float", 0), len(sim.nodes))


class QuietLeafTests(SynchronousTestCase):
    """A warm super-peer run's leaves hold the sets and tables of their
    side and topology that they never fill as the shared empty ones: a
    leaf is registered with its super-peers, or quiet with them, never
    both, and most never search (1.2 kB of each leaf)."""

    def test_aLeafHoldsOnlyWhatItFilled(self):
        sim = Simulation(SimConfig(nodes=60, sellers=0.2, items=2, searches=10,
                                   discovery="superpeer", start="warm", crypto="fast"))
        sim.build()
        held, leaves = {}, 0
        for node in sim.nodes:
            scheme = node.discovery
            if scheme.superpeer:
                continue
            leaves += 1
            side, topology = scheme.side, scheme.topology
            parts = {"registered": side.registered, "quiet": side.quiet,
                     "told": side.told, "registering": side._registering,
                     "awaited": side._awaited, "finds": side._finds,
                     "named ids": topology._named_ids, "down": topology._down,
                     "unconfirmed": topology._unconfirmed, "named": topology.named,
                     "unanswered": topology._unanswered}
            for name, part in parts.items():
                if part is not NO_MEMBERS and part is not NOTHING and part != ():
                    held[name] = held.get(name, 0) + 1
        sellers = sum(1 for node in sim.nodes
                      if not node.discovery.superpeer and node.discovery.side.inventory())
        self.assertGreater(leaves - sellers, sellers)
        self.assertEqual(held, {"registered": sellers, "told": sellers,
                                "quiet": leaves - sellers})


def slottedParts(node):
    """The parts a simulated node holds one of, which keep their fields in
    slots (a dict of them took 40 to 90 bytes more each): name -> part."""
    scheme = node.discovery
    parts = {"store": node.store, "events": node.events, "path table": node.paths,
             "overlay": node.overlay}
    router = getattr(scheme, "router", None)
    if router is not None:
        parts[type(router).__name__] = router
    budget = getattr(router, "budget", None)
    if budget is not None:
        parts["flood budget's share"] = budget.outer
    for name in ("publisher", "ring"):
        part = getattr(scheme, name, None)
        if part is not None:
            parts[name] = part
    side = getattr(scheme, "side", None)
    if side is not None and not scheme.superpeer:
        parts["leaf side"] = side
    if node.membership is not None:
        parts["tracker session"] = node.membership
    if isinstance(scheme, IndexDiscovery):
        parts["index discovery"] = scheme
    if isinstance(scheme, FloodDiscovery):
        parts["flood discovery"] = scheme
        parts["neighbours"] = scheme.topology
    if isinstance(scheme, ChordDiscovery):
        parts["chord discovery"] = scheme
    if isinstance(scheme, SuperPeerDiscovery):
        parts["super-peer discovery"] = scheme
        parts["super-peer links"] = scheme.topology
    for observer in node.events.observers:
        if isinstance(observer, ReservationService):
            parts["reservations"] = observer
    return parts


class SlottedPartsTests(SynchronousTestCase):
    """What every node of a simulation holds one of has slots, not a dict
    (issue 95: a node half as heavy): a part's dict is its fields' names
    again and a table's spare room, in each of a million nodes."""

    def assertSlotted(self, discovery, expected):
        sim = Simulation(SimConfig(nodes=40, sellers=0.2, items=2, searches=10,
                                   discovery=discovery, start="warm", crypto="fast"))
        with signatures("fast"):
            sim.build()
        seen, dicts = set(), {}
        for node in sim.nodes:
            for name, part in slottedParts(node).items():
                seen.add(name)
                if hasattr(part, "__dict__"):
                    dicts[name] = dicts.get(name, 0) + 1
        self.assertEqual(dicts, {})
        self.assertTrue(expected <= seen, seen)

    def test_index(self):
        self.assertSlotted("index", {"store", "events", "path table", "overlay",
                                     "tracker session", "index discovery",
                                     "reservations"})

    def test_flood(self):
        self.assertSlotted("flood", {"overlay", "FloodRouter", "flood budget's share",
                                     "reservations", "flood discovery", "neighbours"})

    def test_chord(self):
        self.assertSlotted("chord", {"overlay", "KeyRouter", "publisher", "ring",
                                     "tracker session", "reservations",
                                     "chord discovery"})

    def test_superpeer(self):
        self.assertSlotted("superpeer", {"overlay", "leaf side", "tracker session",
                                         "reservations", "super-peer discovery",
                                         "super-peer links"})


COLD = SimConfig(nodes=30, sellers=0.2, items=2, searches=10, discovery="superpeer",
                 start="cold", crypto="fast")


def cachedHeld(owner):
    """The names of owner's C{cached_property}s whose value it holds: each
    was put in through the owner's C{__dict__} after it was made, which
    gives an owner whose attributes shared their names' table with the
    others of its class a table of its own (0.75 kB a tracker session).
    An owner in slots has no dict to put one in."""
    return [name for name in getattr(owner, "__dict__", ())
            if isinstance(getattr(type(owner), name, None), cached_property)]


class ColdNodeTests(SynchronousTestCase):
    """A node of a cold run, after it joined and asked the tracker."""

    def setUp(self):
        self.sim = Simulation(COLD)
        self.sim.run()

    def test_noPartMadeLaterHasATableOfItsOwn(self):
        """A tracker session makes its questions at the first (a
        C{cached_property} did: 1,900 sessions of a 2,000 node cold super-
        peer run held 0.75 kB each more than their attributes), and so
        does a node its pace of advertising: held in an attribute each
        has from the start."""
        held = {}
        for node in self.sim.nodes:
            for owner in (node, node.membership):
                for name in cachedHeld(owner):
                    held.setdefault(name, 0)
                    held[name] += 1
        self.assertEqual(held, {})

    def test_sessionsThatAskedHoldTheirQuestions(self):
        """The test above looks at sessions that asked the tracker (28 of
        the 30)."""
        asked = sum(node.membership._asked is not None for node in self.sim.nodes)
        self.assertGreater(asked, len(self.sim.nodes) // 2)


class HandlerPartsTests(SynchronousTestCase):
    """A node's handlers are methods of its parts, whose functions every
    node's table shares (L{twisted_bazaar.net.handlers}): a closure a
    node is a function, and the objects it holds, of each node's own."""

    def test_aChordNodeHoldsNoHandlerOfItsOwn(self):
        """A chord node noted who named the peers of six messages through
        a closure each, made for each node (2.4 kB a warm node of 100,000,
        whose peak rose 16 %)."""
        sim = Simulation(SimConfig(nodes=30, sellers=0.2, items=2, searches=10,
                                   discovery="chord", start="warm", crypto="fast"))
        sim.build()
        own = {}
        for node in sim.nodes:
            for part in node.overlay.handlers.parts:
                if isinstance(part, FunctionType):
                    own.setdefault(part.__qualname__, 0)
                    own[part.__qualname__] += 1
        self.assertEqual(own, {})


def builtBytes(discovery, nodes, nat=0.0, run=0):
    """The bytes a warm run of that many nodes holds once built, by
    C{tracemalloc} (seed 1, fast crypto): for the same code, the same
    within about 100 bytes a node whatever the process ran before.  With
    ``nat``, a cold run with that fraction of its nodes at home, ``run``
    virtual seconds in (its nodes joined, checked, reserved)."""
    config = SimConfig(nodes=nodes, discovery=discovery, searches=10, crypto="fast",
                       start="cold" if nat else "warm", nat=nat)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sim = Simulation(config)
        with signatures(config.crypto):
            sim.build()
            for _ in range(run):
                sim.clock.runFor(1.0)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def slope(discovery, nat=0.0, run=0):
    """What one more node of a warm run (or, with ``nat``, a cold one
    ``run`` seconds in: L{builtBytes}) holds: the slope between 100 and
    300 nodes (the tracker's and the modules' own bytes cancel out), with
    the events the builds log dropped (whether they are kept,
    twisted.logger holds them until logging begins, is the process's,
    not the node's)."""
    Logger.emit = lambda logger, level, format=None, **kwargs: None
    builtBytes(discovery, 100, nat, run)  # the modules imported, their caches made
    return (builtBytes(discovery, 300, nat, run) - builtBytes(discovery, 100, nat, run)) / 200


def bytesANode(discovery, nat=0.0, run=0):
    """L{slope}, measured in a process of its own: in this one, what the
    tests before left (caches, observers) changed it by up to 700 bytes."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (f"from tests.sim.test_pernode import slope; "
            f"print(slope({discovery!r}, {nat!r}, {run!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, check=True,
                         capture_output=True, text=True, timeout=300).stdout
    return float(out.split()[-1])


class BytesANodeTests(SynchronousTestCase):
    """
    What a warm node of each scheme holds, bounded a little above what it
    holds now (docs/simulator.md, "Memory a node", has the peak memory of
    20,000 nodes beside these), so that a rise fails here rather than
    being seen, or not, in a run of 100,000 nodes: 3 kB more a chord node
    went unseen from 6490653 to 94994027.  C{tracemalloc} counts Python's
    objects, not the process's pages, so the figure does not depend on
    the machine or its load; it does on the Python (3.11 here).  10a79352
    fails all four: each of its nodes made its dialer when built, which a
    quiet node never dials with (132 to 137 bytes).  8d90b180 fails them
    too: each warm link end was a L{Link} until a part took it, where it
    is a quiet end (L{twisted_bazaar.testing.memory.QuietEnd}), 168 bytes less
    (flood 5,377 bytes, index 5,806, superpeer 8,639, chord 10,346 there;
    4,704, 5,135, 7,969 and 9,015 at 45b43ace).  45b43ace fails all five:
    each node's tracker session held a L{LinkContext
    <twisted_bazaar.net.link.LinkContext>} for its one link, where the
    session is that link's context itself (94 bytes less, no flood node
    has a session: index 5,042, superpeer 7,873, chord 8,915, at home
    21,160); and an account (L{twisted_bazaar.net.account.Account}: a
    seller's three, of closes it never made; a node at home holds more)
    held a dict of its fields and four empty dicts, where it has slots
    and shared empty tables until it holds something (flood 4,617, index
    4,951, superpeer 7,779, chord 8,828, at home 20,767); and a seller held
    four empty sets of what its sales and closes wait for, the shared
    empty one now (flood 4,531, index 4,862, superpeer 7,690, chord 8,745,
    at home 20,683).
    """

    def assertHoldsAtMost(self, discovery, bound):
        held = bytesANode(discovery)
        self.assertLessEqual(held, bound, f"a warm {discovery} node holds {held:,.0f} "
                                          f"bytes, more than {bound:,}")

    def test_flood(self):
        self.assertHoldsAtMost("flood", 4_575)

    def test_index(self):
        self.assertHoldsAtMost("index", 4_910)

    def test_superpeer(self):
        self.assertHoldsAtMost("superpeer", 7_735)

    def test_chord(self):
        self.assertHoldsAtMost("chord", 8_790)

    def test_indexAtHome(self):
        """Half the nodes behind NAT, 10 virtual seconds into a cold run
        (joined, checked, the nodes at home held at a relay): 1.2 kB a
        node more went unseen from ffd89de8 to 8297fc61 (a closure for
        each question a node's punching, reach and relay home asked of
        it, and a reach's handler kept by every node that heard one)."""
        held = bytesANode("index", 0.5, 10)
        self.assertLessEqual(held, 20_730, f"an index node of a cold run at home holds "
                                           f"{held:,.0f} bytes, more than 20,730")


class ModulesTests(SynchronousTestCase):
    def test_noQuicStack(self):
        """A simulator's process does not load a QUIC stack (qh3, or
        aioquic before it: megabytes of its peak memory, and dozens of
        modules), which only a node serving QUIC needs: a light module
        came to import aioquic once (the dialer's QUIC transport, for the
        error a silent dial fails with) and the peak memory of 20,000
        nodes rose 1.4 MB unnoticed."""
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        code = ("import sys; import twisted_bazaar.cli.simcommand, "
                "twisted_bazaar.testing.market, twisted_bazaar.sim.runner; "
                "print(sorted(m for m in sys.modules if m.split('.')[0] in ('qh3', 'aioquic')))")
        out = subprocess.run([sys.executable, "-c", code], cwd=root, check=True,
                             capture_output=True, text=True, timeout=300).stdout
        self.assertEqual(out.strip(), "[]")
