"""
Nodes at home, behind NAT routers, in a simulation (``bazaar-sim --nat``).

A fraction of the nodes is put behind routers (L{twisted_bazaar.testing.nat}):
nobody outside can dial them, and what they dial sees the router's public
address.  Super-peers stay public, as a market chooses them among the
nodes it can reach.  The homes are drawn from a generator of their own, so
a run without them draws exactly what it drew before.

Each node at home has a router of its own, or (``--home-size N``) shares
it with the next nodes at home, N to a home, on the home's LAN: each at a
local address of its own, which it tells the tracker as a daemon does, so
that the machines of one home trade over their LAN
(L{twisted_bazaar.reach.ways.Lan}) rather than through a relay.
"""

import random

from twisted_bazaar.testing.memory import MemoryTransport
from twisted_bazaar.sim.udppunches import TCP_KIND, drawKind
from twisted_bazaar.testing.nat import KEEPS_PORTS, SYMMETRIC, Homes, Router

#: Added to the run's seed for the generator that draws the homes.
SEED_OFFSET = 5
#: The most nodes a home holds (``--home-size``): the hosts of one /24,
#: less the router's address.
MAX_HOME_SIZE = 253
#: The ways a purchase's buyOK came, as L{pathOf} names them.
PATHS = ("lan", "direct", "punched", "relayed")


def lanAddress(home, member):
    """The local address of member number ``member`` (from 0) of home
    number ``home``: 192.168.H.M, H the home's number modulo 256 (homes
    reuse each other's subnets, as homes do: only a home's own LAN routes
    its addresses), M from 2 (the router is .1)."""
    return f"192.168.{home % 256}.{member + 2}"


def placeHomes(network, nodes, seed, fraction, symmetric, public=(), home_size=1,
               mix=(), kinds=None):
    """
    Put each node not in public behind a router with probability
    fraction; each router is symmetric with probability symmetric, and
    keeps ports otherwise; or, given a NAT ``mix``
    (L{twisted_bazaar.sim.udppunches.parseMix}), of the mix's UDP kind
    its draw falls on (noted in ``kinds``, public address -> kind), and of
    that kind's TCP kind (L{twisted_bazaar.sim.udppunches.TCP_KIND}).  With ``home_size`` above 1, the nodes at home
    share their routers, ``home_size`` to a home in the order of nodes
    (the last home may hold fewer), each at a local address on its home's
    LAN (L{lanAddress}); the same nodes are at home whatever the size, and
    a home's router is of the kind drawn for its first node.  Returns the
    L{Homes}, also set as the network's.
    """
    rng = random.Random(seed + SEED_OFFSET)
    homes = Homes(random.Random(seed + SEED_OFFSET + 1))
    router, members, count = None, home_size, 0
    for index, node in enumerate(nodes):
        if node in public or rng.random() >= fraction:
            continue
        draw = rng.random()
        kind = SYMMETRIC if draw < symmetric else KEEPS_PORTS
        if mix:
            kind = drawKind(mix, draw)
        if members == home_size:
            router = Router(f"router{index}", TCP_KIND.get(kind, kind))
            members, count = 0, count + 1
            if mix:
                kinds[router.public] = kind
        lan = None if home_size == 1 else lanAddress(count - 1, members)
        homes.place(node.connector.from_host, router, lan)
        members += 1
    network.homes = homes
    return homes


def pathOf(link):
    """
    The way a link reaches its peer: "lan" (between two nodes of one
    home, over its LAN), "punched" (a punch's simultaneous open), "direct"
    (another connection of the network) or "relayed" (a relay's
    circuit).
    """
    transport = link.transport
    if not isinstance(transport, MemoryTransport):
        return "relayed"
    if transport.lan:
        return "lan"
    return "punched" if transport.punched else "direct"


def nodeRelays(sim):
    """The nodes' own relays of a run (each a public node's relay
    offering's, L{twisted_bazaar.reach.reachable.offering.RelayOffering}), in the
    order of its nodes: a market's nodes have them (with ``--nat``)."""
    if sim.market is None:
        return []
    relays = []
    for node in sim.nodes:
        parts = sim.market.parts.get(node)
        if parts is not None and parts.offering is not None:
            relays.append(parts.offering.relay)
    return relays


def homeMetrics(homes, nodes, sellers, buyers, relay=None, punches=None, relays=(),
                paths=None):
    """What a run with nodes at home reports: how many homes and of which
    kind, how many sellers and buyers sit in them, the units sold by
    sellers at home and by all sellers, the bytes the tracker's relay
    carried and the refusals it made (None without one), the same of
    the nodes' own relays (``relays``, L{nodeRelays}), how many of those
    held reservations at the end, and how many, what became of the
    hole punches (L{twisted_bazaar.sim.punches.PunchCounts}; None without
    them), and the units bought by the way their buyOK came (``paths``,
    L{PATHS}: a dict of counts)."""
    def atHome(node):
        return homes.routerOf(node.connector.from_host) is not None

    def sold(seller):
        return sum(sale.units for sale in seller.ledger.values())

    routers = {homes.routerOf(node.connector.from_host) for node in nodes} - {None}
    at_home = sum(atHome(node) for node in nodes)
    return {
        "homes": len(routers),
        "symmetric": sum(router.kind == SYMMETRIC for router in routers),
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
        "nodes_at_home": at_home,
        "bought_by_path": {path: (paths or {}).get(path, 0) for path in PATHS},
    }
