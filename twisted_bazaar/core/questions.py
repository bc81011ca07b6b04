"""
The questions a node has asked its tracker and not yet had answered.

The tracker answers ``nodereq`` and ``whereis`` in the order they came,
each with one ``nodereply``; while every question is answered in time,
answers are matched to questions by that order, and a question keeps its
place until an answer comes for it, even when its asker stopped waiting
(cancelled): its late answer is dropped, never taken as the next
question's.  But a question or answer lost on the way (a link that drops
messages, as the simulator's faults do) would shift every later answer
onto the question before its own, for good: so once a question was
waited on too long, each question after it carries a number (``q``),
which the tracker echoes in its answer, and an answer with a number goes
to the question of that number.  (A tracker of a version before numbers
echoes none, and its answers are matched by order still.)

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
                 "_timer", "_number")

    #: Questions out at most.
    capacity = QUESTIONS_LIMIT.default

    def __init__(self, clock, settings, lost):
        self._clock = clock
        self._timeout = settings.handshake_timeout or DEFAULT_HANDSHAKE_TIMEOUT
        self._lost = lost
        #: (deadline, Deferred, number or None) of each question out,
        #: oldest first; an empty tuple while there is none.
        self._out = ()
        #: How many of the oldest questions were waited on too long (they
        #: always come first: every wait is as long): their answers, when
        #: they come, are dropped.
        self._expired = 0
        #: Questions waited on too long since the last answer.
        self._silent = 0
        self._timer = None
        #: The last question's number; 0 until a question was waited on
        #: too long (questions carry none until then).
        self._number = 0

    def __len__(self):
        return len(self._out)

    def ask(self):
        """
        One more question sent.

        @return: (a Deferred, the number the question carries, or None):
            the Deferred fires with the answer (L{answered}), fails with
            L{TrackerSilent} when the wait ends first or too many are out,
            with L{TrackerGone} when the session ends (L{clear});
            cancelling it drops the answer when it comes.
        """
        if len(self._out) >= self.capacity:
            return defer.fail(TrackerSilent(
                f"{len(self._out)} questions to the tracker unanswered")), None
        answer = defer.Deferred()
        number = None
        if self._number:
            number = self._number = self._number + 1
        if not self._out:
            self._out = []
        self._out.append((self._clock.seconds() + self._timeout, answer, number))
        if self._timer is None:
            self._timer = self._clock.callLater(self._timeout, self._waited)
        return answer, number

    def answered(self, message, number=None):
        """
        An answer came: the question of its number has it, or (none
        given) the oldest question without one, or failing that the oldest
        (a tracker that echoes no number); unless that question's asker
        stopped waiting (then the answer is dropped).  An answer whose
        question is not out (its question lost, or answered before) is
        dropped.
        """
        self._silent = 0
        at = self._find(number)
        if at is None:
            return
        _, answer, _ = self._out.pop(at)
        if at < self._expired:
            self._expired -= 1
        elif not answer.called:
            answer.callback(message)
        if not self._out:
            self._out = ()
            self._cancelTimer()

    def _find(self, number):
        """Where in L{_out} the answer numbered ``number`` (or None) goes."""
        out = self._out
        if not out:
            return None
        for at, (_, _, asked) in enumerate(out):
            if asked == number:
                return at
        return 0 if number is None else None

    def clear(self, why):
        """The session ended: every question out fails with
        L{TrackerGone}, and the count of silence starts again, as does
        the order (the next session's questions carry no number)."""
        self._cancelTimer()
        out, self._out = self._out, ()
        self._expired = self._silent = self._number = 0
        for _, answer, _ in out:
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
            _, answer, _ = self._out[self._expired]
            self._expired += 1
            self._silent += 1
            self._number = self._number or 1
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
