"""Tests for twisted_bazaar.schemes.chord.question: a question waited for
by nonce, and what ending it cancels."""

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.question import Question


class QuestionTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.answered = defer.Deferred()
        self.question = Question(7, self.answered, self.clock.callLater(3, lambda: None), 42)

    def test_endCancelsTheTimerAndTheLinkBeingOpened(self):
        connecting = self.question.connecting = defer.Deferred()
        self.assertIs(self.question.end(), self.answered)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.failureResultOf(connecting, defer.CancelledError)
        self.assertNoResult(self.answered)

    def test_aTimerThatRanAndALinkThatCameAreLeftAlone(self):
        self.clock.advance(3)
        connecting = self.question.connecting = defer.succeed("link")
        self.assertIs(self.question.end(), self.answered)
        self.assertEqual(self.successResultOf(connecting), "link")

    def test_whatItHolds(self):
        question = self.question
        self.assertEqual((question.nonce, question.peer_id, question.connecting), (7, 42, None))
