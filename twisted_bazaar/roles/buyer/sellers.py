"""
What the buyer remembers of sellers: those that failed it (tried last
until they answer) and those that refused to answer (never tried again),
each bounded, newest kept.
"""

from collections import OrderedDict

#: Sellers remembered as having failed this buyer, and as refusing to
#: answer, newest kept.
FAILED_LIMIT = 1024


def _remember(sellers, seller):
    sellers.pop(seller, None)
    sellers[seller] = True
    if len(sellers) > FAILED_LIMIT:
        sellers.popitem(last=False)


class SellerMemory:
    def __init__(self):
        self._failed = OrderedDict()
        self._refusers = OrderedDict()

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
        nothing: none from a seller that refused to answer; offers from
        sellers that have not failed this buyer first, and among them those
        with an address (bought from directly, so no relay can swallow the
        buy); the scheme's order within that.
        """
        return sorted((offer for offer in offers if offer.seller not in self._refusers),
                      key=lambda offer: (offer.seller in self._failed,
                                         not (offer.host and offer.port)))
