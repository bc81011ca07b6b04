"""
Phantom files (issue 34): a stranger's signed record names the file a
buyer wants, with a size and content of its choosing, and serves none of
it.  In a L{Market} (the in-memory network, a fake clock): the buyer
reserves no disk on its word, gives the download up (after
--download-give-up, or, as the phantom answers nofile, once the honest
content is found), keeps nothing of it, does not count the want as met,
and buys the file an honest seller offers.
"""

import os
import random

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.files.downloads import PRIVATE, partName
from twisted_bazaar.roles.files.shop import FILE_UNITS
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile

PIECE = 4096
#: The phantom's claim: a terabyte, of content nobody has.
PHANTOM_SIZE = 10**12
PHANTOM_SHA = "ab" * 32
GIVE_UP = 20.0


class PhantomFileTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(7).randbytes(10 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)

    def sharing(self, files):
        folder = scratchDir(self)
        for name, data in files.items():
            writeFile(folder, name, data)
        return folder

    def addPhantom(self):
        """A seller that offers song.ogg as PHANTOM_SIZE bytes of
        PHANTOM_SHA, signed by its own key, and sells it; its transfer port
        knows no such content."""
        node = self.market.addNode(seller={"stock": {}, "share": self.sharing(
            {"other": b"something else"})})
        self.market.run(2)
        shop = self.market.role(node, "seller").files
        real = shop.describe

        def describe(item):
            if item == "song.ogg":
                return {"size": PHANTOM_SIZE, "sha256": PHANTOM_SHA,
                        "transfer": shop.server.port}
            return real(item)

        shop.describe = describe
        shop.offered["song.ogg"] = FILE_UNITS
        shop.seller.discovery.stockChanged("song.ogg", FILE_UNITS)
        return node

    def test_phantomReservesNothingAndTheRealFileIsBought(self):
        phantom = self.addPhantom()
        downloads = scratchDir(self)
        node = self.market.addNode(buyer={"wants": ["song.ogg"], "downloads": downloads,
                                          "download_give_up": GIVE_UP})
        buyer = self.market.role(node, "buyer")
        with capturedLogs() as events:
            self.market.run(3)
            [purchase] = buyer.bag
            self.assertEqual((purchase.seller, purchase.size, purchase.sha256),
                             (phantom.id, PHANTOM_SIZE, PHANTOM_SHA))
            # Nothing reserved on the phantom's word: no description, no
            # verified piece.
            part = os.path.join(downloads, PRIVATE, partName("song.ogg", PHANTOM_SHA))
            self.assertEqual(os.stat(part).st_blocks, 0)
            self.assertFalse(buyer.satisfied)
            honest = self.market.addNode(seller={"stock": {}, "share": self.sharing(
                {"song.ogg": self.data})})
            self.market.run(GIVE_UP + 40)
        said = [formatEvent(event) for event in events]
        # The phantom answers nofile: given up on as soon as a search finds
        # the honest content, not after --download-give-up.
        self.assertIn(f"cannot download song.ogg as content id {PHANTOM_SHA}: seller "
                      f"{shortId(phantom.id)} no longer shares it (nofile), and no other "
                      "seller of it is known; buying it from the sellers of other "
                      "content", "\n".join(said))
        # The phantom's part file went; the real file is in place, bought
        # from the honest seller; the want is met by verified bytes only.
        self.assertEqual(sorted(os.listdir(downloads)), [PRIVATE, "song.ogg"])
        self.assertEqual(os.listdir(os.path.join(downloads, PRIVATE)), [])
        with open(os.path.join(downloads, "song.ogg"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        self.assertEqual([p.seller for p in buyer.bag], [phantom.id, honest.id])
        self.assertTrue(buyer.satisfied)
        self.assertEqual(buyer.fetcher.failed, {})
        self.assertTrue([line for line in said if line.startswith("all wants met")])

    def test_onlyThePhantomGivesUpAsBefore(self):
        """With no other content offered under the name, the download
        gives up as it did (the buyer says it cannot download), and its
        part file, with no verified piece, goes."""
        self.addPhantom()
        downloads = scratchDir(self)
        node = self.market.addNode(buyer={"wants": ["song.ogg"], "downloads": downloads,
                                          "download_give_up": GIVE_UP})
        buyer = self.market.role(node, "buyer")
        self.market.run(GIVE_UP + 10)
        self.assertEqual(list(buyer.fetcher.failed), ["song.ogg"])
        self.assertFalse(buyer.satisfied)
        self.assertEqual([name for name in os.listdir(os.path.join(downloads, PRIVATE))
                          if name.endswith(".part")], [])
