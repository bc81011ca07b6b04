"""
Tests of L{twisted_bazaar.roles.probe}: rounds of question, ping and
grace, on a fake link whose pongs the test answers, on a task.Clock.
"""

from twisted.internet import defer, task
from twisted.internet.error import ConnectionLost
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.probe import PING_SPACING, Pings, Probe

GRACE = 1.0


class PingingLink:
    """Hands out a Deferred per ping; the test fires them as pongs."""

    def __init__(self):
        self.pings = []

    def ping(self):
        d = defer.Deferred()
        self.pings.append(d)
        return d

    def pong(self):
        self.pings[-1].callback(None)


class ProbeTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.link = PingingLink()
        self.asked = 0
        self.ended = []

    def probe(self, rounds):
        def ask():
            self.asked += 1

        probe = Probe(self.link, self.clock, ask, self.ended.append, rounds, GRACE)
        probe.start()
        return probe

    def test_unansweredEveryRound(self):
        """The question was sent with the first round; each later round
        asks again; after the last round's pong and grace, ended(True)."""
        self.probe(3)
        for round_ in range(3):
            self.assertEqual((self.asked, len(self.link.pings)), (round_, round_ + 1))
            self.link.pong()
            self.clock.advance(GRACE - 0.01)
            self.assertEqual(self.ended, [])
            self.clock.advance(0.01)
        self.assertEqual(self.ended, [True])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_noPongNoVerdict(self):
        """A pong that never comes proves nothing: the probe waits, asks
        nothing more, and ends on nothing."""
        self.probe(3)
        self.clock.advance(1000)
        self.assertEqual((self.asked, self.ended), (0, []))

    def test_answeredWithinGrace(self):
        """An answer after the pong, within the grace, stops the probe:
        no verdict, no timer left."""
        probe = self.probe(3)
        self.link.pong()
        self.clock.advance(GRACE - 0.01)
        probe.answered()
        self.clock.advance(10)
        self.assertEqual((self.asked, self.ended), (0, []))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_answeredBeforeThePong(self):
        """An answer before the pong cancels the wait for it."""
        probe = self.probe(1)
        probe.answered()
        [ping] = self.link.pings
        self.assertTrue(ping.called)
        self.assertEqual(self.ended, [])

    def test_linkLost(self):
        """A link lost while a pong is awaited: ended(False), once."""
        self.probe(3)
        self.link.pong()
        self.clock.advance(GRACE)
        self.link.pings[-1].errback(ConnectionLost())
        self.assertEqual(self.ended, [False])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_askMayStopTheProbe(self):
        """A round whose question cannot be sent (the ask callable says
        so by calling answered) pings no more."""
        probe = None

        def ask():
            probe.answered()

        probe = Probe(self.link, self.clock, ask, self.ended.append, 2, GRACE)
        probe.start()
        self.link.pong()
        self.clock.advance(GRACE)
        self.assertEqual((len(self.link.pings), self.ended), (1, []))


class PingsTests(SynchronousTestCase):
    """L{Pings}: one probe ping a link every PING_SPACING seconds, shared
    by the probes that asked since the last."""

    def setUp(self):
        self.clock = task.Clock()
        self.pings = Pings(self.clock)
        self.link = PingingLink()

    def test_spacedPingsGoAtOnce(self):
        """A ping a spacing or more after the link's last goes at once."""
        self.pings.ping(self.link)
        self.clock.advance(PING_SPACING)
        self.pings.ping(self.link)
        self.assertEqual(len(self.link.pings), 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_eachLinkItsOwnPace(self):
        """Another link's ping is not held back by this one's."""
        other = PingingLink()
        self.pings.ping(self.link)
        self.pings.ping(other)
        self.assertEqual((len(self.link.pings), len(other.pings)), (1, 1))

    def test_aLostLinkFailsEveryWaiter(self):
        """The shared ping's failure (the link closed) reaches each probe
        that waited on it."""
        self.pings.ping(self.link)
        waiting = [self.pings.ping(self.link), self.pings.ping(self.link)]
        failures = []
        for d in waiting:
            d.addErrback(failures.append)
        self.clock.advance(PING_SPACING)
        self.assertEqual(len(self.link.pings), 2)
        self.link.pings[1].errback(ConnectionLost())
        self.assertEqual([f.type for f in failures], [ConnectionLost, ConnectionLost])

    def test_cancelledAfterItWentCancelsItsPong(self):
        """Every probe of a ping that went out stopped waiting: the wait
        for its pong is cancelled too."""
        self.pings.ping(self.link)
        waiter = self.pings.ping(self.link)
        waiter.addErrback(lambda f: f.trap(defer.CancelledError))
        self.clock.advance(PING_SPACING)
        waiter.cancel()
        self.assertTrue(self.link.pings[1].called)
