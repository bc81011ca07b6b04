"""
Files as goods end to end in a L{Market}: real sellers sharing folders,
real buyers fetching into downloads folders, over the in-memory network
on a fake clock, with flood and index discovery.
"""

import errno
import json
import os
import random
import sqlite3

import attr

from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.files import downloads as downloads_module, hashing
from twisted_bazaar.files.client import TransferClient
from twisted_bazaar.files.downloads import PRIVATE, partName
from twisted_bazaar.files.journal import JOURNAL, Journal
from twisted_bazaar.files.names import hashItem
from twisted_bazaar.core.market import Offer
from twisted_bazaar.store import DB_NAME, SQLiteStore
from twisted_bazaar.store.records import Purchase
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, touch, writeFile
from tests.records import forged, identity, offerOf, signed

PIECE = 4096


def sha(data):
    """The identity of a file of data, in the tests' small pieces."""
    return fileId(data, PIECE)


class FetchTests(SynchronousTestCase):
    discovery = "flood"

    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(5).randbytes(50 * PIECE + 100)
        self.folders = []

    def makeMarket(self, latency=0.0, seed=2):
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(latency, latency)), seed=seed)
        return self.market

    def sharing(self, files):
        folder = scratchDir(self)
        for name, data in files.items():
            writeFile(folder, name, data)
        return folder

    def addSeller(self, folder, **extra):
        return self.market.addNode(discovery=self.discovery,
                                   seller={"stock": {}, "share": folder, **extra})

    def addBuyer(self, wants, downloads=None, store=None):
        downloads = downloads or scratchDir(self)
        node = self.market.addNode(discovery=self.discovery, store=store,
                                   buyer={"wants": wants, "downloads": downloads})
        return node, downloads

    def runUntilPiecesDone(self, fetcher, name, pieces):
        """Run the market in small steps until the download of name has
        at least that many pieces done; return the download."""
        for _ in range(1000):
            self.market.run(0.01)
            download = fetcher.downloads.get(name)
            if download is not None and download.schedule is not None and len(
                    download.schedule.done) >= pieces:
                return download
        self.fail(f"{name} never had {pieces} pieces done")

    def fetcher(self, buyer):
        return self.market.role(buyer, "buyer").fetcher

    def assertFetched(self, downloads, name, data):
        path = os.path.join(downloads, name)
        with open(path, "rb") as f:
            self.assertEqual(sha(f.read()), sha(data))
        leftovers = [entry for entry in os.listdir(downloads)
                     if entry not in (name, JOURNAL)]
        self.assertEqual(leftovers, [])
        self.assertEqual(os.listdir(os.path.join(downloads, JOURNAL)), [])

    def stopAll(self):
        nodes = list(self.market.nodes)
        for node in nodes:
            self.market.stop(node)
        for node in nodes:
            self.assertEqual(self.market.leftovers(node),
                             {"delayed_calls": [], "connections": []})

    def sales(self, sellers):
        return sum(len(self.market.role(node, "seller").ledger) for node in sellers)

    # -- the tests -------------------------------------------------------------------

    def test_buyAndFetch(self):
        """One sale, exactly once; the file arrives whole and verified; a
        stopped node leaves nothing behind."""
        self.makeMarket()
        seller = self.addSeller(self.sharing({"song.ogg": self.data}))
        buyer, downloads = self.addBuyer(["song.ogg"])
        self.market.run(10)
        [purchase] = self.market.role(buyer, "buyer").bag
        self.assertEqual(purchase.seller, seller.id)
        self.assertEqual(self.sales([seller]), 1)
        self.assertFetched(downloads, "song.ogg", self.data)
        self.stopAll()

    def test_offersCarryTheContent(self):
        self.makeMarket()
        self.addSeller(self.sharing({"a": b"abc"}))
        buyer, _ = self.addBuyer(["a"])
        self.market.run(5)
        [offer] = self.fetcher(buyer).offers["a"]
        self.assertEqual((offer.size, offer.sha256), (3, sha(b"abc")))
        self.assertTrue(offer.transfer)

    def test_piecesFromSeveralSellers(self):
        """Every seller of the same content serves pieces: load is spread."""
        self.makeMarket(latency=0.005)
        folder = self.sharing({"big": self.data})
        sellers = [self.addSeller(folder) for _ in range(3)]
        buyer, downloads = self.addBuyer(["big"])
        self.market.run(20)
        self.assertFetched(downloads, "big", self.data)
        _, served = self.fetcher(buyer).fetched["big"]
        self.assertEqual(set(served), {node.id for node in sellers})
        self.assertEqual(sum(served.values()), 51)
        self.assertEqual(self.sales(sellers), 1)

    def test_smallFilesComeFromTheSellerPaid(self):
        """A one-piece file comes from the seller its buyer paid (it
        signed a buyOK: it committed), not from another seller of it
        found first (any key can offer a file's real content and never
        serve it)."""
        self.makeMarket()
        folder = self.sharing({"small": b"tiny"})
        for _ in range(2):
            self.addSeller(folder)
        buyers = [self.addBuyer(["small"])[0] for _ in range(8)]
        self.market.run(15)
        for buyer in buyers:
            [purchase] = self.market.role(buyer, "buyer").bag
            self.assertEqual(self.fetcher(buyer).fetched["small"][1],
                             {purchase.seller: 1})

    def test_wantedByContent(self):
        """--want sha256:HEX buys the file by its content, whatever its
        name; it is saved under the item's name."""
        self.makeMarket()
        self.addSeller(self.sharing({"whatever.bin": self.data}))
        item = hashItem(sha(self.data))
        buyer, downloads = self.addBuyer([item])
        self.market.run(10)
        self.assertFetched(downloads, item, self.data)

    def test_contentWantIgnoresOffersOfOtherContent(self):
        self.makeMarket()
        item = hashItem("a" * 64)
        buyer, _ = self.addBuyer([item])
        fetcher = self.fetcher(buyer)
        wanted = offerOf(signed(1, item, file=(5, "a" * 64, 7)))
        fetcher.offersFound(item, [wanted,
                                   offerOf(signed(2, item, file=(5, "b" * 64, 7)))])
        self.assertEqual(fetcher.offers[item], [wanted])

    def test_onlyDescriptionsTheSellerSignedAreNoted(self):
        """What a buyer will fetch after paying a seller is what that
        seller signed, never a description someone else wrote in its name:
        an offer without a record, with a forged one, with another
        seller's, or whose fields differ from its record is no file offer
        at all."""
        self.makeMarket()
        item = hashItem("a" * 64)
        buyer, _ = self.addBuyer([item])
        fetcher = self.fetcher(buyer)
        record = signed(1, item, file=(5, "a" * 64, 7))
        seller = record.seller
        honest = offerOf(record)
        fetcher.offersFound(item, [
            Offer(seller, (9, seller), "h", 9001, 5, "a" * 64, 7),
            offerOf(forged(record, size=6)),
            offerOf(forged(record, transfer=66)),
            attr.evolve(honest, seller=identity(2).id),
            attr.evolve(honest, transfer=66),
            attr.evolve(honest, size=6),
            attr.evolve(honest, record=signed(2, item, file=(5, "a" * 64, 7))),
        ])
        self.assertNotIn(item, fetcher.offers)
        fetcher.offersFound(item, [honest])
        self.assertEqual(fetcher.offers[item], [honest])

    def test_sellItemWinsOverAFileOfItsName(self):
        """A --sell item of a shared file's name is not described as the
        file; the file is still sold by its content."""
        self.makeMarket()
        seller = self.market.addNode(discovery=self.discovery, seller={
            "stock": {"apple": 2}, "share": self.sharing({"apple": b"pie"})})
        self.market.run(3)
        role = self.market.role(seller, "seller")
        self.assertIsNone(role.describe("apple"))
        self.assertEqual(role.stock["apple"], 2)
        self.assertEqual(role.describe(hashItem(sha(b"pie")))["size"], 3)

    def test_countedItemBoughtWithDownloadsIsNoFault(self):
        """A buyer with --downloads buying a counted item (offered as
        units, naming no file) buys it without a warning, for each of its
        purchases."""
        self.makeMarket()
        self.market.addNode(discovery=self.discovery, seller={"stock": {"apple": 3}})
        self.market.addNode(discovery=self.discovery, seller={"stock": {"apple": 3}})
        buyer = self.market.addNode(discovery=self.discovery, buyer={
            "wants": ["apple"], "quantity": 4, "downloads": scratchDir(self)})
        logged = []
        from twisted.logger import globalLogPublisher
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        self.market.run(20)
        self.assertGreaterEqual(len(self.market.role(buyer, "buyer").bag), 2)
        self.assertEqual([event for event in logged
                          if "named no shared file" in event.get("log_format", "")], [])

    def test_countedItemOfAFilesNameIsSaidSo(self):
        """A name one seller shares as a file and another sells as a
        counted item: a purchase from the counted one (its buyOK named no
        content) is said to be that, once, and not blamed on the offers
        record as if the content paid for were unknown."""
        self.makeMarket()
        buyer, downloads = self.addBuyer(["big"])
        fetcher = self.fetcher(buyer)
        counted = identity(3).id
        fetcher.offersFound("big", [offerOf(signed(1, "big", file=(5, "a" * 64, 7))),
                                    Offer(counted, (9, counted), "h", 9001)])
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        fetcher.bought(Purchase(1, "big", counted, 0.0))
        said = [formatEvent(event) for event in logged
                if event.get("log_level") == LogLevel.warn]
        self.assertEqual(len(said), 1, said)
        self.assertIn(f"bought big from {shortId(counted)} as a counted item (its "
                      "offer named no file), though a file of that name is offered "
                      f"too: nothing to fetch into {downloads}", said[0])
        self.assertEqual(fetcher.downloads, {})

    def test_boughtWithoutAnyOfferSeenIsSaidSo(self):
        """A purchase of a wanted item whose offers the fetcher never saw
        (so it cannot tell a counted item from a file) is said so."""
        self.makeMarket()
        self.market.addNode(discovery=self.discovery, seller={"stock": {"apple": 1}})
        buyer, downloads = self.addBuyer(["apple"])
        fetcher = self.market.role(buyer, "buyer").fetcher
        self.patch(fetcher, "offersFound", lambda item, offers: None)
        logged = []
        from twisted.logger import globalLogPublisher
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        self.market.run(10)
        self.assertEqual(len(self.market.role(buyer, "buyer").bag), 1)
        self.assertEqual([event["item"] for event in logged
                          if "named no shared file" in event.get("log_format", "")],
                         ["apple"])

    def test_wrongPieceCaughtAndOnlyItFetchedAgain(self):
        """
        A seller whose bytes do not match the hashes is caught on its
        first piece, as it arrives, and avoided; that piece alone is
        fetched again, from the honest seller, and the file arrives
        right.  The buyer's work is a look for the file in place (none
        there: nothing read), one hash of each piece's bytes (and of the
        wrong piece's), then the fsync and link: no second pass over the
        file.
        """
        self.makeMarket(latency=0.005)
        good = self.addSeller(self.sharing({"big": self.data}))
        folder = self.sharing({"big": self.data})
        bad = self.addSeller(folder)
        self.market.run(3)
        # Same size, same modification time, wrong bytes: only the
        # hashes can tell.
        path = os.path.join(folder, "big")
        mtime = os.stat(path).st_mtime_ns
        with open(path, "r+b") as f:
            f.write(bytes(len(self.data)))
        touch(path, mtime)
        buyer, downloads = self.addBuyer(["big"])
        fetcher = self.fetcher(buyer)
        jobs = []
        run = fetcher.hasher.run

        def recording(function, *args):
            hashed = sum(map(len, args[1])) if function.__name__ == "hashBatch" else 0
            jobs.append((function.__name__, hashed))
            return run(function, *args)

        self.patch(fetcher.hasher, "run", recording)
        self.market.run(20)
        self.assertFetched(downloads, "big", self.data)
        _, served = fetcher.fetched["big"]
        self.assertEqual(served, {good.id: 51})
        self.assertEqual(fetcher.bad, {sha(self.data): {bad.id}})
        self.assertEqual({name for name, _ in jobs},
                         {"_firstInPlace", "inPlace", "hashBatch", "complete"})
        self.assertEqual(sum(size for _, size in jobs), len(self.data) + PIECE)

    def test_descriptionThatIsNotTheOfferedFileIsRefused(self):
        """A seller whose about gives piece hashes whose tree is not the
        sha256 it offered is avoided before any byte is asked of anyone;
        the file then comes from an honest seller."""
        self.makeMarket(latency=0.005)
        folder = self.sharing({"big": self.data})
        liar = self.addSeller(folder)
        self.market.run(3)
        share = self.market.role(liar, "seller").files.share
        digest = share.files["big"]
        pieces = list(digest.pieces)
        pieces[7] = bytes(32)
        share.files["big"] = attr.evolve(digest, pieces=tuple(pieces))
        asked = []
        real = TransferClient.get
        self.patch(TransferClient, "get", lambda client, *args: asked.append(
            args[:3]) or real(client, *args))
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        buyer, downloads = self.addBuyer(["big"])
        fetcher = self.fetcher(buyer)
        self.market.run(10)
        self.assertEqual(asked, [])
        self.assertEqual(fetcher.bad, {sha(self.data): {liar.id}})
        said = [formatEvent(event) for event in logged
                if event.get("log_level") == LogLevel.warn]
        self.assertIn(f"seller {shortId(liar.id)} describes big with piece hashes whose tree "
                      "is not the content id it offered; avoiding it", said)
        honest = self.addSeller(self.sharing({"big": self.data}))
        self.market.run(40)
        self.assertFetched(downloads, "big", self.data)
        self.assertEqual(fetcher.fetched["big"][1], {honest.id: 51})

    def test_sellerKilledMidTransfer(self):
        self.makeMarket(latency=0.01)
        folder = self.sharing({"big": self.data})
        first, second = self.addSeller(folder), self.addSeller(folder)
        buyer, downloads = self.addBuyer(["big"])
        fetcher = self.fetcher(buyer)
        download = self.runUntilPiecesDone(fetcher, "big", 10)
        self.assertEqual(len(set(download.schedule.inflight.values())), 2)
        self.market.crash(first)
        self.market.run(20)
        self.assertFetched(downloads, "big", self.data)
        _, served = fetcher.fetched["big"]
        self.assertLess(served.get(first.id, 0), 51)
        self.assertGreater(served[second.id], 0)

    def test_buyerCrashResumesWithoutPayingTwice(self):
        sellers, store, data_dir, buyer, downloads = self.durableBuyerOfBig(sellers=2)
        fetcher = self.fetcher(buyer)
        self.runUntilPiecesDone(fetcher, "big", 20)

        def whileDown():
            self.assertTrue(os.path.exists(os.path.join(
                downloads, PRIVATE, partName("big", sha(self.data)))))
            self.assertFalse(os.path.exists(os.path.join(downloads, "big")))

        again, _ = self.restart(buyer, store, data_dir, downloads, whileDown)
        self.market.run(20)
        self.assertFetched(downloads, "big", self.data)
        self.assertEqual(len(self.market.role(again, "buyer").bag), 1)
        self.assertEqual(self.sales(sellers), 1)
        _, served = self.fetcher(again).fetched["big"]
        self.assertLessEqual(sum(served.values()), 51 - 20)

    def test_everyPieceOnDiskAlready(self):
        """A part file whose every piece is on disk (fetched whole before
        a crash, not yet put in place) is put in place with no piece from
        a seller, and the line says so rather than ending in "()"."""
        self.makeMarket()
        self.addSeller(self.sharing({"song.ogg": self.data}))
        downloads = scratchDir(self)
        os.mkdir(os.path.join(downloads, PRIVATE), 0o700)
        writeFile(os.path.join(downloads, PRIVATE), partName("song.ogg", sha(self.data)),
                  self.data)
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        buyer, _ = self.addBuyer(["song.ogg"], downloads)
        self.market.run(10)
        self.assertFetched(downloads, "song.ogg", self.data)
        [line] = [formatEvent(event) for event in logged
                  if formatEvent(event).startswith("downloaded song.ogg")]
        self.assertTrue(line.endswith(", content id verified (every piece on disk "
                                      "already)"), line)

    def test_crashBeforeWritebackRefetchesLostPieces(self):
        """A crash can lose bytes of pieces that were verified but not yet
        on disk (a fallocated part file reads zeros there); nothing
        remembers them as done: after the restart each piece on disk is
        checked again, and the lost ones are fetched again."""
        sellers, store, data_dir, buyer, downloads = self.durableBuyerOfBig()
        fetcher = self.fetcher(buyer)
        download = self.runUntilPiecesDone(fetcher, "big", 20)
        done = set(download.schedule.done)

        def loseTwoPieces():
            part = os.path.join(downloads, PRIVATE, partName("big", sha(self.data)))
            with open(part, "r+b") as f:
                for piece in (3, 7):
                    self.assertIn(piece, done)
                    f.seek(piece * PIECE)
                    f.write(bytes(PIECE))

        again, _ = self.restart(buyer, store, data_dir, downloads, loseTwoPieces,
                                settle=0)
        fetcher = self.fetcher(again)
        for _ in range(2000):
            self.market.run(0.01)
            download = fetcher.downloads.get("big")
            if download is not None and download.schedule is not None:
                break
        # Found on disk: every piece done before the crash but the two lost.
        self.assertEqual(done & download.schedule.done, done - {3, 7})
        self.assertLessEqual({3, 7}, set(download.schedule.missing)
                             | set(download.schedule.inflight))
        self.market.run(20)
        self.assertFetched(downloads, "big", self.data)
        self.assertEqual(self.sales(sellers), 1)

    def test_unreadablePartFileAtResumeFailsTheDownload(self):
        """After a restart, a part file that cannot be read back to find
        its good pieces fails the download with the disk's reason; the
        seller that described the file is not blamed for it."""
        sellers, store, data_dir, buyer, downloads = self.durableBuyerOfBig()
        self.runUntilPiecesDone(self.fetcher(buyer), "big", 5)

        def unreadable(path, offset, length):
            raise OSError(errno.EIO, "Input/output error")

        again, logged = self.restart(
            buyer, store, data_dir, downloads,
            lambda: self.patch(downloads_module, "hashRange", unreadable))
        reasons = [str(event.get("why")) for event in logged
                   if "cannot download" in event.get("log_format", "")]
        part = os.path.join(downloads, PRIVATE, partName("big", sha(self.data)))
        self.assertEqual(reasons, [f"cannot read {part} back: Input/output error"])
        self.assertEqual(self.fetcher(again).bad, {})

    def durableBuyerOfBig(self, sellers=1, latency=0.01):
        """A market where sellers share "big" and a buyer wants it, its bag
        on disk: (the sellers, the buyer's store, its data dir, the buyer,
        its downloads folder)."""
        self.makeMarket(latency=latency)
        folder = self.sharing({"big": self.data})
        sellers = [self.addSeller(folder) for _ in range(sellers)]
        data_dir = scratchDir(self)
        store = SQLiteStore(data_dir)
        buyer, downloads = self.addBuyer(["big"], store=store)
        return sellers, store, data_dir, buyer, downloads

    def restart(self, buyer, store, data_dir, downloads, whileDown=None, settle=5):
        """Crash a buyer of "big", call ``whileDown()`` if given, and start
        it again on its data dir (its bag) and downloads folder for
        ``settle`` seconds; return the new buyer and what was logged since
        the crash."""
        self.market.crash(buyer)
        store.close()
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        if whileDown is not None:
            whileDown()
        store = SQLiteStore(data_dir)
        self.addCleanup(store.close)
        again = self.market.restart(buyer, store, buyer={"wants": ["big"],
                                                         "downloads": downloads})
        self.market.run(settle)
        return again, logged

    def crashAndRestart(self, damage, legacy=True):
        """Crash a buyer in the middle of a fetch, damage its offers
        record with ``damage(path)``, start it again with its bag; return
        the new buyer, its downloads folder, the sellers and what it
        logged since the restart.  ``legacy``: the purchase in the bag
        names no content, as one from before buyOKs named it, so only the
        record can say what was paid for."""
        sellers, store, data_dir, buyer, downloads = self.durableBuyerOfBig()
        self.runUntilPiecesDone(self.fetcher(buyer), "big", 5)

        def whileDown():
            damage(os.path.join(downloads, JOURNAL, "big.json"))
            if legacy:
                db = sqlite3.connect(os.path.join(data_dir, DB_NAME))
                with db:
                    db.execute("UPDATE bag SET sha256 = NULL, size = NULL")
                db.close()

        again, logged = self.restart(buyer, store, data_dir, downloads, whileDown)
        return again, downloads, sellers, logged

    def test_restartFetchesWhatTheBuyOKNamed(self):
        """A purchase whose buyOK named the content paid for is fetched
        after a restart, its offers record gone or not."""
        again, downloads, sellers, logged = self.crashAndRestart(os.unlink,
                                                                 legacy=False)
        self.market.run(20)
        self.assertFetched(downloads, "big", self.data)
        self.assertEqual(self.sales(sellers), 1)

    def test_restartFetchesALegacyPurchaseByItsRecord(self):
        """A purchase from before buyOKs named the content is fetched after
        a restart by what its offers record says its seller offered (its
        seller's id has 39 digits: before, such a record was of the wrong
        fields and nothing was fetched)."""
        again, downloads, sellers, logged = self.crashAndRestart(lambda path: None)
        self.market.run(20)
        self.assertFetched(downloads, "big", self.data)
        self.assertEqual(self.sales(sellers), 1)

    def test_restartWithAnUnusableRecordSaysSoAndFetchesNothing(self):
        """
        A purchase in the bag from before buyOKs named the content, whose
        offers record is missing or damaged, cannot tell which content was
        paid for: one warning names the
        file, the record and what is wrong with it, nothing is fetched (a
        guess could be another file), nothing is bought again, and the
        node runs on.
        """

        def write(text):
            def damage(path):
                with open(path, "wb") as f:
                    f.write(text if type(text) is bytes else text.encode())
            return damage

        wrong = {"name": "big", "sellers": {"1": {"sha256": 5, "size": 1}}}
        for damage, why in [(os.unlink, "is missing (a plain item has none)"),
                            (write("{not json"), "is not valid JSON"),
                            (write(b"\xff{}"), "is not valid JSON"),
                            (write("[]"), "is of the wrong fields"),
                            (write(json.dumps(wrong)),
                             "is of the wrong fields (sellers.1.sha256 must be"),
                            (write('{"name": "big", "sellers": {}}'),
                             "is without an offer from seller {seller}, so")]:
            again, downloads, sellers, logged = self.crashAndRestart(damage)
            said = [formatEvent(event) for event in logged
                    if event.get("log_level") in (LogLevel.warn, LogLevel.error,
                                                  LogLevel.critical)]
            record = os.path.join(downloads, JOURNAL, "big.json")
            self.assertEqual(len(said), 1, said)
            seller = shortId(sellers[0].id)
            self.assertIn(f"not fetching big, bought from seller {seller}: "
                          f"its offers record {record} {why.format(seller=seller)}",
                          said[0])
            self.assertIn("so which content was paid for is unknown", said[0])
            self.assertEqual(self.fetcher(again).downloads, {})
            self.assertFalse(os.path.exists(os.path.join(downloads, "big")))
            self.assertEqual(len(self.market.role(again, "buyer").bag), 1)
            self.assertEqual(self.sales(sellers), 1)
            self.stopAll()

    def test_restartAfterTheFileIsInPlaceSaysNothing(self):
        """A file put in place took its record with it: a restart finds
        the purchase in the bag and no record, and that is no fault."""
        sellers, store, data_dir, buyer, downloads = self.durableBuyerOfBig(latency=0.0)
        self.market.run(20)
        self.assertFetched(downloads, "big", self.data)
        again, logged = self.restart(buyer, store, data_dir, downloads)
        self.assertEqual([formatEvent(e) for e in logged
                          if e.get("log_level") == LogLevel.warn], [])
        self.assertEqual(self.fetcher(again).downloads, {})
        self.assertEqual(self.sales(sellers), 1)

    def test_stoppedMidTransferLeavesNothingRunning(self):
        """A buyer stopped in the middle of a fetch cancels every timer,
        connection and thread job; the part file stays for a resume."""
        self.makeMarket(latency=0.01)
        self.addSeller(self.sharing({"big": self.data}))
        buyer, downloads = self.addBuyer(["big"])
        fetcher = self.fetcher(buyer)
        self.runUntilPiecesDone(fetcher, "big", 5)
        self.market.stop(buyer)
        self.assertEqual(self.market.leftovers(buyer),
                         {"delayed_calls": [], "connections": []})
        self.assertIn(partName("big", sha(self.data)),
                      os.listdir(os.path.join(downloads, PRIVATE)))

    def test_durableSellerForgetsFilesGoneWhileDown(self):
        """A seller with a data dir keeps its files out of its counted
        stock (their sales commit as copies); restarted, it offers what
        its folder holds, and so, with the file gone, offers it no more."""
        self.makeMarket()
        folder = self.sharing({"f": b"content"})
        store = SQLiteStore(scratchDir(self))
        self.addCleanup(store.close)
        seller = self.market.addNode(discovery=self.discovery, store=store,
                                     seller={"stock": {"apple": 1}, "share": folder})
        buyer, downloads = self.addBuyer(["f"])
        self.market.run(10)
        self.assertFetched(downloads, "f", b"content")
        self.assertEqual(store.inventory(), {"apple": 1})
        self.assertEqual([(sale.item, sale.copy) for sale in store.sales()],
                         [("f", True)])
        self.market.crash(seller)
        os.remove(os.path.join(folder, "f"))
        again = self.market.restart(seller, store, seller={"stock": {"apple": 1},
                                                          "share": folder})
        self.market.run(3)
        role = self.market.role(again, "seller")
        self.assertEqual((role.stock, role.inventory()), ({"apple": 1}, {"apple": 1}))
        self.assertIsNone(role.describe("f"))

    def test_fullDiskLeavesNoHalfFile(self):
        def full(fd, offset, length):
            raise OSError(errno.ENOSPC, "No space left on device")

        self.patch(os, "posix_fallocate", full)
        self.makeMarket()
        self.addSeller(self.sharing({"big": self.data}))
        buyer, downloads = self.addBuyer(["big"])
        logged = []
        from twisted.logger import globalLogPublisher
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        self.market.run(10)
        self.assertEqual([entry for entry in os.listdir(downloads)
                          if entry != JOURNAL], [])
        reasons = [str(event.get("why")) for event in logged
                   if "cannot download" in event.get("log_format", "")]
        record = os.path.join(downloads, JOURNAL, "big.json")
        self.assertEqual(reasons, [f"no space left in the downloads folder {downloads}: "
                                   f"cannot make room for {2 * PIECE} of its "
                                   f"{len(self.data)} bytes (free "
                                   "some, or give --downloads a folder on a disk with room)"
                                   f"; the purchase is recorded in {record}: run again "
                                   "once there is room, it is fetched without being "
                                   "bought again"])

    def test_fullDiskSaidOnceByItsOwner(self):
        """A buyer whose download gives up, with an owner that ends on it
        (a daemon told --exit-when-done, bazaar buy), has the owner say
        it, in its error line: the fetcher logs no line of its own, which
        a terminal showed beside that line."""
        def full(fd, offset, length):
            raise OSError(errno.ENOSPC, "No space left on device")

        self.patch(os, "posix_fallocate", full)
        self.makeMarket()
        self.addSeller(self.sharing({"big": self.data}))
        buyer, downloads = self.addBuyer(["big"])
        told = []
        self.fetcher(buyer).onGaveUp = told.append
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        self.market.run(10)
        record = os.path.join(downloads, JOURNAL, "big.json")
        self.assertEqual(told, [f"cannot download big: no space left in the downloads "
                                f"folder {downloads}: cannot make room for "
                                f"{2 * PIECE} of its {len(self.data)} bytes (free "
                                "some, or give "
                                "--downloads a folder on a disk with room); the purchase "
                                f"is recorded in {record}: run again once there is "
                                "room, it is fetched without being bought again"])
        self.assertEqual([formatEvent(event) for event in logged
                          if "cannot download" in formatEvent(event)], [])

    def test_offersNotRecordedSaidSoWhenBought(self):
        """Offers that could not be recorded (a full disk) are said so; the
        buyOK names the content paid for, so the file is fetched all the
        same."""
        def full(journal, name, offers):
            raise OSError(errno.ENOSPC, "No space left on device")

        self.patch(Journal, "note", full)
        self.makeMarket()
        self.addSeller(self.sharing({"big": self.data}))
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        buyer, downloads = self.addBuyer(["big"])
        self.market.run(10)
        said = [formatEvent(event) for event in logged
                if event.get("log_level") in (LogLevel.warn, LogLevel.critical)]
        self.assertEqual(said, [
            f"cannot record the offers of big in {downloads}: No space left on device"])
        with open(os.path.join(downloads, "big"), "rb") as f:
            self.assertEqual(sha(f.read()), sha(self.data))

    def test_offersNotRecordedWithAnOwnerBuyNothing(self):
        """
        `bazaar buy FILE` from a folder that takes no writes (a read-only
        root, the service's working directory /): the offers could not be
        recorded, yet the file was bought, the seller's sale recorded, and
        only then the fetch failed, exit 1.  With an owner that ends on a
        failure, offers that cannot be recorded end it before any buy:
        nothing is sold, nothing is in the bag.
        """
        def readOnly(journal, name, offers):
            raise OSError(errno.EROFS, "cannot create /.bazaar-downloads: Read-only "
                          "file system")

        self.patch(Journal, "note", readOnly)
        self.makeMarket()
        seller = self.addSeller(self.sharing({"big": self.data}))
        buyer, downloads = self.addBuyer(["big"])
        told = []
        self.fetcher(buyer).onGaveUp = told.append
        self.market.run(10)
        self.assertEqual(told[0], "cannot download big: cannot create "
                         "/.bazaar-downloads: Read-only file system; nothing bought")
        self.assertEqual(self.market.role(buyer, "buyer").bag, [])
        self.assertEqual(self.sales([seller]), 0)

    def test_fileAddedLaterIsBought(self):
        self.makeMarket()
        folder = self.sharing({})
        self.addSeller(folder)
        buyer, downloads = self.addBuyer(["late"])
        self.market.run(5)
        self.assertEqual(self.market.role(buyer, "buyer").bag, [])
        writeFile(folder, "late", b"here now")
        self.market.run(10)
        self.assertFetched(downloads, "late", b"here now")

    def test_removedFileNoLongerSold(self):
        self.makeMarket()
        folder = self.sharing({"gone": b"soon"})
        seller = self.addSeller(folder)
        self.market.run(3)
        os.remove(os.path.join(folder, "gone"))
        self.market.run(3)
        self.addBuyer(["gone"])
        self.market.run(10)
        self.assertEqual(self.sales([seller]), 0)


class IndexFetchTests(FetchTests):
    discovery = "index"
