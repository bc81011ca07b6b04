"""
What a node's tracker session asks the tracker (L{TrackerQuestions}):
``nodereq`` and ``whereis``, each answered by one ``nodereply``, in
order; the questions out, each waited on for a bounded time
(L{twisted_bazaar.core.questions}), are made at the first; and what a
``nodereply`` names is noted in the node's book of paths on its way to
the question it answers.
"""

import attr
from twisted.internet import defer

from twisted_bazaar import wire
from twisted_bazaar.core.questions import Questions
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.transports.path import RELAYED, firstOf


class TrackerQuestions:
    """
    The questions half of L{twisted_bazaar.core.membership.Membership}: a
    mixin, so that a simulated node's session holds no object more.  It
    uses the session's C{node}, C{clock}, C{link}, C{isRegistered}, its
    C{trackerSilent} (questions left unanswered) and its tracker's relay
    (C{atTrackersHost}, C{trackersRelay}); its own C{_asked} is set up
    and written here only, and the session calls its C{clearQuestions}
    and hands it each C{nodereply}, C{answered}.  No slots of its own:
    the session's slots hold C{_asked}.
    """

    __slots__ = ()

    def __init__(self):
        """No question asked yet: called by the session as it is made."""
        #: L{_questions}, made at the first question.
        self._asked = None

    @property
    def _questions(self):
        """Questions sent to the tracker and not yet answered: made at the
        first (a node that asks none holds none).  Kept in L{_asked}, an
        attribute the session has from the start: one added later (as a
        C{cached_property} did) gives each session a table of attributes
        of its own, 0.8 kB a node (docs/simulator.md, "Memory a node")."""
        questions = self._asked
        if questions is None:
            questions = self._asked = Questions(self.clock, self.node.config.link,
                                                self.trackerSilent)
        return questions

    def clearQuestions(self, why):
        """Fail every question waiting (none made: nothing to do)."""
        if self._asked is not None:
            self._asked.clear(why)

    def answered(self, link, message):
        """A ``nodereply``: the relay it names for the node is noted (and
        kept, if it is the tracker's own), and the oldest question has its
        answer."""
        if message.port:
            self.node.whereabouts.trackerNamed(message)
            relayed = firstOf(message.paths, RELAYED)
            if relayed is not None and self.atTrackersHost(relayed.relay):
                self.trackersRelay.trackerNamed(relayed.relay)
        self._questions.answered(message, message.q)

    def ask(self, question):
        """
        Ask the tracker a question it answers with a ``nodereply``
        (``nodereq`` or ``whereis``).

        @return: a Deferred firing with the L{wire.NodeReply}, or failing
            with L{TrackerGone} (L{Questions.ask}); cancelling it drops the
            answer when it comes.
        """
        if not self.isRegistered:
            return defer.fail(TrackerGone("not registered with a tracker"))
        answer, number = self._questions.ask()
        if not answer.called:
            self.link.send(question if number is None else attr.evolve(question, q=number))
        return answer

    def whereRelay(self, node_id):
        """
        Ask the tracker where a node is, and through which relay: for the
        node's book of paths alone
        (L{twisted_bazaar.reach.book.PathBook.ask}), which every
        other part asks.

        @return: a Deferred firing with its L{wire.NodeReply}, or failing
            with L{TrackerGone} when no answer came, saying what became of
            the question (L{TrackerSilent}: the tracker did not answer in
            time): a refusal says that, not that the tracker named no
            address.
        """
        return self.ask(wire.WhereIs(node_id))
