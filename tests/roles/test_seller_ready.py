"""
Tests of a seller whose store does not take writes yet (its writer
process still loading, seconds on a loaded machine): a buy or ask that
reaches it then, by a link the buyer kept, is answered ``notyet`` and
nothing is sold or recorded (docs/protocol.md §13).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.store.sqlite import SQLiteStore
from twisted_bazaar.wire import trade

from tests.helpers import clockStartMs, feed, flooded, linkPeer, makeNode, sent
from tests.store.pipedwriter import PipedWriter
from tests.store.test_stores import scratchDir

EXPIRES = clockStartMs() + 300_000


class NotWritingYetTests(SynchronousTestCase):
    def setUp(self):
        node = makeNode(1)
        self.store = node.store = SQLiteStore(
            scratchDir(self), writer=lambda path, timeout: PipedWriter(
                path, timeout, held=True))
        self.seller = Seller(flooded(node), {"apple": 2})
        self.buyer = linkPeer(node, 9)

    def tearDown(self):
        stopped = self.seller.stopService()
        self.store._writer.run()
        self.successResultOf(stopped)
        closed = self.store.close()
        self.store._writer.run()
        self.successResultOf(closed)

    def test_aBuyBeforeTheWriterIsRefusedNotYet(self):
        """
        A buy heard before the writer answered is refused ``notyet`` at
        once, and nothing is sold: before, it was sold (the ledger held
        it, a unit gone) while its buyOK waited silent for the writer,
        so the buyer gave the seller up and bought elsewhere, and the
        unit was in no bag.  Once the writer answers, the same buy sells.
        """
        feed(self.buyer, trade.Buy(50, "apple", (9, 1), expires=EXPIRES))
        [refused] = sent(self.buyer)
        self.assertEqual((refused.code, refused.id, refused.path),
                         ("notyet", 50, (1, 9)))
        self.assertIn("does not take writes yet", refused.info)
        self.assertEqual((self.seller.ledger, self.seller.stock), ({}, {"apple": 2}))
        self.store._writer.run()
        feed(self.buyer, trade.Buy(50, "apple", (9, 1), expires=EXPIRES))
        self.seller.node.clock.advance(0)  # the turn's group commit
        self.store._writer.run()
        self.assertEqual(sent(self.buyer), [trade.BuyOK(50, "apple", (1, 9))])
        self.assertEqual(self.seller.stock, {"apple": 1})

    def test_anAskBeforeTheWriterIsRefusedNotYet(self):
        """An ask heard before the writer answered is refused ``notyet``
        and closes nothing: an ``unsold`` would wait for the writer."""
        feed(self.buyer, trade.Ask(50, "apple", (9, 1), expires=EXPIRES))
        [refused] = sent(self.buyer)
        self.assertEqual((refused.code, refused.id), ("notyet", 50))
        self.assertNotIn((None, 50), self.seller.closed)
