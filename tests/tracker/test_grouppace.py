"""
Tests of L{twisted_bazaar.tracker.grouppace}: an address group's rates of
registrations with a port and of questions at the tracker.
"""

from types import SimpleNamespace

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tracker.grouppace import GroupPace
from twisted_bazaar.tracker.service import JOINS_LIMIT, QUESTIONS_LIMIT


class Link:
    def __init__(self, host):
        self.transport = SimpleNamespace(getPeer=lambda: SimpleNamespace(host=host))
        self.refused, self.dropped = [], []

    def refuse(self, code, why):
        self.refused.append(code)

    def dropOverRate(self, kind, rate):
        self.dropped.append((kind, rate))


class Registered:
    def makeRoom(self, group):
        return ()

    def refusal(self, group, what):
        return "full"


class GroupPaceTests(SynchronousTestCase):
    def setUp(self):
        self.pace = GroupPace(Clock(), JOINS_LIMIT, QUESTIONS_LIMIT, 100)

    def test_joinsWithAPortAreRated(self):
        """A group's registrations with a port stop at its burst; one
        without a port (no check to make) is not counted; another group
        joins all the same."""
        link = Link("198.18.0.1")
        taken = [self.pace.mayJoin(link, SimpleNamespace(port=9000), Registered())
                 for _ in range(1000)]
        self.assertIn(False, taken)
        self.assertEqual(set(link.refused), {"noslots"})
        self.assertTrue(self.pace.mayJoin(link, SimpleNamespace(port=0), Registered()))
        self.assertTrue(self.pace.mayJoin(Link("203.0.0.1"), SimpleNamespace(port=9000),
                                          Registered()))

    def test_questionsAreRated(self):
        link = Link("198.18.0.1")
        kind = SimpleNamespace(TYPE="nodereq")
        asked = [self.pace.mayAsk(link, kind) for _ in range(int(QUESTIONS_LIMIT.group) * 3)]
        self.assertIn(False, asked)
        self.assertEqual(link.dropped[0], ("nodereq", QUESTIONS_LIMIT.group))
