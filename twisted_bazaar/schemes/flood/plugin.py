"""The flood scheme as --discovery finds it: its options and their settings."""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.options import PluginOption, boundedInt, boundedSeconds
from twisted_bazaar.routing.flood import DEFAULT_SEEN_LIMIT
from twisted_bazaar.schemes import IDiscoveryPlugin
from twisted_bazaar.schemes.interfaces import IClientValues

#: Seconds a one-shot client's search waits past its first offer
#: (L{FloodScheme.client}).
CLIENT_SETTLE = 0.1


@implementer(IPlugin, IDiscoveryPlugin, IClientValues)
class FloodScheme:
    name = "flood"
    description = "flood searches over the overlay; the default"
    options = (
        PluginOption("ttl", "hop limit of the searches this node starts",
                     boundedInt(1, wire.MAX_TTL), wire.DEFAULT_TTL),
        PluginOption("seen-limit", "search ids remembered to drop repeats",
                     boundedInt(16, 10**7), DEFAULT_SEEN_LIMIT),
        PluginOption("settle", "seconds a search this node starts waits past its first "
                     "offer for others, if its window is longer (0: the whole window)",
                     boundedSeconds(0, 60), 0.0),
    )
    #: Option values of a client that joins a market of daemons
    #: (``bazaar buy``): it takes the offers in hand a moment after the
    #: first, not a whole window later (a file's other sellers are found
    #: by its download as it goes).
    client = {"settle": CLIENT_SETTLE}

    def configure(self, config):
        settings = {"ttl": config["ttl"], "seen_limit": config["seen-limit"]}
        if config["settle"]:
            settings["settle"] = config["settle"]
        return settings

    def build(self, node, settings):
        from twisted_bazaar.schemes.flood.discovery import FloodDiscovery

        return FloodDiscovery(node, neighbours=node.config.neighbours, **settings)
