"""
Tests for twisted_bazaar.status.dialrace: the LAN's ways at once, the
others after the delay or as soon as every way started failed, the first
proven kept and the rest stopped, one timer, owned.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.status.dialrace import DIRECT, LAN, RELAY, RELAY_DELAY, FirstProven, Way


class FirstProvenTests(SynchronousTestCase):
    def race(self, *kinds):
        self.clock, self.events = Clock(), []
        self.ways = [Way(kind, f"{kind}{n}", lambda n=n: self.events.append(("start", n)),
                         lambda n=n: self.events.append(("stop", n)))
                     for n, kind in enumerate(kinds)]
        race = FirstProven(self.clock, self.ways)
        race.begin()
        return race

    def test_aLoneWayStartsAtOnce(self):
        race = self.race(RELAY)
        self.assertEqual(self.events, [("start", 0)])
        self.assertTrue(race.proven(self.ways[0]))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_theLanFirstTheRestAfterTheDelay(self):
        self.race(LAN, LAN, RELAY)
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

    def test_everyLanFailedStartsTheRestAtOnce(self):
        race = self.race(LAN, RELAY)
        self.assertFalse(race.failed(self.ways[0]))
        self.assertEqual(self.events, [("start", 0), ("start", 1)])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertTrue(race.failed(self.ways[1]), "every way failed")

    def test_theWinnerLostIsTheDialLost(self):
        race = self.race(LAN, RELAY)
        race.proven(self.ways[0])
        self.assertTrue(race.failed(self.ways[0]))

    def test_stopStopsWhatStartedAndStartsNothing(self):
        race = self.race(LAN, RELAY)
        race.stop()
        self.assertEqual(self.events, [("start", 0), ("stop", 0)])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(len(self.events), 2)
