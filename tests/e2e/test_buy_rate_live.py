"""
End to end, the seventeenth round of attacks (docs/reliability.md): a
stranger linked straight to a live seller sends 2,000 signed buys of an
item it never stocked at once.  Unrated, each was closed and answered
``soldout``; now one link's buys are held to the search rate (400 at
once, 200 a second: the rest dropped as they are read, counted in the
seller's metrics), the seller says so once, and a buyer beside it is
sold to.

Every wait is bounded: on a log line or a message, with a timeout;
nothing sleeps.
"""

import time

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.limits import BURST_FACTOR, DEFAULT_SEARCH_RATE

from tests.contract.client import Client
from tests.contract.wire import encode, netstring
from tests.e2e.helpers import listeningPort, startMarket, startSeller
from tests.e2e.test_metrics_live import sample, scrape
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN

#: Seconds any one expected line or answer may take.
TIMEOUT = 30.0
#: Buys the stranger sends at once.
FLOOD = 2000


class BuyFloodLiveTests(SynchronousTestCase):

    def test_aLinksBuysAreRated(self):
        market, _ = startMarket(self, TIMEOUT)
        seller, _, port = startSeller(market, "apple=3", TIMEOUT,
                                      "--metrics", LOOPBACK_LISTEN)
        stranger = Client(market.tracker_port, "flood")
        self.addCleanup(stranger.close)
        stranger.register()
        sellerId = stranger.link("127.0.0.1", port)
        buys = [stranger.buyMessage("buy", [stranger.me.id, sellerId], "pear")
                for _ in range(FLOOD)]
        conn = stranger.links[sellerId]
        started = time.monotonic()
        conn.sock.sendall(b"".join(netstring(encode(buy)) for buy in buys))
        seller.waitFor(r"sends buy faster than 200/s; dropping the excess", TIMEOUT)
        # An ask (rated apart) about a buy never sent, answered once the
        # seller has read every buy sent before it: each was then taken
        # or dropped.
        ask = stranger.buyMessage("ask", [stranger.me.id, sellerId], "pear")
        conn.send(ask)
        conn.waitFor(lambda m: m.get("id") == ask["id"], TIMEOUT)
        elapsed = time.monotonic() - started
        _, metrics = scrape(listeningPort(seller, "metrics", TIMEOUT))
        dropped = sample(metrics, 'bazaar_messages_dropped_total{reason="rate",type="buy"}')
        taken = FLOOD - dropped
        self.assertGreaterEqual(taken, DEFAULT_SEARCH_RATE * BURST_FACTOR, metrics)
        self.assertLessEqual(taken, DEFAULT_SEARCH_RATE * (BURST_FACTOR + elapsed),
                             (taken, elapsed))
        buyer = Client(market.tracker_port, "flood")
        self.addCleanup(buyer.close)
        buyer.register()
        linked = buyer.link("127.0.0.1", port)
        answer = buyer.trade(linked, buyer.buyMessage("buy", [buyer.me.id, linked], "apple"))
        self.assertEqual(answer["type"], "buyOK", answer)
