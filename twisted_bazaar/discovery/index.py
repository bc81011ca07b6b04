"""
Discovery through a central index (Napster style): the tracker keeps who
sells what.  Sellers ``register``/``unregister`` items, buyers ``lookup``
an item and buy directly from the sellers named, in the order given.
"""

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.discovery import IDiscovery, Offer


@implementer(IDiscovery)
class IndexDiscovery:
    """The node's side of the index: registrations and lookups."""

    name = "index"
    messages = wire.INDEX_TYPES
    log = Logger()

    def __init__(self, node):
        self.node = node
        self.shops = []
        self.registered = set()
        self._lookups = {}
        #: item -> when its last lookup went out, for pacing.
        self._asked = {}
        node.discovery = self
        node.addObserver(self)

    def _send(self, message):
        return self.canFind() and self.node.membership.sendToTracker(message)

    # -- selling ---------------------------------------------------------------

    def advertise(self, shop):
        self.shops.append(shop)
        for item, units in sorted(shop.inventory().items()):
            self.stockChanged(item, units)

    def stockChanged(self, item, units):
        """Register an item that is in stock, withdraw one that ran out."""
        in_stock = any(shop.inventory().get(item, 0) > 0 for shop in self.shops)
        if in_stock and item not in self.registered:
            self.registered.add(item)
            self._send(wire.Register(item))
        elif not in_stock and item in self.registered:
            self.registered.discard(item)
            self._send(wire.Unregister(item))

    def trackerRegistered(self):
        """A (new) tracker knows us: tell it everything we sell again."""
        for item in sorted(self.registered):
            self._send(wire.Register(item))

    # -- buying ------------------------------------------------------------------

    def canFind(self):
        membership = self.node.membership
        return membership is not None and membership.registered

    def find(self, item, wait):
        node = self.node
        finished = defer.Deferred()
        waiting = self._lookups.setdefault(item, [])
        waiting.append(finished)
        node.notify("findStarted", item)
        pause = 0.0
        if len(waiting) == 1:
            # One lookup per item per window, as flooding sends one search,
            # unless a purchase came in between: a seller that says soldout
            # to every buy must not make its buyers spin on the tracker.
            last = self._asked.get(item, float("-inf"))
            pause = max(0.0, last + wait - node.clock.seconds())
            if pause:
                node.clock.callLater(pause, self._lookup, item)
            elif not self._lookup(item):
                return finished

        def timedOut():
            if finished in self._lookups.get(item, ()):
                self._lookups[item].remove(finished)
                if not self._lookups[item]:
                    del self._lookups[item]
                node.notify("offersFound", item, [])
                finished.callback([])

        call = node.clock.callLater(pause + wait, timedOut)
        finished.addBoth(lambda result: (call.cancel() if call.active() else None,
                                         result)[1])
        return finished

    def _lookup(self, item):
        """Ask the tracker who sells item; without one, nobody does."""
        if item not in self._lookups:
            return True
        if not self._send(wire.Lookup(item)):
            self._answer(item, ())
            return False
        self._asked[item] = self.node.clock.seconds()
        return True

    def delivered(self, message):
        if type(message) is wire.BuyOK:
            self._asked.pop(message.item, None)

    def _answer(self, item, sellers):
        node = self.node
        offers = [Offer(seller, (node.id, seller), host, port)
                  for seller, host, port in sellers if seller != node.id]
        for offer in offers:
            node.notify("offerArrived", item, offer)
        node.notify("offersFound", item, offers)
        for waiter in self._lookups.pop(item, []):
            waiter.callback(list(offers))

    # -- messages from the tracker ------------------------------------------------

    def trackerMessage(self, message):
        kind = type(message)
        if kind is wire.Found:
            self._answer(message.item, message.sellers)
        elif kind is wire.Ack:
            pass
        elif kind is wire.Listing:
            self.log.info("on offer: {items}", items=message.items)
        else:
            return False
        return True
