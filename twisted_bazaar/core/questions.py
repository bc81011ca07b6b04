"""
The questions a node has asked its tracker and not yet had answered.

The tracker answers ``nodereq`` and ``whereis`` in the order they came,
each with one ``nodereply``, which names nothing to match it by (a
``nodereq``'s answer names whoever the tracker picked): answers are
matched to questions by order only.  So a question keeps its place until
an answer comes for it, even when its asker stopped waiting (cancelled,
or waited too long): its late answer is dropped, never taken as the next
question's.

A tracker that answers nothing must not hang the node, nor grow its
memory: each question is waited on for a bounded time (then its Deferred
fails with L{TrackerSilent}); at most L{QUESTIONS_LIMIT} are out at once
(past it, a question fails at once); and a tracker that leaves
L{SILENT_LIMIT} questions in a row unanswered is lost (the owner leaves
it, as after any loss).  One timer while questions are out, none
otherwise: the simulator holds one of these per node.
"""

from twisted.internet import defer

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.keepalive import DEFAULT_HANDSHAKE_TIMEOUT
from twisted_bazaar.reach.asking import TrackerGone, TrackerSilent

QUESTIONS_LIMIT = declare(
    "membership.questions", 64, "questions",
    "questions a node asked its tracker and had no answer to yet (past them, a "
    "question fails at once): a tracker that answers nothing cannot grow it",
    owner=__name__)

#: Questions in a row the tracker leaves unanswered past their wait,
#: after which the node takes the tracker as lost.
SILENT_LIMIT = 3


class Questions:
    """
    The questions out on one tracker session, oldest first, each with
    the time its wait ends.

    @param settings: the tracker link's L{LinkSettings}: each question
        is waited on as long as its handshake (the default one when that
        is 0, off).
    @param lost: called with a reason once the tracker left
        L{SILENT_LIMIT} questions in a row unanswered.
    """

    # One a node (a million in a simulation): slotted, and no list while
    # no question is out.
    __slots__ = ("_clock", "_timeout", "_lost", "_out", "_expired", "_silent",
                 "_timer")

    #: Questions out at most.
    capacity = QUESTIONS_LIMIT.default

    def __init__(self, clock, settings, lost):
        self._clock = clock
        self._timeout = settings.handshake_timeout or DEFAULT_HANDSHAKE_TIMEOUT
        self._lost = lost
        #: (deadline, Deferred) of each question out, oldest first; an
        #: empty tuple while there is none.
        self._out = ()
        #: How many of the oldest questions were waited on too long (they
        #: always come first: every wait is as long): their answers, when
        #: they come, are dropped.
        self._expired = 0
        #: Questions waited on too long since the last answer.
        self._silent = 0
        self._timer = None

    def __len__(self):
        return len(self._out)

    def ask(self):
        """
        One more question sent: a Deferred for its answer.

        @return: a Deferred firing with the answer (L{answered}), failing
            with L{TrackerSilent} when the wait ends first or too many are
            out, with L{TrackerGone} when the session ends (L{clear});
            cancelling it drops the answer when it comes.
        """
        if len(self._out) >= self.capacity:
            return defer.fail(TrackerSilent(
                f"{len(self._out)} questions to the tracker unanswered"))
        answer = defer.Deferred()
        if not self._out:
            self._out = []
        self._out.append((self._clock.seconds() + self._timeout, answer))
        if self._timer is None:
            self._timer = self._clock.callLater(self._timeout, self._waited)
        return answer

    def answered(self, message):
        """An answer came: the oldest question has it, unless its asker
        stopped waiting (then the answer is dropped)."""
        self._silent = 0
        if not self._out:
            return
        _, answer = self._out.pop(0)
        if self._expired:
            self._expired -= 1
        elif not answer.called:
            answer.callback(message)
        if not self._out:
            self._out = ()
            self._cancelTimer()

    def clear(self, why):
        """The session ended: every question out fails with
        L{TrackerGone}, and the count of silence starts again."""
        self._cancelTimer()
        out, self._out = self._out, ()
        self._expired = self._silent = 0
        for _, answer in out:
            if not answer.called:
                answer.errback(TrackerGone(
                    f"the tracker connection ended before it answered: {why}"))

    def _cancelTimer(self):
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None

    def _waited(self):
        """The oldest waits ended: fail them, and wait on the next."""
        self._timer = None
        now = self._clock.seconds()
        while self._expired < len(self._out) and self._out[self._expired][0] <= now:
            _, answer = self._out[self._expired]
            self._expired += 1
            self._silent += 1
            if not answer.called:
                answer.errback(TrackerSilent(
                    f"the tracker did not answer in {self._timeout:g} s"))
        if self._silent >= SILENT_LIMIT:
            self._silent = 0
            self._lost(f"the tracker left {SILENT_LIMIT} questions in a row "
                       f"unanswered ({self._timeout:g} s each)")
        if self._expired < len(self._out) and self._timer is None:
            self._timer = self._clock.callLater(
                self._out[self._expired][0] - now, self._waited)
