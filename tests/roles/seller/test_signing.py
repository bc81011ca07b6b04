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

    def signAll(self, messages):
        self.calls.append(list(messages))
        if self.inline:
            return defer.succeed([("signed", m) for m in messages])
        d = defer.Deferred()
        self.batches.append((d, messages))
        return d

    def finish(self):
        d, messages = self.batches.pop(0)
        d.callback([("signed", m) for m in messages])


class FakeLedger:
    def __init__(self):
        self.uncommitted, self.undone = set(), set()

    def committed(self, sale):
        return sale not in self.uncommitted

    def holds(self, sale):
        return sale not in self.undone


class FakeNode:
    def __init__(self):
        self.clock = task.Clock()
        self.routed = []

    def route(self, message):
        self.routed.append(message)


class FakeSeller:
    log = Logger()

    def __init__(self):
        self.node = FakeNode()
        self.sales = FakeLedger()
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
        self.seller.sales.uncommitted.add("sale")
        queue.answer("buyOK", "sale")
        self.assertEqual(self.seller.node.routed, [])
        self.seller.sales.uncommitted.clear()
        queue.sendCommitted()
        self.assertEqual(self.seller.node.routed, [("signed", "buyOK")])

    def test_undoneSaleIsNeverAnswered(self):
        queue = self.queue(inline=True)
        self.seller.sales.uncommitted.add("sale")
        queue.answer("buyOK", "sale")
        self.seller.sales.undone.add("sale")
        queue.dropUndone()
        self.seller.sales.uncommitted.clear()
        queue.sendCommitted()
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
