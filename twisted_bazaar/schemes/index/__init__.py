"""
The index scheme (``--discovery index``, Napster style): the tracker keeps
an inverted index of who sells what; sellers register and unregister
items, buyers look an item up and buy straight from the sellers named.
It needs no overlay: an index node keeps no neighbours and relays nothing.
"""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.schemes import IDiscoveryPlugin
from twisted_bazaar.tracker.extension import ITrackerExtensionPlugin


@implementer(IPlugin, IDiscoveryPlugin)
class IndexScheme:
    name = "index"
    description = "look items up in the tracker's index (Napster style)"
    options = ()

    def configure(self, config):
        return {}

    def build(self, node, settings):
        from twisted_bazaar.schemes.index.node import IndexDiscovery

        return IndexDiscovery(node)


@implementer(IPlugin, ITrackerExtensionPlugin)
class IndexTrackerPlugin:
    name = "index"

    def build(self, tracker):
        from twisted_bazaar.schemes.index.tracker import IndexExtension

        return IndexExtension(tracker)
