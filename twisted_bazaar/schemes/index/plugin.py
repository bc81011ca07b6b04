"""The index scheme as --discovery finds it, and its tracker extension as
the tracker finds it."""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.schemes import IDiscoveryPlugin
from twisted_bazaar.tracker.extension import ITrackerExtensionPlugin


@implementer(IPlugin, IDiscoveryPlugin)
class IndexScheme:
    name = "index"
    description = "look items up in the tracker's index, Napster style"
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
