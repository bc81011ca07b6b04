"""
How a leaf judges its super-peers: by what their answers came to.

A super-peer may drop its leaves' queries, answer them with nobody, or
with sellers of its own making at addresses where nothing listens; its
messages are as well formed as an honest one's, so a leaf can only judge
it by what its answers give.  A leaf whose super-peers all do that would
find nothing for as long as it kept them, so it keeps count, for each
super-peer, of its fruitless answers in a row:

 - a query it let the find's wait run out on;
 - an answer naming no seller;
 - an answer every seller of which sold this node's buyer nothing:
   nothing listened at its address (see
   L{twisted_bazaar.core.node.Node.unreachable}), it refused to
   answer, answered ``soldout`` or ``notyet``, or stayed silent; judged
   when the buyer searches for the item again (the answer proved not
   enough).  Such an answer may come from an honest super-peer whose
   leaves lie: it is as little use to this leaf, and another super-peer
   names other sellers.

An answer naming a seller still in good standing then counts it back to
0.  Queries go to a super-peer with the fewest; one reaching L{STRIKES}
is let go (its link closed, unless the operator named it) and the
topology links to another (see
L{twisted_bazaar.schemes.superpeer.topology.SuperPeerLinks.letGo}).  The cost falls on a leaf searching for what
nobody sells: every super-peer answers it with nobody, so it changes
super-peers every L{STRIKES} searches, each a question to the tracker
and a link (the buyer's own backoff spaces its searches, up to 30 s).
"""

from collections import OrderedDict

from twisted_bazaar.base.lately import Recent

#: Fruitless answers in a row that have a leaf let a super-peer go.
STRIKES = 2
#: Sellers that sold this node's buyer nothing, remembered.
SOLD_NOTHING_KEPT = 256
#: Answers awaiting judgement (one per item searched), kept.
ANSWERS_KEPT = 64


class Standing:
    """
    A leaf's count of each super-peer's fruitless answers in a row.

    @ivar fruitless: super-peer -> fruitless answers in a row (none: 0).
    """

    def __init__(self, unreachable, linked):
        """
        @param unreachable: C{unreachable(seller)}: whether nothing
            listened where this node last dialled seller.
        @param linked: C{linked(superpeer)}: whether the leaf is linked to
            superpeer (a late answer of one gone is not judged).
        """
        self.unreachable = unreachable
        self.linked = linked
        self.fruitless = {}
        self._soldNothing = Recent(SOLD_NOTHING_KEPT)
        #: item -> (super-peer, the sellers its last answer named).
        self._answers = OrderedDict()
        #: Super-peers the leaf let go whose links still close: their
        #: close is the leaf's doing, no loss (L{closing}).
        self.lettingGo = set()

    def closing(self, superpeer):
        """superpeer's link closed: whether the leaf had let it go (then
        forgotten as such)."""
        if superpeer in self.lettingGo:
            self.lettingGo.discard(superpeer)
            return True
        return False

    def choose(self, candidates, rng):
        """One of the candidate super-peers with the fewest fruitless
        answers, at random among those."""
        fewest = min(self.fruitless.get(peer, 0) for peer in candidates)
        best = [peer for peer in candidates if self.fruitless.get(peer, 0) == fewest]
        return best[rng.randrange(len(best))]

    def soldNothing(self, seller):
        """The buyer here tried seller, and it sold nothing (or refused to
        answer)."""
        self._soldNothing.add(seller)

    def goesOn(self, seller):
        """Is seller still worth a buy: reached when last dialled, and not
        one that sold the buyer nothing lately?"""
        return not self.unreachable(seller) and seller not in self._soldNothing

    def silent(self, superpeer):
        """superpeer let a query's wait run out.

        @return: whether it is to be let go."""
        return self._strike(superpeer)

    def answered(self, superpeer, item, sellers):
        """superpeer answered a query for item naming sellers (ids).

        @return: whether it is to be let go."""
        if not sellers:
            return self._strike(superpeer)
        self._answers.pop(item, None)
        self._answers[item] = (superpeer, tuple(sellers))
        if len(self._answers) > ANSWERS_KEPT:
            self._answers.popitem(last=False)
        return False

    def searchingAgain(self, item):
        """The buyer searches for item again: the last answer for it is
        judged now.

        @return: the super-peer to let go, or None."""
        superpeer, sellers = self._answers.pop(item, (None, ()))
        if superpeer is None:
            return None
        if any(self.goesOn(seller) for seller in sellers):
            self.fruitless.pop(superpeer, None)
            return None
        return superpeer if self._strike(superpeer) else None

    def forget(self, superpeer):
        """superpeer's link is gone: a new link to it starts afresh."""
        self.fruitless.pop(superpeer, None)

    def _strike(self, superpeer):
        if not self.linked(superpeer):
            return False
        self.fruitless[superpeer] = self.fruitless.get(superpeer, 0) + 1
        return self.fruitless[superpeer] >= STRIKES
