"""
Buys given up on: in doubt, and asked about until their sellers answer.

A buy that is given up on (its seller went quiet or away) stays pending,
and the seller is asked about it (``ask``, which never buys) from time
to time until it answers, so a unit the seller did sell always reaches
the bag, across restarts too.  While it holds its want back (a L{Hold}
on the want's L{DoubtBudget}: DOUBT_LIMIT seconds at most, less once the
want, or the address group of the seller, spent its share) it counts
towards its want, which buys no more than the rest.  Where nothing
listens at the seller's address any more, the tracker is asked where it
went (relocation).

On a link where the seller proved its key, an ask is probed
(L{twisted_bazaar.roles.probe}): asks read and not answered, ASK_ROUNDS
times, make the seller one that refuses to answer; its buys are dropped
(disowned), and it is never tried again.
"""

import attr
from twisted.logger import Logger

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.base.logthrottle import LogThrottle
from twisted_bazaar.core.node import Unreachable
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.roles.buyer.budget import DoubtBudget, Hold
from twisted_bazaar.roles.buyer.sellers import sellerGroup
from twisted_bazaar.roles.probe import ASK_ROUNDS, Probe
from twisted_bazaar.roles.want import DOUBT_LIMIT, contentOf, offerOf
from twisted_bazaar.wire.trade import Ask
from twisted_bazaar.wire.ids import shortId

#: Seconds between questions about buys that were given up on.
RESOLVE_INTERVAL = 30.0


