"""A superpeer node's settings, leaf or super-peer, and their defaults."""

import attr

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.routing.flood import DEFAULT_SEEN_LIMIT
from twisted_bazaar.schemes.superpeer.messages import MAX_ITEMS

#: Default super-peers a leaf links to.
DEFAULT_SUPERPEERS = 2
#: Default super-peer neighbours a super-peer asks the tracker for.
DEFAULT_SUPERPEER_LINKS = 4
DEFAULT_MAX_LEAVES = 128
DEFAULT_QUERY_TTL = 4
DEFAULT_ENOUGH_HITS = 3
DEFAULT_QUERY_DEADLINE = 0.75
DEFAULT_PROBE_TTL = 1
DEFAULT_ROUND_WAIT = 0.15
DEFAULT_INDEX_ENTRIES = 100_000
DEFAULT_RETRY_MIN = 1.0
DEFAULT_RETRY_MAX = 60.0

LEAVES_LIMIT = declare(
    "superpeer.leaves", DEFAULT_MAX_LEAVES, "leaves", "leaves a super-peer takes",
    flag="--max-leaves", owner=__name__)
LEAF_ITEMS_LIMIT = declare(
    "superpeer.leaf-items", MAX_ITEMS, "items",
    "items one leaf may have in a super-peer's index", flag="--leaf-items",
    owner=__name__)
QUERY_SEEN_LIMIT = declare(
    "superpeer.query-seen", DEFAULT_SEEN_LIMIT, "ids",
    "query ids a super-peer remembers to drop repeats", flag="--query-seen-limit",
    owner=__name__)


@attr.s(frozen=True, auto_attribs=True)
class Settings:
    """What L{SuperPeerScheme.configure
    <twisted_bazaar.schemes.superpeer.plugin.SuperPeerScheme.configure>} makes
    of the options."""

    superpeer: bool = False
    neighbours: tuple = ()
    superpeers: int = DEFAULT_SUPERPEERS
    superpeer_links: int = DEFAULT_SUPERPEER_LINKS
    max_leaves: int = DEFAULT_MAX_LEAVES
    query_ttl: int = DEFAULT_QUERY_TTL
    enough_hits: int = DEFAULT_ENOUGH_HITS
    query_deadline: float = DEFAULT_QUERY_DEADLINE
    dynamic: bool = True
    probe_ttl: int = DEFAULT_PROBE_TTL
    round_wait: float = DEFAULT_ROUND_WAIT
    leaf_items: int = MAX_ITEMS
    index_entries: int = DEFAULT_INDEX_ENTRIES
    seen_limit: int = DEFAULT_SEEN_LIMIT
    retry_min: float = DEFAULT_RETRY_MIN
    retry_max: float = DEFAULT_RETRY_MAX
