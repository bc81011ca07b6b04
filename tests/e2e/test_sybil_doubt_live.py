"""
End to end, Sybil doubt (issue 34, class 4; tests/test_sybil_doubt.py
tries it on fake transports): fifteen fresh keys, each on a link of its
own to a live buyer from one address (127.9.0.1, another address group
than the daemons' 127.0.0.1), offer the apple it searches for and answer
every ``buy`` and ``ask`` with a signed ``notyet``, so that each buy of
theirs stays in doubt.  Bounded per key (two minutes each), that held a
one-unit want for 15 x 2 minutes; now the buys of one address group may
hold a want for its group's share in all, so the buyer buys from the
honest ``twistd`` seller that comes once the keys' offers are in doubt.
The buyer runs with ``--doubt-limit 10`` (a group's share is as much),
so the test waits seconds, not the default's two minutes: 15 keys held
to 10 s each would hold the want 150 s, past the test's bound.

Every wait is on a log line or an event, bounded; nothing sleeps.
"""

import threading

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, short, startMarket, startSeller, waitSold
from tests.e2e.test_raw_client import Closed, linkedStranger

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Keys the attacker answers notyet with.
SYBILS = 15
#: Where the keys' links come from.
ATTACKER = "127.9.0.1"
#: The buyer's --doubt-limit: one buy's hold, and one address group's.
DOUBT = 10


class Sybil:
    """One key's link to the buyer, served on a thread of its own: a
    signed offer for every search, a signed notyet for every buy and
    ask."""

    def __init__(self, keys, link, buyer_id, bought):
        self.keys, self.link, self.buyer_id = keys, link, buyer_id
        self.buys = 0
        self.bought = bought
        # It waits for the buyer as long as the link lasts (the test's end
        # closes it), answering its pings on the way.
        link.tcp.settimeout(None)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        keys, link = self.keys, self.link
        try:
            while True:
                message = link.receive()
                if message["type"] == "search":
                    link.sendObject(keys.signed(
                        "reply", id=message["id"], item=message["item"],
                        path=[keys.id, self.buyer_id], seller=keys.id, host=ATTACKER,
                        port=9))
                elif message["type"] in ("buy", "ask"):
                    self.buys += message["type"] == "buy"
                    self.bought.set()
                    link.sendObject(keys.signed(
                        "error", code="notyet", info="not yet", id=message["id"],
                        path=message["path"][::-1], buyerKey=message["key"]))
        except (Closed, OSError, ValueError):
            pass


class SybilDoubtLiveTests(SynchronousTestCase):
    def test_fifteenKeysOnOneAddress(self):
        market, _ = startMarket(self, TIMEOUT)
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                 "--max-connections", str(SYBILS + 4),
                                 "--doubt-limit", str(DOUBT))
        buyer_id, port = nodeAddress(buyer, TIMEOUT)
        bought = threading.Event()
        sybils = [Sybil(*linkedStranger(self, market.tracker_port, port, source=ATTACKER),
                        buyer_id, bought) for _ in range(SYBILS)]
        self.assertTrue(bought.wait(2 * TIMEOUT), "no key was sent a buy")
        seller, seller_id, _ = startSeller(market, "apple=1", TIMEOUT)
        # Before: each key's buy held the want DOUBT, 15 x DOUBT in all.
        self.assertLess(DOUBT + 3 * TIMEOUT, SYBILS * DOUBT)
        buyer.waitFor(rf"bought apple from {short(seller_id)} \(1 of 1\)",
                      DOUBT + 3 * TIMEOUT)
        self.assertGreaterEqual(sum(sybil.buys for sybil in sybils), 1)
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=0)
        for daemon in (buyer, seller):
            self.assertEqual(daemon.problems(), [], daemon.tail())
