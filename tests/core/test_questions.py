"""
Tests for twisted_bazaar.core.questions: the questions out to a tracker,
matched to answers by order, each waited on for a bounded time, at most
so many at once, and a tracker that leaves several in a row unanswered
taken as lost.
"""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.questions import (
    QUESTIONS_LIMIT, SILENT_LIMIT, Questions, TrackerGone, TrackerSilent)
from twisted_bazaar.net.link import LinkSettings

WAIT = 10.0


class QuestionsTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.lost = []
        self.questions = Questions(self.clock, LinkSettings(handshake_timeout=WAIT),
                                   self.lost.append)

    def answers(self, d):
        results = []
        d.addBoth(results.append)
        return results

    def test_smallWhileNothingIsOut(self):
        """No list while no question is out (a simulation holds one of
        these per node), and none left once all are answered."""
        self.assertEqual(self.questions._out, ())
        self.questions.ask()[0]
        self.questions.answered("a")
        self.assertEqual(self.questions._out, ())

    def test_answersInOrder(self):
        first, second = self.answers(self.questions.ask()[0]), self.answers(
            self.questions.ask()[0])
        self.questions.answered("a")
        self.questions.answered("b")
        self.assertEqual((first, second), (["a"], ["b"]))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_noTimerWithoutAQuestion(self):
        """One timer while questions are out, none otherwise (a
        simulation holds one of these per node)."""
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.questions.ask()[0]
        self.questions.ask()[0]
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.questions.answered("a")
        self.questions.answered("b")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_unansweredInTimeFails(self):
        """A question's wait ends: it fails with TrackerSilent (a
        TrackerGone, which every asker handles), saying how long."""
        first = self.answers(self.questions.ask()[0])
        self.clock.advance(WAIT - 0.1)
        results = self.answers(self.questions.ask()[0])
        self.assertEqual(first, [])
        self.clock.advance(0.1)
        first[0].trap(TrackerSilent)
        self.assertEqual(results, [])
        self.clock.advance(WAIT)
        [failure] = results
        failure.trap(TrackerGone)
        self.assertIsInstance(failure.value, TrackerSilent)
        self.assertEqual(str(failure.value), "the tracker did not answer in 10 s")

    def test_aLateAnswerIsDroppedNotTakenAsTheNext(self):
        """The tracker answers in order and its answer names nothing to
        match it by: a question that timed out keeps its place, so its
        late answer is dropped and the next answer goes to the next."""
        timedOut = self.answers(self.questions.ask()[0])
        self.clock.advance(WAIT)
        timedOut[0].trap(TrackerSilent)
        later = self.answers(self.questions.ask()[0])
        self.questions.answered("late")
        self.assertEqual(later, [])
        self.questions.answered("later's")
        self.assertEqual(later, ["later's"])
        self.assertEqual(len(self.questions), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_atMostSoManyOut(self):
        """Past the limit a question fails at once, saying why, and is
        not kept."""
        class Two(Questions):
            __slots__ = ()
            capacity = 2

        questions = Two(self.clock, LinkSettings(), self.lost.append)
        questions.ask()[0]
        questions.ask()[0]
        [failure] = self.answers(questions.ask()[0])
        failure.trap(TrackerSilent)
        self.assertEqual(str(failure.value), "2 questions to the tracker unanswered")
        self.assertEqual(len(questions), 2)
        self.assertEqual(QUESTIONS_LIMIT.default, 64)

    def test_silentInARowIsLost(self):
        """SILENT_LIMIT questions in a row unanswered in time: lost, once,
        with the reason; an answer in between starts the count again."""
        for _ in range(SILENT_LIMIT - 1):
            self.questions.ask()[0].addErrback(lambda f: f.trap(TrackerSilent))
            self.clock.advance(WAIT)
        self.questions.answered("late")
        self.questions.ask()[0].addErrback(lambda f: f.trap(TrackerSilent))
        self.clock.advance(WAIT)
        self.assertEqual(self.lost, [])
        for _ in range(SILENT_LIMIT - 1):
            self.questions.ask()[0].addErrback(lambda f: f.trap(TrackerSilent))
            self.clock.advance(WAIT)
        self.assertEqual(self.lost, ["the tracker left 3 questions in a row "
                                     "unanswered (10 s each)"])

    def test_clearFailsAllAndCancelsTheTimer(self):
        """The session ends: every question fails with TrackerGone (not
        TrackerSilent), and no timer is left."""
        first, second = self.answers(self.questions.ask()[0]), self.answers(
            self.questions.ask()[0])
        self.questions.clear("link closed")
        for [failure] in (first, second):
            failure.trap(TrackerGone)
            self.assertNotIsInstance(failure.value, TrackerSilent)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(len(self.questions), 0)

    def test_aCancelledQuestionKeepsItsPlace(self):
        cancelled = self.questions.ask()[0]
        cancelled.addErrback(lambda f: f.trap(defer.CancelledError))
        later = self.answers(self.questions.ask()[0])
        cancelled.cancel()
        self.questions.answered("cancelled's")
        self.questions.answered("later's")
        self.assertEqual(later, ["later's"])

    def test_theHandshakesDefaultWhenItIsOff(self):
        """A link whose handshake timer is off (0) still bounds questions,
        at the default handshake timeout."""
        questions = Questions(self.clock, LinkSettings(handshake_timeout=0),
                              self.lost.append)
        results = self.answers(questions.ask()[0])
        self.clock.advance(LinkSettings().handshake_timeout)
        results[0].trap(TrackerSilent)


class NumberedTests(SynchronousTestCase):
    """Once a question went unanswered in time, the order of answers is
    unsure (a question or answer lost on a link that drops messages): the
    questions after it are numbered, and the tracker's answer with a
    number goes to the question of that number."""

    def setUp(self):
        self.clock = Clock()
        self.questions = Questions(self.clock, LinkSettings(handshake_timeout=WAIT),
                                   lambda why: None)

    def ask(self):
        answer, number = self.questions.ask()
        results = []
        answer.addBoth(results.append)
        return results, number

    def expire(self):
        lost, number = self.ask()
        self.assertIsNone(number)
        self.clock.advance(WAIT)
        lost[0].trap(TrackerSilent)

    def test_unnumberedWhileAllAreAnswered(self):
        first, number = self.ask()
        self.questions.answered("a")
        self.assertEqual((first, number), (["a"], None))
        self.assertEqual(self.ask()[1], None)

    def test_aLostQuestionShiftsNoAnswer(self):
        """The question never reached the tracker: the next answers go to
        their own questions (before, each to the one before its own)."""
        self.expire()
        (second, two), (third, three) = self.ask(), self.ask()
        self.assertEqual((two, three), (2, 3))
        self.questions.answered("second's", 2)
        self.questions.answered("third's", 3)
        self.assertEqual((second, third), (["second's"], ["third's"]))
        self.assertEqual(len(self.questions), 1)

    def test_answersOutOfOrder(self):
        self.expire()
        (second, two), (third, three) = self.ask(), self.ask()
        self.questions.answered("third's", three)
        self.questions.answered("second's", two)
        self.assertEqual((second, third), (["second's"], ["third's"]))

    def test_theLateAnswerOfTheUnnumberedIsDropped(self):
        """The first's answer came late, without a number: it goes to
        the oldest question without one (the first, whose asker stopped
        waiting), not to a numbered one."""
        self.expire()
        second, two = self.ask()
        self.questions.answered("late")
        self.assertEqual(second, [])
        self.questions.answered("second's", two)
        self.assertEqual(second, ["second's"])
        self.assertEqual(len(self.questions), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_anAnswerOfNoQuestionOutIsDropped(self):
        self.expire()
        second, two = self.ask()
        self.questions.answered("stray", two + 5)
        self.assertEqual(second, [])
        self.assertEqual(len(self.questions), 2)

    def test_anOldTrackerEchoesNoNumber(self):
        """A tracker of a version before numbers answers without one:
        the oldest question out has it, by order, as before."""
        self.expire()
        self.questions.answered("late")
        second, two = self.ask()
        self.questions.answered("second's")
        self.assertEqual(second, ["second's"])

    def test_aNewSessionStartsUnnumbered(self):
        self.expire()
        self.questions.clear("closed")
        self.assertEqual(self.ask()[1], None)

    def test_aNumberedExpiredKeepsTheTimerRight(self):
        """An expired numbered question answered from the middle of the
        list leaves the others' waits as they were."""
        self.expire()
        second, two = self.ask()
        self.clock.advance(WAIT / 2)
        third, three = self.ask()
        self.clock.advance(WAIT / 2)
        second[0].trap(TrackerSilent)
        self.questions.answered("second's late", two)
        self.assertEqual(third, [])
        self.clock.advance(WAIT / 2)
        third[0].trap(TrackerSilent)
        self.assertEqual(self.clock.getDelayedCalls(), [])
