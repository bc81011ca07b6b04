"""
Tests for L{twisted_bazaar.roles.seller.signing}: answers signed (in one
batch a turn with a threaded signer) and sent, a buyOK only once its
sale is on disk, and one whose sale was undone never.
"""

from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.seller.signing import AnswerQueue


class FakeSigner:
    """Signs by tagging; inline at once, else when the test says."""

    def __init__(self, inline):
        self.inline = self.atOnce = inline
        self.batches = []
        self.calls = []
        self.alone = []

    def signAll(self, messages, alone=()):
        self.calls.append(list(messages))
        #: The indices each call was asked to sign alone.
        self.alone.append(set(alone))
        if self.inline:
            return defer.succeed([(("signed", m), None) for m in messages])
        d = defer.Deferred()
        self.batches.append((d, messages))
        return d

    def finish(self):
        d, messages = self.batches.pop(0)
        d.callback([(("signed", m), None) for m in messages])


class FakeLedger:
    """The seller's L{Ledger} as the answers read it: its sales by key
    (each fake sale is its own key), and the keys not yet on disk."""

    def __init__(self):
        self.uncommitted, self.undone = set(), set()
        self.ledger = self

    def holds(self, sale):
        """Whether sale is kept: not undone."""
        return sale.ledgerKey not in self.undone


class FakeSale:
    """A sale: of a unit of stock, or of a copy of a shared file."""

    def __init__(self, copy=False):
        self.copy = copy
        self.ledgerKey = self


#: A sale of a unit of stock.
SALE = FakeSale()


class FakeNode:
    def __init__(self):
        self.clock = task.Clock()
        self.routed = []
        #: Whether each message routed answered a trade that counts.
        self.traded = []

    def route(self, message, traded=True, payload=None):
        self.routed.append(message if payload is None else (message, payload))
        self.traded.append(traded)


class FakeStore:
    durable = False


class FakeSeller:
    log = Logger()

    def __init__(self):
        self.node = FakeNode()
        self.sales = FakeLedger()
        self.store = FakeStore()
        self.idle_checks = 0

    def checkIdle(self):
        self.idle_checks += 1


class AnswerQueueTests(SynchronousTestCase):
    def queue(self, inline):
        self.seller = FakeSeller()
        self.signer = FakeSigner(inline)
        return AnswerQueue(self.seller, self.signer)

    def test_inlineSendsAtOnce(self):
        queue = self.queue(inline=True)
        queue.answer("soldout")
        self.assertEqual(self.seller.node.routed, [("signed", "soldout")])
        self.assertFalse(queue.busy)

    def test_threadedSignsOneBatchATurn(self):
        queue = self.queue(inline=False)
        queue.answer("a")
        queue.answer("b")
        self.assertTrue(queue.busy)
        self.seller.node.clock.advance(0)
        queue.answer("c")  # signed in the next batch
        self.assertEqual([m for _, m in self.signer.batches], [["a", "b"]])
        self.signer.finish()
        self.assertEqual(self.seller.node.routed, [("signed", "a"), ("signed", "b")])
        self.assertEqual([m for _, m in self.signer.batches], [["c"]])

    def test_batchedSignsOneBatchATurn(self):
        """An inline signer that signs in batches gets each turn's answers
        as one batch at the end of the turn, and they leave then."""
        queue = self.queue(inline=True)
        self.signer.atOnce = False
        queue.answer("a")
        queue.answer("b")
        self.assertEqual(self.seller.node.routed, [])
        self.assertTrue(queue.busy)
        self.seller.node.clock.advance(0)
        self.assertEqual(self.seller.node.routed, [("signed", "a"), ("signed", "b")])
        self.assertEqual(self.signer.calls, [["a", "b"]])
        self.assertFalse(queue.busy)

    def test_buyOKWaitsForItsCommit(self):
        queue = self.queue(inline=True)
        self.seller.sales.uncommitted.add(SALE)
        queue.answer("buyOK", SALE)
        self.assertEqual(self.seller.node.routed, [])
        self.seller.sales.uncommitted.clear()
        queue.sendCommitted([SALE])
        self.assertEqual(self.seller.node.routed, [("signed", "buyOK")])

    def test_aCommitSendsItsOwnSalesAnswers(self):
        """A commit's return sends the buyOKs of its own sales (each as
        often as it was answered: a buy repeated while its commit was in
        flight gets its buyOK twice), and none of a sale still waiting
        for another commit."""
        queue = self.queue(inline=True)
        first, second = FakeSale(), FakeSale()
        self.seller.sales.uncommitted.update((first, second))
        queue.answer("first", first)
        queue.answer("second", second)
        queue.answer("first again", first)
        self.seller.sales.uncommitted.discard(first)
        queue.sendCommitted([first])
        self.assertEqual(self.seller.node.routed,
                         [("signed", "first"), ("signed", "first again")])
        self.seller.sales.uncommitted.discard(second)
        queue.sendCommitted([second])
        queue.sendCommitted([first, second])  # sent once only
        self.assertEqual(self.seller.node.routed, [
            ("signed", "first"), ("signed", "first again"), ("signed", "second")])

    def test_aCopyMakesNoTradingPartner(self):
        """A buyOK for a unit of stock is routed as a trade that makes its
        link a trading partner's; one for a copy of a shared file is not
        (it cost its buyer nothing a stranger cannot mint); other answers
        prove nothing anyway."""
        queue = self.queue(inline=True)
        queue.answer("buyOK", SALE)
        queue.answer("buyOK", FakeSale(copy=True))
        copy = FakeSale(copy=True)
        self.seller.sales.uncommitted.add(copy)
        queue.answer("buyOK", copy)
        self.seller.sales.uncommitted.clear()
        queue.sendCommitted([copy])
        self.assertEqual(self.seller.node.traded, [True, False, False])

    def test_payloadRoutedAsSigned(self):
        """A buyOK the signer gives as its wire payload (batch-signed) is
        routed with it, once its sale is committed."""
        queue = self.queue(inline=True)
        self.signer.signAll = lambda messages, alone=(): defer.succeed(
            [(m, b"payload of " + m) for m in messages])
        self.seller.sales.uncommitted.add(SALE)
        queue.answer(b"buyOK", SALE)
        self.seller.sales.uncommitted.clear()
        queue.sendCommitted([SALE])
        self.assertEqual(self.seller.node.routed, [(b"buyOK", b"payload of buyOK")])

    def test_undoneSaleIsNeverAnswered(self):
        queue = self.queue(inline=True)
        self.seller.sales.uncommitted.add(SALE)
        queue.answer("buyOK", SALE)
        self.seller.sales.undone.add(SALE)
        queue.dropUndone([SALE])
        self.seller.sales.uncommitted.clear()
        queue.sendCommitted([SALE])
        self.assertEqual(self.seller.node.routed, [])

    def test_signerFailed(self):
        queue = self.queue(inline=False)
        queue.answer("a")
        self.seller.node.clock.advance(0)
        d, _ = self.signer.batches.pop()
        d.errback(RuntimeError("no key"))
        self.assertEqual((self.seller.node.routed, queue.busy), ([], False))
        self.assertEqual(len(self.flushLoggedErrors()), 0)

    def test_cancelSigning(self):
        queue = self.queue(inline=False)
        queue.answer("a")
        queue.cancelSigning()
        self.assertEqual(self.seller.node.clock.getDelayedCalls(), [])


