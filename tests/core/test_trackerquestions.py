"""
Tests for twisted_bazaar.core.trackerquestions: what a node's tracker
session asks the tracker (``nodereq``, ``whereis``), each answer matched
to its question in order, bounded in number and time, and failed when
the tracker goes.  On the session's bed (L{MembershipCase}: a fake
tracker link, a Clock).
"""

from twisted.internet import defer
from twisted.logger import LogLevel, capturedLogs, formatEvent

from tests.core.test_membership import MembershipCase, _Finds, nodereply, thisisme
from twisted_bazaar import wire
from twisted_bazaar.core.questions import QUESTIONS_LIMIT
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.reach.asking import TrackerGone, TrackerSilent
from twisted_bazaar.schemes.index.messages import Found


class QuestionTests(MembershipCase):
    """ask(), whereIs() and send(): answers matched to questions in order."""

    def test_sendNeedsARegistration(self):
        self.assertFalse(self.membership.send(wire.WhereIs(5)))
        self.assertEqual(self.tracker.heard(), [thisisme()])
        self.register()
        self.assertTrue(self.membership.send(wire.WhereIs(5)))
        self.assertEqual(self.tracker.heard(), [{"type": "whereis", "id": "5"}])

    def test_askBeforeRegistrationFailsWithTrackerGone(self):
        [failure] = self.answers(self.membership.ask(wire.NodeReq()))
        failure.trap(TrackerGone)
        self.assertEqual(self.tracker.heard(), [thisisme()])

    def test_answersMatchQuestionsInOrder(self):
        """nodereq and whereis questions share nodereply answers; the
        tracker answers in order, so each answer goes to its question."""
        self.register()
        introduced = self.answers(self.membership.ask(wire.NodeReq((3,))))
        where = []
        self.node.whereabouts.book.whereIs(42).addCallback(where.append)
        self.node.whereabouts.book.whereIs(43).addCallback(where.append)
        self.assertEqual(self.tracker.heard(), [{"type": "nodereq", "exclude": ["3"]},
                                                {"type": "whereis", "id": "42"},
                                                {"type": "whereis", "id": "43"}])
        self.tracker.say(nodereply(11))
        self.assertEqual(introduced, [wire.NodeReply(11, "h11", 5011)])
        self.assertEqual(where, [])
        self.tracker.say(nodereply(42))
        self.tracker.say({"type": "nodereply", "id": "43", "host": "", "port": 0})
        self.assertEqual(where, [("h42", 5042), None])

    def test_whereisWithoutTrackerFails(self):
        """Unregistered, or the tracker gone with a question out: a
        TrackerGone, which says why, never None (the tracker's word that
        it does not know the node; before, both were None)."""
        answers = []
        self.node.whereabouts.book.whereIs(42).addBoth(answers.append)
        self.register()
        self.node.whereabouts.book.whereIs(43).addBoth(answers.append)
        self.tracker.transport.loseConnection()
        self.assertEqual([failure.check(TrackerGone) for failure in answers],
                         [TrackerGone, TrackerGone])
        self.assertEqual(str(answers[0].value), "not registered with a tracker")

    def test_questionOutWhenTheTrackerGoesFailsWithTrackerGone(self):
        self.register()
        first = self.answers(self.membership.ask(wire.NodeReq()))
        second = self.answers(self.membership.ask(wire.WhereIs(9)))
        self.tracker.transport.loseConnection()
        for results in (first, second):
            [failure] = results
            failure.trap(TrackerGone)
        # The new session starts with no question out: its first answer
        # goes to its first question.
        self.tracker = self.connectTracker()
        self.register()
        third = self.answers(self.membership.ask(wire.NodeReq()))
        self.tracker.say(nodereply(12))
        self.assertEqual(third, [wire.NodeReply(12, "h12", 5012)])

    def test_cancelledQuestionDropsItsAnswerWithoutMisrouting(self):
        """A cancelled question keeps its place in the queue: its answer,
        when it comes, is dropped, and the next answer goes to the next
        question (FIFO)."""
        self.register()
        cancelled = self.membership.ask(wire.NodeReq())
        cancelled.addErrback(lambda f: f.trap(defer.CancelledError))
        later = self.answers(self.membership.ask(wire.WhereIs(42)))
        cancelled.cancel()
        self.tracker.say(nodereply(11))
        self.assertEqual(later, [])
        self.tracker.say(nodereply(42))
        self.assertEqual(later, [wire.NodeReply(42, "h42", 5042)])
        self.assertFalse(self.tracker.closed)

    def test_aLateAnswerIsNotTheNextQuestions(self):
        """A question the tracker did not answer in time fails (the link
        stays: one slow answer is no loss), and keeps its place: its late
        answer is dropped, the next goes to the next question."""
        self.register()
        slow = self.answers(self.membership.ask(wire.WhereIs(41)))
        self.clock.advance(LinkSettings().handshake_timeout)
        [failure] = slow
        failure.trap(TrackerSilent)
        later = self.answers(self.membership.ask(wire.WhereIs(42)))
        self.tracker.say(nodereply(41))
        self.assertEqual(later, [])
        self.tracker.say(nodereply(42))
        self.assertEqual(later, [wire.NodeReply(42, "h42", 5042)])
        self.assertFalse(self.tracker.closed)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_questionsOutAreBounded(self):
        """Past QUESTIONS_LIMIT out, a question fails at once and is not
        sent: a tracker that answers nothing cannot grow the node."""
        self.register()
        for peer in range(QUESTIONS_LIMIT.default):
            self.membership.ask(wire.WhereIs(peer)).addErrback(lambda f: None)
        self.assertEqual(len(self.tracker.heard()), QUESTIONS_LIMIT.default)
        [failure] = self.answers(self.membership.ask(wire.WhereIs(99)))
        failure.trap(TrackerSilent)
        self.assertEqual(self.tracker.heard(), [])

    def test_noTimerLeftWhenTheLinkGoes(self):
        """The questions' timer is cancelled with them when the link
        closes or the node stops."""
        self.register()
        self.membership.ask(wire.WhereIs(41)).addErrback(lambda f: f.trap(TrackerGone))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.tracker.transport.loseConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_unaskedAnswerIsIgnored(self):
        self.register()
        self.tracker.say(nodereply(11))
        self.assertEqual(self.tracker.heard(), [])
        self.assertFalse(self.tracker.closed)
        later = self.answers(self.membership.ask(wire.WhereIs(42)))
        self.tracker.say(nodereply(42))
        self.assertEqual(later, [wire.NodeReply(42, "h42", 5042)])

    def test_schemeAnswersGoToThePartThatTakesThem(self):
        self.register()
        part = _Finds()
        self.membership.parts.takeFrom(part)
        self.tracker.say({"type": "found", "item": "pear", "sellers": []})
        self.assertEqual(part.handled, [Found("pear", ())])
        self.assertEqual(self.tracker.heard(), [])

    def test_oneHandlerAType(self):
        """A type has one handler: another part's, or one for a type the
        session takes itself (reach, nodereply, error, dc), is refused; the
        same part again (a scheme's, on each registration) is taken."""
        part = _Finds()
        self.membership.parts.takeFrom(part)
        self.membership.parts.takeFrom(part)
        for kind in (Found, wire.Reach, wire.NodeReply, wire.Error, wire.Dc):
            self.assertRaises(ValueError, self.membership.parts.takeFrom, _Finds(),
                              {kind: _Finds.found})
        self.register()
        self.tracker.say({"type": "found", "item": "pear", "sellers": []})
        self.assertEqual(part.handled, [Found("pear", ())])

    def test_errorsToTheHandlerOfTheirCode(self):
        """The tracker's error is logged, then handed to the handler of its
        code, if any (one a code)."""
        self.register()
        told = []
        self.membership.parts.handleError("norelay", told.append)
        self.assertRaises(ValueError, self.membership.parts.handleError, "norelay", print)
        with capturedLogs() as events:
            self.tracker.say({"type": "error", "code": "norelay", "info": "none"})
            self.tracker.say({"type": "error", "code": "noslots", "info": "full"})
            self.tracker.say({"type": "error", "code": "noudp", "info": "too fast"})
        self.assertEqual(told, [wire.Error("norelay", "none")])
        # A refusal of the normal run in words, not by its wire code
        # (issue 96 LOW: "tracker says noudp: ...").
        self.assertEqual([formatEvent(event) for event in events],
                         ["tracker says norelay: none", "tracker says noslots: full",
                          "the tracker refused a UDP check or punch: too fast"])
        self.assertEqual(self.tracker.heard(), [])

    def test_aRefusalItsPartGetsOverIsADebugLine(self):
        """An error its part says it gets over by itself (a check refused
        for the tracker's rate, asked again in 2 s) is a debug line: with
        7 nodes of one address group starting together, 3 logged it at
        info, a fault to their reader; any other stays at info."""
        self.register()
        told = []
        self.membership.parts.handleError("noudp", told.append,
                                          routine=lambda error: error.info == "soon")
        with capturedLogs() as events:
            self.tracker.say({"type": "error", "code": "noudp", "info": "soon"})
            self.tracker.say({"type": "error", "code": "noudp", "info": "again"})
        self.assertEqual([(event["log_level"], formatEvent(event)) for event in events],
                         [(LogLevel.debug, "the tracker refused a UDP check or punch: soon"),
                          (LogLevel.info, "the tracker refused a UDP check or punch: again")])
        self.assertEqual(len(told), 2)

    def test_trackerLostTold(self):
        """The parts are told when the tracker link goes (what they held
        through it goes with it)."""
        lost = []

        class Watcher(NodeObserver):
            def trackerLost(self):
                lost.append(True)

        self.node.addObserver(Watcher())
        self.register()
        self.tracker.link.transport.loseConnection()
        self.assertEqual(lost, [True])

    def test_unhandledTrackerMessageIsWtf(self):
        self.register()
        self.tracker.say({"type": "found", "item": "pear", "sellers": []})
        self.assertEqual(self.tracker.heard(), [{
            "type": "error", "code": "wtf",
            "info": "a node does not expect found from the tracker"}])
        self.assertFalse(self.tracker.closed)
