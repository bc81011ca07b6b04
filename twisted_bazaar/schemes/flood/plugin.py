"""The flood scheme as --discovery finds it: its options and their settings."""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.options import PluginOption, boundedInt
from twisted_bazaar.routing.flood import DEFAULT_SEEN_LIMIT
from twisted_bazaar.schemes import IDiscoveryPlugin


@implementer(IPlugin, IDiscoveryPlugin)
class FloodScheme:
    name = "flood"
    description = "flood searches over the overlay; the default"
    options = (
        PluginOption("ttl", "hop limit of the searches this node starts",
                     boundedInt(1, wire.MAX_TTL), wire.DEFAULT_TTL),
        PluginOption("seen-limit", "search ids remembered to drop repeats",
                     boundedInt(16, 10**7), DEFAULT_SEEN_LIMIT),
    )

    def configure(self, config):
        return {"ttl": config["ttl"], "seen_limit": config["seen-limit"]}

    def build(self, node, settings):
        from twisted_bazaar.schemes.flood.discovery import FloodDiscovery

        return FloodDiscovery(node, neighbours=node.config.neighbours, **settings)
