"""
Tests for L{twisted_bazaar.reach.punch.udp.mapping}: a node's UDP mapping as its
tracker sees it, on a fake clock: a check asked only when the mapping is
stale, one at a time, not again soon after one, nor for long after a
refusal, and given up when unanswered.
"""

from twisted.internet import task
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udp.mapping import (
    CHECK_AGAIN,
    CHECK_TIMEOUT,
    FRESH,
    RATE_PAUSE,
    RATE_REFUSALS,
    REFUSED_PAUSE,
    MappingCheck,
)
from twisted_bazaar.wire.udpreach import NO_UDP_PORTS, UdpReached
from tests.helpers import clockStartMs

#: The tracker's refusal of a check for its rate per address group.
RATE = "your address group asked more than 1 udpcheck a second"


class MappingCheckTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.unanswered = []
        self.check = MappingCheck(self.clock, lambda: self.unanswered.append(True))
        self.sent = []

    def send(self):
        self.sent.append(self.clock.seconds() - clockStartMs() / 1000)
        return True

    def test_checkedWhenStale(self):
        """A check is asked once; while it is under way none more; its
        udpreach makes the mapping fresh for FRESH seconds."""
        self.assertIs(self.check.freshen(self.send), False)
        self.assertIs(self.check.freshen(self.send), False)
        self.assertEqual(self.sent, [0])
        self.assertTrue(self.check.reached(UdpReached("198.51.100.7", 4433, 4433)))
        self.assertEqual((self.check.mine.port, self.check.mine.kind), (4433, "easy"))
        self.assertIs(self.check.freshen(self.send), True)
        self.clock.advance(FRESH)
        self.assertIs(self.check.freshen(self.send), False)
        self.assertEqual(self.sent, [0, FRESH])
        self.assertEqual(self.clock.getDelayedCalls()[0].getTime() - clockStartMs() / 1000,
                         FRESH + CHECK_TIMEOUT)

    def test_logged(self):
        """A new mapping is logged with its kind, and the port seen at the
        tracker's other port where it differs: the step that judged the
        router."""
        lines = []
        for second in (4433, 4461, 31000):
            self.check.answered()
            with capturedLogs() as events:
                self.check.reached(UdpReached("198.51.100.7", 4433, second))
            lines.extend(formatEvent(event) for event in events)
        self.assertEqual(lines, [
            "this node's UDP datagrams leave its router from 198.51.100.7:4433 "
            "(easy mapping)",
            "this node's UDP datagrams leave its router from 198.51.100.7:4433 "
            "(sequential mapping; 4461 to the tracker's other port)",
            "this node's UDP datagrams leave its router from 198.51.100.7:4433 "
            "(random mapping; 31000 to the tracker's other port)"])

    def test_nothingSeen(self):
        """A udpreach that saw nothing is no mapping; no check again for
        CHECK_AGAIN seconds."""
        self.check.freshen(self.send)
        self.assertFalse(self.check.reached(UdpReached("", 0, 0)))
        self.assertIsNone(self.check.mine)
        self.assertIsNone(self.check.freshen(self.send))
        self.clock.advance(CHECK_AGAIN)
        self.assertIs(self.check.freshen(self.send), False)

    def test_refused(self):
        """A refused check: none again for REFUSED_PAUSE seconds, until
        the tracker connection changes."""
        self.check.freshen(self.send)
        self.check.refused()
        self.clock.advance(REFUSED_PAUSE - 1)
        self.assertIsNone(self.check.freshen(self.send))
        self.check.lost()
        self.assertIs(self.check.freshen(self.send), False)
        self.assertEqual(len(self.sent), 2)

    def test_unanswered(self):
        """No udpreach within CHECK_TIMEOUT: said; the check is no longer
        under way, and the next one may be asked (past CHECK_AGAIN)."""
        self.check.freshen(self.send)
        self.clock.advance(CHECK_TIMEOUT)
        self.assertEqual(self.unanswered, [True])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertIs(self.check.freshen(self.send), False)
        self.assertEqual(self.sent, [0, CHECK_TIMEOUT])

    def test_noTracker(self):
        """No tracker to send it to: None, and nothing under way."""
        self.assertIsNone(self.check.freshen(lambda: False))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_badMapping(self):
        """A udpreach naming a port out of range is no mapping."""
        self.check.freshen(self.send)
        self.assertFalse(self.check.reached(UdpReached("198.51.100.7", 4433, 70000)))
        self.assertEqual(self.clock.getDelayedCalls(), [])


