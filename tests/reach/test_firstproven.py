"""
Tests for twisted_bazaar.reach.firstproven: a client's ways, each a path
dialled by the transports it is given, raced by the node's own race
(reach/race.py): the LAN's ways at once, the others after the dialer's
relay delay or as soon as no way runs, the first proven kept and the
rest stopped (their connection under way given up), every way failed
told once, one timer, owned.
"""

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach import ways as reachways
from twisted_bazaar.reach.firstproven import (
    DIRECT, LAN, PHRASES, RELAY_DELAY, RELAYED, FirstProven, Way, along, asTyped)
from twisted_bazaar.transports import path
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import NAMED, Path


class FakeTransports:
    """Records each dial (path, key, the protocol made, options); each
    Deferred is the test's to fire."""

    def __init__(self):
        self.dials = []
        self.cancelled = []

    def dial(self, path, expectedKey, protocolFactory, options=None):
        d = defer.Deferred(lambda d: self.cancelled.append(d))
        self.dials.append((path, expectedKey, protocolFactory(), options, d))
        return d


class FirstProvenTests(SynchronousTestCase):
    def race(self, *kinds):
        self.clock, self.transports = Clock(), FakeTransports()
        self.closed, self.everyFailed, self.unreachable = [], [], []
        self.ways = [along(Path(kind, f"h{n}", 9000 + n, "r:1" if kind == RELAYED else None,
                                NAMED), f"link{n}", f"{kind}{n}")
                     for n, kind in enumerate(kinds)]
        race = FirstProven(self.clock, self.transports, self.ways,
                           lambda: self.everyFailed.append(True),
                           lambda way, reason: self.unreachable.append(
                               (way.protocol, reason.getErrorMessage())),
                           lambda way: self.closed.append(way.protocol))
        race.begin()
        return race

    def started(self):
        return [protocol for _, _, protocol, _, _ in self.transports.dials]

    def test_oneRaceOneSetOfKinds(self):
        """The delay is the dialer's, the kinds the book's."""
        self.assertEqual(RELAY_DELAY, reachways.RELAY_DELAY)
        self.assertEqual((LAN, DIRECT, RELAYED), (path.LAN, path.DIRECT, path.RELAYED))
        self.assertEqual(set(PHRASES), {LAN, DIRECT, RELAYED})

    def test_aWayIsItsPathDialledByTheTransports(self):
        """Along its path, with its options, no key (its owner checks the
        node's thisisme), its own protocol; it reads as its kind and
        where."""
        self.clock, transports = Clock(), FakeTransports()
        relayed = Path(RELAYED, "h", 9001, "r:1", NAMED)
        way = along(relayed, "link", "r:1", DialOptions(target=7))
        FirstProven(self.clock, transports, [way], None, None, None).begin()
        self.assertEqual([dial[:4] for dial in transports.dials],
                         [(relayed, None, "link", DialOptions(target=7))])
        self.assertEqual((way.kind, str(way)), (RELAYED, "through the relay at r:1"))

    def test_anAddressAsTypedIsItsOwnersToConnect(self):
        """A way as typed (the tracker's endpoint) is connected by its
        owner's connect, the transports never asked (there are none)."""
        clock, connected = Clock(), []
        way = asTyped("tcp:h:7700", "link", lambda link: connected.append(link)
                      or defer.Deferred())
        FirstProven(clock, None, [way], None, None, None).begin()
        self.assertEqual((connected, way.kind, str(way)), (["link"], DIRECT, "at tcp:h:7700"))

    def test_aLoneWayStartsAtOnce(self):
        race = self.race(RELAYED)
        self.assertEqual(self.started(), ["link0"])
        self.assertTrue(race.proven(self.ways[0]))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_theLanFirstTheRestAfterTheDelay(self):
        self.race(LAN, LAN, RELAYED)
        self.assertEqual(self.started(), ["link0", "link1"])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.started()[2:], ["link2"])

    def test_theFirstProvenStopsTheOthersAndTheTimer(self):
        race = self.race(LAN, DIRECT)
        self.assertTrue(race.proven(self.ways[0]))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.started(), ["link0"])
        race = self.race(LAN, DIRECT)
        self.clock.advance(RELAY_DELAY)
        self.assertTrue(race.proven(self.ways[1]))
        self.assertEqual(self.closed, ["link0"])
        self.assertFalse(race.proven(self.ways[0]), "a later one loses")
        self.assertFalse(race.failed(self.ways[0]))
        self.assertEqual(self.everyFailed, [])

    def test_aWayStoppedGivesItsConnectionUp(self):
        """A loser still connecting: its dial cancelled (not told as
        unreachable), its link closed; the winner's connection kept."""
        race = self.race(LAN, DIRECT)
        self.clock.advance(RELAY_DELAY)
        lan, direct = (dial[4] for dial in self.transports.dials)
        direct.callback("link1")
        race.proven(self.ways[1])
        self.assertEqual(self.transports.cancelled, [lan])
        self.assertEqual((self.closed, self.unreachable), (["link0"], []))

    def test_aConnectionFailedIsToldItsOwner(self):
        """A way whose dial fails is told its owner, who says whether it
        failed: the race waits for that word."""
        race = self.race(LAN, RELAYED)
        self.transports.dials[0][4].errback(ConnectionRefusedError("no"))
        self.assertEqual([protocol for protocol, _ in self.unreachable], ["link0"])
        self.assertEqual(self.started(), ["link0"], "the owner has not said it failed")
        race.failed(self.ways[0])
        self.assertEqual(self.started(), ["link0", "link1"])

    def test_everyWayRunningFailedStartsTheRestAtOnce(self):
        race = self.race(LAN, RELAYED)
        self.assertFalse(race.failed(self.ways[0]))
        self.assertEqual(self.started(), ["link0", "link1"])
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
        self.assertEqual(self.started(), ["link0", "link1"])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.started()[2:], ["link2"])

    def test_theWinnerLostIsTheDialLost(self):
        race = self.race(LAN, RELAYED)
        race.proven(self.ways[0])
        self.assertTrue(race.failed(self.ways[0]))

    def test_aWayFailingAsItStarts(self):
        """A way whose dial fails at once (its owner says it failed as it
        is told) hands over to the next at once."""
        clock, everyFailed, started = Clock(), [], []

        def failing(transports):
            started.append(0)
            return defer.fail(ConnectionRefusedError("no"))

        def second(transports):
            started.append(1)
            return defer.Deferred()

        ways = [Way(LAN, "a", "link0", failing), Way(DIRECT, "b", "link1", second)]
        race = FirstProven(clock, None, ways, lambda: everyFailed.append(True),
                           lambda way, reason: race.failed(way), lambda way: None)
        race.begin()
        self.assertEqual(started, [0, 1])
        self.assertTrue(race.proven(ways[1]))
        self.assertEqual(everyFailed, [])

    def test_stopStopsWhatStartedAndStartsNothing(self):
        race = self.race(LAN, RELAYED)
        race.stop()
        self.assertEqual(self.started(), ["link0"])
        self.assertEqual(self.closed, ["link0"])
        self.assertEqual(self.transports.cancelled, [self.transports.dials[0][4]])
        self.clock.advance(RELAY_DELAY)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(len(self.started()), 1)
        self.assertEqual(self.everyFailed, [], "a question given up is not every way failed")

    def test_aStoppedWayClosesItsLinkByDefault(self):
        """Without a close of its owner's, a way stopped has its protocol
        (a link) closed."""
        closed = []

        class Link:
            def close(self):
                closed.append(self)

        clock, link = Clock(), Link()
        race = FirstProven(clock, FakeTransports(),
                           [along(Path(LAN, "h", 9001, word=NAMED), link, "h:9001")],
                           None, None)
        race.begin()
        race.stop()
        self.assertEqual(closed, [link])
