"""
What a seller answers to a buy or an ask (docs/protocol.md §11).  A buy
sells once: as many units as it asks for, or as there are left (one copy
of a shared file); repeated, it gets its buyOK again.  An ask is
answered from the ledger and never sells.  Every answer that says a buy
will never sell (``soldout``, ``unsold``, ``expired``) closes it first
(L{Closes}); a buy expiring further ahead than the closes cover, or of
a shared file while no circuit through the node's relay opens (it could
not be delivered), or any new one before the store takes writes, is
refused (``notyet``) and nothing is recorded.
"""

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import LogThrottle
from twisted_bazaar.identity.keys import keyId, keyOwns, signedBy
from twisted_bazaar.roles.seller.closes import MAX_EXPIRY_AHEAD
from twisted_bazaar.store import Sale
from twisted_bazaar.wire.core import MAX_RETRY_AFTER
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.wire.trade import BuyOK

#: What a buy's expiry can say (L{Answering.expiry}).
EXPIRED, TOO_FAR = "expired", "too far ahead"
#: MAX_EXPIRY_AHEAD in ms, as a buy's expiry and the clock are.
_AHEAD_MS = int(MAX_EXPIRY_AHEAD * 1000)


class Answering:
    """
    @ivar refusalLog: buys and asks refused unheard (unsigned), and
        closes refused (the closed buys at their limit): a few lines per
        interval, the rest summed up, so that a flood of them writes no
        flood of lines.
    """

    def __init__(self, seller):
        self.seller = seller
        self.node = seller.node
        self.refusalLog = LogThrottle(self.node.clock, self._logRefusals)

    @property
    def log(self):
        """The seller's log: every line is the seller's."""
        return self.seller.log

    def trusted(self, message, link):
        """
        A buy or ask signed by the buyer it names, or handed over (on
        link) by that buyer itself on a link where it proved its key;
        either way naming the buyer's key, which its answer names in turn
        (a seller without a key checks nothing).
        """
        node, buyer, key = self.node, message.path[0], message.key
        if node.identity is None:
            return True
        if (key is not None and link is not None and link.key is not None
                and message.path == (buyer, node.id)):
            # Straight from a buyer that proved its key on the link (as
            # fromProvenAuthor, below, finds in three calls): every buy
            # under load.
            return keyId(key) == buyer or self._unsigned(message, buyer)
        if key is not None and (keyOwns(key, buyer)
                                if node.fromProvenAuthor(link, message, buyer)
                                else signedBy(message, buyer)):
            return True
        return self._unsigned(message, buyer)

    def _unsigned(self, message, buyer):
        """Refuse message, a buy or ask not signed by its buyer: False."""
        if self.refusalLog.admit(f"{message.TYPE}s not signed by their buyers"):
            self.log.info("ignoring a {type} not signed by node {buyer}",
                          type=message.TYPE, buyer=shortId(buyer))
        return False

    def _logRefusals(self, counts, interval):
        self.log.info("in the last {interval:g} s, also: {what}", interval=interval,
                      what=", ".join(f"{n} {what}" for what, n in sorted(counts.items())))

    def saleOf(self, message):
        """
        The sale of the buy a buy or ask names, or None.  A sale recorded
        before sales named their buyer's key (schema 1) is the sale of
        the buy with its id from the buyer id it names.
        """
        ledger = self.seller.ledger
        sale = ledger.get((message.key, message.id))
        if sale is None and message.key is not None:
            legacy = ledger.get((None, message.id))
            if legacy is not None and legacy.buyer == message.path[0]:
                return legacy
        return sale

    def expiry(self, message, now=None):
        """What the expiry of the buy of a buy or ask says by this
        seller's clock (``now``, in ms, when read already): EXPIRED (none,
        or passed: never to be sold), TOO_FAR (further ahead than
        MAX_EXPIRY_AHEAD, beyond the window the closed buys cover), or
        None (it may be sold)."""
        expires = message.expires
        if now is None:
            now = self.seller.closes.now()
        if expires is None or expires <= now:
            return EXPIRED
        if expires > now + _AHEAD_MS:
            return TOO_FAR
        return None

    def refuse(self, message, code, info):
        """Answer an error about the buy of message, at once."""
        self.seller.answers.answer(self.error(message, code, info))

    def error(self, message, code, info, retry_after=None):
        return wire.Error(code, info, message.id, message.path[::-1],
                          buyer_key=message.key, retry_after=retry_after)

    def notYet(self, message, why):
        self.refuse(message, "notyet", f"{why}: not sold, and will not be while "
                    "it is refused so; ask again once it has expired")

    def notWriting(self, message):
        """``notyet`` to a buy or ask heard before the store takes writes
        (its writer process loading): nothing could be recorded yet."""
        self.refuse(message, "notyet", "this seller's store does not take writes yet "
                    "(it is starting): not sold; ask again in a few seconds")

    def tooFar(self, message, now):
        """``notyet`` to a buy or ask expiring too far ahead of ``now`` (ms),
        with ``retryAfter``: the ms until it no longer does, so that the
        buyer can wait as long, and see how far the clocks are apart."""
        wait = min(message.expires - now - _AHEAD_MS, MAX_RETRY_AFTER)
        self.seller.answers.answer(self.error(
            message, "notyet", f"{_tooFar(message)}: not sold, and will not be until "
            f"it is no longer; ask again in {wait} ms", retry_after=wait))

    def answerAsk(self, ask, link):
        """
        Say what became of a buy, and never sell: ``buyOK`` from the
        ledger; else, once the buy is closed (on disk), ``expired`` when
        the ask names no expiry or a past one, ``unsold`` otherwise (the
        buy it asks about may name another expiry: the close covers every
        one this seller could sell); or ``notyet`` when it expires too
        far ahead.  ``expired``, not ``unsold``: a copy of a shared file
        sold for a buy that has expired may be forgotten, and the seller
        no longer answers for it.
        """
        if not self.trusted(ask, link):
            return
        seller, closes = self.seller, self.seller.closes
        closes.forget()
        sale = self.saleOf(ask)
        if sale is not None:
            self.confirm(sale, ask, again=True)
            return
        if seller.stopped:
            return
        if not seller.writing:
            self.notWriting(ask)
            return
        now = closes.now()
        expiry = self.expiry(ask, now)
        if expiry is TOO_FAR:
            self.tooFar(ask, now)
        elif expiry is EXPIRED:
            closes.close(ask, link, "expired", _expired(ask, seller.isFile(ask.item)))
        else:
            closes.close(ask, link, "unsold", f"buy {ask.id} was not sold, and never will be")

    def sameContent(self, buy):
        """Whether this seller shares the content a buy of a file names
        (its sha256 and size) under its item; a buy that names none
        buys the item as it is."""
        if buy.sha256 is None and buy.size is None:
            return True
        described = self.seller.describe(buy.item)
        return described is not None and (described["sha256"], described["size"]) == (
            buy.sha256, buy.size)

    def sell(self, buy, link):
        """
        Sell what it can of a buy's quantity (one unit of a shared file),
        once: a buy sold before gets its buyOK again, with the same count;
        a closed one ``soldout`` again; one expiring too far ahead is
        refused (``notyet``) and nothing is recorded; one expired (or
        naming no expiry) is closed, then answered ``expired``; one that
        finds no unit (or not the content it names) is closed, then
        answered ``soldout``.
        """
        if not self.trusted(buy, link):
            return
        seller = self.seller
        closes = seller.closes
        # The clock read once: for what is forgotten, the expiry, the sale.
        seconds = wallSeconds(self.node.clock)
        now = int(seconds * 1000)
        closes.forget(now)
        sale = self.saleOf(buy)
        again = sale is not None
        if not again:
            if seller.stopped:
                # No new sale while stopping: the buyer will ask again.
                return
            if not seller.writing:
                self.notWriting(buy)
                return
            sale = self._newSale(buy, link, seconds, now)
            if sale is None:
                return
        self.confirm(sale, buy, again)

    def _newSale(self, buy, link, seconds, now):
        """
        The sale of a buy not sold before, recorded; or None, once the
        buy is answered otherwise (closed, expired, too far ahead, no
        unit left).  In the order of L{sell}'s promises, in one pass:
        this runs for every purchase.
        """
        seller, closes = self.seller, self.seller.closes
        buyer, item = buy.path[0], buy.item
        if (buy.key, buy.id) in closes.closed:
            closes.close(buy, link, "soldout", f"buy {buy.id} is closed")
            return None
        expires = buy.expires
        if expires is None or expires <= now:
            closes.close(buy, link, "expired", _expired(buy, seller.isFile(item)))
            return None
        if expires > now + _AHEAD_MS:
            self.tooFar(buy, now)
            return None
        if (buy.sha256 is not None or buy.size is not None) and not self.sameContent(buy):
            closes.close(buy, link, "soldout", f"{item} is not shared here as that "
                         "content")
            return None
        stock = seller.stock
        if item not in stock and seller.isFile(item):
            if seller.undeliverable is not None:
                # Sold, it could not be delivered: the money is not taken.
                self.refuse(buy, "notyet", f"{item} cannot be delivered from here "
                            f"now: {seller.undeliverable}; not sold")
                return None
            # One copy, whatever the quantity: a file never runs out.
            # Remembered, and charged, as long as a close would be.
            charge = closes.admitted(buy, link, "selling a copy for")
            if charge is None:
                return None
            sale = Sale(buy.id, item, buyer, seconds, buy.key, buy.sha256, buy.size, 1,
                        copy=True, expires=now + _AHEAD_MS)
            closes.addCopy(sale, charge)
        else:
            free = seller.leases.freeFor(buyer, item)
            if free <= 0:
                closes.close(buy, link, "soldout", f"no {item} left to sell")
                return None
            units = buy.quantity or 1
            if units > free:
                units = free
            stock[item] -= units
            sale = Sale(buy.id, item, buyer, seconds, buy.key, buy.sha256, buy.size,
                        units)
        seller.sales.record(sale)
        seller.trades.note(buy.id, item, sale.units, buy.path)
        return sale

    def confirm(self, sale, message, again=False):
        """Answer buyOK for a sale, once it is on disk (signed meanwhile),
        to the buyer of message (a buy or an ask).  While stopping, or in
        memory with an inline signer, its commit is made at once; else in
        this turn's group commit (in memory too when the answers wait for
        the signer's thread anyway: one commit per turn costs less than
        one per sale).  ``again``: message repeats a buy sold before, so
        its buyOK is signed alone (L{AnswerQueue.answer})."""
        seller = self.seller
        path = message.path[::-1]
        if seller.answers.queuedAlready(sale, path):
            return
        units = sale.units
        seller.answers.answer(BuyOK(sale.buy_id, sale.item, path,
                                    buyer_key=message.key, sha256=sale.sha256,
                                    size=sale.size, count=units if units != 1 else None),
                              sale, again)
        seller.sales.commitSoon(sale, seller.stopped or (
            not seller.store.durable and seller.answers.signer.atOnce))


def _tooFar(message):
    return (f"buy {message.id} expires more than {MAX_EXPIRY_AHEAD:g} s ahead of "
            "this seller's clock")


def _expired(message, copy):
    """The info of ``expired`` about message's buy: of a shared file
    (``copy``), a copy sold for it may be forgotten, so it says no more
    than that none will be sold."""
    if copy:
        return (f"buy {message.id} has expired (or names no expiry): no copy will be "
                "sold for it, and one sold over 15 minutes ago is answered for no "
                "longer")
    return (f"buy {message.id} has expired (or names no expiry): not sold, and never "
            "will be")
