"""
Where a node's trade answers are signed.

An Ed25519 signature cost a seller about as much as everything else it
does for a sale (docs/benchmarks.md, "Where a purchase's time goes").  So
a daemon's seller hands each turn's answers to a L{Signer} as one batch,
whose ``buyOK``s it signs under one batch signature (L{signBatched}:
one Ed25519 signature over a Merkle root, each ``buyOK`` with its own
proof, docs/protocol.md "Batch signatures").  Given a plain clock (tests,
the simulator), the signer signs each answer alone, at once, so runs stay
deterministic and their messages as before.

A signer may also sign on a thread of its own (an executor); the daemon
no longer asks for one: with one signature a batch, the rest of the work
is Python, which holds the GIL on any thread.
"""

from twisted.internet.interfaces import IReactorThreads

from twisted_bazaar.identity.keys import signedIf
from twisted_bazaar.store.executors import InlineExecutor, ThreadExecutor


def signAll(identity, messages, alone=()):
    """Each message signed by identity (as it is, for a node without a
    key), in order, as (message, None): each is encoded as it leaves."""
    return [(signedIf(identity, message), None) for message in messages]


def signBatched(identity, messages, alone=()):
    """
    The messages signed by identity, in order, as L{signAll} gives them;
    but those that can carry a batch signature's ``proof`` (``buyOK``s),
    when there are two or more not at an index in ``alone``, under one
    batch signature, each as (itself unsigned, its signed wire payload:
    L{Identity.batchPayloads}), so that it is built once.
    """
    batchable = [at for at, message in enumerate(messages)
                 if hasattr(message, "proof") and at not in alone]
    if identity is None or len(batchable) < 2:
        return signAll(identity, messages)
    if len(batchable) == len(messages):
        # Under load, a turn's answers are all buyOKs.
        return list(zip(messages, identity.batchPayloads(messages)))
    oks = [messages[at] for at in batchable]
    batch = dict(zip(batchable, zip(oks, identity.batchPayloads(oks))))
    return [batch[at] if at in batch else (signedIf(identity, message), None)
            for at, message in enumerate(messages)]


class Signer:
    """
    Signs batches of messages for one identity, on an executor.

    A threaded signer starts its thread with the first batch, and after
    L{stop} signs inline: a stopping node can still answer what comes in
    while its links close, and no thread outlives it.

    @ivar identity: the L{Identity} that signs, or None (nothing to sign).
    """

    def __init__(self, identity, executor=None, batched=False):
        """
        @param batched: sign each batch's ``buyOK``s under one batch
            signature (L{signBatched}); else each answer alone.
        """
        self.identity = identity
        self._executor = executor
        self.batched = batched
        self._sign = signBatched if batched else signAll
        self._setStopped(False)

    def _setStopped(self, stopped):
        """What follows from whether L{stop} was called: plain attributes,
        read for every answer."""
        #: True when L{signAll} fires before it returns.
        self.inline = self._executor is None or stopped
        #: True when an answer is best signed at once: inline, and not in
        #: batches (whose answers wait for the end of the reactor's turn).
        self.atOnce = self.inline and not self.batched

    @classmethod
    def forClock(cls, identity, clock, threaded=False):
        """
        A signer for a node on clock.  On a reactor (a daemon), one that
        signs batches (L{signBatched}): on a thread of its own when asked
        to and there is a key to sign with, inline otherwise.  On a plain
        clock (tests, the simulator), one that signs each answer alone,
        inline.
        """
        if not IReactorThreads.providedBy(clock):
            return cls(identity)
        if threaded and identity is not None:
            return cls(identity, ThreadExecutor(clock, name="bazaar-signer"), batched=True)
        return cls(identity, batched=True)

    def signAll(self, messages, alone=()):
        """
        @param alone: the indices of messages to sign alone, never under
            a batch signature.
        @return: a Deferred firing with the messages signed, in order, each
            as (message, payload): its signed wire payload, or None when
            the message is signed itself and is encoded as it leaves (see
            L{signBatched}); on the reactor thread once the signer's
            thread is done, or at once when L{inline}.
        """
        if self.inline:
            return InlineExecutor().submit(self._sign, self.identity, messages, alone)
        self._executor.start()
        return self._executor.submit(self._sign, self.identity, messages, alone)

    def stop(self):
        """
        Sign inline from now on; stop the thread once the batches handed
        to it are signed.

        @return: a Deferred that fires when the thread is gone.
        """
        self._setStopped(True)
        if self._executor is None:
            return InlineExecutor().stop()
        return self._executor.stop()
