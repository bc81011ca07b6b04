"""
The superpeer scheme's L{IDiscovery}: a node is a super-peer (``--super``)
or a leaf, and this object wires the parts of that kind together (slot
budgets, topology, the leaf or super-peer side) and turns what they find
into L{Offer}s for the roles.
"""

from zope.interface import implementer

from twisted_bazaar.base.slotservice import SlotService
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.core.market import IDiscovery, recordedOffers
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.schemes.interfaces import ITopologyProvider
from twisted_bazaar.schemes.superpeer.leaf import LeafSide
from twisted_bazaar.schemes.superpeer.messages import LEAF, SUPER, SpHit
from twisted_bazaar.schemes.superpeer.query import QueryFlood
from twisted_bazaar.schemes.superpeer.superpeer import SuperPeerSide
from twisted_bazaar.schemes.superpeer.topology import SuperPeerLinks


@implementer(IDiscovery, ITopologyProvider)
class SuperPeerDiscovery(SlotService, NodeObserver):
    """
    @ivar superpeer: True on a super-peer, False on a leaf.
    @ivar side: the L{SuperPeerSide} or the L{LeafSide}.
    @ivar flood: the super-peer's L{QueryFlood} (None on a leaf).
    """

    name = "superpeer"

    # Slots, not a dict: every node of a simulated super-peer run holds one.
    __slots__ = ("node", "superpeer", "shops", "side", "flood", "topology")

    def __init__(self, node, settings):
        SlotService.__init__(self)
        self.node = node
        self.superpeer = settings.superpeer
        self.shops = []
        named = settings.neighbours
        if self.superpeer:
            links = settings.superpeer_links + len(named)
            node.setSlots(SUPER, max(1, 3 * settings.superpeer_links + len(named)),
                          news=True)
            node.setSlots(LEAF, settings.max_leaves)
            self.side = SuperPeerSide(node, self.shops, settings.leaf_items,
                                      settings.index_entries)
            self.flood = self.side.flood = QueryFlood(
                node, self.side.lookup, settings.query_ttl, settings.enough_hits,
                settings.query_deadline,
                settings.probe_ttl if settings.dynamic else None,
                settings.round_wait, settings.seen_limit, self.side.index.group)
            purpose = SUPER
        else:
            links = settings.superpeers
            node.setSlots(LEAF, settings.superpeers)
            self.side = LeafSide(node, self.shops)
            self.flood = None
            purpose = LEAF
        self.topology = SuperPeerLinks(node, self.name, purpose, links, named,
                                       settings.retry_min, settings.retry_max,
                                       confirm=not self.superpeer)
        if not self.superpeer:
            self.side.onServing = self.topology.confirmed
            self.side.letGo = self.topology.letGo
        node.addObserver(self)

    # -- selling ------------------------------------------------------------------

    def advertise(self, shop):
        self.shops.append(shop)
        if not self.superpeer:
            self.side.inventoryChanged(sorted(shop.inventory()))

    def stockChanged(self, item, units):
        """A leaf tells its super-peers; a super-peer asks its shops at each
        query anyway."""
        if not self.superpeer:
            self.side.inventoryChanged([item])

    # -- buying ------------------------------------------------------------------

    def canFind(self):
        if self.superpeer:
            return self.node.ready and not self.node.stopping
        return self.side.canFind()

    def whyCannotFind(self):
        """Why this leaf cannot search, when the tracker said it (no live
        super-peer to link to), else None: said by a buyer that gives up
        in place of "no link to another node"."""
        if self.superpeer or self.canFind():
            return None
        return self.topology.noneNamed

    def find(self, item, wait):
        node = self.node
        node.events.findStarted(item)
        if self.superpeer:
            finding = self.flood.ask(item, node.id, wait)
        else:
            finding = self.side.find(item, wait)
        return finding.addCallback(self._offers, item)

    def _offers(self, sellers, item):
        node = self.node
        offers = recordedOffers(node, item, [(record, host, port, namedBy)
                                             for _, host, port, record, namedBy in sellers])
        for offer in offers:
            node.events.offerArrived(item, offer)
        node.events.offersFound(item, offers)
        return offers

    def _hit(self, link, message):
        """A hit for a query this super-peer floods, delivered."""
        if self.flood is not None:
            self.flood.hitArrived(message, groupOf(link))

    delivers = {SpHit: _hit}

    # -- IService --------------------------------------------------------------------

    def startService(self):
        super().startService()
        if not self.superpeer:
            self.side.start()
        self.topology.startService()

    def stopService(self):
        """End every query in progress and stop keeping links."""
        super().stopService()
        (self.flood or self.side).stop()
        return self.topology.stopService()
