"""
Which sellers of a file's content one download keeps, and in what order
it asks them: plain logic, no I/O.

Any key can offer a file's real content (its sha256 and size are no
secret) at a port that never answers: each thing asked of such a seller
costs the buyer a stall (L{twisted_bazaar.files.client}), and keys cost
an attacker nothing.  So the seller the buyer paid (it signed a buyOK:
it committed) is asked first, then sellers that delivered verified
pieces before (a L{Recent}, kept by the caller across files), then the
others; a seller that failed this download (no description, a piece not
delivered, far slower than the others) is asked again only when no
other is left.  And a download keeps at most L{KEPT} sellers, the paid
one always, preferring those that failed it least and one per address
group: new keys neither grow its tables nor push out a seller that
serves.
"""

from collections import Counter

from twisted_bazaar.base.lately import Recent

#: Sellers one download keeps offers of.
KEPT = 16
#: Sellers one download remembers as having failed it.
FAILED_KEPT = 256

#: A seller's rank in the order of asking: the one paid, one that
#: delivered verified pieces before, any other.
PAID, PROVEN, UNKNOWN = 0, 1, 2


class Sources:
    """
    The sellers one download may ask, with their offers.

    @ivar paid: the seller the buyer paid, or None.
    @ivar proven: sellers that delivered verified pieces before (a
        container the caller keeps up).
    @ivar offers: seller -> its offer, at most C{kept} of them.
    @ivar failed: sellers that failed this download (a L{Recent}); an
        offer seen again does not clear it.
    """

    def __init__(self, paid=None, proven=(), kept=KEPT):
        self.paid = paid
        self.proven = proven
        self.kept = kept
        self.offers = {}
        self.failed = Recent(FAILED_KEPT)
        self._groups = {}

    def __contains__(self, seller):
        return seller in self.offers

    def __iter__(self):
        return iter(self.offers)

    def __len__(self):
        return len(self.offers)

    def __getitem__(self, seller):
        return self.offers[seller]

    def rank(self, seller):
        """L{PAID}, L{PROVEN} or L{UNKNOWN}."""
        if seller == self.paid:
            return PAID
        return PROVEN if seller in self.proven else UNKNOWN

    def add(self, seller, offer, group, busy=()):
        """
        Keep offer as seller's, from address group ``group``: at once if
        the seller is kept already or there is room; else in place of the
        kept seller least worth keeping, if it is worth less than this one
        or this one is the paid one
        (failed before unknown before proven, then the one whose group
        holds the most), never the paid one nor one in ``busy`` (being
        asked now).

        @return: whether the offer is kept.
        """
        if seller not in self.offers and len(self.offers) >= self.kept:
            crowds = Counter(self._groups.values())
            victims = [each for each in self.offers
                       if each != self.paid and each not in busy]
            if not victims:
                return False
            victim = max(victims, key=lambda each: self._worthless(
                each, crowds[self._groups[each]]))
            if seller != self.paid and self._worthless(
                    victim, crowds[self._groups[victim]]) <= self._worthless(
                    seller, crowds[group] + 1):
                return False
            self.discard(victim)
        self.offers[seller] = offer
        self._groups[seller] = group
        return True

    def _worthless(self, seller, crowd):
        """How little seller is worth keeping, with ``crowd`` kept sellers
        in its address group (itself included): a key to compare."""
        return (seller in self.failed, self.rank(seller), crowd)

    def discard(self, seller):
        """Forget seller's offer (not that it failed)."""
        self.offers.pop(seller, None)
        self._groups.pop(seller, None)

    def fail(self, seller):
        """seller failed this download: asked again only when no other
        seller is left."""
        self.failed.add(seller)

    def order(self, sellers, rng):
        """
        Of ``sellers``, those to ask, in order: those that have not failed
        this download (all of them if every one has), by rank, in random
        order within a rank (so that the first one found is not always
        the one asked).
        """
        sellers = list(sellers)
        rng.shuffle(sellers)
        fresh = [seller for seller in sellers if seller not in self.failed]
        return sorted(fresh or sellers, key=self.rank)
