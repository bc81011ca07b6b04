"""
A seller's answers on their way out: each is signed, and a buyOK leaves
only once its sale is on disk.  With an inline signer an answer is
signed at once; with a batching or threaded one, each turn's answers
are signed as one batch at the end of the turn.  A durable seller whose
signer batches on the reactor's thread (a daemon's) signs the buyOKs of
sales still being committed once their commits are back: those of every
commit the store's writer answered in one turn under one batch
signature, rather than one a turn (docs/benchmarks.md, "Signed once on
disk").
"""

from twisted_bazaar.base.sparing import NO_MEMBERS, ownSet


class AnswerQueue:
    """
    @ivar signer: the L{Signer} of the answers.
    """

    def __init__(self, seller, signer):
        self.seller = seller
        self.node = seller.node
        self.signer = signer
        #: buyOKs signed and waiting for their sales' commits: (buyer key,
        #: buy id) -> [(sale, (buyOK, its payload or None): as the signer
        #: gives it)], found by the commit's sales, one pass a commit; and
        #: (sale or None, answer) waiting for the signer.
        self._waiting = {}
        #: buyOKs not yet signed whose sales are being committed: (buyer
        #: key, buy id) -> [(sale, buyOK)], signed once the commit is back.
        self._held = {}
        self._unsigned = []
        self._signing = False
        self._sign_call = None
        #: (buyer key, buy id) -> the return paths a buyOK of that sale,
        #: not yet on disk, is queued to (L{queuedAlready}): one each.
        self._queued = {}
        #: The answers (by id) to sign alone, never in a batch: buyOKs
        #: answering a buy or ask repeated after its sale (L{answer}).
        self._alone = NO_MEMBERS

    @property
    def log(self):
        """The seller's log: every line is the seller's."""
        return self.seller.log

    @property
    def busy(self):
        """Whether an answer is being signed or waits for the signer."""
        return self._signing or bool(self._unsigned)

    def answer(self, message, sale=None, alone=False):
        """Sign an answer and route it; a buyOK (given with its sale)
        leaves only once the sale is committed (and is signed only then by
        a durable seller's signer that batches on the reactor's thread:
        signing it meanwhile would gain nothing, the thread being the
        same).  ``alone``: signed by itself, never under a batch
        signature: the buyOK of a buy repeated, whose buyer did not take
        the first (a buyer of a version before batch signatures,
        2026-11-26, took none signed so, and asked again until it gave
        up)."""
        if alone:
            ownSet(self, "_alone").add(id(message))
        signer = self.signer
        if (sale is not None and signer.inline and not signer.atOnce
                and self.seller.store.durable
                and sale.ledgerKey in self.seller.sales.uncommitted):
            self._held.setdefault(sale.ledgerKey, []).append((sale, message))
            return
        self._unsigned.append((sale, message))
        if self.signer.atOnce:
            self.signBatch()
        elif self._sign_call is None:
            self._sign_call = self.node.clock.callLater(0, self.signBatch)

    def queuedAlready(self, sale, path):
        """
        Whether a buyOK of ``sale``, not yet on disk, is queued to the
        return ``path`` already; if not, the one about to be queued is
        from now on, until it is sent or dropped.  A repeat of a buy (or
        an ask) while its sale's commit is in flight is answered by the
        buyOK queued for its path: each was queued, signed and sent
        before, so a stranger that sent one buy 10,000 times while a
        commit waited had 10,000 buyOKs held, then sent.
        """
        key = sale.ledgerKey
        if key not in self.seller.sales.uncommitted:
            return False
        paths = self._queued.get(key)
        if paths is None:
            # A fresh sale, nearly always: its first answer.
            self._queued[key] = {path}
            return False
        if path in paths:
            return True
        paths.add(path)
        return False

    def signBatch(self):
        """Sign the answers waiting; one batch is signed at a time, and
        answers made meanwhile wait for the next."""
        self._sign_call = None
        if self._signing or not self._unsigned:
            return
        batch, self._unsigned = self._unsigned, []
        self._signing = True
        messages = [message for _, message in batch]
        alone = self._alone
        if alone:
            alone = {at for at, message in enumerate(messages) if id(message) in alone}
            self._alone.difference_update(id(messages[at]) for at in alone)
        d = self.signer.signAll(messages, alone)
        d.addCallbacks(self._signed, self._notSigned, callbackArgs=(batch,),
                       errbackArgs=(batch,))

    def cancelSigning(self):
        """Cancel the batch waiting for the next turn."""
        if self._sign_call is not None and self._sign_call.active():
            self._sign_call.cancel()
        self._sign_call = None

    def sendCommitted(self, sales):
        """Send the signed buyOKs of sales, a commit's, now on disk; those
        held unsigned are signed at the end of the turn, with those of
        every other commit back in it."""
        waiting, held, send = self._waiting, self._held, self._send
        unsigned = self._unsigned
        for sale in sales:
            key = sale.ledgerKey
            signed = waiting.pop(key, None)
            if signed is not None:
                for sale, answer in signed:
                    send(sale, answer)
            if held:
                unsigned += held.pop(key, ())
        if unsigned and self._sign_call is None:
            self._sign_call = self.node.clock.callLater(0, self.signBatch)

    def dropUndone(self, sales):
        """Drop the buyOKs of sales undone (their commit failed)."""
        waiting, held = self._waiting, self._held
        for sale in sales:
            waiting.pop(sale.ledgerKey, None)
            for _, message in held.pop(sale.ledgerKey, ()):
                self._alone.discard(id(message))
            self._unqueue(sale.ledgerKey)

    def _unqueue(self, key):
        """The buyOKs of a sale queued while its commit was in flight are
        sent or dropped: a repeat is answered again from now on."""
        self._queued.pop(key, None)

    def _signed(self, answers, batch):
        sales = self.seller.sales
        ledger, uncommitted = sales.ledger, sales.uncommitted
        waiting, send = self._waiting, self._send
        self._signing = False
        for (sale, _), answer in zip(batch, answers):
            if sale is None:
                send(sale, answer)
                continue
            key = sale.ledgerKey
            if not ledger.holds(sale):
                continue  # the sale was undone: its buyer will ask again
            if key in uncommitted:
                waiting.setdefault(key, []).append((sale, answer))
            else:
                send(sale, answer)
        self.signBatch()
        self.seller.checkIdle()

    def _send(self, sale, signed):
        """Route a signed answer (as the signer gives it: the message,
        and its payload when built already).  A buyOK makes the link it
        leaves on a trading partner's when it sold a unit of stock, not
        a copy of a shared file (it took nothing from the seller, and a
        stranger gets as many as it has free keys)."""
        message, payload = signed
        if sale is not None:
            self._unqueue(sale.ledgerKey)
        traded = sale is None or not sale.copy
        if payload is None:
            self.node.route(message, traded)
        else:
            self.node.route(message, traded, payload=payload)

    def _notSigned(self, reason, batch):
        """Not signed (the signer failed): the answers are dropped, and
        the buyers will ask again."""
        self._signing = False
        for sale, _ in batch:
            if sale is not None:
                self._unqueue(sale.ledgerKey)
        self.log.critical("could not sign {n} answers: {why}", n=len(batch),
                          why=reason.getErrorMessage())
        self.signBatch()
        self.seller.checkIdle()
