"""
A restarted buyer whose files are in place (issue 96, H2), in a
L{Market}: what it has in its downloads folder is known before it
fetches, so a file of the content paid for is done, with its seller
online or gone, and not a byte of it is fetched again.
"""

import errno
import os
import random

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.market import Offer

from twisted_bazaar.files import downloads as placing, hashing
from twisted_bazaar.files.journal import JOURNAL, Journal
from twisted_bazaar.files.names import tagged
from twisted_bazaar.store import SQLiteStore
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, touch, writeFile
from tests.roles.files.helpers import TransferWatch

PIECE = 4096


class InPlaceCase(SynchronousTestCase):
    """A seller of big and small, and a buyer of both, in a L{Market}."""

    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(5).randbytes(30 * PIECE + 7)
        self.sha = fileId(self.data, PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)
        self.seller = self.market.addNode(seller={
            "stock": {}, "share": self.sharing(big=self.data, small=b"s" * 100)})
        self.downloads = scratchDir(self)
        self.data_dir = scratchDir(self)
        self.store = SQLiteStore(self.data_dir)
        self.buyer = self.addBuyer(self.store)

    def sharing(self, **files):
        folder = scratchDir(self)
        for name, data in files.items():
            writeFile(folder, name, data)
        return folder

    def addBuyer(self, store):
        return self.market.addNode(store=store, buyer={
            "wants": ["big", "small"], "downloads": self.downloads,
            "exit_when_done": True})

    def boughtAndFetched(self):
        """Run the first buyer until it exits, both files in place."""
        self.market.run(30)
        self.assertNotIn(self.buyer, self.market.nodes)
        self.assertEqual(self.read("big"), self.data)

    def read(self, name):
        with open(os.path.join(self.downloads, name), "rb") as f:
            return f.read()

    def restart(self, seconds=10):
        """Start the buyer again on its data dir and downloads folder, as
        rerunning its command does; what it fetched (L{TransferWatch})."""
        self.store.close()
        self.store = SQLiteStore(self.data_dir)
        self.addCleanup(self.store.close)
        watch = TransferWatch(self)
        self.again = self.market.restart(self.buyer, self.store, buyer={
            "wants": ["big", "small"], "downloads": self.downloads,
            "exit_when_done": True})
        self.fetcher = self.market.role(self.again, "buyer").fetcher
        self.market.run(seconds)
        return watch

    def sales(self):
        return len(self.market.role(self.seller, "seller").ledger)

    def assertDoneWithoutFetching(self, watch):
        """Both files counted as done at once, a word each at info level,
        nothing asked of any seller, nothing bought again, and the buyer
        told to exit when done has exited."""
        self.assertEqual((watch.asked, watch.written), ([], 0))
        self.assertNotIn(self.again, self.market.nodes)
        self.assertEqual(sorted(self.fetcher.present), ["big", "small"])
        self.assertEqual(self.fetcher.downloads, {})
        self.assertEqual(len(watch.saying(
            f"big is in place already ({os.path.join(self.downloads, 'big')}, "
            f"content id {self.sha} verified): not fetched again")), 1)
        self.assertEqual(len(watch.saying("all wants met: 2 in the bag; stopping")), 1)
        self.assertEqual(self.sales(), 2)



