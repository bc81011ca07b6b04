"""
How long buys in doubt may hold one want back: a budget per want, not a
bound per seller.

A buy given up on that its seller may have sold holds its want back
(L{twisted_bazaar.roles.buyer.doubts}).  Bounded per buy alone, that lets
anyone with free keys hold a want for ever: each key answers ``notyet``
(or nothing), and each doubt costs the want another DOUBT_LIMIT, with an
honest offer in hand.  So each want has a L{DoubtBudget}: seconds of
holding back in all (WANT_DOUBT_BUDGET), of which the buys of sellers in
one address group may take at most GROUP_DOUBT_SHARE, and one buy at most
DOUBT_LIMIT.  A doubt takes its seconds when it begins (a L{Hold}) and
gives back what it did not use when it is settled early (it uses at
least MIN_HOLD), so the seconds the want is held back never add up to
more than the budget, however many keys and groups answer, and the
budget remembers at most a few hundred groups.  Spent, the budget lets
a buy given up on count for nothing: its want buys on, and a unit such
a buy sold still reaches the bag (its want holds more than wanted,
never less).
"""

import attr

from twisted_bazaar.roles.want import DOUBT_LIMIT

#: Seconds buys in doubt may hold one want back, in all.
WANT_DOUBT_BUDGET = 2 * DOUBT_LIMIT
#: Of those, seconds the buys of sellers of one address group may take:
#: what one seller's buy could take alone, so a lone honest seller that
#: went quiet is waited for as long as ever.
GROUP_DOUBT_SHARE = DOUBT_LIMIT
#: Seconds a doubt uses at least, however soon it is settled: each group
#: the budget remembers took at least this much.
MIN_HOLD = 1.0


class DoubtBudget:
    """
    One want's seconds of doubt: what is left in all, and what each
    address group took.

    @ivar total: seconds in all.
    @ivar left: seconds not yet taken.
    """

    @classmethod
    def forLimit(cls, limit=DOUBT_LIMIT):
        """The budget of a want whose one buy may hold it back ``limit``
        seconds (the buyer's --doubt-limit): twice that in all, as much
        for the buys of one address group, in the proportions of
        WANT_DOUBT_BUDGET and GROUP_DOUBT_SHARE to DOUBT_LIMIT."""
        return cls(total=limit * WANT_DOUBT_BUDGET / DOUBT_LIMIT,
                   group_share=limit * GROUP_DOUBT_SHARE / DOUBT_LIMIT, per_buy=limit)

    def __init__(self, total=WANT_DOUBT_BUDGET, group_share=GROUP_DOUBT_SHARE,
                 per_buy=DOUBT_LIMIT):
        self.total = self.left = total
        self.group_share = group_share
        self.per_buy = per_buy
        #: group -> seconds its buys took (kept while above zero: a few
        #: hundred groups at most, as each doubt uses MIN_HOLD at least).
        self._taken = {}

    def taken(self, group):
        return self._taken.get(group, 0.0)

    def available(self, group):
        """Seconds a new doubt of a seller of group would get."""
        return max(0.0, min(self.per_buy, self.left,
                            self.group_share - self.taken(group)))

    def take(self, group):
        """Take the seconds a new doubt of group gets (maybe none)."""
        seconds = self.available(group)
        if seconds > 0:
            self.left -= seconds
            self._taken[group] = self.taken(group) + seconds
        return seconds

    def giveBack(self, group, seconds):
        """A doubt ended early: seconds it took and did not use."""
        if seconds <= 0:
            return
        self.left += seconds
        taken = self.taken(group) - seconds
        if taken > 0:
            self._taken[group] = taken
        else:
            self._taken.pop(group, None)


@attr.s(eq=False)
class Hold:
    """
    A buy in doubt holding its want back: the seconds it took from its
    want's budget, from when, and the timer that ends it.
    """

    budget = attr.ib()
    group = attr.ib()
    clock = attr.ib()
    seconds = attr.ib()
    since = attr.ib()
    call = attr.ib(default=None)

    def cancel(self):
        """The doubt is settled (or dropped) before the hold ran out: stop
        the timer and give back the seconds not used."""
        if self.call is not None and self.call.active():
            self.call.cancel()
            used = max(MIN_HOLD, self.clock.seconds() - self.since)
            self.budget.giveBack(self.group, self.seconds - used)
        self.call = None
