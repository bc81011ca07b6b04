"""
Tests for twisted_bazaar.base.logthrottle: frequent events logged one by one
while few, summed up once many.
"""

from twisted.internet import task
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.text import FIELD_LIMIT
from twisted_bazaar.base.logthrottle import (
    PEER_BURST,
    PEER_KEYS,
    PEERS_BURST,
    LogThrottle,
    PeerLog,
)


class LogThrottleTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.summaries = []
        self.throttle = LogThrottle(self.clock, lambda counts, interval:
                                    self.summaries.append((counts, interval)),
                                    burst=3, interval=10.0)

    def test_burstThenCounted(self):
        admitted = [self.throttle.admit(key) for key in "aabab"]
        self.assertEqual(admitted, [True, True, True, False, False])
        self.assertEqual(self.summaries, [])
        self.clock.advance(10)
        self.assertEqual(self.summaries, [({"a": 1, "b": 1}, 10.0)])
        # A new interval begins with the next event, with a fresh burst.
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertTrue(self.throttle.admit("a"))

    def test_quietIntervalSumsUpNothing(self):
        self.throttle.admit("a")
        self.clock.advance(10)
        self.assertEqual((self.summaries, self.clock.getDelayedCalls()), ([], []))

    def test_spare(self):
        self.assertEqual(self.throttle.spare(), 3)
        self.throttle.admit()
        self.assertEqual(self.throttle.spare(), 2)
        self.throttle.admit()
        self.throttle.admit()
        self.assertEqual(self.throttle.spare(), 0)

    def test_verboseAdmitsEverything(self):
        self.throttle.verbose = True
        self.assertTrue(all(self.throttle.admit() for _ in range(100)))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_closeSumsUpAndLeavesNoTimer(self):
        for _ in range(5):
            self.throttle.admit("a")
        self.throttle.close()
        self.assertEqual(self.summaries, [({"a": 2}, 10.0)])
        self.assertTrue(self.throttle.admit("a"))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_noTimerWhileEverythingIsLogged(self):
        """The interval is kept by its start time: its timer runs only once
        an event was counted, to sum it up."""
        self.throttle.admit("a")
        self.throttle.admit("a")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        begun = self.clock.seconds()
        self.clock.advance(5)
        self.assertTrue(self.throttle.admit("a"))
        self.assertFalse(self.throttle.admit("a"))
        [call] = self.clock.getDelayedCalls()
        self.assertEqual(call.getTime(), begun + 10.0)  # the end of the interval begun
        self.clock.advance(5)
        self.assertEqual(self.summaries, [({"a": 1}, 10.0)])


class PerKeyTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.summaries = []
        self.throttle = LogThrottle(self.clock, lambda counts, interval:
                                    self.summaries.append(counts),
                                    burst=5, per_key=2, keys=2)

    def test_eachKeyGetsItsShare(self):
        admitted = [self.throttle.admit(key) for key in "aaabbbc"]
        self.assertEqual(admitted, [True, True, False, True, True, False, True])
        self.assertFalse(self.throttle.admit("d"))  # the burst is spent
        self.clock.advance(10)
        self.assertEqual(self.summaries, [{"a": 1, "b": 1, None: 1}])

    def test_keysPastTheBoundAreCountedTogether(self):
        for key in "aaabbbcccddd":
            self.throttle.admit(key)
        self.clock.advance(10)
        self.assertEqual(self.summaries, [{"a": 1, "b": 1, None: 5}])


class PeerLogTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.events = []
        self.logger = Logger(observer=self.events.append)
        self.patch(PeerLog, "log", self.logger)
        self.peers = PeerLog(self.clock)

    def lines(self):
        return [formatEvent(event) for event in self.events]

    def emit(self, group, format="{peer} says {what}", level=LogLevel.info, **fields):
        fields.setdefault("what", "hi")
        self.peers.emit(self.logger, level, group, format, peer=group, **fields)

    def test_aFewLinesOfEachKindPerGroupThenASummary(self):
        for _ in range(PEER_BURST + 3):
            self.emit("10.0.0.0/16")
            self.emit("10.0.0.0/16", "{peer} went {what}", LogLevel.warn)
        self.emit("10.1.0.0/16")
        self.assertEqual(self.lines(), ["10.0.0.0/16 says hi", "10.0.0.0/16 went hi"]
                         * PEER_BURST + ["10.1.0.0/16 says hi"])
        self.clock.advance(10)
        self.assertEqual(self.lines()[-2:], [
            "3 more lines like '{peer} says {what}' from 10.0.0.0/16 in the last 10 s, "
            "not logged",
            "3 more lines like '{peer} went {what}' from 10.0.0.0/16 in the last 10 s, "
            "not logged"])
        self.assertEqual([event["log_level"] for event in self.events[-2:]],
                         [LogLevel.info, LogLevel.warn])

    def test_oneLineNotLoggedIsOneLine(self):
        """A summary of one line says "1 more line", not "1 more lines"."""
        for _ in range(PEER_BURST + 1):
            self.emit("10.0.0.0/16")
        self.clock.advance(10)
        self.assertEqual(self.lines()[-1], "1 more line like '{peer} says {what}' from "
                         "10.0.0.0/16 in the last 10 s, not logged")

    def test_theLatestStateIsLoggedAfterItsSummary(self):
        """A line that says what the node now holds: the last one not
        logged is logged after the summary, so the log ends on the state
        the node is in."""
        for n in range(PEER_BURST + 3):
            self.peers.emit(self.logger, LogLevel.info, "10.0.0.0/16",
                            "{peer} made it {state}", latest=True, peer="p", state=n)
        self.clock.advance(10)
        self.assertEqual(self.lines()[-2:], [
            "3 more lines like '{peer} made it {state}' from 10.0.0.0/16 in the "
            "last 10 s, not logged",
            f"p made it {PEER_BURST + 2}"])
        # Logged once: the next interval's summary has no stale state.
        self.emit("10.0.0.0/16")
        self.clock.advance(10)
        self.assertEqual(self.lines().count(f"p made it {PEER_BURST + 2}"), 1)

    def test_linesOfEveryPeerBounded(self):
        for n in range(PEERS_BURST * 2):
            self.emit(f"10.{n}.0.0/16")
        self.clock.advance(10)
        lines = self.lines()
        self.assertEqual(len(lines), PEERS_BURST + PEER_KEYS + 1)
        self.assertEqual(lines[-1], f"{PEERS_BURST - PEER_KEYS} more lines from other "
                         "address groups in the last 10 s, not logged")

    def test_throttleAtTheFirstLine(self):
        """A peer log that never logged holds no throttle (every simulated
        node keeps one); closed so, it logs every line from then on."""
        self.assertIsNone(self.peers._throttle)
        self.peers.close()
        self.assertIsNone(self.peers._throttle)
        for _ in range(PEER_BURST * 2):
            self.emit("10.0.0.0/16")
        self.assertEqual(len(self.lines()), PEER_BURST * 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_verboseLogsEverything(self):
        self.peers = PeerLog(self.clock, verbose=True)
        for _ in range(PEER_BURST * 3):
            self.emit("10.0.0.0/16")
        self.assertEqual(len(self.lines()), PEER_BURST * 3)

    def test_peerTextShownAndCut(self):
        """What a peer sent is shown in its lines, and cut short."""
        self.emit("10.0.0.0/16", what="\x1b]52;c;aGk=\x07\r" + "x" * 1000, n=3)
        [line] = self.lines()
        self.assertTrue(line.startswith("10.0.0.0/16 says \\x1b]52;c;aGk=\\x07\\rxxx"))
        self.assertEqual(len(line), len("10.0.0.0/16 says ") + FIELD_LIMIT)
        self.assertEqual(self.events[0]["n"], 3)

    def test_burstGiven(self):
        self.peers = PeerLog(self.clock, burst=PEER_BURST + 4)
        for _ in range(PEER_BURST + 6):
            self.emit("10.0.0.0/16")
        self.assertEqual(len(self.lines()), PEER_BURST + 4)


class WeightTests(SynchronousTestCase):
    def test_weightCounted(self):
        """An event not logged counts as its weight in the summary (a sale
        of five units as five)."""
        clock = task.Clock()
        summaries = []
        throttle = LogThrottle(clock, lambda counts, interval: summaries.append(
            dict(counts)), burst=1)
        self.assertTrue(throttle.admit("apple", 3))
        self.assertFalse(throttle.admit("apple", 5))
        self.assertFalse(throttle.admit("apple"))
        throttle.flush()
        self.assertEqual(summaries, [{"apple": 6}])
