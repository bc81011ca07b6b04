"""
End to end: a stranger that registers with a live tracker and leaves, again
and again (issue 34: registration churn grew the tracker's log 3.2 bytes
per byte sent).  The tracker logs a few of its joins and departures and
sums up the rest: its log grows by a small part of what the stranger
sent, and a node registers afterwards as before.
"""

import json
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import startMarket, startSeller
from twisted_bazaar.base.logthrottle import DEFAULT_INTERVAL, MEMBER_LINES
from tests.e2e.test_raw_client import RawClient, netstring

TIMEOUT = 30.0
#: Registrations the stranger makes.
CHURN = 600


def logBytes(daemon):
    return sum(len(line.encode("utf-8")) + 1 for line in daemon.lines)


class ChurnLiveTests(SynchronousTestCase):
    def test_registrationChurn(self):
        """
        Each interval of the tracker's member log (LogThrottle's 10 s) logs
        at most MEMBER_LINES joins and as many departures one by one; the
        rest are summed up.  So the log grows with the intervals the churn
        spans, not with the registrations: on a quiet machine the 600 take
        one or two intervals and the log grows by a small part of what was
        sent; on a loaded one they span more intervals, and the bound is
        counted from the intervals they took.
        """
        market, tracker = startMarket(self, TIMEOUT)
        before, first = logBytes(tracker), len(tracker.lines)
        hello = netstring(json.dumps({"type": "thisisme", "id": "", "port": 0,
                                      "host": ""}).encode("utf-8"))
        sent = 0
        started = time.monotonic()
        for _ in range(CHURN):
            stranger = RawClient(market.tracker_port)
            stranger.sendRaw(hello)
            sent += len(hello)
            self.assertEqual(stranger.receive()["type"], "thisisyou")
            stranger.close()
        intervals = int((time.monotonic() - started) // DEFAULT_INTERVAL) + 2
        tracker.waitFor(r"more lines like 'node \{id\} left \(\{n\} live\)' from "
                        r"127\.0\.0\.0/16 in the last 10 s", TIMEOUT)
        added = tracker.lines[first:]
        joined = sum(" joined from 127.0.0.1" in line for line in added)
        left = sum(line.endswith(" live)") and " left (" in line for line in added)
        bound = MEMBER_LINES * intervals
        self.assertLessEqual(joined, bound, tracker.tail(40))
        self.assertLessEqual(left, bound, tracker.tail(40))
        if intervals <= 3:
            # The measure: bytes logged per byte sent.
            grown = logBytes(tracker) - before
            self.assertLess(grown / sent, 0.5, tracker.tail(40))
        startSeller(market, "apple=1", TIMEOUT)
