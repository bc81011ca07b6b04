"""
End to end, files as goods: real ``twistd`` daemons over loopback.  Two
sellers share the same 50 MiB file and a third a different one; a buyer
buys both and fetches them; one of the two sellers is killed (``kill -9``)
in the middle of the transfer, and the file still arrives whole, with the
right SHA-256, from the other.  A file added to a shared folder is then
bought within seconds.

A buyer killed in the middle of a transfer and started again with the
same command resumes it, keeping what it had, and does not buy again.

Every wait is on a log line, bounded by a timeout; nothing sleeps.
"""

import hashlib
import os
import random
import shutil
import tempfile
import time

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import LiveMarket, nodeId

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Bytes a second each seller sends one buyer: slow enough that the
#: 50 MiB transfer takes a few seconds, so a seller can die in its middle.
RATE = 8 * 1024 * 1024
BIG = 50 * 1024 * 1024


def writeRandom(path, size, seed):
    """A file of size pseudo-random bytes; its SHA-256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = rng.randbytes(min(left, 1024 * 1024))
            f.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def sha256Of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


class FilesLiveTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-files-e2e-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder)
        self.addCleanup(self.market.stop)
        self.tracker = self.market.startTracker(timeout=TIMEOUT)

    def dir(self, name):
        path = os.path.join(self.folder, name)
        os.makedirs(path)
        return path

    def seller(self, name, folder):
        daemon = self.market.startNode(name, "--role", "seller", "--share", folder,
                                       "--transfer-rate", str(RATE))
        daemon.id = nodeId(daemon, TIMEOUT)
        return daemon

    def test_filesBoughtFetchedAndResumedFromAnotherSeller(self):
        first, second, third = self.dir("A"), self.dir("B"), self.dir("C")
        big_sha = writeRandom(os.path.join(first, "big.bin"), BIG, 1)
        shutil.copyfile(os.path.join(first, "big.bin"), os.path.join(second, "big.bin"))
        small_sha = writeRandom(os.path.join(third, "small.bin"), 3 * 1024 * 1024, 2)
        sellers = [self.seller("seller A", first), self.seller("seller B", second),
                   self.seller("seller C", third)]
        for daemon, name in zip(sellers, ("big.bin", "big.bin", "small.bin")):
            daemon.waitFor(rf"sharing {name} \(", TIMEOUT)
        downloads = self.dir("D")
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "big.bin",
                                      "--want", "small.bin", "--downloads", downloads)
        buyer.waitFor(r"big\.bin: 25% ", TIMEOUT)
        sellers[0].process.kill()
        sellers[0].finish()
        done = buyer.waitFor(r"downloaded big\.bin into .*, sha256 verified \((.*)\)",
                             TIMEOUT)
        served = {int(seller): int(count) for count, seller in
                  (part.split(" pieces from ") for part in done[1].split(", "))}
        # 50 pieces of 1 MiB; the killed seller served some, the other the
        # rest.
        self.assertEqual(sum(served.values()), 50)
        self.assertLess(served.get(sellers[0].id, 0), 50)
        self.assertGreater(served[sellers[1].id], 0)
        buyer.waitFor(r"downloaded small\.bin into .*, sha256 verified", TIMEOUT)
        self.assertEqual(sha256Of(os.path.join(downloads, "big.bin")), big_sha)
        self.assertEqual(sha256Of(os.path.join(downloads, "small.bin")), small_sha)
        self.assertEqual(len(buyer.matches(r"bought (big|small)\.bin from")), 2)
        self.assertEqual(sorted(os.listdir(downloads)),
                         [".bazaar-downloads", "big.bin", "small.bin"])

        # A file dropped into a shared folder is on offer, bought and
        # fetched within seconds.
        added = time.monotonic()
        with open(os.path.join(third, "late.txt"), "wb") as f:
            f.write(b"arrived late\n")
        sellers[2].waitFor(r"sharing late\.txt \(", 5)
        later = self.dir("E")
        buyer2 = self.market.startNode("buyer 2", "--role", "buyer", "--want",
                                       "late.txt", "--downloads", later)
        buyer2.waitFor(r"downloaded late\.txt into", TIMEOUT)
        self.assertLess(time.monotonic() - added, 15)
        with open(os.path.join(later, "late.txt"), "rb") as f:
            self.assertEqual(f.read(), b"arrived late\n")
        for daemon in [buyer, buyer2] + sellers[1:]:
            self.assertEqual(daemon.problems(), [], daemon.tail())

    def test_buyerKilledMidTransferResumesWithoutPayingTwice(self):
        shared = self.dir("A")
        big_sha = writeRandom(os.path.join(shared, "big.bin"), BIG, 3)
        seller = self.seller("seller", shared)
        seller.waitFor(r"sharing big\.bin \(", TIMEOUT)
        downloads = self.dir("D")
        args = ("--role", "buyer", "--want", "big.bin", "--downloads", downloads,
                "--data-dir", os.path.join(self.folder, "buyer-data"))
        buyer = self.market.startNode("buyer", *args)
        buyer.waitFor(r"big\.bin: 50% ", TIMEOUT)
        buyer.process.kill()
        buyer.finish()
        self.assertNotIn("big.bin", os.listdir(downloads))
        again = self.market.startNode("buyer again", *args)
        kept = again.waitFor(r"big\.bin: (\d+) of 50 pieces already on disk", TIMEOUT)
        self.assertGreaterEqual(int(kept[1]), 25)
        again.waitFor(r"downloaded big\.bin into .*, sha256 verified", TIMEOUT)
        self.assertEqual(sha256Of(os.path.join(downloads, "big.bin")), big_sha)
        self.assertEqual(again.matches(r"bought big\.bin from"), [])
        self.assertEqual(len(seller.matches(r"sold big\.bin to")), 1)
        for daemon in (seller, again):
            self.assertEqual(daemon.problems(), [], daemon.tail())
