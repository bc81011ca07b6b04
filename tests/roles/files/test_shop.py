"""
What L{twisted_bazaar.roles.files.shop.FileShop} shows of the copies
sold, in a L{Market} (the in-memory network, a fake clock): every copy
ever sold, those the seller still remembers one by one and those it
forgot after 15 minutes and only counts (docs/protocol.md §11, step 7),
across a restart on its data dir.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.roles import seller as seller_module
from twisted_bazaar.store import SQLiteStore
from twisted_bazaar.testing import Market, MemoryNetwork
from tests.files.helpers import scratchDir, writeFile

PIECE = 4096
#: Seconds a seller remembers a copy sold.
WINDOW = seller_module.MAX_EXPIRY_AHEAD + seller_module.CLOSED_GRACE


class CopiesSoldTests(SynchronousTestCase):
    def setUp(self):
        self.patch(hashing, "MIN_PIECE", PIECE)
        self.market = Market(MemoryNetwork(rng=random.Random(1)), seed=2)
        self.share = scratchDir(self)
        writeFile(self.share, "song.ogg", b"la" * 3000)
        self.data = scratchDir(self)

    def store(self):
        store = SQLiteStore(self.data)
        self.addCleanup(store.close)
        return store

    def sold(self, seller):
        [(name, _, _, sold)] = self.market.services[seller].status.state().files
        self.assertEqual(name, "song.ogg")
        return sold

    def buy(self):
        self.market.addNode(buyer={"wants": ["song.ogg"], "downloads": scratchDir(self)})
        self.market.run(5)

    def test_everyCopyCountedAcrossForgettingAndARestart(self):
        settings = {"stock": {}, "share": self.share}
        seller = self.market.addNode(store=self.store(), seller=settings)
        self.market.run(3)
        self.buy()
        self.assertEqual(self.sold(seller), 1)
        self.market.run(WINDOW + 1)
        self.buy()
        role = self.market.role(seller, "seller")
        self.assertEqual((self.sold(seller), len(role.ledger)), (2, 1))
        self.assertEqual(seller.store.copiesSold(), {"song.ogg": 1})
        self.market.crash(seller)
        seller = self.market.restart(seller, self.store(), seller=settings)
        self.market.run(3)
        self.assertEqual(self.sold(seller), 2)
