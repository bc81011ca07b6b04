"""
Pieces of a hostile size (issue 34, new variants): a buyer writes a
piece's bytes as they come and checks them once the piece is in, so a
description whose one piece is the whole file would have it write every
byte of a stranger's before checking one, past the rule that reserves
room only once a piece is verified.  In a L{Market} (the in-memory
network, a fake clock), through the transfer protocol: a description
whose ``pieceSize`` is not the one its ``size`` gives
(docs/protocol.md §19.4, step 1) is refused before any byte is asked for.
"""

import hashlib
import os
import random

import attr
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.files.downloads import PRIVATE, partName
from twisted_bazaar.files.tree import identityOf
from twisted_bazaar.testing import Market, MemoryNetwork
from twisted_bazaar.wire.ids import shortId
from tests.files.helpers import scratchDir, writeFile

PIECE = 4096
PIECES = 64


class HostilePieceSizeTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.data = random.Random(7).randbytes(PIECES * PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1),
                                           latency=(0.005, 0.005)), seed=2)

    def addStranger(self):
        """A seller of song.ogg whose description is one piece of the whole
        file's size, with a hash of no bytes it sends: its offer, its
        ``about`` and its identity all agree, and it serves the bytes of
        the file it holds."""
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", self.data)
        node = self.market.addNode(seller={"stock": {}, "share": folder})
        self.market.run(2)
        share = self.market.role(node, "seller").files.share
        real = share.files["song.ogg"]
        piece = hashlib.sha256(b"not these bytes").digest()
        size = len(self.data)
        hostile = attr.evolve(real, sha256=identityOf(size, size, piece),
                              piece_size=size, pieces=(piece,), root=piece)
        del share._byHash[real.sha256]
        share.files["song.ogg"] = hostile
        share._byHash[hostile.sha256] = "song.ogg"
        return node, hostile

    def test_pieceOfTheWholeFileIsRefused(self):
        """The buyer refuses the description, says why, avoids the seller,
        and writes none of its bytes."""
        stranger, hostile = self.addStranger()
        downloads = scratchDir(self)
        with capturedLogs() as events:
            node = self.market.addNode(buyer={"wants": ["song.ogg"],
                                              "downloads": downloads})
            buyer = self.market.role(node, "buyer")
            self.market.run(10)
        said = [formatEvent(event) for event in events]
        [purchase] = buyer.bag
        # Not one of the stranger's bytes written (all of them were).
        part = os.path.join(downloads, PRIVATE, partName("song.ogg", hostile.sha256))
        self.assertEqual(os.stat(part).st_size, 0)
        self.assertEqual(purchase.sha256, hostile.sha256)
        self.assertIn(f"seller {shortId(stranger.id)} describes song.ogg with pieces "
                      f"of {len(self.data)} bytes, not the {PIECE} its size gives; "
                      "avoiding it", said)
        self.assertEqual(buyer.fetcher.downloads["song.ogg"].have, 0)
