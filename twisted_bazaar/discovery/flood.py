"""
Discovery by flooding: a search spreads over the overlay, each shop that
can serve it reserves a unit and replies along the search's reverse path.
"""

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.discovery import IDiscovery, Offer


@implementer(IDiscovery)
class FloodDiscovery:
    """Searches flooded to every link, replies collected for a window."""

    name = "flood"
    messages = (wire.Search, wire.Reply)

    def __init__(self, node):
        self.node = node
        self.shops = []
        self._finds = {}
        node.discovery = self
        node.addObserver(self)

    # -- selling ---------------------------------------------------------------

    def advertise(self, shop):
        self.shops.append(shop)

    def stockChanged(self, item, units):
        """Nothing to tell anyone: the next search asks the shop itself."""

    def searchReceived(self, search):
        """A search reached this node: reply for every shop that offers."""
        item, buyer = search.item, search.return_path[0]
        node = self.node
        for shop in self.shops:
            if not shop.offerTo(item, buyer):
                continue
            if buyer in node.links:
                path = (node.id, buyer)
            else:
                path = search.return_path[::-1]
            node.route(wire.Reply(search.id, item, path, node.id, node.host,
                                  node.port))

    # -- buying ------------------------------------------------------------------

    def canFind(self):
        return bool(self.node.links)

    def find(self, item, wait):
        node = self.node
        offers = []
        finished = defer.Deferred()
        if not node.links:
            finished.callback(offers)
            return finished
        search_id = node.search(item)
        self._finds[search_id] = (item, offers)
        node.notify("findStarted", item)

        def done():
            del self._finds[search_id]
            offers.sort(key=lambda offer: len(offer.route))
            node.notify("offersFound", item, offers)
            finished.callback(offers)

        call = node.clock.callLater(wait, done)
        finished.addErrback(lambda _: call.cancel() if call.active() else None)
        return finished

    def delivered(self, message):
        if type(message) is not wire.Reply:
            return
        found = self._finds.get(message.id)
        if found is not None and found[0] == message.item:
            offer = Offer(message.seller, message.path[::-1], message.host,
                          message.port)
            found[1].append(offer)
            self.node.notify("offerArrived", message.item, offer)
