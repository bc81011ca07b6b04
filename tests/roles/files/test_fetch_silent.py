"""
Silent sellers (issue 34): fresh keys offer the real content of a file a
buyer wants, signed with their own keys, at a transfer port that accepts
and never answers.  Each cost the buyer a stall's wait, one after another,
before it reached a seller that serves, and it gave the download up.  In a
L{Market} (the in-memory network, a fake clock): descriptions are asked
of several sellers at once, a seller that did not deliver is asked again
only when no other is left, and sellers not yet measured come after the
fastest that delivered: each silent key costs one stall, a few at a
time, and the file comes from the seller that serves it within a bound.
"""

import os
import random

from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.files.client import DEFAULT_STALL
from twisted_bazaar.roles.files.fetch import MAX_SOURCES
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import fileId, scratchDir, writeFile

PIECE = 4096
SILENT = 16
GIVE_UP = 120.0


class Silence(Protocol):
    """Takes every byte, answers none."""


class SilentSellerTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(7).randbytes(10 * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=3)

    def sharing(self):
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", self.data)
        return folder

    def addSilent(self):
        """A seller of song.ogg's real content whose transfer port, in its
        offers and records, is one that never answers."""
        node = self.market.addNode(seller={"stock": {}, "share": self.sharing()})
        self.market.run(2)
        shop = self.market.role(node, "seller").files
        port = self.market.network.listen(Factory.forProtocol(Silence), node.host)
        real = shop.describe

        def describe(item):
            described = real(item)
            if described is not None and item == "song.ogg":
                described = dict(described, transfer=port.getHost().port)
            return described

        shop.describe = describe
        shop.seller.discovery.stockChanged("song.ogg", shop.offered["song.ogg"])
        return node

    def test_silentSellersCostOneStallTogether(self):
        silent = [self.addSilent() for _ in range(SILENT)]
        honest = self.market.addNode(seller={"stock": {}, "share": self.sharing()})
        self.market.run(3)
        downloads = scratchDir(self)
        node = self.market.addNode(buyer={"wants": ["song.ogg"], "downloads": downloads,
                                          "download_give_up": GIVE_UP})
        buyer = self.market.role(node, "buyer")
        # Descriptions are asked of MAX_SOURCES sellers at once, and a
        # seller that did not deliver is asked again only when no other
        # is left: each silent key costs one stall, MAX_SOURCES - 1 of
        # them at a time beside the seller that serves (before: one stall
        # per key, one after another, for the description and again for
        # every piece, and the buyer never got the last pieces).
        rounds = -(-SILENT // (MAX_SOURCES - 1)) + 2
        self.market.run(5 + rounds * (DEFAULT_STALL + 1))
        self.assertTrue(buyer.satisfied, buyer.fetcher.unfinished())
        with open(os.path.join(downloads, "song.ogg"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        fetched = buyer.fetcher.fetched["song.ogg"][1]
        self.assertEqual(set(fetched), {honest.id})
        self.assertNotIn(honest.id, {s.id for s in silent})
        # It delivered: asked first from now on.
        self.assertIn(honest.id, buyer.fetcher.deliverers)