class InPlaceTests(InPlaceCase):
    def test_restartedWithTheSellerOnline(self):
        """Before, the 30 pieces of big were fetched again."""
        self.boughtAndFetched()
        self.assertDoneWithoutFetching(self.restart())

    def test_restartedWithTheSellerGone(self):
        """Before, it looked for a seller until it gave up, and did not
        exit ("no seller to fetch it from")."""
        self.boughtAndFetched()
        self.market.crash(self.seller)
        self.assertDoneWithoutFetching(self.restart())

    def test_aRecordLeftByACrashGoes(self):
        """A crash between putting the file in place and removing its
        offers record: the record goes once the file is found in place."""
        self.boughtAndFetched()
        journal = Journal(self.downloads)
        journal.note("big", [Offer(self.seller.id, (1, self.seller.id), "h", 1, 0,
                                   self.sha, len(self.data))])
        self.assertTrue(os.path.exists(journal.path("big")))
        self.restart()
        # Nothing left in it, and the stopped buyer left no empty folder.
        self.assertFalse(os.path.exists(os.path.join(self.downloads, JOURNAL)))

    def test_otherContentUnderTheNameIsLeftAlone(self):
        """The file in place under the name is not the one paid for (the
        user put another there): it is not touched, and the file bought
        is fetched beside it under the name tagged with its content id;
        a second restart finds that one in place."""
        self.boughtAndFetched()
        mine = b"the user's own big" * 1000
        writeFile(self.downloads, "big", mine)
        watch = self.restart(seconds=30)
        self.assertEqual(self.read("big"), mine)
        self.assertEqual(self.read(tagged("big", self.sha)), self.data)
        self.assertEqual(sorted(self.fetcher.present), ["small"])
        self.assertEqual(len(watch.saying("downloaded big into")), 1)
        self.assertEqual(self.sales(), 2)
        self.assertNotIn(self.again, self.market.nodes)
        self.buyer = self.again
        watch = self.restart()
        self.assertEqual((watch.asked, watch.written), ([], 0))
        self.assertEqual(self.fetcher.present["big"],
                         os.path.join(self.downloads, tagged("big", self.sha)))

    def test_damagedFileIsFetchedAgain(self):
        """A file of the right size whose bytes are not the content paid
        for is not done: it is fetched again, beside it."""
        self.boughtAndFetched()
        writeFile(self.downloads, "big", bytes(len(self.data)))
        watch = self.restart(seconds=30)
        self.assertGreater(watch.written, 0)
        self.assertEqual(self.read(tagged("big", self.sha)), self.data)
        self.assertEqual([line for line in watch.lines if "big is in place" in line],
                         [])

    def test_stoppedWhileCheckingLeavesNothing(self):
        """A check under way is the fetcher's: a stop cancels it, and no
        download starts after."""
        self.boughtAndFetched()
        pending = []

        def held(hasher, function, *args):
            pending.append(defer.Deferred())
            return pending[-1]

        self.patch(hashing.Hasher, "run", held)
        self.restart(seconds=5)
        self.assertEqual(sorted(self.fetcher.checks), ["big", "small"])
        self.assertFalse(self.fetcher.settled())
        self.assertEqual(sorted(self.fetcher.unfinished()),
                         [f"big being checked in {self.downloads}",
                          f"small being checked in {self.downloads}"])
        self.market.stop(self.again)
        self.assertEqual(self.fetcher.checks, {})
        self.assertEqual(self.fetcher.downloads, {})
        self.assertEqual([d.called for d in pending], [True, True])
        self.assertEqual(self.market.leftovers(self.again),
                         {"delayed_calls": [], "connections": []})