class RateRefusalTests(SynchronousTestCase):
    """A check refused for the tracker's rate per address group (many
    nodes of one /16 checking at once) passes in a moment: asked again
    RATE_PAUSE s later, not REFUSED_PAUSE (a seller refused so in natbed
    missed the punch of a `bazaar buy` beside the daemon it had met)."""

    def setUp(self):
        self.clock = task.Clock()
        self.again = []
        self.check = MappingCheck(self.clock, lambda: None,
                                  lambda: self.again.append(self.clock.seconds()
                                                            - clockStartMs() / 1000))
        self.sent = []

    def send(self):
        self.sent.append(self.clock.seconds() - clockStartMs() / 1000)
        return True

    def test_askedAgainSoon(self):
        """Refused for the rate: the check is asked again RATE_PAUSE s
        later, and meanwhile it counts as under way (a punch waits)."""
        self.check.freshen(self.send)
        self.assertTrue(self.check.refused(RATE))
        self.assertIs(self.check.freshen(self.send), False)
        self.clock.advance(RATE_PAUSE)
        self.assertEqual(self.again, [RATE_PAUSE])
        self.assertIs(self.check.freshen(self.send), False)
        self.assertEqual(self.sent, [0, RATE_PAUSE])

    def test_bounded(self):
        """RATE_REFUSALS in a row are asked again; the next is taken as a
        tracker with no UDP port's; a udpreach starts the count again."""
        for _ in range(RATE_REFUSALS):
            self.check.freshen(self.send)
            self.assertTrue(self.check.refused(RATE))
            self.clock.advance(RATE_PAUSE)
        self.check.freshen(self.send)
        self.assertFalse(self.check.refused(RATE))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.check.pause, REFUSED_PAUSE)
        self.check.lost()
        self.check.freshen(self.send)
        self.check.reached(UdpReached("198.51.100.7", 4433, 4433))
        self.clock.advance(FRESH)
        self.check.freshen(self.send)
        self.assertTrue(self.check.refused(RATE))

    def test_noUdpPortsIsNotAskedAgain(self):
        """A tracker with no UDP port: nothing asked again, for long."""
        self.check.freshen(self.send)
        self.assertFalse(self.check.refused(NO_UDP_PORTS))
        self.assertEqual((self.check.pause, self.clock.getDelayedCalls()),
                         (REFUSED_PAUSE, []))

    def test_lostCancels(self):
        """The tracker lost: no check asked again."""
        self.check.freshen(self.send)
        self.check.refused(RATE)
        self.check.lost()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class StopTests(SynchronousTestCase):
    """A node that stops asks no check after: the tracker's reach heard
    while it stopped asked one, whose 15 s timer outlived the stop and
    whose answer logged the mapping after "shutting down"."""

    def test_noCheckAfterStop(self):
        clock = task.Clock()
        check = MappingCheck(clock, lambda: None)
        sent = []
        self.assertIs(check.freshen(lambda: sent.append(1) or True), False)
        check.stop()
        self.assertEqual(clock.getDelayedCalls(), [])
        clock.advance(CHECK_AGAIN)
        self.assertIsNone(check.freshen(lambda: sent.append(2) or True))
        self.assertEqual((sent, clock.getDelayedCalls()), ([1], []))
