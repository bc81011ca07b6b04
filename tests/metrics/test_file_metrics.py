"""
The file gauges of L{twisted_bazaar.metrics.node}: a seller's shared
files counted apart (never as a billion units of stock), a buyer's
downloads by state.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import scratchDir, writeFile


def value(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels)


class FileMetricsTests(SynchronousTestCase):
    def test_sharedFilesAndDownloads(self):
        self.patch(hashing, "MIN_PIECE", 4096)
        market = Market(MemoryNetwork(rng=random.Random(1), latency=(0.005, 0.005)),
                        seed=5)
        folder = scratchDir(self)
        writeFile(folder, "big.bin", random.Random(2).randbytes(40 * 4096))
        writeFile(folder, "small.txt", b"hello")
        seller = market.addNode(seller={"stock": {"apple": 3}, "share": folder,
                                        "transfer_rate": 4096}, metrics=True)
        buyer = market.addNode(buyer={"wants": ["big.bin"],
                                      "downloads": scratchDir(self)}, metrics=True)
        market.run(5)
        sold, bought = market.metrics[seller], market.metrics[buyer]
        self.assertEqual(value(sold, "bazaar_shared_files"), 2)
        self.assertEqual(value(sold, "bazaar_shared_bytes"), 40 * 4096 + 5)
        self.assertEqual(value(sold, "bazaar_stock", item="apple"), 3)
        self.assertIsNone(value(sold, "bazaar_stock", item="big.bin"))
        self.assertEqual(value(bought, "bazaar_downloads", state="fetching"), 1)
        self.assertEqual(value(bought, "bazaar_downloads", state="failed"), 0)
        self.assertGreater(value(bought, "bazaar_download_bytes"), 0)
        market.run(60)
        self.assertEqual(value(bought, "bazaar_downloads", state="fetching"), 0)
        self.assertEqual(value(bought, "bazaar_download_bytes"), 0)

    def test_aDownloadGivenUpOnIsNotUnderWay(self):
        """bazaar_download_bytes counts the downloads under way: once one
        is given up on (its seller killed mid-download), the bytes its
        part file keeps are in its row, not in the gauge."""
        self.patch(hashing, "MIN_PIECE", 4096)
        market = Market(MemoryNetwork(rng=random.Random(1), latency=(0.005, 0.005)),
                        seed=5)
        folder = scratchDir(self)
        writeFile(folder, "big.bin", random.Random(2).randbytes(40 * 4096))
        seller = market.addNode(seller={"stock": {}, "share": folder,
                                        "transfer_rate": 4096}, metrics=True)
        buyer = market.addNode(buyer={"wants": ["big.bin"], "downloads": scratchDir(self),
                                      "download_give_up": 20.0}, metrics=True)
        market.run(5)
        bought = market.metrics[buyer]
        have = value(bought, "bazaar_download_bytes")
        self.assertGreater(have, 0)
        market.crash(seller)
        market.run(30)
        self.assertEqual((value(bought, "bazaar_downloads", state="failed"),
                          value(bought, "bazaar_download_bytes")), (1, 0))
        [row] = market.role(buyer, "buyer").fetcher.downloadsHeld()
        self.assertGreaterEqual(row["have"], have)

    def test_restockedItemsBesideSharedFiles(self):
        """An item restocked on a seller that shares files is in the stock
        gauge, like those of --sell (issue 35: restocked items were taken
        for files and left out of every view)."""
        market = Market(MemoryNetwork(rng=random.Random(1)), seed=5)
        folder = scratchDir(self)
        writeFile(folder, "small.txt", b"hello")
        node = market.addNode(seller={"stock": {"apple": 3}, "share": folder},
                              metrics=True)
        market.run(2)
        self.successResultOf(market.role(node, "seller").restock({"plum": 1}))
        metrics = market.metrics[node]
        self.assertEqual((value(metrics, "bazaar_stock", item="apple"),
                          value(metrics, "bazaar_stock", item="plum"),
                          value(metrics, "bazaar_stock", item="small.txt")), (3, 1, None))
