"""
When a want for a file is met, in a L{Market} (the in-memory network, a
fake clock): a file want is met once the verified file is in the
downloads folder, not when it is bought; a file is bought once whatever
--quantity says.
"""

import os
import random

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.testing import Market, MemoryNetwork
from twisted_bazaar.wire.ids import shortId
from tests.files.helpers import fileId, scratchDir, writeFile

PIECE = 4096


class FileMarket:
    """A market of a seller sharing a 40-piece file and buyers of it."""

    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(5).randbytes(40 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)
        self.folder = scratchDir(self)
        writeFile(self.folder, "big", self.data)

    def addSeller(self, rate=0, stock=None):
        return self.market.addNode(seller={"stock": stock or {}, "share": self.folder,
                                           "transfer_rate": rate})

    def addBuyer(self, wants=("big",), **extra):
        downloads = scratchDir(self)
        node = self.market.addNode(buyer={"wants": list(wants), "downloads": downloads,
                                          **extra})
        return node, downloads


class DoneTests(FileMarket, SynchronousTestCase):
    def test_wantMetOnlyOnceTheFileIsInPlace(self):
        """'all wants met' comes after the download, not at the purchase;
        until then the buyer is not satisfied."""
        self.addSeller(rate=8 * PIECE)
        with capturedLogs() as events:
            node, downloads = self.addBuyer()
            buyer = self.market.role(node, "buyer")
            self.market.run(3)
            self.assertEqual(len(buyer.bag), 1)
            self.assertFalse(buyer.satisfied)
            self.assertFalse(os.path.exists(os.path.join(downloads, "big")))
            self.market.run(30)
        said = [formatEvent(event) for event in events]
        met = [i for i, line in enumerate(said) if line.startswith("all wants met")]
        [downloaded] = [i for i, line in enumerate(said)
                        if line.startswith("downloaded big into")]
        self.assertEqual(len(met), 1)
        self.assertGreater(met[0], downloaded)
        self.assertTrue(buyer.satisfied)

    def test_noEmptyPrivateFolderLeftAtStop(self):
        """A buyer stopped once its file is in place leaves no empty
        .bazaar-downloads/ (the offers' record, gone with the download,
        was all it held: issue 96 LOW); one stopped mid-download keeps
        it, with its part file, to resume."""
        self.addSeller(rate=8 * PIECE)
        node, downloads = self.addBuyer()
        self.market.run(30)
        self.assertTrue(os.path.exists(os.path.join(downloads, "big")))
        self.assertEqual(os.listdir(os.path.join(downloads, ".bazaar-downloads")), [])
        self.market.stop(node)
        self.assertEqual(os.listdir(downloads), ["big"])
        halfway, halfwayDownloads = self.addBuyer()
        self.market.run(3)
        self.market.stop(halfway)
        self.assertEqual(os.listdir(halfwayDownloads), [".bazaar-downloads"])

    def test_logsCallTheHashTheContentId(self):
        """The seller's and the buyer's lines give the file's content id
        under that name, and never call anything sha256: what sha256sum
        prints is another value."""
        with capturedLogs() as events:
            self.addSeller()
            self.addBuyer()
            self.market.run(30)
        said = [formatEvent(event) for event in events]
        content_id = fileId(self.data, PIECE)
        size = len(self.data)
        self.assertIn(f"sharing big ({size} bytes, content id {content_id})", said)
        self.assertIn(f"fetching big ({size} bytes, content id {content_id})", said)
        self.assertEqual(len([line for line in said if line.startswith("downloaded big into")
                              and ", content id verified (" in line]), 1)
        self.assertEqual([line for line in said if "sha256" in line], [])

    def test_exitWhenDoneStopsOnceTheFileIsInPlace(self):
        self.addSeller(rate=8 * PIECE)
        node, downloads = self.addBuyer(exit_when_done=True)
        self.market.run(3)
        self.assertIn(node, self.market.nodes)
        self.market.run(30)
        self.assertNotIn(node, self.market.nodes)
        with open(os.path.join(downloads, "big"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))

    def test_fileBoughtOnceWhateverTheQuantity(self):
        """--want big --want apple --quantity 2: two apples, one file."""
        seller = self.addSeller(stock={"apple": 5})
        node, _ = self.addBuyer(wants=("big", "apple"), quantity=2)
        with capturedLogs() as events:
            self.market.run(30)
        buyer = self.market.role(node, "buyer")
        # Two apples in one buy of two units (issue 22's bulk trade).
        self.assertEqual(sorted((p.item, p.units) for p in buyer.bag),
                         [("apple", 2), ("big", 1)])
        self.assertEqual(len(self.market.role(seller, "seller").ledger), 2)
        self.assertEqual(list(buyer.fetcher.fetched), ["big"])
        self.assertTrue(buyer.satisfied)
        self.assertIn("bought big from %s (1 of 1)" % shortId(seller.id),
                      [formatEvent(event) for event in events])

    def test_quantityMeetingFilesIsWarnedAtStart(self):
        self.addSeller()
        with capturedLogs() as events:
            self.addBuyer(wants=("big",), quantity=3)
        self.assertIn("--quantity 3 applies to counted items: a want that is a shared "
                      "file is bought once and fetched once",
                      [formatEvent(event) for event in events])


class StateTests(SynchronousTestCase):
    """What a node's state says of files: a seller's shared files once, by
    name, never in its stock; a buyer's downloads."""

    def test_sharedFilesOutOfTheStock(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        market = Market(MemoryNetwork(rng=random.Random(1)), seed=2)
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", b"la" * 3000)
        seller = market.addNode(seller={"stock": {"apple": 2}, "share": folder})
        market.run(3)
        state = market.services[seller].status.state()
        self.assertEqual(state.stock, {"apple": 2})
        self.assertEqual(state.files,
                         (("song.ogg", 6000, fileId(b"la" * 3000, PIECE), 0),))
        market.addNode(buyer={"wants": ["song.ogg"], "downloads": scratchDir(self)})
        market.run(5)
        [(_, _, _, sold)] = market.services[seller].status.state().files
        self.assertEqual(sold, 1)
        self.assertEqual(state.downloads, ())


class ShortfallTests(SynchronousTestCase):
    """What a buyer lacks (--give-up-after, bazaar buy's deadline) names a
    download not finished, or given up on."""

    def test_downloadsInTheShortfall(self):
        from twisted_bazaar.tap.shortfall import EmptySearches, shortfall

        self.patch(hashing, "MIN_PIECE", PIECE)
        market = Market(MemoryNetwork(rng=random.Random(1), latency=(0.005, 0.005)),
                        seed=2)
        folder = scratchDir(self)
        writeFile(folder, "big", random.Random(5).randbytes(40 * PIECE))
        seller = market.addNode(seller={"stock": {}, "share": folder,
                                        "transfer_rate": 4 * PIECE})
        node = market.addNode(buyer={"wants": ["big"], "downloads": scratchDir(self),
                                     "download_give_up": 30.0})
        buyer = market.role(node, "buyer")
        market.run(3)
        self.assertRegex(shortfall(node, buyer, EmptySearches(), "t"),
                         r"^big not downloaded yet \(\d+ of 163840 bytes, fetching\)$")
        market.crash(seller)
        market.run(60)
        self.assertRegex(shortfall(node, buyer, EmptySearches(), "t"),
                         r"^cannot download big: no piece came for 30 s "
                         r"\(--download-give-up\): ")
