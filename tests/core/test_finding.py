"""
Tests for L{twisted_bazaar.core.finding}: a scheme's find held to its
word, whatever a plugin's find does, and said in one line naming the
scheme and its file.
"""

from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.logger import formatEvent, globalLogPublisher, LogLevel
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.finding import FIND_GRACE, find
from twisted_bazaar.core.market import Offer

ME, SELLER = 7, 9


class Scheme:
    """A plugin's scheme whose find does what a test tells it."""

    name = "student"

    def __init__(self, answer):
        self.answer = answer
        self.asked = []

    def find(self, item, wait):
        self.asked.append((item, wait))
        return self.answer()


def nodeOf(scheme):
    return SimpleNamespace(id=ME, discovery=scheme, clock=task.Clock())


class FindTests(SynchronousTestCase):
    def setUp(self):
        self.logged = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def said(self):
        """The lines of warning and above, formatted."""
        return [formatEvent(event) for event in self.logged
                if event.get("log_level") is not None
                and event["log_level"] >= LogLevel.warn]

    def found(self, answer, advance=0):
        scheme = Scheme(answer)
        node = nodeOf(scheme)
        d = find(node, "pear", 1.0)
        node.clock.advance(advance)
        return scheme, node, self.successResultOf(d)

    def assertBlamed(self, words):
        [line] = self.said()
        self.assertIn("the discovery scheme Scheme (", line)
        self.assertIn(__file__.rstrip("c"), line)
        self.assertIn(words, line)

    def test_offersComeAsTheySay(self):
        good = Offer(SELLER, (ME, 3, SELLER))
        scheme, node, offers = self.found(lambda: defer.succeed([good]))
        self.assertEqual(offers, [good])
        self.assertEqual(scheme.asked, [("pear", 1.0)])
        self.assertEqual(node.clock.getDelayedCalls(), [])
        self.assertEqual(self.said(), [])

    def test_aFindThatRaises(self):
        """Before, the scheme's exception went up through the buyer, which
        was logged as failing on linkAdded, and its want never searched
        again."""
        def raising():
            raise KeyError("pear")
        _, _, offers = self.found(raising)
        self.assertEqual(offers, [])
        self.assertBlamed("raised in find('pear'): KeyError: 'pear'; taken as no offer")
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    def test_notADeferred(self):
        _, _, offers = self.found(lambda: [Offer(SELLER, (ME, SELLER))])
        self.assertEqual(offers, [])
        self.assertBlamed("returned list from find('pear'), not a Deferred")

    def test_aFindThatFails(self):
        """Before, a failed find was an unhandled error in a Deferred,
        said at best when collected, and the want waited forever."""
        _, _, offers = self.found(lambda: defer.fail(RuntimeError("no ring")))
        self.assertEqual(offers, [])
        self.assertBlamed("find('pear') failed: RuntimeError: no ring; taken as no offer")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_noList(self):
        _, _, offers = self.found(lambda: defer.succeed(None))
        self.assertEqual(offers, [])
        self.assertBlamed("find('pear') gave NoneType, not a list of offers")

    def test_malformedOffersAreDropped(self):
        """Before, a tuple for an offer raised AttributeError in the buyer
        (an unhandled error in a Deferred) and the want never bought."""
        good = Offer(SELLER, (ME, SELLER))
        bad = [(SELLER, (ME, SELLER)), Offer(SELLER, (SELLER, ME)),
               Offer(SELLER, (ME,)), Offer(SELLER, None), Offer(SELLER, (ME, 4))]
        _, _, offers = self.found(lambda: defer.succeed(bad + [good]))
        self.assertEqual(offers, [good])
        self.assertBlamed("gave 5 of 6 offers that are no Offer with a route from "
                          "this node to its seller; dropped")

    def test_aSilentFindIsGivenUp(self):
        """Before, a find that never fired left the buyer waiting for ever,
        without a word."""
        scheme = Scheme(defer.Deferred)
        node = nodeOf(scheme)
        d = find(node, "pear", 1.0)
        node.clock.advance(1.0 + FIND_GRACE - 0.1)
        self.assertNoResult(d)
        self.assertEqual(self.said(), [])
        node.clock.advance(0.1)
        self.assertEqual(self.successResultOf(d), [])
        self.assertBlamed("find('pear') did not fire within its wait, 1.0 s, nor 60 s "
                          "after: cancelled, and taken as no offer (its timers go on "
                          "node.clock: the global reactor's never fire in a Market or "
                          "bazaar-sim)")
        self.assertEqual(node.clock.getDelayedCalls(), [])

    def test_cancelledByItsAsker(self):
        cancelled = []
        scheme = Scheme(lambda: defer.Deferred(cancelled.append))
        node = nodeOf(scheme)
        d = find(node, "pear", 1.0)
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(len(cancelled), 1)
        self.assertEqual(node.clock.getDelayedCalls(), [])
        self.assertEqual(self.said(), [])
