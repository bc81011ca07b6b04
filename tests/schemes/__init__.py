"""
Tests of the discovery schemes (twisted_bazaar.schemes), and the small
stand-ins they share.
"""

from zope.interface import implementer

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.schemes import IShop


@implementer(IShop)
class StaticShop:
    """
    A shop with a fixed inventory that says yes to every buyer of an item
    it has, and records whom it was asked about.

    @ivar asked: (item, buyer) per offerTo call, in order.
    """

    def __init__(self, **stock):
        self.stock = stock
        self.asked = []

    def inventory(self):
        return dict(self.stock)

    def offerTo(self, item, buyer, via=None):
        self.asked.append((item, buyer))
        return self.stock.get(item, 0) > 0


class FindEvents(NodeObserver):
    """A node observer that records what discovery announces."""

    def __init__(self, node):
        self.events = []
        node.addObserver(self)

    def findStarted(self, item):
        self.events.append(("findStarted", item))

    def offersFound(self, item, offers):
        self.events.append(("offersFound", item, list(offers)))
