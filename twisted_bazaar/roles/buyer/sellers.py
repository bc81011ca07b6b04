"""
What the buyer remembers of sellers: those with a record of settling
(sold to it, or answered a buy while it waited), those that failed it
(tried last until they answer) and those that refused to answer (never
tried again), each bounded, newest kept.
"""

from collections import OrderedDict

#: Sellers remembered in each kind, newest kept.
FAILED_LIMIT = 1024


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

    def order(self, offers):
        """
        The order to try offers in, so that a short path wins an attacker
        nothing and fresh keys cost it more than they cost the buyer:
        none from a seller that refused to answer; offers from sellers
        that have not failed this buyer first; among them, those of
        sellers with a record of settling first (a key made a moment ago
        has none), then those with an address (bought from directly, so
        no relay can swallow the buy); the scheme's order within that.
        """
        return sorted((offer for offer in offers if offer.seller not in self._refusers),
                      key=lambda offer: (offer.seller in self._failed,
                                         offer.seller not in self._settled,
                                         not (offer.host and offer.port)))
