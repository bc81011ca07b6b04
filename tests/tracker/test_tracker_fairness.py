"""
Issue 21 at the tracker: connections still to register are a pooled
resource, capped overall and per address group and shared fairly; and
well-formed ``error`` messages, before registration or after, cost their
sender its error budget and get a bounded number of log lines.

The tracker is spoken to over real Links on fake transports and a Clock
(L{WiredLink}), as a node or an attacker would on the wire.
"""

import random

from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.logthrottle import PEER_BURST, PEERS_BURST
from twisted_bazaar.net.link import (
    DEFAULT_ERROR_LIMIT,
    DEFAULT_HANDSHAKE_TIMEOUT,
    LinkSettings,
)
from twisted_bazaar.tap.tracker import Options as TrackerOptions, makeService
from twisted_bazaar.testing import Market
from twisted_bazaar.tracker import (
    PENDING_GROUP_LIMIT,
    PENDING_LIMIT,
    Tracker,
    TrackerFactory,
)

from tests.helpers import WiredLink

ERROR = {"type": "error", "code": "wtf", "info": "x" * 1000}


class PendingConnectionTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(4))
        self.factory = TrackerFactory(self.tracker)

    def connect(self, host):
        return WiredLink(self.factory, host)

    def assertRefused(self, peer, why):
        [answer] = peer.heard()
        self.assertEqual((answer["type"], answer["code"]), ("error", "noslots"))
        self.assertIn(why, answer["info"])
        self.assertTrue(peer.closed)

    def test_perAddressGroup(self):
        """A group's silent connections past its share are refused at once,
        and cost nothing more; other groups still connect and register."""
        silent = [self.connect(f"198.51.{n % 200}.{n // 200 + 1}")
                  for n in range(PENDING_GROUP_LIMIT)]
        self.assertFalse(any(peer.closed for peer in silent))
        self.assertRefused(self.connect("198.51.7.7"),
                           f"{PENDING_GROUP_LIMIT} connections from your address group")
        other = self.connect("203.0.113.5")
        other.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        self.assertEqual(other.heard()[0]["type"], "thisisyou")

    def test_registeredConnectionsAreNoLongerPending(self):
        """Registration frees the connection's place: a group may keep many
        nodes registered, only few connections waiting."""
        for n in range(PENDING_GROUP_LIMIT * 2):
            peer = self.connect(f"198.51.100.{n % 250 + 1}")
            peer.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
            self.assertEqual(peer.heard()[0]["type"], "thisisyou")
        self.assertEqual(len(self.tracker.registry), PENDING_GROUP_LIMIT * 2)
        waiting = [self.connect(f"198.51.100.{n + 1}")
                   for n in range(PENDING_GROUP_LIMIT)]
        self.assertFalse(any(peer.closed for peer in waiting))

    def test_fullPoolMakesRoomForAnotherGroup(self):
        """The tracker's pending connections all taken, by groups each at
        their own cap: a connection from a new group takes the place of the
        oldest one of a group holding the most."""
        groups = PENDING_LIMIT // PENDING_GROUP_LIMIT
        waiting = [[self.connect(f"10.{g}.0.{n + 1}") for n in range(PENDING_GROUP_LIMIT)]
                   for g in range(groups)]
        self.assertFalse(any(peer.closed for group in waiting for peer in group))
        newcomer = self.connect("203.0.113.5")
        self.assertFalse(newcomer.closed)
        self.assertRefused(waiting[0][0], "evicted")
        self.assertEqual(sum(peer.closed for group in waiting for peer in group), 1)

    def test_connectionFloodHoldsBoundedDescriptors(self):
        """
        Issue 21: 500 silent connections a second from one address for 10 s
        ran the tracker out of descriptors.  Now it holds at most the
        group's share of them open at any time, and a node still registers.
        """
        opened = []
        most = 0
        for tick in range(100):
            opened += [self.connect("198.51.100.9") for _ in range(50)]
            most = max(most, sum(not peer.closed for peer in opened))
            self.clock.advance(0.1)
        self.assertEqual(most, PENDING_GROUP_LIMIT)
        node = self.connect("203.0.113.5")
        node.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        self.assertEqual(node.heard()[0]["type"], "thisisyou")
        self.clock.advance(DEFAULT_HANDSHAKE_TIMEOUT)
        self.assertTrue(all(peer.closed for peer in opened))


class ErrorFloodTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(4))
        self.factory = TrackerFactory(self.tracker)

    def flood(self, peer, count):
        for _ in range(count):
            if peer.closed:
                break
            peer.say(ERROR)

    def test_errorsBeforeRegistrationSpendTheBudget(self):
        """Well-formed errors are never answered, but each is counted: one
        past the error limit closes the connection."""
        peer = WiredLink(self.factory, "198.51.100.9")
        self.flood(peer, DEFAULT_ERROR_LIMIT)
        self.assertFalse(peer.closed)
        peer.say(ERROR)
        self.assertEqual(peer.heard(), [])
        self.assertTrue(peer.closed)

    def test_errorsAfterRegistrationSpendTheBudget(self):
        peer = WiredLink(self.factory, "198.51.100.9")
        peer.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        peer.heard()
        self.flood(peer, DEFAULT_ERROR_LIMIT + 1)
        self.assertTrue(peer.closed)
        self.assertEqual(len(self.tracker.registry), 0)

    def test_errorFloodLogsBoundedLines(self):
        """
        Issue 21: errors flooded before registration were each logged (a
        248 MB flood grew the log by 255 MB).  Now one address gets a few
        lines of each kind per 10 s, and a summary line: however many
        connections and errors it spends, the log grows by a bounded
        number of lines per interval.
        """
        with capturedLogs() as events:
            for _ in range(1000):
                self.flood(WiredLink(self.factory, "198.51.100.9"), 100)
            self.clock.advance(10)
        lines = [formatEvent(event) for event in events]
        says = [line for line in lines if " says wtf: " in line]
        closing = [line for line in lines if line.startswith("closing link to ")]
        summaries = [line for line in lines if " more lines like " in line]
        self.assertEqual((len(says), len(closing)), (PEER_BURST, PEER_BURST), lines)
        self.assertEqual(len(summaries), 2, summaries)
        self.assertIn(f"{1000 * DEFAULT_ERROR_LIMIT - PEER_BURST} more lines "
                      "like '{peer} says {code}: {info}' from 198.51.0.0/16",
                      "\n".join(summaries))
        self.assertLessEqual(len(lines), PEERS_BURST)

    def test_otherAddressesStillLogged(self):
        """One address's flood does not hide another's lines."""
        with capturedLogs() as events:
            for _ in range(50):
                self.flood(WiredLink(self.factory, "198.51.100.9"), 100)
            WiredLink(self.factory, "203.0.113.5").say(ERROR)
        lines = [formatEvent(event) for event in events]
        self.assertEqual(len([line for line in lines if "203.0.113.5" in line]), 1)


class RefusedNodeTests(SynchronousTestCase):
    def test_nodeRefusedByTheTrackerBacksOff(self):
        """
        A node the tracker refuses (noslots) at each connection tries less
        and less often: the delay doubles, since no connection served.  (It
        started over at every connection before: one try a second or two,
        for ever.)
        """
        stats = {}
        market = Market(link_settings=LinkSettings(stats=stats))
        market.tracker.pending.group_limit = 0
        market.addNode()
        market.run(60)
        self.assertGreaterEqual(stats["error"], 3)
        self.assertLessEqual(stats["error"], 8)


class OptionTests(SynchronousTestCase):
    def test_trackerDaemonOptions(self):
        """The daemon's tracker takes its caps from --pending-limit and
        --pending-group-limit, 256 and 64 by default."""
        for args, caps in (([], (PENDING_LIMIT, PENDING_GROUP_LIMIT)),
                           (["--pending-limit", "5", "--pending-group-limit", "2"],
                            (5, 2))):
            options = TrackerOptions()
            options.parseOptions(args)
            pending = makeService(options).tracker.pending
            self.assertEqual((pending.capacity, pending.group_limit), caps)

    def test_badValue(self):
        options = TrackerOptions()
        error = self.assertRaises(UsageError, options.parseOptions,
                                  ["--pending-limit", "0"])
        self.assertIn("--pending-limit", str(error))
