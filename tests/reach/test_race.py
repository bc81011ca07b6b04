"""
Tests of L{twisted_bazaar.reach.race}: a dial's ways ranked by their
delays and raced on the node's clock (a L{task.Clock} here), the first
to connect winning, the others cancelled or closed, every timer owned;
and the dial of a client without a node (L{FirstProven}, its ways
L{twisted_bazaar.reach.ways.ClientWay}s, each a path dialled by the
transports it is given), on the same race and ranker: the LAN's ways at
once, the others after the dialer's relay delay or as soon as no way
runs, the first proven kept and the rest stopped (their connection
under way given up), every way failed told once.
"""

from twisted.internet import defer, task
from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach import race as reachrace, ways as reachways
from twisted_bazaar.reach.race import DialFailed, FirstProven, Race, Way
from twisted_bazaar.reach.ways import PHRASES, RELAY_DELAY, ClientWay, along, asTyped
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import DIRECT, LAN, NAMED, RELAYED, Path
from twisted_bazaar.net.opening import NotConnected, Unreachable


class FakeWay:
    """A way whose attempts the test answers: ``attempts`` (each a
    Deferred), ``cancelled`` how many were cancelled; ``late``: a
    cancelled attempt connects anyway (its canceller fires it)."""

    def __init__(self, race_log, name, late=None):
        self.log = race_log
        self.name = name
        self.late = late
        self.attempts = []
        self.cancelled = 0

    def start(self):
        def cancel(d):
            self.cancelled += 1
            if self.late is not None:
                d.callback(self.late)

        d = defer.Deferred(cancel)
        self.attempts.append(d)
        self.log.append(self.name)
        return d


class RaceTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.started = []
        self.lost = []

    def race(self, *ways, together=True):
        """Race ways, each (FakeWay, delay, holds)."""
        return Race(self.clock, [Way(way.start, delay, holds) for way, delay, holds in ways],
                    self.lost.append, together).run()

    def way(self, name, late=None):
        return FakeWay(self.started, name, late)

    def test_theRaceRanksTheWays(self):
        """Ways given in any order are ranked by the race itself (the one
        ranker, rank): by delay, and of the same delay one that holds
        the others back first."""
        relay, lan, quic = self.way("relay"), self.way("lan"), self.way("quic")
        self.race((relay, 0.5, False), (lan, 0, False), (quic, 0, True))
        self.assertEqual(self.started, ["quic"])
        quic.attempts[0].errback(ConnectionRefusedError("no"))
        self.assertEqual(self.started, ["quic", "lan"])
        self.clock.advance(0.5)
        self.assertEqual(self.started, ["quic", "lan", "relay"])

    def test_rankedByDelay(self):
        """The best ways start at once, together; a later one by the
        clock, at its delay, when nothing connected by then."""
        lan, direct, relay = self.way("lan"), self.way("direct"), self.way("relay")
        dialled = self.race((lan, 0, False), (direct, 0, False), (relay, 0.5, False))
        self.assertEqual(self.started, ["lan", "direct"])
        self.clock.advance(0.49)
        self.assertEqual(self.started, ["lan", "direct"])
        self.clock.advance(0.01)
        self.assertEqual(self.started, ["lan", "direct", "relay"])
        relay.attempts[0].callback("relayed")
        self.assertEqual(self.successResultOf(dialled), "relayed")
        self.assertEqual((lan.cancelled, direct.cancelled), (1, 1))

    def test_aWinnerBeforeTheDelayStartsNothingMore(self):
        """The first to connect wins: the others are cancelled, a later
        one never starts, and its timer is gone."""
        lan, relay = self.way("lan"), self.way("relay")
        dialled = self.race((lan, 0, False), (relay, 0.5, False))
        lan.attempts[0].callback("lan")
        self.assertEqual(self.successResultOf(dialled), "lan")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(1)
        self.assertEqual(self.started, ["lan"])

    def test_allRunningFailedStartsTheNextAtOnce(self):
        """Every way running failed: the next starts at once, not at its
        delay; the ones after it keep theirs."""
        lan, relay, last = self.way("lan"), self.way("relay"), self.way("last")
        dialled = self.race((lan, 0, False), (relay, 0.5, False), (last, 2, False))
        lan.attempts[0].errback(NotConnected("refused"))
        self.assertEqual(self.started, ["lan", "relay"])
        self.clock.advance(1.99)
        self.assertEqual(self.started, ["lan", "relay"])
        self.clock.advance(0.01)
        self.assertEqual(self.started, ["lan", "relay", "last"])
        last.attempts[0].callback("last")
        self.assertEqual(self.successResultOf(dialled), "last")
        self.assertEqual(relay.cancelled, 1)

    def test_aLoserThatConnectedAnywayIsLost(self):
        """A way that connects while it is cancelled (after another won)
        is handed to ``lose`` (the dialer closes it), not to the dial."""
        lan, relay = self.way("lan"), self.way("relay", late="late")
        dialled = self.race((lan, 0, False), (relay, 0, False))
        lan.attempts[0].callback("lan")
        self.assertEqual(self.successResultOf(dialled), "lan")
        self.assertEqual(self.lost, ["late"])

    def test_allFailedSaysEveryReason(self):
        """The dial fails only when every way failed, saying each one's
        reason in the order they failed; a link's failure keeps its
        class (the last one's: the relay's word on whether anything
        listens)."""
        lan, relay = self.way("lan"), self.way("relay")
        dialled = self.race((lan, 0, False), (relay, 0.5, False))
        lan.attempts[0].errback(NotConnected("192.168.1.5:9001: refused"))
        self.assertNoResult(dialled)
        relay.attempts[0].errback(Unreachable("198.51.100.1:7701: timed out"))
        failure = self.failureResultOf(dialled, Unreachable)
        self.assertEqual(str(failure.value),
                         "192.168.1.5:9001: refused; 198.51.100.1:7701: timed out")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_reasonsJoinedWithoutAFullStopBetween(self):
        """Twisted's 'Connection refused.' is not followed by ';' (issue
        96: 'Connection refused.; no QUIC answer ...'), and is said in the
        project's words, as wherever a refused dial is shown."""
        tcp, quic = self.way("tcp"), self.way("quic")
        dialled = self.race((tcp, 0, False), (quic, 0, False))
        tcp.attempts[0].errback(ConnectionRefusedError(111, "Connection refused"))
        quic.attempts[0].errback(ValueError("no QUIC answer from 192.0.2.1:9 within 3 s"))
        failure = self.failureResultOf(dialled, DialFailed)
        self.assertEqual(str(failure.value), "nothing listens there (connection "
                         "refused); no QUIC answer from 192.0.2.1:9 within 3 s")

    def test_oneFailureIsItself(self):
        """Of other kinds, one failure is the dial's as it is; several are a
        L{DialFailed}."""
        only = self.way("only")
        dialled = self.race((only, 0, False))
        only.attempts[0].errback(ValueError("no"))
        self.failureResultOf(dialled, ValueError)
        a, b = self.way("a"), self.way("b")
        dialled = self.race((a, 0, False), (b, 0, False))
        a.attempts[0].errback(ValueError("one"))
        b.attempts[0].errback(KeyError("two"))
        self.assertEqual(str(self.failureResultOf(dialled, DialFailed).value),
                         "one; 'two'")

    def test_cancelledLeavesNoTimerNorAttempt(self):
        """A dial given up cancels what runs and its pending start."""
        lan, relay = self.way("lan"), self.way("relay")
        dialled = self.race((lan, 0, False), (relay, 0.5, False))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        dialled.cancel()
        self.failureResultOf(dialled, defer.CancelledError)
        self.assertEqual((lan.cancelled, self.clock.getDelayedCalls()), (1, []))
        self.clock.advance(1)
        self.assertEqual(self.started, ["lan"])

    def test_aHoldingWayHoldsTheLaterBack(self):
        """While a way that holds runs (a punch), the ways ranked after it
        wait for it to fail, then start at once if their delay passed."""
        lan, punch, relay = self.way("lan"), self.way("punch"), self.way("relay")
        dialled = self.race((lan, 0, False), (punch, 0.25, True), (relay, 0.5, False))
        self.clock.advance(0.25)
        self.assertEqual(self.started, ["lan", "punch"])
        self.clock.advance(5)
        self.assertEqual(self.started, ["lan", "punch"])
        punch.attempts[0].errback(ValueError("no direct connection"))
        self.assertEqual(self.started, ["lan", "punch", "relay"])
        lan.attempts[0].callback("lan")
        self.assertEqual(self.successResultOf(dialled), "lan")
        self.assertEqual(relay.cancelled, 1)

    def test_oneAtATimeWhenNotTogether(self):
        """Not together (a link of a node without a key): each way starts
        only when the one before it failed."""
        lan, relay = self.way("lan"), self.way("relay")
        dialled = self.race((lan, 0, False), (relay, 0.5, False), together=False)
        self.clock.advance(10)
        self.assertEqual((self.started, self.clock.getDelayedCalls()), (["lan"], []))
        lan.attempts[0].errback(NotConnected("refused"))
        self.assertEqual(self.started, ["lan", "relay"])
        relay.attempts[0].callback("relayed")
        self.assertEqual(self.successResultOf(dialled), "relayed")

    def test_aWayThatNoLongerAppliesIsSkipped(self):
        """A way whose start gives None (what it needed went away while it
        waited) is passed over; none left: the dial says so."""
        relay = self.way("relay")
        gone = Way(lambda: None, 0.25)
        dialled = Race(self.clock, [Way(relay.start, 0), gone], self.lost.append).run()
        relay.attempts[0].errback(NotConnected("refused"))
        self.failureResultOf(dialled, NotConnected)
        dialled = Race(self.clock, [gone], self.lost.append).run()
        self.assertIn("no way", str(self.failureResultOf(dialled, DialFailed).value))