class SignedOnDiskTests(SynchronousTestCase):
    """A durable seller's batching signer signs a buyOK once its sale's
    commit is back, with those of every commit back in the same turn."""

    def setUp(self):
        self.seller = FakeSeller()
        self.seller.store.durable = True
        self.signer = FakeSigner(inline=True)
        self.signer.atOnce = False
        self.queue = AnswerQueue(self.seller, self.signer)
        self.first, self.second = FakeSale(), FakeSale()
        self.seller.sales.uncommitted.update((self.first, self.second))

    def test_commitsOfATurnSignedAsOneBatch(self):
        self.queue.answer("first", self.first)
        self.queue.answer("error")
        self.queue.answer("second", self.second)
        self.seller.node.clock.advance(0)
        # The other answers leave; the buyOKs wait for their commits.
        self.assertEqual(self.signer.calls, [["error"]])
        self.seller.sales.uncommitted.clear()
        self.queue.sendCommitted([self.first])
        self.queue.sendCommitted([self.second])
        self.assertTrue(self.queue.busy)
        self.assertEqual(len(self.signer.calls), 1)
        self.seller.node.clock.advance(0)
        self.assertEqual(self.signer.calls, [["error"], ["first", "second"]])
        self.assertEqual(self.seller.node.routed, [
            ("signed", "error"), ("signed", "first"), ("signed", "second")])
        self.assertFalse(self.queue.busy)

    def test_undoneNeverSigned(self):
        self.queue.answer("first", self.first)
        self.queue.answer("second", self.second)
        self.seller.sales.uncommitted.clear()
        self.seller.sales.undone.add(self.first)
        self.queue.dropUndone([self.first])
        self.queue.sendCommitted([self.first, self.second])
        self.seller.node.clock.advance(0)
        self.assertEqual(self.signer.calls, [["second"]])
        self.assertEqual(self.seller.node.routed, [("signed", "second")])

    def test_repeatSignedAlone(self):
        """A buyOK answered alone (a repeat's) is signed alone in the batch
        of its commit's turn, the others batched."""
        self.queue.answer("first", self.first)
        self.queue.answer("again", self.second, alone=True)
        self.seller.sales.uncommitted.clear()
        self.queue.sendCommitted([self.first, self.second])
        self.seller.node.clock.advance(0)
        self.assertEqual((self.signer.calls, self.signer.alone),
                         ([["first", "again"]], [{1}]))

    def test_undoneRepeatForgotten(self):
        """A repeat's buyOK dropped with its undone sale is no longer
        marked alone: the next answer that is the same object (a string
        here) is batched as any."""
        self.queue.answer("first", self.first, alone=True)
        self.queue.dropUndone([self.first])
        self.queue.answer("first", self.second)
        self.seller.sales.uncommitted.clear()
        self.queue.sendCommitted([self.second])
        self.seller.node.clock.advance(0)
        self.assertEqual((self.signer.calls, self.signer.alone), ([["first"]], [set()]))

    def test_inMemorySignedEachTurn(self):
        """In memory, a turn's answers are signed at its end, commits or
        not, as before."""
        self.seller.store.durable = False
        self.queue.answer("first", self.first)
        self.seller.node.clock.advance(0)
        self.assertEqual(self.signer.calls, [["first"]])
