"""
A discovery scheme that lives outside the package, for the tests that show
the core is open: ``--discovery gossip``.

It declares two message types of its own (``gossip``, flooded with a
FloodRouter over overlay links, and ``gossipHit``, path-routed back), adds
an option (``--gossip-ttl``), keeps random neighbours like flood, and
needs no edit of the core.  The tests put ``tests/plugin_root`` on the
plugin path (see tests/test_open_core.py).
"""

from twisted.application.service import Service
from twisted.internet import defer
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.base.options import PluginOption, boundedInt
from twisted_bazaar.net.overlay import OVERLAY
from twisted_bazaar.routing.flood import FloodRouter
from twisted_bazaar.schemes import IDiscovery, IDiscoveryPlugin, ITopologyProvider, Offer
from twisted_bazaar.core.topology import RandomNeighbours


@wire.message("gossip", ("id", "id", wire.checkId, wire.REQUIRED),
              ("item", "item", wire.checkItem, wire.REQUIRED),
              ("returnPath", "return_path", wire.checkPath, wire.REQUIRED),
              ("ttl", "ttl", wire.checkTtl, wire.REQUIRED), bucket="search")
@wire.frozen
class Gossip(wire.Message):
    """Who sells item?  Flooded; each node appends its id."""

    id: int
    item: str
    return_path: tuple
    ttl: int


@wire.message("gossipHit", ("id", "id", wire.checkId, wire.REQUIRED),
              ("item", "item", wire.checkItem, wire.REQUIRED),
              ("path", "path", wire.checkPath, wire.REQUIRED), routed=True)
@wire.frozen
class GossipHit(wire.Message):
    """I do: routed back along the gossip's path; the seller is path[0]."""

    id: int
    item: str
    path: tuple


@implementer(IDiscovery, ITopologyProvider)
class GossipDiscovery(Service, NodeObserver):
    name = "gossip"
    superpeer = None

    def __init__(self, node, ttl):
        self.node = node
        self.ttl = ttl
        self.shops = []
        self._finds = {}
        self.router = FloodRouter(node, Gossip, self._arrived,
                                  lambda link: link.purpose == OVERLAY)
        #: The builder plugs it into the node as its topology.
        self.topology = RandomNeighbours(node, node.config.neighbours)
        node.addObserver(self)

    def advertise(self, shop):
        self.shops.append(shop)

    def stockChanged(self, item, units):
        pass

    def canFind(self):
        return bool(self.router.links())

    def _arrived(self, gossip):
        buyer = gossip.return_path[0]
        if any(shop.offerTo(gossip.item, buyer) for shop in self.shops):
            self.node.route(GossipHit(gossip.id, gossip.item, gossip.return_path[::-1]))

    def find(self, item, wait):
        node = self.node
        gossip_id = node.rng.randrange(1, wire.ID_LIMIT)
        finished = defer.Deferred(lambda d: self._end(gossip_id))
        timer = node.clock.callLater(wait, self._windowClosed, gossip_id)
        self._finds[gossip_id] = (item, [], finished, timer)
        self.router.start(Gossip(gossip_id, item, (node.id,), self.ttl))
        node.events.findStarted(item)
        return finished

    def _end(self, gossip_id):
        item, offers, finished, timer = self._finds.pop(gossip_id)
        if timer.active():
            timer.cancel()
        return item, offers, finished

    def _windowClosed(self, gossip_id):
        item, offers, finished = self._end(gossip_id)
        offers.sort(key=lambda offer: len(offer.route))
        self.node.events.offersFound(item, offers)
        finished.callback(offers)

    def _hit(self, link, message):
        find = self._finds.get(message.id)
        if find is not None:
            offer = Offer(message.path[0], message.path[::-1])
            find[1].append(offer)
            self.node.events.offerArrived(message.item, offer)

    delivers = {GossipHit: _hit}

    def startService(self):
        super().startService()
        self.topology.startService()

    def stopService(self):
        super().stopService()
        for gossip_id in list(self._finds):
            self._end(gossip_id)[2].callback([])
        return self.topology.stopService()


@implementer(IPlugin, IDiscoveryPlugin)
class GossipScheme:
    name = "gossip"
    description = "a test scheme from outside the package"
    options = (PluginOption("gossip-ttl", "hop limit of gossip", boundedInt(1, 16), 4),)

    def configure(self, config):
        return {"ttl": config["gossip-ttl"]}

    def build(self, node, settings):
        return GossipDiscovery(node, **settings)


gossip = GossipScheme()
