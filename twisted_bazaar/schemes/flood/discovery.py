"""
Discovery by flooding: a search spreads over the overlay links, each shop
that can serve it reserves a unit and replies along the search's reverse
path (or straight to the buyer when linked to it).  A reply of a shared
file carries the seller's signed record of it, which describes the file.
"""

from twisted.internet import defer
from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.slotservice import SlotService
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.identity.keys import signedIf, trusts
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.overlay import OVERLAY
from twisted_bazaar.routing.flood import FloodRouter, OfPurpose
from twisted_bazaar.core.market import IDiscovery, Offer, fileDescription
from twisted_bazaar.core.records import RecordBook, recordFault
from twisted_bazaar.schemes.interfaces import ITopologyProvider
from twisted_bazaar.schemes.flood.messages import Reply, Search
from twisted_bazaar.core.topology import RandomNeighbours


#: Searches travel on overlay links only, never on a buyer's direct link
#: to a seller.
overlayLinks = OfPurpose(OVERLAY)


#: Offers one search keeps from the replies that came over one link: a
#: neighbour that floods replies cannot crowd out the others' offers, nor
#: grow the buyer's memory.
OFFERS_PER_LINK = 16
#: Replies one search checks (a signature each, of a seller other than
#: the neighbour) of those that came over one link, valid or not: a
#: neighbour replaying one signed reply for the whole window costs the
#: buyer no more than these.
CHECKED_PER_LINK = 4 * OFFERS_PER_LINK


class _Find:
    """One search in progress: its offers (and how many came over each
    link), its window, its Deferred."""

    def __init__(self, item):
        self.item = item
        self.offers = []
        self.perLink = {}
        #: Replies checked, of each link (L{CHECKED_PER_LINK}).
        self.checked = {}
        self.timer = None
        self.finished = None


@implementer(IDiscovery, ITopologyProvider)
class FloodDiscovery(SlotService, NodeObserver):
    """Searches flooded to every overlay link, replies collected for a
    window."""

    name = "flood"
    superpeer = None
    log = Logger()

    # Slots, not a dict: a simulated flood's nodes hold one each.
    __slots__ = ("node", "ttl", "settle", "shops", "_book", "_finds", "router",
                 "topology")

    def __init__(self, node, ttl=wire.DEFAULT_TTL, seen_limit=10_000, neighbours=3,
                 settle=0.0):
        SlotService.__init__(self)
        self.node = node
        self.ttl = ttl
        #: Seconds a search waits past its first offer, if its window is
        #: longer (0: the whole window).
        self.settle = settle
        #: The shops it answers searches for: a list from the first (most
        #: simulated nodes sell nothing).
        self.shops = ()
        #: L{book}, made at the first record.
        self._book = None
        #: search id -> its L{_Find}: the shared empty table until the
        #: first search (L{own}).
        self._finds = NOTHING
        self.router = FloodRouter(node, Search, self._searchArrived, overlayLinks,
                                  seen_limit)
        #: Its neighbours, which the builder plugs into the node too.
        self.topology = RandomNeighbours(node, neighbours)
        node.addObserver(self)

    # -- selling ---------------------------------------------------------------

    @property
    def book(self):
        """The node's records (L{RecordBook}), made at its first: most
        simulated nodes sell nothing, and an empty book was 152 bytes."""
        book = self._book
        if book is None:
            book = self._book = RecordBook(self.node.identity, self.node.clock)
        return book

    def advertise(self, shop):
        self.shops = [*self.shops, shop]

    def stockChanged(self, item, units):
        """Nothing to tell anyone: the next search asks the shop itself."""

    def _searchArrived(self, search):
        """A search reached this node: reply for every shop that offers."""
        item, buyer = search.item, search.return_path[0]
        via = search.return_path[-2] if len(search.return_path) > 1 else buyer
        node = self.node
        for shop in self.shops:
            if not shop.offerTo(item, buyer, via):
                continue
            if node.linkTo(buyer) is not None:
                path = (node.id, buyer)
            else:
                path = search.return_path[::-1]
            described = fileDescription(shop, item)
            relay = node.relay
            record = (self.book.record(item, node.host, node.port, described, relay)
                      if described is not None else None)
            node.route(signedIf(node.identity, Reply(search.id, item, path, node.id,
                                                     node.host, node.port, record,
                                                     relay=relay)))

    # -- buying ------------------------------------------------------------------

    def canFind(self):
        return bool(self.node.peersOf(OVERLAY))

    def find(self, item, wait):
        node = self.node
        search_id = node.rng.randrange(1, wire.ID_LIMIT)
        find = _Find(item)
        find.finished = defer.Deferred(lambda d: self._end(search_id))
        if node.stopping or not self.canFind():
            find.finished.callback([])
            return find.finished
        own(self, "_finds")[search_id] = find
        self.router.start(Search(search_id, item, (node.id,), self.ttl))
        node.events.findStarted(item)
        find.timer = node.clock.callLater(wait, self._windowClosed, search_id)
        return find.finished

    def _end(self, search_id):
        find = self._finds.pop(search_id, None)
        if find is not None and find.timer is not None and find.timer.active():
            find.timer.cancel()
        return find

    def _windowClosed(self, search_id):
        find = self._finds.pop(search_id)
        offers = sorted(find.offers, key=lambda offer: len(offer.route))
        self.node.events.offersFound(find.item, offers)
        find.finished.callback(offers)

    def _replied(self, link, message):
        """A reply to a search, handed over on link: an offer for the
        search, if it is this node's, the seller's, and within the link's
        share."""
        find = self._finds.get(message.id)
        if find is not None and find.item == message.item:
            # The path router only delivers it from the node before this
            # one on its path: the link it came over.
            via = message.path[-2] if len(message.path) > 1 else message.seller
            checked = find.checked.get(via, 0)
            if checked >= CHECKED_PER_LINK or find.perLink.get(via, 0) >= OFFERS_PER_LINK:
                return
            find.checked[via] = checked + 1
            if not trusts(self.node, link, message, message.seller):
                link.peerLine(LogLevel.info, "ignoring an offer from {peer} not "
                              "signed by seller {seller}", self.log,
                              seller=shortId(message.seller))
                return
            record = message.record
            if record is not None and recordFault(
                    record, wallSeconds(self.node.clock), message.seller, message.item,
                    alive=True) is not None:
                link.peerLine(LogLevel.info, "ignoring an offer from {peer} of seller "
                              "{seller} whose file record is not its own, or not "
                              "live", self.log, seller=shortId(message.seller))
                return
            find.perLink[via] = find.perLink.get(via, 0) + 1
            offer = Offer(message.seller, message.path[::-1], message.host,
                          message.port, *(record.file if record else (None, None, 0)),
                          record, message.relay, namedBy=groupOf(link))
            find.offers.append(offer)
            self.node.events.offerArrived(message.item, offer)
            if len(find.offers) == 1 and self.settle:
                self._settle(find)

    def _settle(self, find):
        """The search's first offer: its window closes L{settle} seconds
        from now, if it would close later."""
        timer = find.timer
        if timer is not None and timer.getTime() - self.node.clock.seconds() > self.settle:
            timer.reset(self.settle)

    delivers = {Reply: _replied}

    # -- IService ----------------------------------------------------------------

    def startService(self):
        super().startService()
        self.topology.startService()

    def stopService(self):
        """End every search in progress (with what it has) and stop keeping
        neighbours."""
        super().stopService()
        for search_id in list(self._finds):
            find = self._end(search_id)
            find.finished.callback([])
        return self.topology.stopService()
