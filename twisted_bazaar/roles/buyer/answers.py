"""
Answers to the buyer's buys and asks: checked, then accepted.

An answer counts only if it answers the very buy asked (L{Answers.fault}):
signed by the seller the buy went to, addressed to this buyer's key,
about its buy id, and for a ``buyOK`` the item and the file content it
paid for, counting no more units than it asked for.  Any other is logged (a few lines per interval) and ignored,
and the buy goes on as if unanswered.  ``soldout``, ``unsold`` and
``expired`` settle a buy as not sold; ``notyet`` (a seller that cannot
promise that yet) leaves it in doubt, asked about again later.

Exactly-once: a purchase is committed before it is counted, put in the
bag or reported; a buyOK repeated while its commit is in flight, or
after, is ignored, as is one for a buy disowned because its seller
refused to answer.
"""

from twisted.logger import Logger, LogLevel

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import LogThrottle
from twisted_bazaar.identity.keys import signedBy
from twisted_bazaar.roles.buyer.clocks import ClocksApart
from twisted_bazaar.store import Purchase
from twisted_bazaar.wire.trade import BuyOK, countOf
from twisted_bazaar.wire.ids import shortId

#: Errors that settle a buy: the seller did not and will not sell it.
NOT_SOLD = ("soldout", "unsold", "expired")