class FakeTransports:
    """Records each dial (path, key, the protocol made, options); each
    Deferred is the test's to fire."""

    def __init__(self):
        self.dials = []
        self.cancelled = []

    def dial(self, path, expectedKey, protocolFactory, options=None):
        d = defer.Deferred(self.cancelled.append)
        self.dials.append((path, expectedKey, protocolFactory(), options, d))
        return d


class FirstProvenTests(SynchronousTestCase):
    def race(self, *kinds):
        self.clock, self.transports = task.Clock(), FakeTransports()
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

    def test_oneRaceOneRanker(self):
        """A client's ways declare their place as a node's ways do (a
        local address at the LAN way's delay, the others at the relay's),
        and the one race ranks them: its Race, with the ways it was
        given ranked by rank."""
        self.assertEqual(set(PHRASES), {LAN, DIRECT, RELAYED})
        self.assertEqual([(way.delay, way.holds) for way in
                          (ClientWay(LAN, "a", None), ClientWay(DIRECT, "b", None),
                           ClientWay(RELAYED, "c", None))],
                         [(reachways.Lan.delay, False), (RELAY_DELAY, False),
                          (RELAY_DELAY, False)])
        ranked = []
        real = reachrace.rank
        self.patch(reachrace, "rank", lambda ways: ranked.append(len(ways)) or real(ways))
        self.race(DIRECT, LAN)
        self.assertEqual((ranked, self.started()), ([2], ["link1"]))

    def test_aWayIsItsPathDialledByTheTransports(self):
        """Along its path, with its options, no key (its owner checks the
        node's thisisme), its own protocol; it reads as its kind and
        where."""
        self.clock, transports = task.Clock(), FakeTransports()
        relayed = Path(RELAYED, "h", 9001, "r:1", NAMED)
        way = along(relayed, "link", "r:1", DialOptions(target=7))
        FirstProven(self.clock, transports, [way], None, None, None).begin()
        self.assertEqual([dial[:4] for dial in transports.dials],
                         [(relayed, None, "link", DialOptions(target=7))])
        self.assertEqual((way.kind, str(way)), (RELAYED, "through the relay at r:1"))

    def test_anAddressAsTypedIsItsOwnersToConnect(self):
        """A way as typed (the tracker's endpoint) is connected by its
        owner's connect, the transports never asked (there are none)."""
        clock, connected = task.Clock(), []
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
        clock, everyFailed, started = task.Clock(), [], []

        def failing(transports):
            started.append(0)
            return defer.fail(ConnectionRefusedError("no"))

        def second(transports):
            started.append(1)
            return defer.Deferred()

        ways = [ClientWay(LAN, "a", "link0", failing), ClientWay(DIRECT, "b", "link1", second)]
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

        clock, link = task.Clock(), Link()
        race = FirstProven(clock, FakeTransports(),
                           [along(Path(LAN, "h", 9001, word=NAMED), link, "h:9001")],
                           None, None)
        race.begin()
        race.stop()
        self.assertEqual(closed, [link])