class FreshBuyerTests(InPlaceCase):
    """
    A buyer started fresh (nothing in its bag) whose downloads folder
    holds a wanted file, verified, before it buys (issue 96): nothing is
    paid for it; the want is met.
    """

    def setUp(self):
        super().setUp()
        # The buyer built by the base case has not started: it was added to
        # a market that has not run.  Start over with the file in place.
        self.market.stop(self.buyer)
        writeFile(self.downloads, "big", self.data)
        self.watch = TransferWatch(self)
        self.store.close()
        self.store = SQLiteStore(scratchDir(self))
        self.addCleanup(self.store.close)
        self.buyer = self.addBuyer(self.store)
        self.fetcher = self.market.role(self.buyer, "buyer").fetcher

    def test_aFileInPlaceIsNotBought(self):
        """Before, big was bought again (two sales) though not fetched."""
        self.market.run(30)
        self.assertNotIn(self.buyer, self.market.nodes)
        ledger = self.market.role(self.seller, "seller").ledger
        self.assertEqual(self.sales(), 1)
        self.assertEqual([sale.item for sale in ledger.values()], ["small"])
        self.assertEqual(self.fetcher.present, {"big": os.path.join(self.downloads, "big")})
        self.assertEqual(sorted(self.fetcher.fetched), ["small"])
        self.assertEqual(len(self.watch.saying(
            f"big is in place already ({os.path.join(self.downloads, 'big')}, "
            f"content id {self.sha} verified): nothing bought")), 1)
        self.assertEqual(len(self.watch.saying("all wants met: 1 in the bag; stopping")),
                         1)
        # Nothing left in it, and the stopped buyer left no empty folder.
        self.assertFalse(os.path.exists(os.path.join(self.downloads, JOURNAL)))

    def test_stoppedWhileLookingBuysNothing(self):
        """The look before a buy is the want's: a stop cancels it, and
        nothing is bought after."""
        pending = []

        def held(hasher, function, *args):
            pending.append(defer.Deferred())
            return pending[-1]

        self.patch(hashing.Hasher, "run", held)
        self.market.run(5)
        self.assertEqual(len(pending), 2)
        self.assertFalse(self.market.role(self.buyer, "buyer").satisfied)
        self.market.stop(self.buyer)
        self.assertEqual([d.called for d in pending], [True, True])
        self.assertEqual(self.sales(), 0)
        self.assertEqual(self.market.leftovers(self.buyer),
                         {"delayed_calls": [], "connections": []})


class LookedAtOnceTests(InPlaceCase):
    """A file in the downloads folder of the size an offer names but of
    other bytes is looked at at each search of its want; it is read once,
    then again only once it changed."""

    def test_readAgainOnlyOnceChanged(self):
        path = writeFile(self.downloads, "big", bytes(len(self.data)))
        fetcher = self.market.role(self.buyer, "buyer").fetcher
        reads = []
        digest = hashing.digestFile

        def counting(where):
            reads.append(where)
            return digest(where)

        self.patch(hashing, "digestFile", counting)
        self.patch(placing, "digestFile", counting)
        offers = [Offer(self.seller.id, (1, self.seller.id), size=len(self.data),
                        sha256=self.sha)]
        looks = [fetcher.look("big", offers) for _ in range(3)]
        self.assertEqual([self.successResultOf(d) for d in looks], [None] * 3)
        self.assertEqual(reads, [path])
        writeFile(self.downloads, "big", self.data)
        touch(path, os.stat(path).st_mtime_ns + 10**9)  # a write a tick later
        self.assertEqual(self.successResultOf(fetcher.look("big", offers)), path)
        self.assertEqual(reads, [path, path])


class ResumedWithoutABagTests(SynchronousTestCase):
    """
    A buyer that keeps no bag (``bazaar buy``, state in memory) stopped
    mid-download, and a fresh one started on the same downloads folder:
    what the first bought and did not fetch is resumed, not bought again
    (issue 96 LOW 3: a second copy was bought, then the part file resumed).
    """

    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(5).randbytes(40 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)
        shared = scratchDir(self)
        writeFile(shared, "big", self.data)
        self.seller = self.market.addNode(seller={"stock": {}, "share": shared,
                                                  "transfer_rate": 4 * PIECE})
        self.downloads = scratchDir(self)

    def buyer(self):
        node = self.market.addNode(buyer={"wants": ["big"], "downloads": self.downloads,
                                          "exit_when_done": True})
        return node, self.market.role(node, "buyer").fetcher

    def test_stoppedMidDownloadResumesUnbought(self):
        first, fetcher = self.buyer()
        self.market.run(4)
        self.assertGreater(fetcher.downloads["big"].have, 0)
        self.market.stop(first)
        watch = TransferWatch(self)
        second, fetcher = self.buyer()
        self.market.run(30)
        self.assertEqual(len(self.market.role(self.seller, "seller").ledger), 1)
        self.assertEqual(self.market.role(second, "buyer").bag, [])
        self.assertIn("big", fetcher.fetched)
        with open(os.path.join(self.downloads, "big"), "rb") as f:
            self.assertEqual(f.read(), self.data)
        self.assertEqual(len(watch.saying("big: bought from seller")), 1)
        self.assertNotIn(second, self.market.nodes, "its want met, it exited")
        self.assertFalse(os.path.exists(os.path.join(self.downloads, JOURNAL)))


