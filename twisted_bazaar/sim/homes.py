"""
Nodes at home, behind NAT routers, in a simulation (``bazaar-sim --nat``).

A fraction of the nodes is put behind a router of its own
(L{twisted_bazaar.testing.nat}): nobody outside can dial them, and what
they dial sees the router's public address.  Super-peers stay public, as a
market chooses them among the nodes it can reach.  The homes are drawn
from a generator of their own, so a run without them draws exactly what
it drew before.
"""

import random

from twisted_bazaar.testing.nat import KEEPS_PORTS, SYMMETRIC, Homes, Router

#: Added to the run's seed for the generator that draws the homes.
SEED_OFFSET = 5


def placeHomes(network, nodes, seed, fraction, symmetric, public=()):
    """
    Put each node not in public behind a router of its own with
    probability fraction; each router is symmetric with probability
    symmetric, and keeps ports otherwise.  Returns the L{Homes}, also
    set as the network's.
    """
    rng = random.Random(seed + SEED_OFFSET)
    homes = Homes(random.Random(seed + SEED_OFFSET + 1))
    for index, node in enumerate(nodes):
        if node in public or rng.random() >= fraction:
            continue
        kind = SYMMETRIC if rng.random() < symmetric else KEEPS_PORTS
        homes.place(node.connector.from_host, Router(f"router{index}", kind))
    network.homes = homes
    return homes


def nodeRelays(sim):
    """The nodes' own relays of a run (each a public node's relay
    offering's, L{twisted_bazaar.core.offering.RelayOffering}), in the
    order of its nodes: a market's nodes have them (with ``--nat``)."""
    if sim.market is None:
        return []
    relays = []
    for node in sim.nodes:
        parts = sim.market.parts.get(node)
        if parts is not None and parts.offering is not None:
            relays.append(parts.offering.relay)
    return relays


def homeMetrics(homes, nodes, sellers, buyers, relay=None, punches=None, relays=()):
    """What a run with nodes at home reports: how many homes and of which
    kind, how many sellers and buyers sit in them, the units sold by
    sellers at home and by all sellers, the bytes the tracker's relay
    carried and the refusals it made (None without one), the same of
    the nodes' own relays (``relays``, L{nodeRelays}), how many of those
    held reservations at the end, and how many, and what became of the
    hole punches (L{twisted_bazaar.sim.punches.PunchCounts}; None without
    them)."""
    def atHome(node):
        return homes.routerOf(node.connector.from_host) is not None

    def sold(seller):
        return sum(sale.units for sale in seller.ledger.values())

    routers = [homes.routerOf(node.connector.from_host) for node in nodes]
    return {
        "homes": sum(router is not None for router in routers),
        "symmetric": sum(router is not None and router.kind == SYMMETRIC
                         for router in routers),
        "sellers_at_home": sum(atHome(node) for node in sellers),
        "buyers_at_home": sum(atHome(node) for node in buyers),
        "sold_from_home": sum(sold(seller) for node, seller in sellers.items()
                              if atHome(node)),
        "sold": sum(sold(seller) for seller in sellers.values()),
        "relayed_bytes": None if relay is None else relay.relayed,
        "relay_refusals": None if relay is None else relay.refused,
        "peer_relayed_bytes": sum(relaying.relayed for relaying in relays),
        "peer_relays": sum(bool(relaying.reservations.used) for relaying in relays),
        "peer_reservations": sum(relaying.reservations.used for relaying in relays),
        "peer_relay_refusals": sum(relaying.refused for relaying in relays),
        "punches": None if punches is None else punches.metrics(),
    }
