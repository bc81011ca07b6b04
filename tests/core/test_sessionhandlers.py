"""
Tests for L{twisted_bazaar.core.sessionhandlers}: what a node's parts
have its tracker session do with the tracker's messages and errors.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.core.sessionhandlers import SessionParts


class Answers:
    """A part that takes the tracker's ``dc`` and ``pong`` (as a scheme
    takes its answers), noting them."""

    def __init__(self):
        self.seen = []

    def _dc(self, link, message):
        self.seen.append((link, message))

    fromTracker = {wire.Dc: _dc, wire.Pong: _dc}


class SessionPartsTests(SynchronousTestCase):

    def setUp(self):
        self.parts = SessionParts(owned={wire.Reach: None})

    def test_aPartsTableTakesItsTypes(self):
        part = Answers()
        self.parts.takeFrom(part)
        self.assertTrue(self.parts.dispatch(wire.Dc, "tracker", wire.Dc()))
        self.assertEqual(part.seen, [("tracker", wire.Dc())])

    def test_thePartAgainChangesNothing(self):
        """A scheme registers its own on each registration."""
        part = Answers()
        self.parts.takeFrom(part)
        table = self.parts.table
        self.parts.takeFrom(part)
        self.assertIs(self.parts.table, table)
        self.assertEqual(self.parts.parts, (part,))

    def test_anotherPartOfTheSameTypesIsRefused(self):
        self.parts.takeFrom(Answers())
        self.assertRaises(ValueError, self.parts.takeFrom, Answers())

    def test_theSessionsOwnTypesAreRefused(self):
        error = self.assertRaises(ValueError, self.parts.takeFrom, Answers(),
                                  {wire.Reach: Answers._dc})
        self.assertIn("reach from the tracker has a handler already", str(error))

    def test_errorsToTheHandlerOfTheirCode(self):
        told = []
        self.parts.handleError("norelay", told.append)
        self.parts.erred(wire.Error("norelay", "none"))
        self.parts.erred(wire.Error("wtf", "what"))
        self.assertEqual(told, [wire.Error("norelay", "none")])
