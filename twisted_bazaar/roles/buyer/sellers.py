"""
What the buyer remembers of sellers: those with a record of settling
(sold to it, or answered a buy while it waited), those that failed it
(tried last until they answer) and those that refused to answer (never
tried again), each bounded, newest kept; and the address group a
seller is charged to (L{sellerGroup}).
"""

from collections import OrderedDict

from twisted_bazaar.net.eviction import groupOf

#: Sellers remembered in each kind, newest kept.
FAILED_LIMIT = 1024


def sellerGroup(linkTo, seller, route):
    """
    The address group of a seller, as far as this node can tell: that of
    its link (``linkTo(peer id)``: the node's link to it, or None), or else of the neighbour its route
    goes through (an address this node reached or was reached from, not
    one the seller names); "" when neither is linked now.
    """
    link = linkTo(seller)
    if link is None and len(route) > 1:
        link = linkTo(route[1])
    if link is None or link.transport is None:
        return ""
    return groupOf(link)


def _remember(sellers, seller):
    sellers.pop(seller, None)
    sellers[seller] = True
    if len(sellers) > FAILED_LIMIT:
        sellers.popitem(last=False)


class SellerMemory:
    def __init__(self, settled=()):
        """
        @param settled: sellers known to have sold to this buyer (its bag's).
        """
        self._settled = OrderedDict()
        self._failed = OrderedDict()
        self._refusers = OrderedDict()
        for seller in settled:
            self.settled(seller)

    def settled(self, seller):
        """seller settled a buy of this buyer's: sold it, or answered
        that it did not (and never will) while the buy's want waited."""
        _remember(self._settled, seller)

    def failed(self, seller):
        """This buyer gave up on a buy from seller: try it last from now
        on, until it answers."""
        _remember(self._failed, seller)

    def answered(self, seller):
        """seller answered a buy: no longer one to try last."""
        self._failed.pop(seller, None)

    def refuses(self, seller):
        """seller read our asks and would not answer them."""
        _remember(self._refusers, seller)

    def isRefusing(self, seller):
        return seller in self._refusers

    def order(self, offers, groupOf=lambda offer: ""):
        """
        The order to try offers in, so that a short path wins an attacker
        nothing and fresh keys cost it more than they cost the buyer:
        none from a seller that refused to answer; offers from sellers
        that have not failed this buyer first; among them, those of
        sellers with a record of settling first (a key made a moment ago
        has none), then those with an address (bought from directly, so
        no relay can swallow the buy); within each of these, one offer of
        each address group (groupOf(offer)) in turn, so many keys of one
        group wait behind the other groups' offers; the scheme's order
        within that.
        """
        classed = [((offer.seller in self._failed, offer.seller not in self._settled,
                     not (offer.host and offer.port)), offer)
                   for offer in offers if offer.seller not in self._refusers]
        turns = {}
        keyed = []
        for position, (cls, offer) in enumerate(classed):
            group = (cls, groupOf(offer))
            turn = turns[group] = turns.get(group, -1) + 1
            keyed.append(((cls, turn, position), offer))
        keyed.sort(key=lambda pair: pair[0])
        return [offer for _, offer in keyed]