class Doubts:
    """
    The buys given up on, and the questions about them.

    @ivar boss: the buyer: C{forget(buy_id)}, C{doubtsResolved(item)},
        C{sellerRefuses(seller)} and C{store}.
    """

    log = Logger()

    def __init__(self, boss, node, book, sender, sellers, limit=DOUBT_LIMIT):
        """
        @param limit: seconds one buy in doubt may hold its want back (the
            want's budget follows from it, L{DoubtBudget.forLimit}).
        """
        self.boss = boss
        self.limit = limit
        self.node = node
        self.book = book
        self.sender = sender
        self.sellers = sellers
        self.stopped = False
        self._resolve_call = None
        #: item -> the L{DoubtBudget} of its want (of buys restored from
        #: the store, too).
        self._budgets = {}
        #: Buys in doubt that hold nothing (as many as sellers answer
        #: notyet): a few lines per interval, the rest summed up.
        self._unheld = LogThrottle(node.clock, self._logUnheld)

    def stop(self):
        self.stopped = True
        self._unheld.close()
        for record in self.book.unresolved():
            record.endHold()
        if self._resolve_call is not None and self._resolve_call.active():
            self._resolve_call.cancel()
        self._resolve_call = None

    def giveUp(self, pending):
        """
        A want stopped waiting for this buy.  One that never left is
        simply dropped; any other is in doubt: ask its seller about it now
        (an answer settles the doubt at once), then with the resolver.
        """
        record = self.book.get(pending.buy_id)
        if record is None or not record.routed:
            self.boss.forget(pending.buy_id)
            return
        if self.sellers.isRefusing(pending.seller):
            self.dropRefused(pending)
            return
        self.doubt(pending)
        if not self.stopped:
            self.askAgain(pending)
        self.scheduleResolve()

    def doubt(self, pending):
        """pending is in doubt: it holds its want back for what the want's
        budget grants it (maybe nothing)."""
        record = self.book.record(pending.buy_id)
        record.unresolved = pending
        record.endHold()
        # Its seller's direct link gives way first when the want needs
        # the slot for the next seller.
        self.node.useless(pending.seller)
        budget, group = self._budget(pending.item), self.groupOf(pending)
        seconds = budget.take(group)
        if not seconds:
            if self._unheld.admit(pending.item):
                self.log.info("buy {id} of {item} from seller {seller} is in doubt, "
                              "but does not hold its want back: the want's {total:g} s "
                              "of doubt are spent (or the share of address group "
                              "{group})", id=pending.buy_id, item=pending.item,
                              seller=shortId(pending.seller), total=budget.total,
                              group=group or "unknown")
            return
        clock = self.node.clock
        hold = record.holding = Hold(budget, group, clock, seconds, clock.seconds())
        hold.call = clock.callLater(seconds, self._holdEnded, record, hold)

    def _logUnheld(self, counts, interval):
        self.log.info("{n} more buys in doubt in the last {interval:g} s held no want "
                      "back (its doubt budget spent): {items}", n=sum(counts.values()),
                      interval=interval,
                      items=", ".join(f"{item} x{n}" for item, n in sorted(counts.items())))

    def wouldHold(self, pending):
        """Whether pending, put in doubt now, would hold its want back."""
        return self._budget(pending.item).available(self.groupOf(pending)) > 0

    def _budget(self, item):
        budget = self._budgets.get(item)
        if budget is None:
            budget = self._budgets[item] = DoubtBudget.forLimit(self.limit)
        return budget

    def groupOf(self, pending):
        """The address group a buy's doubt is charged to: its seller's
        (L{sellerGroup})."""
        return sellerGroup(self.node.linkTo, pending.seller, pending.path)

    def _holdEnded(self, record, hold):
        if record.holding is not hold:
            return
        record.holding = None
        pending = record.unresolved
        self.log.warn("seller {seller} has not said for {seconds:g} s whether it sold "
                      "buy {id}; buying on without it", seller=shortId(pending.seller),
                      seconds=hold.seconds, id=record.buy_id)
        self.boss.doubtsResolved(pending.item)

    def settled(self, buy_id):
        """An unresolved buy is answered (or taken back by its want): no
        more asks about it, and it holds its want back no more."""
        record = self.book.get(buy_id)
        record.unresolved = None
        record.endHold()
        if record.asking is not None:
            probe, record.asking = record.asking, None
            probe.answered()

    def reclaim(self, item, offer, units):
        """
        The (id, expiry, quantity) of a buy of the same content from this
        seller that it never answered, and that asks for no more than
        units, taken back from doubt (sent again as it was, so the seller
        cannot sell us more for it); else None.
        """
        content = contentOf(offer)
        for record in self.book.unresolved(seller=offer.seller, item=item):
            pending = record.unresolved
            if ((pending.sha256, pending.size) == content and record.committing is None
                    and pending.quantity <= units):
                self.settled(record.buy_id)
                return record.buy_id, pending.expires, pending.quantity
        return None

    def inDoubt(self, item):
        """Units of item asked for by buys given up on that their sellers
        have not answered, and that still hold the want back: each may
        have been sold."""
        return sum(record.unresolved.quantity for record in self.book.unresolved(item=item)
                   if record.holding is not None)

    def scheduleResolve(self):
        if (self._resolve_call is None and not self.stopped and not self.node.stopping
                and self.book.unresolved()):
            self._resolve_call = self.node.clock.callLater(RESOLVE_INTERVAL,
                                                           self._resolve)

    def _resolve(self):
        """Ask each seller that never answered a buy about it once more."""
        self._resolve_call = None
        if self.node.ready:
            for record in self.book.unresolved():
                self.askAgain(record.unresolved)
        self.scheduleResolve()

    def askAgain(self, pending):
        """Ask a seller about a buy: on a link where it proved its key,
        with a probe, unless one is running; else as a buy is resent."""
        buy_id = pending.buy_id
        ask = Ask(buy_id, pending.item, pending.path, expires=pending.expires)
        offer = offerOf(pending)
        link = self.sender.provenLink(pending.seller)
        if link is None:
            self.sender.sendAgain(ask, offer, self.relocate)
            return
        record = self.book.record(buy_id)
        if record.asking is not None:
            return
        if record.watching is not None:
            watching, record.watching = record.watching, None
            watching.answered()
        direct = self.sender.direct(ask, offer)

        def again():
            if self.node.linkTo(pending.seller) is link and not link.closing:
                self.sender.send(direct)
            else:
                probe.answered()
                if record.asking is probe:
                    record.asking = None

        probe = record.asking = Probe(
            link, self.node.clock, again,
            lambda refused: self._probed(record, probe, refused), ASK_ROUNDS,
            self.sender.answer_grace, self.sender.pings)
        self.sender.send(direct)
        probe.start()

    def _probed(self, record, probe, refused):
        if record.asking is probe:
            record.asking = None
        if (refused and record.unresolved is not None
                and self.book.get(record.buy_id) is record):
            self._refusing(record.unresolved.seller, record.buy_id)

    def _refusing(self, seller, buy_id):
        """
        The seller read our asks about buy_id, ASK_ROUNDS times, and
        answered none: an honest seller that is up answers an ask at once.
        Its buys stop holding their wants back, and it is not tried again.
        """
        self.log.warn("seller {seller} read {rounds} asks about buy {id} and answered "
                      "none within {grace:g} s: it refuses to answer; buying "
                      "elsewhere, and never from it again", seller=shortId(seller),
                      rounds=ASK_ROUNDS, id=buy_id, grace=self.sender.answer_grace)
        self.sellers.refuses(seller)
        items = set()
        for record in self.book.unresolved(seller=seller):
            items.add(record.unresolved.item)
            self.dropRefused(record.unresolved)
        self.boss.sellerRefuses(seller)
        for item in sorted(items):
            self.boss.doubtsResolved(item)

    def dropRefused(self, pending):
        """Drop a buy of a seller that refuses to answer: no longer pending
        nor in doubt, and a buyOK for it will not be put in the bag."""
        self.boss.forget(pending.buy_id)
        self.book.disown(pending.buy_id, pending.seller)

    def relocate(self, buy_id, reason):
        """Nothing listens where the seller was: it may have restarted on
        another port.  Ask the tracker, and ask the seller there."""
        membership = self.node.membership
        record = self.book.get(buy_id)
        if membership is None or record is None or record.unresolved is None \
                or not reason.check(Unreachable):
            return
        seller = record.unresolved.seller
        d = self.sender.outstanding.own(self.node.whereIs(seller))
        d.addCallbacks(self._relocated, self._notRelocated, callbackArgs=(buy_id,),
                       errbackArgs=(seller, buy_id))

    def _notRelocated(self, reason, seller, buy_id):
        """The tracker said nothing of where the seller is (silent, or
        gone): that says nothing of the seller, whose buy stays in doubt,
        asked about where it was."""
        if reason.check(TrackerGone) is None:
            return ignoreCancelled(reason)
        self.log.debug("the tracker did not say where seller {seller} is ({why}); "
                       "buy {id} stays in doubt", seller=shortId(seller),
                       why=reason.getErrorMessage(), id=buy_id)

    def _relocated(self, address, buy_id):
        record = self.book.get(buy_id)
        if record is None or record.unresolved is None:
            return
        if address is None:
            self.log.debug("the tracker knows no seller {seller} now; buy {id} stays "
                           "in doubt", seller=shortId(record.unresolved.seller),
                           id=buy_id)
            return
        pending = record.unresolved
        host, port = address
        if (host, port) == (pending.host, pending.port):
            return
        moved = record.unresolved = attr.evolve(pending, host=host, port=port)
        self.boss.store.addPending(moved).addCallbacks(
            self._moveRecorded, self.boss.storeFailed, callbackArgs=(buy_id,),
            errbackArgs=("record the new address of buy", buy_id))

    def _moveRecorded(self, _, buy_id):
        record = self.book.get(buy_id)
        if record is None or record.unresolved is None or self.stopped:
            return
        pending = record.unresolved
        self.log.info("seller {seller} is now at {where}; asking it about "
                      "buy {id} there", seller=shortId(pending.seller), host=pending.host,
                      port=pending.port, where=hostPort(pending.host, pending.port),
                      id=buy_id)
        self.askAgain(pending)
