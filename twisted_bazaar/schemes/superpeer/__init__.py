"""
The superpeer scheme (``--discovery superpeer``, Gnutella 0.6 / KaZaA
style): leaves register their inventory with one or two super-peers;
super-peers keep an inverted index of their leaves and flood queries
among themselves only, with dynamic querying.  See ``docs/protocol.md``
(the superpeer section) for the messages.
"""

from twisted_bazaar.schemes.superpeer.plugin import (
    SuperPeerScheme,
    parseNeighbour,
    parseYesNo,
)
from twisted_bazaar.schemes.superpeer.settings import (
    DEFAULT_ENOUGH_HITS,
    DEFAULT_INDEX_ENTRIES,
    DEFAULT_MAX_LEAVES,
    DEFAULT_PROBE_TTL,
    DEFAULT_QUERY_DEADLINE,
    DEFAULT_QUERY_TTL,
    DEFAULT_RETRY_MAX,
    DEFAULT_RETRY_MIN,
    DEFAULT_ROUND_WAIT,
    DEFAULT_SUPERPEER_LINKS,
    DEFAULT_SUPERPEERS,
    Settings,
)

__all__ = [
    "SuperPeerScheme", "Settings", "parseNeighbour", "parseYesNo",
    "DEFAULT_ENOUGH_HITS", "DEFAULT_INDEX_ENTRIES", "DEFAULT_MAX_LEAVES",
    "DEFAULT_PROBE_TTL", "DEFAULT_QUERY_DEADLINE", "DEFAULT_QUERY_TTL",
    "DEFAULT_RETRY_MAX", "DEFAULT_RETRY_MIN", "DEFAULT_ROUND_WAIT",
    "DEFAULT_SUPERPEER_LINKS", "DEFAULT_SUPERPEERS",
]
