"""
The superpeer scheme as --discovery finds it: its options, their
parsers, and the L{Settings <twisted_bazaar.schemes.superpeer.settings.Settings>}
it makes of them.
"""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.address import TCP, parseAddress
from twisted_bazaar.base.options import PluginOption, boundedInt, seconds
from twisted_bazaar.routing.flood import DEFAULT_SEEN_LIMIT
from twisted_bazaar.schemes import IDiscoveryPlugin
from twisted_bazaar.schemes.superpeer.messages import MAX_HITS, MAX_ITEMS
from twisted_bazaar.schemes.superpeer.settings import (
    DEFAULT_ENOUGH_HITS,
    DEFAULT_INDEX_ENTRIES,
    DEFAULT_MAX_LEAVES,
    DEFAULT_PROBE_TTL,
    DEFAULT_QUERY_DEADLINE,
    DEFAULT_QUERY_TTL,
    DEFAULT_RETRY_MIN,
    DEFAULT_ROUND_WAIT,
    DEFAULT_SUPERPEER_LINKS,
    DEFAULT_SUPERPEERS,
    Settings,
)


def parseNeighbour(text):
    """A super-peer's address in any form the docs show (``HOST:PORT``,
    ``[V6]:PORT``, ``tcp:HOST:PORT``, ``tcp:host=HOST:port=PORT``) ->
    (host, port), with a reason for bad input."""
    address = parseAddress(text, TCP, "nodes link to each other over plain TCP")
    if len(address.host.encode("utf-8")) > wire.MAX_HOST_BYTES:
        raise ValueError(f"host name longer than {wire.MAX_HOST_BYTES} bytes")
    return address.host, address.port


parseNeighbour.coerceDoc = "HOST:PORT, or a client endpoint such as tcp:HOST:PORT."


def parseYesNo(text):
    """``yes`` or ``no`` -> True or False."""
    answers = {"yes": True, "no": False}
    if text not in answers:
        raise ValueError(f"wants yes or no, not {text!r}")
    return answers[text]


parseYesNo.coerceDoc = "yes or no."


@implementer(IPlugin, IDiscoveryPlugin)
class SuperPeerScheme:
    name = "superpeer"
    description = ("leaves register with super-peers, which flood queries among "
                   "themselves, Gnutella 0.6 / KaZaA style")
    options = (
        PluginOption("super", "serve as a super-peer (else this node is a leaf)",
                     flag=True),
        PluginOption("superpeer-neighbour", "address of a super-peer to link to "
                     "first: a leaf's super-peer, or a super-peer's neighbour "
                     "(repeatable)", parseNeighbour, repeatable=True),
        PluginOption("superpeers", "super-peers a leaf links to (and registers "
                     "with, once it has something to list)",
                     boundedInt(1, 8), DEFAULT_SUPERPEERS),
        PluginOption("superpeer-links", "other super-peers a super-peer asks the "
                     "tracker for", boundedInt(0, 64), DEFAULT_SUPERPEER_LINKS),
        PluginOption("max-leaves", "leaves a super-peer takes",
                     boundedInt(1, 10000), DEFAULT_MAX_LEAVES),
        PluginOption("query-ttl", "hop limit of queries among super-peers",
                     boundedInt(1, wire.MAX_TTL), DEFAULT_QUERY_TTL),
        PluginOption("enough-hits", "sellers after which a query stops waiting",
                     boundedInt(1, MAX_HITS), DEFAULT_ENOUGH_HITS),
        PluginOption("query-deadline", "seconds a super-peer gathers hits at most",
                     seconds, DEFAULT_QUERY_DEADLINE),
        PluginOption("dynamic-querying", "probe with --probe-ttl first and widen "
                     "only while too few hits come (yes or no)", parseYesNo, True),
        PluginOption("probe-ttl", "the ttl of a dynamic query's first round",
                     boundedInt(1, wire.MAX_TTL), DEFAULT_PROBE_TTL),
        PluginOption("round-wait", "seconds a dynamic query's round waits per hop "
                     "of its ttl before widening", seconds, DEFAULT_ROUND_WAIT),
        PluginOption("leaf-items", "items one leaf may have in a super-peer's index",
                     boundedInt(1, 10**6), MAX_ITEMS),
        PluginOption("index-entries", "entries a super-peer's index holds at most",
                     boundedInt(1, 10**8), DEFAULT_INDEX_ENTRIES),
        PluginOption("query-seen-limit", "query ids a super-peer remembers to drop "
                     "repeats", boundedInt(16, 10**7), DEFAULT_SEEN_LIMIT),
        PluginOption("superpeer-retry", "first pause, in seconds, before seeking a "
                     "super-peer again (doubling up to 60 times that)", seconds,
                     DEFAULT_RETRY_MIN),
    )

    def configure(self, config):
        superpeer = bool(config["super"])
        if config["dynamic-querying"] and config["probe-ttl"] > config["query-ttl"]:
            raise ValueError(f"--probe-ttl {config['probe-ttl']} is over --query-ttl "
                             f"{config['query-ttl']}")
        retry = config["superpeer-retry"]
        return Settings(
            superpeer=superpeer, neighbours=tuple(config["superpeer-neighbour"]),
            superpeers=config["superpeers"],
            superpeer_links=config["superpeer-links"],
            max_leaves=config["max-leaves"], query_ttl=config["query-ttl"],
            enough_hits=config["enough-hits"],
            query_deadline=config["query-deadline"],
            dynamic=config["dynamic-querying"], probe_ttl=config["probe-ttl"],
            round_wait=config["round-wait"], leaf_items=config["leaf-items"],
            index_entries=config["index-entries"],
            seen_limit=config["query-seen-limit"], retry_min=retry,
            retry_max=60 * retry)

    def build(self, node, settings):
        from twisted_bazaar.schemes.superpeer.discovery import SuperPeerDiscovery

        return SuperPeerDiscovery(node, settings)
