"""
The buyer's word that its clock and a seller's are apart: a seller
answered a buy ``expired`` before it expires by this node's clock
(docs/protocol.md §11, "Expiry").  While the clocks stay apart every buy
gets that answer, and a line each was about one a second; so it is said
once, then again only at a backoff (a minute, doubling up to an hour)
with how many more came meanwhile, and once more when the sellers that
said so answer in step with this node's clock again.

A seller whose clock is behind answers ``notyet`` with ``retryAfter``
instead (the buy expires too far ahead of its clock): how far behind is
said once per seller (L{ClocksApart.behind}).
"""

from twisted.logger import Logger

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.roles.seller.closes import MAX_EXPIRY_AHEAD
from twisted_bazaar.wire.core import MAX_RETRY_AFTER
from twisted_bazaar.wire.ids import shortId

#: Seconds before the word is said again while the clocks stay apart;
#: doubled each time, up to L{MOST_AGAIN}.
FIRST_AGAIN = 60.0
MOST_AGAIN = 3600.0
#: Sellers remembered as said to be behind; past it, forgotten (and said
#: again): one line a buy at most.
BEHIND_KEPT = 1024


class ClocksApart:
    """The word's state: the sellers whose answers said so, and when it
    may be said again.  It keeps no timer: each answer moves it on."""

    log = Logger()

    def __init__(self, clock):
        self.clock = clock
        self._sellers = set()
        self._since = None
        self._again = None
        self._gap = FIRST_AGAIN
        #: Buys answered early since the clocks were found apart, and
        #: since the word was last said.
        self._early = 0
        self._unsaid = 0
        #: Sellers said to be behind (L{behind}): one line each.
        self._behind = set()

    def early(self, seller, buy_id, left):
        """Seller answered buy_id ``expired`` ``left`` seconds before it
        expires by this node's clock."""
        now = self.clock.seconds()
        self._sellers.add(seller)
        self._early += 1
        if self._since is None:
            self._since, self._gap, self._again = now, FIRST_AGAIN, now + FIRST_AGAIN
            self.log.warn("seller {seller} says buy {id} has expired, {left:.0f} s "
                          "before it expires by this node's clock: is one of the "
                          "clocks wrong?", seller=shortId(seller), id=buy_id, left=left)
            return
        self._unsaid += 1
        if now >= self._again:
            self.log.warn("{n} more buys answered expired before they expire by this "
                          "node's clock in the last {seconds:.0f} s (sellers {sellers}): "
                          "the clocks are still apart", n=self._unsaid,
                          seconds=now - (self._again - self._gap),
                          sellers=", ".join(sorted(map(shortId, self._sellers))))
            self._unsaid = 0
            self._gap = min(2 * self._gap, MOST_AGAIN)
            self._again = now + self._gap

    def inStep(self, seller):
        """Seller answered a buy as its expiry by this node's clock has
        it (sold it, or not before it expired): once every seller that
        said otherwise has, the clocks agree again, and that is said."""
        if seller not in self._sellers:
            return
        self._sellers.discard(seller)
        if self._sellers:
            return
        self.log.info("seller {seller} answers in step with this node's clock again: "
                      "the clocks agree now ({n} buys were answered expired early over "
                      "{seconds:.0f} s)", seller=shortId(seller), n=self._early,
                      seconds=self.clock.seconds() - self._since)
        self._since = None
        self._early = self._unsaid = 0

    def behind(self, seller, buy_id, expires, retry_after):
        """
        Seller answered buy_id (expiring at ``expires``, ms) ``notyet``,
        to be taken in ``retry_after`` ms: its clock reads
        ``expires - 10 minutes - retry_after`` now.  Returns how many
        seconds this node's clock is ahead of it, said once per seller.
        """
        seconds = wallSeconds(self.clock) - (expires - retry_after) / 1000 + MAX_EXPIRY_AHEAD
        if seller not in self._behind:
            if len(self._behind) >= BEHIND_KEPT:
                self._behind.clear()
            self._behind.add(seller)
            least = "at least " if retry_after >= MAX_RETRY_AFTER else ""
            self.log.info("seller {seller}'s clock is behind this node's by {least}about "
                          "{seconds:.0f} s: it takes no buy that expires more than "
                          "{ahead:.0f} s ahead of it, so buy {id} waits {wait:.0f} s "
                          "(if it is still live then)", seller=shortId(seller),
                          least=least, seconds=seconds, ahead=MAX_EXPIRY_AHEAD,
                          id=buy_id, wait=retry_after / 1000)
        return seconds