class Answers:
    """
    Takes the answers the node delivers to the buyer.

    @ivar boss: the buyer: C{store}, C{forget(buy_id)},
        C{doubtsResolved(item)} and C{bought(purchase, want, doubted)}.
    """

    log = Logger()

    def __init__(self, boss, node, book, doubts, sellers):
        self.boss = boss
        self.node = node
        self.book = book
        self.doubts = doubts
        self.sellers = sellers
        self.stopped = False
        #: Answers ignored for not matching their buys: a few logged per
        #: interval, the rest summed up.
        self._ignored = LogThrottle(node.clock, self._logIgnored)
        self.clocks = ClocksApart(node.clock)

    def stop(self):
        self.stopped = True
        self._ignored.close()

    def delivered(self, link, message):
        """An answer to a buy, delivered on link."""
        if self.stopped:
            return
        handler = _ANSWERS.get(type(message))
        if handler is not None:
            handler(self, link, message)

    def _erred(self, link, error):
        """An error about a buy: never sold, or not yet; any other code
        says nothing of the buy."""
        if error.code in NOT_SOLD:
            self._onNotSold(error)
        elif error.code == "notyet":
            self._onNotYet(error)

    def question(self, buy_id):
        """The L{PendingBuy} an answer about buy_id must answer: a want's
        own buy, or one given up on; None for any other id."""
        record = self.book.get(buy_id)
        if record is None:
            return None
        if record.want is not None and record.want.offer is not None:
            return record.want.pendingBuy()
        return record.unresolved

    def _checked(self, answer):
        """
        The L{PendingBuy} answer answers, if it does (see L{fault});
        else None, and the answer is ignored (logged if it is about a buy
        of ours).
        """
        pending = self.question(answer.id)
        if pending is None:
            return None
        fault = self.fault(answer, pending)
        if fault is None:
            self.sellers.answered(pending.seller)
            return pending
        if self._ignored.admit(answer.TYPE):
            self.log.info("ignoring a {type} about buy {id} of {item} from seller "
                          "{seller}: {fault}", type=answer.TYPE, id=answer.id,
                          item=pending.item, seller=shortId(pending.seller), fault=fault)
        return None

    def fault(self, answer, pending):
        """
        What makes answer no answer to the buy pending, or None: it must
        come from the seller the buy went to, signed with that seller's
        key (a buyer without a key checks no signature), be addressed to
        this buyer's key, and, for a buyOK, name the item and the file
        content (sha256 and size) the buy paid for, and sell no more units
        than it asked for.
        """
        seller, identity = pending.seller, self.node.identity
        if answer.path[0] != seller:
            return f"it comes from node {answer.path[0]}"
        if identity is not None and not signedBy(answer, seller):
            return "it is not signed with the seller's key"
        if answer.buyer_key != (identity.key if identity is not None else None):
            return "it is addressed to another buyer's key"
        if type(answer) is BuyOK:
            if answer.item != pending.item:
                return f"it sells {answer.item!r}"
            if (answer.sha256, answer.size) != (pending.sha256, pending.size):
                return (f"it sells the content {answer.sha256} of {answer.size} "
                        f"bytes, not {pending.sha256} of {pending.size}")
            if countOf(answer) > pending.quantity:
                return (f"it sells {countOf(answer)} units, more than the "
                        f"{pending.quantity} asked for")
        return None

    def _logIgnored(self, counts, interval):
        self.log.info("ignored {n} more answers in the last {interval:g} s that did "
                      "not match their buys: {kinds}", n=sum(counts.values()),
                      interval=interval,
                      kinds=", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items())))

    def _disowned(self, buy_id):
        record = self.book.get(buy_id)
        return record is not None and record.disowned is not None

    def _settledBy(self, error):
        """
        The buy a seller's error about it settles one way or the other
        (sold out, or not yet): its pending send and its record, with the
        record's probes stopped; or None if the error does not count.
        """
        if self._disowned(error.id):
            return None
        pending = self._checked(error)
        if pending is None:
            return None
        record = self.book.get(error.id)
        record.stopProbes()
        return pending, record

    def _onNotSold(self, error):
        buy_id = error.id
        settled = self._settledBy(error)
        if settled is None:
            return
        pending, record = settled
        if error.code == "expired":
            self._expiredEarly(pending, record.want)
        else:
            self.clocks.inStep(pending.seller)
        if record.unresolved is not None:
            item = record.unresolved.item
            self.doubts.settled(buy_id)
            self.boss.forget(buy_id)
            self.boss.doubtsResolved(item)
            return
        if record.want is not None:
            # Answered while its want waited: a record of settling.
            self.sellers.settled(pending.seller)
            self.boss.sellerSoldNothing(pending.seller)
            record.want.soldOut(buy_id)

    def _expiredEarly(self, pending, want):
        """A seller said a buy expired that this node's clock says has
        not: the clocks are apart (docs/protocol.md §11, "Expiry"); its
        want (if any) keeps the seller, for a give-up to say."""
        left = (pending.expires or 0) / 1000 - wallSeconds(self.node.clock)
        if left <= 0:
            self.clocks.inStep(pending.seller)
            return
        if want is not None:
            want.clocksApart(pending.seller)
        self.clocks.early(pending.seller, pending.buy_id, left)

    def _onNotYet(self, error):
        """The seller did not sell the buy, and cannot promise yet that it
        never will: it stays in doubt, and is asked about again later; or,
        with ``retryAfter`` (it expires too far ahead of the seller's
        clock), its want sends it again then, if it is still live."""
        buy_id = error.id
        settled = self._settledBy(error)
        if settled is None:
            return
        pending, record = settled
        why = f"unable to settle buy {buy_id} yet ({error.info})"
        if error.retry_after is None or pending.expires is None:
            if record.want is not None:
                record.want.unanswered(buy_id, why)
            return
        # Refused as expiring too far ahead of the seller's clock, for
        # retryAfter ms more: the clocks are apart.
        behind = self.clocks.behind(pending.seller, buy_id, pending.expires,
                                    error.retry_after)
        if record.want is not None:
            record.want.notYet(buy_id, why, error.retry_after / 1000,
                               (pending.seller, behind))

    def _onBuyOK(self, link, ok):
        """Commit the purchase; it counts, and is reported, once on disk.
        A buyOK repeated meanwhile changes nothing."""
        record = self.book.get(ok.id)
        if record is None or record.bought or record.committing is not None:
            return
        if record.disowned is not None:
            # Said of every buyOK for it, which anyone on its path can
            # repeat: through the peer log.
            link.peerLine(LogLevel.warn, "not putting buy {id} from seller {seller} "
                          "in the bag: that seller refused to answer our asks about "
                          "it, and we bought elsewhere", self.log, id=ok.id,
                          seller=shortId(record.disowned))
            return
        pending = self._checked(ok)
        if pending is None:
            return
        self.sellers.settled(pending.seller)
        self.clocks.inStep(pending.seller)
        record.stopProbes()
        purchase = Purchase(ok.id, ok.item, pending.seller, wallSeconds(self.node.clock),
                            ok.sha256, ok.size, countOf(ok))
        record.committing = purchase
        if record.want is not None:
            record.want.buyOK(ok.id)
        self.boss.store.commitPurchase(purchase).addCallbacks(
            self._purchased, self._notPurchased, callbackArgs=(purchase, ok.path),
            errbackArgs=(purchase,))

    def _purchased(self, _, purchase, path):
        """The purchase is on disk: noted with the path its buy took (the
        buyOK's, reversed: buyer first), and handed to the buyer."""
        self.boss.trades.note(purchase.buy_id, purchase.item, purchase.units, path[::-1])
        record = self.book.record(purchase.buy_id)
        record.committing = None
        record.bought = True
        record.routed = False
        doubted = record.unresolved is not None
        if doubted:
            self.doubts.settled(purchase.buy_id)
        self.boss.bought(purchase, record.want, doubted)

    def _notPurchased(self, reason, purchase):
        """The buy stays pending; the seller answers it again when asked."""
        buy_id = purchase.buy_id
        record = self.book.get(buy_id)
        if record is not None:
            record.committing = None
        self.log.warn("could not record the purchase of buy {id}: {why}", id=buy_id,
                      why=reason.getErrorMessage())
        if record is not None and record.want is not None:
            record.want.notCommitted(buy_id)


#: The answers to a buy: message class -> function(answers, link, message).
_ANSWERS = {BuyOK: Answers._onBuyOK, wire.Error: Answers._erred}
