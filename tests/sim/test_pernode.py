"""
What a simulated node holds that it never uses: nothing.  A warm run
holds every node in one process, and a container each node makes empty
and never fills costs a million nodes its bytes a million times
(base/sparing.py; docs/simulator.md, "Memory a node").  These count the
parts a quiet node holds, not the process's memory: they do not depend
on the machine.
"""

from functools import cached_property

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.sparing import NOTHING
from twisted_bazaar.schemes.index.node import NO_ITEMS
from twisted_bazaar.sim.runner import SimConfig, Simulation

WARM = SimConfig(nodes=30, sellers=0.2, items=2, searches=10, discovery="index",
                 start="warm", crypto="fast")


def quietParts(node):
    """The containers a node that has not dialled, bought nor sold holds
    empty: name -> what it holds there."""
    dialer, state, index = node.dialer, node.store._state, node.discovery
    parts = {
        "dialer's LAN paths": dialer._lan,
        "dialer's punch waiters": dialer._waiting,
        "dialer's book of paths": dialer._book,
        "store's sales": state._sales._rows,
        "store's bag": state._bag,
        "store's pending buys": state._pending,
        "index lookups": index._lookups,
        "index lookups' times": index._asked,
    }
    if not node.roles:
        # A seller signs its records as it is built; a node that sells
        # nothing signs nothing.
        parts["key's signer"] = vars(node.identity).get("_signRaw")
        parts["items registered"] = index.registered
        parts["items listed"] = index.listed
        parts["records signed"] = index.book._current
        parts["index registrations unacknowledged"] = index._unacked
        parts["store's stock"] = state._inventory
        parts["store's copies sold"] = state._copies_sold
    for role in node.roles:
        parts[f"{type(role).__name__}'s trades"] = role.trades._entries
        closes = getattr(role, "closes", None)
        if closes is not None:
            parts["closed buys"] = closes.closed._entries
            parts["copies sold"] = closes.copies._entries
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
                if not any(part is shared for shared in (None, (), NOTHING, NO_ITEMS)):
                    held.setdefault(name, 0)
                    held[name] += 1
        self.assertEqual(held, {})

    def test_rolesArePlugged(self):
        """The test above looks at sellers' parts, and at nodes of no role."""
        names = {name for node in self.sim.nodes for name in quietParts(node)}
        self.assertTrue({"Seller's trades", "closed buys", "key's signer"} <= names,
                        names)


COLD = SimConfig(nodes=30, sellers=0.2, items=2, searches=10, discovery="superpeer",
                 start="cold", crypto="fast")


def cachedHeld(owner):
    """The names of owner's C{cached_property}s whose value it holds: each
    was put in through the owner's C{__dict__} after it was made, which
    gives an owner whose attributes shared their names' table with the
    others of its class a table of its own (0.75 kB a tracker session)."""
    return [name for name in vars(owner)
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
