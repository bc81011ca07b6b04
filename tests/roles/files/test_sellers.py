"""
Multi-source downloads in a L{Market} (the in-memory network, a fake
clock): a download keeps looking for sellers while it fetches, gives
pieces to sellers that appear midway, and drops a seller much slower than
the others.
"""

import random

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.roles.files import sellers
from twisted_bazaar.testing import Market, MemoryNetwork
from twisted_bazaar.wire.ids import shortId
from tests.files.helpers import scratchDir, writeFile
from tests.roles.files.helpers import runUntil

PIECE = 4096


class SourcesTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(5).randbytes(60 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)
        self.folder = scratchDir(self)
        writeFile(self.folder, "big", self.data)

    def addSeller(self, rate=0):
        return self.market.addNode(seller={"stock": {}, "share": self.folder,
                                           "transfer_rate": rate})

    def addBuyer(self):
        node = self.market.addNode(buyer={"wants": ["big"],
                                          "downloads": scratchDir(self)})
        return self.market.role(node, "buyer").fetcher

    def runUntil(self, condition, seconds):
        if not runUntil(self.market, condition, seconds):
            self.fail(f"not within {seconds:g} s")

    def test_sellerAppearingMidDownloadGetsPieces(self):
        """A seller that starts sharing the file after the download began
        is found by the download's next look and serves pieces."""
        first = self.addSeller(rate=4 * PIECE)
        fetcher = self.addBuyer()
        self.runUntil(lambda: "big" in fetcher.downloads
                      and fetcher.downloads["big"].have > 0, 30)
        late = self.addSeller()
        self.runUntil(lambda: "big" in fetcher.fetched, 60)
        served = fetcher.fetched["big"][1]
        self.assertGreater(served.get(late.id, 0), 0)
        self.assertEqual(sum(served.values()), 60)
        self.assertLess(served.get(first.id, 0), 60)

    def test_aRefusedDialInTheProjectsWords(self):
        """A seller whose transfer port refuses the dial is said so in the
        project's words (issue 96 LOW: Twisted's "Connection was refused
        by other side."), in the log and in the download's state."""
        from twisted.internet import defer
        from twisted.internet.error import ConnectionRefusedError

        self.patch(sellers.Sellers, "dial",
                   lambda self, seller: defer.fail(ConnectionRefusedError()))
        seller = self.addSeller()
        with capturedLogs() as events:
            fetcher = self.addBuyer()
            self.runUntil(lambda: "big" in fetcher.downloads
                          and fetcher.downloads["big"].watch.problem, 30)
        said = [formatEvent(event) for event in events]
        self.assertIn(f"cannot reach seller {shortId(seller.id)} for big: nothing listens "
                      "there (connection refused)", said)
        self.assertEqual(fetcher.downloads["big"].watch.problem,
                         f"cannot reach seller {shortId(seller.id)}: nothing listens "
                         "there (connection refused)")

    def test_slowSellerIsDropped(self):
        """A seller far slower than another is dropped: its pieces go to
        the fast one, and it is said so."""
        slow = self.addSeller(rate=PIECE // 4)
        fast = self.addSeller()
        with capturedLogs() as events:
            fetcher = self.addBuyer()
            self.runUntil(lambda: "big" in fetcher.fetched, 60)
        said = [formatEvent(event) for event in events]
        self.assertIn(f"big: seller {shortId(slow.id)} is much slower than the others; "
                      "dropping it", said)
        served = fetcher.fetched["big"][1]
        self.assertLessEqual(served.get(slow.id, 0), 2)
        self.assertGreaterEqual(served[fast.id], 58)

    def test_looksForMoreSellersBoundedly(self):
        """While fetching from fewer than MAX_SOURCES sellers, a download
        searches again every LOOK_INTERVAL, one search at a time."""
        self.addSeller(rate=PIECE // 2)
        finds = []
        fetcher = self.addBuyer()
        real = fetcher.findSources

        def counting(name):
            finds.append(self.market.clock.seconds())
            return real(name)

        fetcher.findSources = counting
        self.runUntil(lambda: "big" in fetcher.downloads
                      and fetcher.downloads["big"].have > 0, 30)
        started = self.market.clock.seconds()
        self.market.run(5 * sellers.LOOK_INTERVAL)
        looks = [at for at in finds if at >= started]
        self.assertGreaterEqual(len(looks), 3)
        self.assertLessEqual(len(looks), 6)
        gaps = [b - a for a, b in zip(looks, looks[1:])]
        self.assertTrue(all(gap >= sellers.LOOK_INTERVAL for gap in gaps), gaps)
