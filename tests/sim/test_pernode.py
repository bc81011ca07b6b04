"""
What a simulated node holds that it never uses: nothing.  A warm run
holds every node in one process, and a container each node makes empty
and never fills costs a million nodes its bytes a million times
(base/sparing.py; docs/simulator.md, "Memory a node").  These count the
parts a quiet node holds, not the process's memory: they do not depend
on the machine.
"""

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
        "relays named": dialer.connector._named,
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
