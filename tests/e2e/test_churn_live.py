"""
End to end: a stranger that registers with a live tracker and leaves, again
and again (issue 34: registration churn grew the tracker's log 3.2 bytes
per byte sent).  The tracker logs a few of its joins and departures and
sums up the rest: its log grows by a small part of what the stranger
sent, and a node registers afterwards as before.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import startMarket, startSeller
from tests.e2e.test_raw_client import RawClient, netstring

TIMEOUT = 30.0
#: Registrations the stranger makes.
CHURN = 600


def logBytes(daemon):
    return sum(len(line.encode("utf-8")) + 1 for line in daemon.lines)


class ChurnLiveTests(SynchronousTestCase):
    def test_registrationChurn(self):
        market, tracker = startMarket(self, TIMEOUT)
        before = logBytes(tracker)
        hello = netstring(json.dumps({"type": "thisisme", "id": "", "port": 0,
                                      "host": ""}).encode("utf-8"))
        sent = 0
        for _ in range(CHURN):
            stranger = RawClient(market.tracker_port)
            stranger.sendRaw(hello)
            sent += len(hello)
            self.assertEqual(stranger.receive()["type"], "thisisyou")
            stranger.close()
        tracker.waitFor(r"more lines like 'node \{id\} left \(\{n\} live\)' from "
                        r"127\.0\.0\.0/16 in the last 10 s", TIMEOUT)
        grown = logBytes(tracker) - before
        self.assertLess(grown / sent, 0.5, tracker.tail(40))
        startSeller(market, "apple=1", TIMEOUT)
