"""
A seller's answers on their way out: each is signed, and a buyOK leaves
only once its sale is on disk.  With an inline signer an answer is
signed at once; with a threaded one, each turn's answers are signed as
one batch on the next turn, while their sales are committed.
"""


class AnswerQueue:
    """
    @ivar signer: the L{Signer} of the answers.
    """

    def __init__(self, seller, signer):
        self.seller = seller
        self.node = seller.node
        self.signer = signer
        #: (sale, (buyOK, its payload or None): as the signer gives it)
        #: signed and waiting for the commit, and (sale or None, answer)
        #: waiting for the signer.
        self._answers = []
        self._unsigned = []
        self._signing = False
        self._sign_call = None

    @property
    def log(self):
        """The seller's log: every line is the seller's."""
        return self.seller.log

    @property
    def busy(self):
        """Whether an answer is being signed or waits for the signer."""
        return self._signing or bool(self._unsigned)

    def answer(self, message, sale=None):
        """Sign an answer and route it; a buyOK (given with its sale)
        leaves only once the sale is committed."""
        self._unsigned.append((sale, message))
        if self.signer.atOnce:
            self.signBatch()
        elif self._sign_call is None:
            self._sign_call = self.node.clock.callLater(0, self.signBatch)

    def signBatch(self):
        """Sign the answers waiting; one batch is signed at a time, and
        answers made meanwhile wait for the next."""
        self._sign_call = None
        if self._signing or not self._unsigned:
            return
        batch, self._unsigned = self._unsigned, []
        self._signing = True
        d = self.signer.signAll([message for _, message in batch])
        d.addCallbacks(self._signed, self._notSigned, callbackArgs=(batch,),
                       errbackArgs=(batch,))

    def cancelSigning(self):
        """Cancel the batch waiting for the next turn."""
        if self._sign_call is not None and self._sign_call.active():
            self._sign_call.cancel()
        self._sign_call = None

    def sendCommitted(self):
        """Send every signed buyOK whose sale is now on disk."""
        ledger = self.seller.sales
        ready = [(sale, answer) for sale, answer in self._answers
                 if ledger.committed(sale)]
        self._answers = [(sale, answer) for sale, answer in self._answers
                         if not ledger.committed(sale)]
        for sale, signed in ready:
            self._send(sale, signed)

    def dropUndone(self):
        """Drop the buyOKs of sales undone (their commit failed)."""
        ledger = self.seller.sales
        self._answers = [(sale, answer) for sale, answer in self._answers
                         if ledger.holds(sale)]

    def _signed(self, answers, batch):
        ledger = self.seller.sales
        self._signing = False
        for (sale, _), answer in zip(batch, answers):
            if sale is not None and not ledger.holds(sale):
                continue  # the sale was undone: its buyer will ask again
            if sale is not None and not ledger.committed(sale):
                self._answers.append((sale, answer))
            else:
                self._send(sale, answer)
        self.signBatch()
        self.seller.checkIdle()

    def _send(self, sale, signed):
        """Route a signed answer (as the signer gives it: the message,
        and its payload when built already)."""
        message, payload = signed
        if payload is None:
            self.node.route(message, _traded(sale))
        else:
            self.node.route(message, _traded(sale), payload=payload)

    def _notSigned(self, reason, batch):
        """Not signed (the signer failed): the answers are dropped, and
        the buyers will ask again."""
        self._signing = False
        self.log.critical("could not sign {n} answers: {why}", n=len(batch),
                          why=reason.getErrorMessage())
        self.signBatch()
        self.seller.checkIdle()


def _traded(sale):
    """Whether the buyOK of a sale (None: an answer that is no buyOK)
    makes the link it leaves on a trading partner's: a unit of stock
    sold does, a copy of a shared file does not (it took nothing from the
    seller, and a stranger gets as many as it has free keys)."""
    return sale is None or not sale.copy