class FullDiskNextRunTests(SynchronousTestCase):
    """
    A download a full disk ends (a fake file system's ENOSPC) leaves its
    downloads folder in a state the next run reads as the line said:
    the purchase recorded, it is fetched without being bought again;
    the record refused by the full disk too, the record as it was (no
    half-written copy beside it) and the line says it is bought again
    (issue 96: a `big.json.new` was left, and the line said neither).
    """

    setUp = ResumedWithoutABagTests.setUp
    buyer = ResumedWithoutABagTests.buyer

    def fill(self, journalToo=False):
        """The disk's state: once its ``full`` is set, it takes no write
        of the file (nor, with journalToo, of the record, and it fills
        as the offers are recorded, before the purchase is)."""
        disk = {"full": False, "journalToo": journalToo}
        real = {"pwrite": os.pwrite, "fsync": os.fsync}

        def refusing(name):
            def call(*args):
                if disk["full"] and (name == "pwrite" or disk["journalToo"]):
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real[name](*args)
            return call

        self.patch(os, "pwrite", refusing("pwrite"))
        self.patch(os, "fsync", refusing("fsync"))
        note = Journal.note

        def noted(journal, *args):
            note(journal, *args)
            if disk["journalToo"]:
                disk["full"] = True

        self.patch(Journal, "note", noted)
        return disk

    def firstRun(self, journalToo=False):
        """A buyer whose download the full disk ends; what it was told,
        and the private folder's names, once it stopped and there is
        room again."""
        disk = self.fill(journalToo)
        node, fetcher = self.buyer()
        told = []
        fetcher.onGaveUp = told.append
        self.market.run(4)
        disk["full"] = True
        self.market.run(4)
        self.market.stop(node)
        disk.update(full=False, journalToo=False)
        return told, sorted(os.listdir(os.path.join(self.downloads, JOURNAL)))

    def test_purchaseRecorded(self):
        told, names = self.firstRun()
        path = os.path.join(self.downloads, JOURNAL, "big.json")
        self.assertEqual(len(told), 1)
        self.assertTrue(told[0].endswith(
            f"(free some, or give --downloads a folder on a disk with room); the "
            f"purchase is recorded in {path}: run again once there is room, it is "
            "fetched without being bought again"), told)
        self.assertEqual(names, ["big.json"])
        second, fetcher = self.buyer()
        self.market.run(30)
        self.assertEqual(len(self.market.role(self.seller, "seller").ledger), 1)
        self.assertIn("big", fetcher.fetched)

    def test_purchaseNotRecorded(self):
        told, names = self.firstRun(journalToo=True)
        self.assertEqual(len(told), 1)
        self.assertTrue(told[0].endswith(
            "(free some, or give --downloads a folder on a disk with room); the full "
            "disk kept the purchase from being recorded: run again, it is bought "
            "again"), told)
        self.assertEqual(names, ["big.json"])
        self.assertIsNone(Journal(self.downloads).paidFor("big"))
        second, fetcher = self.buyer()
        self.market.run(30)
        self.assertEqual(len(self.market.role(self.seller, "seller").ledger), 2)
        self.assertIn("big", fetcher.fetched)

    def test_purchaseInTheBag(self):
        """A buyer with --data-dir keeps the purchase in its bag."""
        store = SQLiteStore(scratchDir(self))
        self.addCleanup(store.close)
        node = self.market.addNode(store=store, buyer={
            "wants": ["big"], "downloads": self.downloads, "exit_when_done": True})
        fetcher = self.market.role(node, "buyer").fetcher
        told = []
        fetcher.onGaveUp = told.append
        self.market.run(4)
        self.fill()["full"] = True
        self.market.run(4)
        self.assertEqual(len(told), 1)
        self.assertTrue(told[0].endswith(
            "; the purchase is kept (--data-dir): run again once there is room, it "
            "is fetched without being bought again"), told)
