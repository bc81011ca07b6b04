"""The discovery schemes twisted-bazaar ships: flood and index."""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.discovery import IDiscoveryPlugin
from twisted_bazaar.discovery.flood import FloodDiscovery
from twisted_bazaar.discovery.index import IndexDiscovery


@implementer(IPlugin, IDiscoveryPlugin)
class _Scheme:
    def __init__(self, name, description, cls):
        self.name = name
        self.description = description
        self.cls = cls

    def build(self, node):
        return self.cls(node)


flood = _Scheme("flood", "flood searches over the overlay (the default)",
                FloodDiscovery)
index = _Scheme("index", "look items up in the tracker's index (Napster style)",
                IndexDiscovery)
