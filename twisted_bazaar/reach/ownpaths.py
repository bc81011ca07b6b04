"""
What a node says of its own ways to be reached, besides its address: the
paths of its ``thisisme`` (docs/protocol.md §3, "Paths"), each its claim.
"""

import functools

from twisted_bazaar.transports.path import LAN, RELAYED, UDP, Path

__all__ = ["ownPaths"]


@functools.lru_cache(maxsize=256)
def ownPaths(relay=None, lan=None, udp=None, more=()):
    """
    The paths a node names of itself (None: none): through ``relay``
    (``HOST:PORT``), at its local addresses ``lan`` (a tuple of hosts, at
    its own port: left out), its QUIC at UDP port ``udp`` (at the host it
    is seen at: left out), and ``more``, a tuple of the paths its
    transports name of themselves (L{Transports.advertised
    <twisted_bazaar.transports.table.Transports.advertised>}: a
    plugin's port).  One tuple for each such set, however many
    links and nodes say it (a simulation's thousands of nodes share it).
    """
    paths = ((() if relay is None else (Path(RELAYED, relay=relay),))
             + tuple(Path(LAN, host) for host in lan or ())
             + (() if not udp else (Path(UDP, port=udp),)) + more)
    return paths or None
