"""
Tests for twisted_bazaar.status.dialrace: a client's ways raced by the
node's own race (reach/race.py): the LAN's ways at once, the others after
the dialer's relay delay or as soon as no way runs, the first proven kept
and the rest stopped, every way failed told once, one timer, owned.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach import dialer
from twisted_bazaar.status.dialrace import (
    DIRECT, LAN, RELAY_DELAY, RELAYED, WORDS, FirstProven, Way)
from twisted_bazaar.transports import path


class FirstProvenTests(SynchronousTestCase):
    def race(self, *kinds):
        self.clock, self.events, self.everyFailed = Clock(), [], []
        self.ways = [Way(kind, f"{kind}{n}", lambda n=n: self.events.append(("start", n)),
                         lambda n=n: self.events.append(("stop", n)))
                     for n, kind in enumerate(kinds)]
        race = FirstProven(self.clock, self.ways, lambda: self.everyFailed.append(True))
        race.begin()
        return race

    def test_oneRaceOneSetOfKinds(self):
        """The delay is the dialer's, the kinds the book's."""
        self.assertEqual(RELAY_DELAY, dialer.RELAY_DELAY)
        self.assertEqual((LAN, DIRECT, RELAYED), (path.LAN, path.DIRECT, path.RELAYED))
        self.assertEqual(set(WORDS), {LAN, DIRECT, RELAYED})

    def test_aLoneWayStartsAtOnce(self):
        race = self.race(RELAYED)
        self.assertEqual(self.events, [("start", 0)])
        self.assertTrue(race.proven(self.ways[0]))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_theLanFirstTheRestAfterTheDelay(self):
        self.race(LAN, LAN, RELAYED)
        self.assertEqual(self.events, [("start", 0), ("start", 1)])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.events[2:], [("start", 2)])

    def test_theFirstProvenStopsTheOthersAndTheTimer(self):
        race = self.race(LAN, DIRECT)
        self.assertTrue(race.proven(self.ways[0]))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.events, [("start", 0)])
        race = self.race(LAN, DIRECT)
        self.clock.advance(RELAY_DELAY)
        self.assertTrue(race.proven(self.ways[1]))
        self.assertEqual(self.events[-1], ("stop", 0))
        self.assertFalse(race.proven(self.ways[0]), "a later one loses")
        self.assertFalse(race.failed(self.ways[0]))
        self.assertEqual(self.everyFailed, [])

    def test_everyWayRunningFailedStartsTheRestAtOnce(self):
        race = self.race(LAN, RELAYED)
        self.assertFalse(race.failed(self.ways[0]))
        self.assertEqual(self.events, [("start", 0), ("start", 1)])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.everyFailed, [])
        self.assertFalse(race.failed(self.ways[1]))
        self.assertEqual(self.everyFailed, [True], "every way failed, told once")

    def test_oneLanOfTwoFailedWaitsForTheDelay(self):
        """As the node's dialer does: the rest start when none runs, or
        when their delay comes; one LAN way failing while another runs
        starts nothing."""
        race = self.race(LAN, LAN, DIRECT)
        race.failed(self.ways[0])
        self.assertEqual(self.events, [("start", 0), ("start", 1)])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.events[2:], [("start", 2)])

    def test_theWinnerLostIsTheDialLost(self):
        race = self.race(LAN, RELAYED)
        race.proven(self.ways[0])
        self.assertTrue(race.failed(self.ways[0]))

    def test_aWayFailingAsItStarts(self):
        """A way whose start fails at once (its owner says so inside
        start) hands over to the next at once."""
        self.clock, self.everyFailed = Clock(), []
        started = []
        ways = []

        def failing():
            started.append(0)
            race.failed(ways[0])

        ways.extend([Way(LAN, "a", failing, lambda: None),
                     Way(DIRECT, "b", lambda: started.append(1), lambda: None)])
        race = FirstProven(self.clock, ways, lambda: self.everyFailed.append(True))
        race.begin()
        self.assertEqual(started, [0, 1])
        self.assertTrue(race.proven(ways[1]))

    def test_stopStopsWhatStartedAndStartsNothing(self):
        race = self.race(LAN, RELAYED)
        race.stop()
        self.assertEqual(self.events, [("start", 0), ("stop", 0)])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(len(self.events), 2)
        self.assertEqual(self.everyFailed, [], "a question given up is not every way failed")
