"""
Offers from free keys (issue 34, new variants): a stranger answers every
search for a file a buyer wants with offers from fresh keys, each with a
valid record of its own signed by that key.  In a L{Market} (the
in-memory network, a fake clock), through the flood scheme's replies:
the buyer's record of offers (on disk, rewritten and fsynced at each new
seller) stays bounded, and an honest seller's file is still bought and
fetched.
"""

import json
import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.records import RecordBook
from twisted_bazaar.files import hashing
from twisted_bazaar.files.journal import JOURNAL, MOST_SELLERS
from twisted_bazaar.identity.keys import Identity, signedIf
from twisted_bazaar.schemes.flood.messages import Reply
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile

PIECE = 4096
#: Fresh keys the stranger answers each search with (what the buyer
#: keeps of one link's replies to one search).
KEYS_PER_SEARCH = 16


class SybilOffersTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.rng = random.Random(3)
        self.data = random.Random(7).randbytes(10 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)
        self.keys = 0

    def addSybil(self):
        """A node that answers every search for song.ogg with offers from
        KEYS_PER_SEARCH fresh keys, each of content of its own, and sells
        none of them."""
        folder = scratchDir(self)
        writeFile(folder, "other", b"something else")
        node = self.market.addNode(seller={"stock": {}, "share": folder})
        router = node.discovery.router
        arrived = router.arrived

        def searchArrived(search):
            arrived(search)
            if search.item != "song.ogg":
                return
            for _ in range(KEYS_PER_SEARCH):
                identity = Identity.fromRandom(self.rng)
                self.keys += 1
                record = RecordBook(identity, node.clock).record(
                    "song.ogg", node.host, node.port,
                    {"size": 10**9, "sha256": self.rng.randbytes(32).hex(),
                     "transfer": 1})
                node.route(signedIf(identity, Reply(
                    search.id, "song.ogg", search.return_path[::-1], identity.id,
                    node.host, node.port, record)))

        router.arrived = searchArrived
        return node

    def test_offersRecordIsBounded(self):
        """While a buyer looks for a file nobody sells yet, the stranger's
        offers name hundreds of keys: the buyer's record of offers names at
        most MOST_SELLERS; an honest seller that comes later is bought
        from, and its file fetched."""
        self.addSybil()
        self.market.run(2)
        downloads = scratchDir(self)
        node = self.market.addNode(buyer={"wants": ["song.ogg"], "downloads": downloads})
        buyer = self.market.role(node, "buyer")
        record = os.path.join(downloads, JOURNAL, "song.ogg.json")
        most = 0
        for _ in range(60):
            self.market.run(60)
            with open(record) as f:
                most = max(most, len(json.load(f)["sellers"]))
        self.assertGreater(self.keys, 2 * MOST_SELLERS)
        self.assertEqual(most, MOST_SELLERS)
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", self.data)
        honest = self.market.addNode(seller={"stock": {}, "share": folder})
        self.market.run(600)
        self.assertIn(honest.id, [purchase.seller for purchase in buyer.bag])
        with open(os.path.join(downloads, "song.ogg"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        self.assertTrue(buyer.satisfied)
