"""
Tests for L{twisted_bazaar.identity.signer}: batches signed exactly as
L{Identity.signed} signs, inline on a plain clock, on a thread of the
signer's own given a reactor that runs threads, and inline again once
stopped.
"""

import random
import threading

from twisted.internet.interfaces import IReactorThreads
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import directlyProvides

from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity, signedBy
from twisted_bazaar.wire.trade import BuyOK
from twisted_bazaar.identity.signer import Signer
from twisted_bazaar.store import ThreadExecutor

from tests.store.test_executors import ThreadedFakeReactor


def answers(identity, count=3):
    return [BuyOK(100 + n, "apple", (identity.id, 9)) for n in range(count)]


class InlineSignerTests(SynchronousTestCase):
    def setUp(self):
        self.identity = Identity.fromRandom(random.Random(3))

    def test_signsAtOnceInOrder(self):
        """On a plain clock, a batch is signed before signAll returns, in
        order, each as Identity.signed signs it."""
        signer = Signer.forClock(self.identity, Clock())
        self.assertTrue(signer.inline)
        messages = answers(self.identity)
        signed = self.successResultOf(signer.signAll(messages))
        self.assertEqual(signed, [(self.identity.signed(m), None) for m in messages])
        self.assertTrue(all(signedBy(m, self.identity.id) for m, _ in signed))

    def test_withoutAKey(self):
        """A node without a key sends its answers as they are, inline even
        on a reactor."""
        reactor = Clock()
        directlyProvides(reactor, IReactorThreads)
        signer = Signer.forClock(None, reactor)
        self.assertTrue(signer.inline)
        messages = answers(self.identity)
        self.assertEqual(self.successResultOf(signer.signAll(messages)),
                         [(m, None) for m in messages])

    def test_stop(self):
        self.successResultOf(Signer(self.identity).stop())


class ThreadedSignerTests(SynchronousTestCase):
    """A signer on a thread, driven through a fake reactor (see
    L{ThreadedFakeReactor})."""

    def setUp(self):
        self.identity = Identity.fromRandom(random.Random(3))
        self.reactor = ThreadedFakeReactor()
        self.signer = Signer(self.identity, ThreadExecutor(self.reactor))
        self.addCleanup(self.stop)

    def stop(self):
        d = self.signer.stop()
        self.reactor.runUntil(lambda: d.called)
        self.successResultOf(d)

    def test_forAReactor(self):
        """Given a reactor that runs threads and asked to, a node with a
        key gets a threaded signer (not inline: its signAll would not fire
        before it returns; test_signsOnItsThread shows the thread at
        work)."""
        reactor = Clock()
        directlyProvides(reactor, IReactorThreads)
        self.assertFalse(Signer.forClock(self.identity, reactor, threaded=True).inline)

    def test_notThreadedByDefault(self):
        """By default (what a seller asks for) a signer on a reactor that
        runs threads signs inline."""
        reactor = Clock()
        directlyProvides(reactor, IReactorThreads)
        self.assertTrue(Signer.forClock(self.identity, reactor).inline)

    def test_signsOnItsThread(self):
        """The batch is signed off the caller's thread; the result comes
        back through the reactor, signed as Identity.signed signs."""
        threads = []
        sign = Identity.sign

        def recordingSign(identity, data):
            threads.append(threading.get_ident())
            return sign(identity, data)

        self.patch(Identity, "sign", recordingSign)
        messages = answers(self.identity)
        d = self.signer.signAll(messages)
        self.assertNoResult(d)
        self.reactor.runUntil(lambda: d.called)
        signed = [m for m, _ in self.successResultOf(d)]
        self.assertEqual(len(threads), 3)
        self.assertNotIn(threading.get_ident(), threads)
        self.assertEqual([wire.canonical(m) for m in signed],
                         [wire.canonical(self.identity.signed(m)) for m in messages])
        self.assertTrue(all(signedBy(m, self.identity.id) for m in signed))

    def test_inlineOnceStopped(self):
        """After stop, the thread is gone and batches are signed at once."""
        self.assertFalse(self.signer.inline)
        self.stop()
        self.assertTrue(self.signer.inline)
        messages = answers(self.identity, 1)
        self.assertEqual(self.successResultOf(self.signer.signAll(messages)),
                         [(self.identity.signed(messages[0]), None)])


class BatchedSignerTests(SynchronousTestCase):
    """On a reactor, a signer signs the buyOKs of each batch under one
    batch signature (docs/protocol.md, "Batch signatures")."""

    def setUp(self):
        self.identity = Identity.fromRandom(random.Random(3))
        reactor = Clock()
        directlyProvides(reactor, IReactorThreads)
        self.signer = Signer.forClock(self.identity, reactor)

    def test_forAReactor(self):
        """A reactor's signer batches, and its answers wait for the end of
        the turn; a plain clock's signs each answer alone, at once."""
        self.assertTrue(self.signer.batched)
        self.assertTrue(self.signer.inline)
        self.assertFalse(self.signer.atOnce)
        plain = Signer.forClock(self.identity, Clock())
        self.assertFalse(plain.batched)
        self.assertTrue(plain.atOnce)

    def test_buyOKsUnderOneSignature(self):
        """The buyOKs share one signature, each with its proof and checked
        alone; the other answers, in their places, are signed alone."""
        error = wire.Error("soldout", "none left", 7, (self.identity.id, 9))
        messages = [error, *answers(self.identity, 3)]
        messages.insert(2, error)
        result = self.successResultOf(self.signer.signAll(messages))
        self.assertEqual(result[0], (self.identity.signed(error), None))
        self.assertEqual(result[2], (self.identity.signed(error), None))
        # Each buyOK as it was, with its signed payload.
        self.assertEqual([result[at][0] for at in (1, 3, 4)], answers(self.identity, 3))
        signed = [m if payload is None else wire.decode(payload) for m, payload in result]
        oks = [signed[1], *signed[3:]]
        self.assertEqual([ok.id for ok in oks], [100, 101, 102])
        self.assertEqual(len({ok.sig for ok in oks}), 1)
        self.assertTrue(all(ok.proof for ok in oks))
        self.assertTrue(all(signedBy(m, self.identity.id) for m in signed))

    def test_loneBuyOKAlone(self):
        """A batch with one buyOK signs it alone, as before batches: no
        proof."""
        messages = answers(self.identity, 1)
        self.assertEqual(self.successResultOf(self.signer.signAll(messages)),
                         [(self.identity.signed(messages[0]), None)])

    def test_aloneNeverInTheBatch(self):
        """The buyOKs at the indices asked alone are signed alone, in
        their places, and the others batched: a repeat's buyOK takes no
        batch signature."""
        messages = answers(self.identity, 4)
        result = self.successResultOf(self.signer.signAll(messages, {0, 2}))
        self.assertEqual([result[at] for at in (0, 2)],
                         [(self.identity.signed(messages[at]), None) for at in (0, 2)])
        oks = [wire.decode(result[at][1]) for at in (1, 3)]
        self.assertEqual([ok.id for ok in oks], [101, 103])
        self.assertEqual(len({ok.sig for ok in oks}), 1)
        self.assertTrue(all(ok.proof and signedBy(ok, self.identity.id) for ok in oks))
        only = self.successResultOf(self.signer.signAll(messages[:2], {0}))
        self.assertEqual(only, [(self.identity.signed(m), None) for m in messages[:2]])
