"""
What the nodes of one address group may do at the tracker a second
(L{GroupPace}): register a node that advertises a port (each costs the
tracker a check) and ask a question, all their connections together.
Each link has a rate of its own, but a group may hold many registered
links: without these, one address's registrations and questions could
take the tracker's time.
"""

from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.limits import GroupRates

__all__ = ["GroupPace"]


class GroupPace:
    """The tracker's rates per address group, of registrations and of
    questions, each the rate of a declared limit."""

    def __init__(self, clock, joins, questions, remembered):
        """
        @param joins: the L{Limit} of registrations with a port, a second.
        @param questions: the L{Limit} of questions, a second.
        @param remembered: address groups whose rates are kept, newest.
        """
        self.clock = clock
        self.questionRate = questions.group
        self._joins = GroupRates(joins, remembered=remembered)
        self._questions = GroupRates(questions, remembered=remembered)

    def mayJoin(self, link, hello, registered):
        """
        Whether link's address group may register one more node now, in
        the tracker's ``registered`` account: one that advertises a port
        counts against the group's rate.  Refused on link if not.
        """
        group = groupOf(link)
        if registered.makeRoom(group) is None:
            link.refuse("noslots", registered.refusal(group, "registrations"))
            return False
        if not hello.port:
            return True
        if not self._joins.take(group, self.clock.seconds()):
            link.refuse("noslots", "too many registrations from your address group; "
                        "try again later")
            return False
        return True

    def mayAsk(self, link, kind):
        """Whether link's address group may ask one more question (of
        ``kind``) now; if not, the question is dropped."""
        if self._questions.take(groupOf(link), self.clock.seconds()):
            return True
        link.dropOverRate(kind.TYPE, self.questionRate)
        return False
