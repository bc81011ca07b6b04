"""
Telling a seller that will not answer from one that cannot.

A buyer that gets no answer to a ``buy`` or an ``ask`` cannot tell, from
silence alone, a seller that crashed (its sale, if it made one, may yet
reach the buyer when it is back) from one that reads everything and
answers nothing.  On a link where the seller proved its key, the buyer
can: a L{Probe} sends the question, then a ``ping`` (docs/protocol.md
§7), on that one link.  The link is one TCP stream, delivered in order,
so the ``pong`` says the seller has read the question.  An honest seller
answers a question it read at once (a sale whose commit is in flight: as
soon as it is on disk), so if no answer comes within a grace after the
pong, round after round, the seller read the question and chose not to
answer.  A link that drops, or a pong that never comes, proves nothing:
the probe then just ends, and the buy stays in doubt.
"""

from twisted.internet import defer

#: Seconds after a pong that an answer may still take: room for a sale
#: whose commit was in flight when the question arrived.
ANSWER_GRACE = 1.0
#: Rounds (question, ping, pong, grace) an ``ask`` must go unanswered
#: before its seller counts as refusing to answer.  More than one: the
#: question is asked again, so a seller whose first answer was held up
#: (a slow disk, a closed id it could not write) answers the next from
#: memory.
ASK_ROUNDS = 3
#: Rounds for a ``buy``: one, as giving up on a buy early only puts it in
#: doubt, where the ``ask`` probe takes over.
BUY_ROUNDS = 1


class Probe:
    """
    Asks one question on one link, round after round, until it is
    answered (L{answered}), the link is lost, or every round's pong came
    back without an answer within the grace.

    @ivar rounds: rounds left, the current one included.
    @ivar done: True once the probe ended, for whatever reason.
    """

    def __init__(self, link, clock, ask, ended, rounds, grace=ANSWER_GRACE):
        """
        @param ask: called with no argument to send the question again on
            C{link}, at the start of each round after the first; it may
            call L{answered} to stop the probe (the link was replaced, say).
        @param ended: called once with True if the seller read every
            round's question and answered none, with False if the link was
            lost first (nothing proven); never after L{answered}.
        """
        self.link = link
        self.clock = clock
        self.ask = ask
        self.ended = ended
        self.rounds = rounds
        self.grace = grace
        self.done = False
        self._pong = None
        self._timer = None

    def start(self):
        """The question was just sent on the link: the first round."""
        self._round(first=True)

    def answered(self):
        """The seller answered (or the question no longer matters): stop."""
        self.done = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._pong is not None:
            pong, self._pong = self._pong, None
            pong.cancel()

    def _round(self, first=False):
        self.rounds -= 1
        if not first:
            self.ask()
            if self.done:
                return
        pong = self._pong = self.link.ping()
        pong.addCallbacks(self._ponged, self._lost)

    def _ponged(self, _):
        self._pong = None
        if not self.done:
            self._timer = self.clock.callLater(self.grace, self._expired)

    def _lost(self, reason):
        """The link closed (or the probe was stopped): nothing is proven."""
        self._pong = None
        if not reason.check(defer.CancelledError) and not self.done:
            self.done = True
            self.ended(False)

    def _expired(self):
        self._timer = None
        if self.rounds > 0:
            self._round()
            return
        self.done = True
        self.ended(True)
