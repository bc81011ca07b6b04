"""
A buyer refused ``busy`` by every seller of a file backs off before it
searches again: doubling waits, with jitter, so that many buyers refused
at once do not come back in step.  A L{Market} of real nodes.
"""

import random
import re

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.backoff import Backoff
from twisted_bazaar.files import hashing
from twisted_bazaar.files.server import SERVING_LIMIT
from twisted_bazaar.net.account import Account
from twisted_bazaar.roles.files.sellers import SEARCH_MAX, SEARCH_MIN
from twisted_bazaar.testing import Market, MemoryNetwork

from tests.files.helpers import scratchDir, writeFile

WAIT = re.compile(r"no seller to fetch it from; searching again in ([\d.]+) s")


class BusySellerTests(SynchronousTestCase):
    def test_refusedBuyerBacksOffWithJitter(self):
        self.patch(hashing, "MIN_PIECE", 4096)
        market = Market(MemoryNetwork(rng=random.Random(1)), seed=2)
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", random.Random(5).randbytes(3 * 4096))
        seller = market.addNode(seller={"stock": {}, "share": folder})
        market.role(seller, "seller").files.server.serving = Account.of(SERVING_LIMIT, 0)
        buyer = market.addNode(buyer={"wants": ["song.ogg"],
                                      "downloads": scratchDir(self)})
        waits = []
        schedule = Backoff.schedule

        def scheduled(backoff, function):
            wait = schedule(backoff, function)
            if wait is not None and getattr(function, "__name__", "") == "_searchNow":
                waits.append(wait)
            return wait

        self.patch(Backoff, "schedule", scheduled)
        with capturedLogs() as events:
            market.run(120)
        self.assertGreaterEqual(len(waits), 5)
        self.assertLessEqual(len(waits), 9)
        nominal = [min(SEARCH_MIN * 2 ** n, SEARCH_MAX) for n in range(len(waits))]
        for wait, base in zip(waits, nominal):
            self.assertTrue(0.5 * base - 0.05 <= wait <= 1.5 * base + 0.05, waits)
        self.assertNotEqual(waits, nominal)
        self.assertEqual(market.role(buyer, "buyer").fetcher.fetched, {})
        # Said once, not at each search (issue 96): no piece came.
        said = [match for match in (WAIT.search(formatEvent(event)) for event in events)
                if match]
        self.assertEqual([float(match[1]) for match in said], [round(waits[0], 1)])
