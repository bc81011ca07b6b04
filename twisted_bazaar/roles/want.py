"""
One wanted item's purchase, as an explicit state machine: L{Want}.

Every state, input and output is in L{TRANSITIONS}, in one place.  An
input is a method of the want (``kick()``, ``found(offers)``, ...); the
buyer (L{twisted_bazaar.roles.buyer}) feeds them and does the I/O the
outputs ask of it.  For a (state, input) pair, the first row whose guards
all hold is taken: the want enters the row's state, then runs its outputs
in order.  A pair not in the table is ignored: e.g. an answer about a buy
id the want has moved on from.  An input that arrives while outputs run
(an already-fired Deferred, say) waits until they are done.

Leaving a state cancels its timer, and leaving ``searching`` otherwise than
through ``found`` or ``held`` cancels the find (or the look in the
downloads folder that follows it).
"""

import re

from twisted_bazaar.base.saidonce import SaidOnce
from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.words import counted, plural
from twisted_bazaar.base.backoff import exponential
from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.wire.trade import Buy, quantityField
from twisted_bazaar.core.finding import find
from twisted_bazaar.core.market import Offer
from twisted_bazaar.store import PendingBuy

#: ITEM=N, as --sell and bazaar restock write it: a name no seller's
#: --sell can make.
_COUNTED = re.compile(r"(.+)=(\d+)")


def countedHint(item):
    """
    What a want named ITEM=N most likely meant, said beside each line
    that tells it found nothing: ``" (for N units of ITEM, name the item
    alone: --quantity N)"``; "" for any other name.
    """
    counted = _COUNTED.fullmatch(item)
    if counted is None:
        return ""
    return (f" (for {counted[2]} units of {counted[1]}, name the item alone: "
            f"--quantity {counted[2]})")


#: Silent sends of one buy id before giving up on it: BUY_ATTEMPTS, or
#: HASTY_ATTEMPTS while other offers wait.  Each wait is twice the one
#: before, up to BUY_TIMEOUT_MAX.
BUY_ATTEMPTS = 5
HASTY_ATTEMPTS = 2
BUY_TIMEOUT_MAX = 30.0
#: Failed connections to a seller that make it count as gone.
REFUSALS = 2
#: Seconds from a buy's first send to its expiry: longer than all its
#: resends take, and within what sellers accept (MAX_EXPIRY_AHEAD in
#: L{twisted_bazaar.roles.seller}), with room for clocks that differ by
#: up to this much either way.
BUY_LIFETIME = 300.0
#: Seconds a buy given up on, and not answered, counts towards its want
#: (it may have been sold): the want buys no more than the rest meanwhile.
#: (Less if its seller is shown to refuse to answer: roles/probe.py.)
DOUBT_LIMIT = 120.0
#: Pauses between searches that found nothing (and between attempts to
#: write a pending buy the store refused).
RETRY_MIN = 1.0
RETRY_MAX = 30.0

# -- states ------------------------------------------------------------------------
#: Nothing scheduled: the node cannot search yet (no id, no link, no tracker).
WAITING = "waiting"
#: A search found nothing; a timer says when to search again.
BACKOFF = "backoff"
#: A find is out; its Deferred says which offers came.
SEARCHING = "searching"
#: An offer and a buy id are chosen; the pending buy is being written.
SAVING = "saving"
#: The store refused the pending buy; a timer says when to write it again.
RETRY_SAVE = "retrySave"
#: A pending buy restored from the store, to send once the node can talk.
RESUMING = "resuming"
#: The buy id is out; a timer resends it (waits growing), or gives up.
BUYING = "buying"
#: Its buyOK came; the purchase is being committed.
COMMITTING = "committing"
#: Buys given up on and not yet answered may fill the want: wait for
#: their sellers' answers (or for DOUBT_LIMIT).
DOUBTING = "doubting"
#: As many bought as wanted.
DONE = "done"
#: The buyer stopped: nothing more is sent or scheduled.
STOPPED = "stopped"

_ACTIVE = (WAITING, BACKOFF, SEARCHING, SAVING, RETRY_SAVE, RESUMING, BUYING,
           COMMITTING, DOUBTING)
#: States in which the want has a buy id of its own.
_HOLDING = (SAVING, RETRY_SAVE, RESUMING, BUYING)




class Want:
    """
    The purchase state of one wanted item.

    @ivar item: what is wanted.
    @ivar quantity: how many units (a shared file is one, whatever this
        says: its first purchase meets the want).
    @ivar bought: how many units are in the bag.
    @ivar asked: the units the want's own buy asks for.
    @ivar state: one of the states above.
    @ivar offer: the L{Offer} being bought from, while the want holds a buy.
    @ivar buy_id: the want's own buy id, or None.
    @ivar expires: when that buy expires (ms since the epoch; None for a
        buy restored from before buys expired).
    @ivar timer: the current state's delayed call, or None.
    @ivar finding: the outstanding find Deferred, while searching.
    """

    def __init__(self, buyer, item, quantity, bought=0):
        self.buyer = buyer
        self.item = item
        self.quantity = quantity
        self.bought = bought
        self.state = DONE if bought >= quantity else WAITING
        self.offers = []
        self.offer = None
        self.buy_id = None
        self.expires = None
        self.asked = None
        self.attempts = 0
        self.refusals = 0
        #: Searches in a row that found nothing (their retries back off).
        self.fruitless = 0
        #: The seller that last answered a buy of this want ``expired``
        #: before it expired by this node's clock (the clocks apart), or
        #: None: a give-up says so (L{twisted_bazaar.tap.shortfall}).
        self.clockApart = None
        #: (seller, seconds) when a seller answered a buy of this want
        #: ``notyet`` with ``retryAfter`` (its clock that far behind this
        #: node's), or None: a give-up says so too.
        self.clockBehind = None
        self.timer = None
        self.finding = None
        self._running = False
        self._queued = []
        #: Its retries' lines, each said once while it says the same
        #: (L{SaidOnce}); made at the first.
        self._said = None

    def __repr__(self):
        return f"<Want {self.item} {self.bought}/{self.quantity} {self.state}>"

    # -- inputs ----------------------------------------------------------------

    def kick(self):
        """The node may be able to talk: search, or send a restored buy."""
        self._input("kick")

    def resume(self, pending):
        """A L{PendingBuy} from before a restart is this want's buy."""
        self._input("resume", pending)

    def found(self, offers):
        """The find ended with these offers, in the order to try them."""
        self._input("found", offers)

    def saved(self, buy_id):
        """The pending buy is on disk."""
        self._input("saved", buy_id)

    def saveFailed(self, buy_id):
        """The store refused the pending buy."""
        self._input("saveFailed", buy_id)

    def timerFired(self):
        self.timer = None
        self._input("timerFired")

    def unanswered(self, buy_id, why="not answering what it read"):
        """The seller read buy_id (a ping sent after it came back) and did
        not answer, or answered ``notyet``: waiting longer gains nothing."""
        self._input("unanswered", buy_id, why)

    def notYet(self, buy_id, why, wait, behind):
        """The seller refused buy_id as expiring too far ahead of its clock,
        for ``wait`` seconds more: the want sends it again then, if it is
        still live by this node's clock; else it gives up on it, as on
        L{unanswered}.  ``behind``: (seller, seconds its clock is behind
        this node's), for a give-up to say (L{clockBehind})."""
        self.clockBehind = behind
        self._input("notYet", buy_id, why, wait)

    def refused(self, buy_id):
        """A connection to the seller of buy_id failed."""
        self._input("refused", buy_id)

    def noSlot(self, buy_id):
        """buy_id could not leave for want of a direct slot of this node's
        own (all hold buys still out): no attempt of the seller's, so
        not counted; sent again once a slot may be free (L{slotFreed}), or
        at the want's timer."""
        self._input("noSlot", buy_id)

    def slotFreed(self, buy_id):
        """buy_id waits for a direct slot (L{noSlot}), and one may be free
        now: send it again at once, not at the timer."""
        self._input("slotFreed", buy_id)

    def unreachable(self, buy_id, why="nothing listens at its address"):
        """Nothing listens at the seller's address (``why``, in words), and
        buy_id never left this node: nothing can have been sold, so the
        want takes its next offer at once, with nothing in doubt; with
        none left, it searches again after a while, as when no offer was
        found."""
        self._input("unreachable", buy_id, why)

    def clocksApart(self, seller):
        """seller answered a buy of this want ``expired`` before it expired
        by this node's clock (L{clockApart})."""
        self.clockApart = seller

    def soldOut(self, buy_id):
        """The seller has none left for buy_id."""
        self._input("soldOut", buy_id)

    def buyOK(self, buy_id):
        """The seller sold buy_id; the buyer is committing the purchase."""
        self._input("buyOK", buy_id)

    def committed(self, purchase):
        """A L{Purchase} of this item is on disk (this want's buy, or one
        given up on and answered late)."""
        self._input("committed", purchase)

    def notCommitted(self, buy_id):
        """The store refused the purchase of buy_id."""
        self._input("notCommitted", buy_id)

    def resolved(self):
        """A buy of this item given up on was answered, or is no longer
        in doubt."""
        self._input("resolved")

    def reopen(self):
        """The file bought could not be fetched: a purchase of a file
        counts only once its bytes are verified, so the want buys again
        (from offers of other content: L{Buyer._order})."""
        self._input("reopen")

    def held(self, path):
        """A file the offers found name is in the downloads folder
        already, verified (at path): the want is met, nothing bought."""
        self._input("held", path)

    def stop(self):
        self._input("stop")

    # -- the machine --------------------------------------------------------------

    def _input(self, name, *args):
        if self._running:
            self._queued.append((name, args))
            return
        self._running = True
        try:
            self._transition(name, args)
            while self._queued:
                queued, queued_args = self._queued.pop(0)
                self._transition(queued, queued_args)
        finally:
            self._running = False
            self._queued = []

    def _transition(self, name, args):
        for guards, state, outputs in TRANSITIONS.get((self.state, name), ()):
            if all(guard(self, *args) for guard in guards):
                if state != self.state:
                    self._leave(self.state)
                self.state = state
                for output in outputs:
                    output(self, *args)
                return

    def _leave(self, state):
        if self.timer is not None:
            if self.timer.active():
                self.timer.cancel()
            self.timer = None
        if state == SEARCHING and self.finding is not None:
            finding, self.finding = self.finding, None
            finding.cancel()

    # -- guards --------------------------------------------------------------------

    def _if_canFind(self, *args):
        return self.buyer.discovery.canFind()

    def _if_offered(self, offers):
        return bool(offers)

    def _if_offersLeft(self, *args):
        return bool(self.offers)

    def _if_isCurrent(self, buy_id, *args):
        return buy_id == self.buy_id

    def _if_full(self, *args):
        return self.remainder() <= 0

    def _if_fullWithout(self, *args):
        """Giving up on the current buy puts it in doubt if it may have
        been sold, and holds the want back if its doubt budget allows:
        would that fill the want?"""
        doubt = self.asked if self.buyer.wouldDoubt(self.buy_id) else 0
        return self.remainder() - doubt <= 0

    def _if_mayResend(self):
        """Resend while the seller may yet answer: BUY_ATTEMPTS sends in
        all, or only HASTY_ATTEMPTS while other offers are on the table."""
        attempts = HASTY_ATTEMPTS if self.offers else BUY_ATTEMPTS
        return self.attempts < attempts and self.refusals < REFUSALS

    def _if_waitFits(self, buy_id, why, wait):
        """A wait the seller asks for ends before the buy expires by this
        node's clock (a buy restored from before expiries never does)."""
        if self.expires is None:
            return False
        return wallSeconds(self.buyer.node.clock) + wait < self.expires / 1000

    def _if_lastUnit(self, purchase):
        return self.bought + purchase.units >= self.quantity or _isFile(purchase)

    def _if_isCurrentPurchase(self, purchase):
        return purchase.buy_id == self.buy_id

    def _if_moreOffered(self, purchase):
        """Offers are left and, this purchase counted, units still wanted."""
        return bool(self.offers) and self.remainder() - purchase.units > 0

    def remainder(self):
        """Units neither bought nor in doubt: what a new buy asks for."""
        return self.quantity - self.bought - self.buyer.inDoubt(self.item)

    # -- outputs --------------------------------------------------------------------

    def _kickAgain(self, *args):
        self.kick()

    def _startFind(self):
        buyer = self.buyer
        self.offers = []
        finding = self.finding = find(buyer.node, self.item, buyer.search_window)
        finding.addCallbacks(self._findDone, ignoreCancelled)

    def _findDone(self, offers):
        """The find's offers, in the buyer's order (which leaves out those
        it will not buy from): an empty list is no offer.  A file they
        name is looked for in the downloads folder first (the buyer's
        L{lookFor}, off the reactor): one in place is not paid for twice.
        The look is part of the find: leaving C{searching} cancels it."""
        self.finding = None
        offers = self.buyer.order(offers)
        looking = self.buyer.lookFor(self.item, offers)
        if looking is None:
            self.found(offers)
            return
        self.finding = looking
        looking.addCallbacks(self._looked, ignoreCancelled, callbackArgs=(offers,))

    def _looked(self, path, offers):
        self.finding = None
        if path is None:
            self.found(offers)
        else:
            self.held(path)

    def _saidOnce(self, kind, what):
        """Is a retry's line of ``kind``, saying ``what``, said now
        (L{SaidOnce.due}): None, or the tries unsaid since it was."""
        if self._said is None:
            self._said = SaidOnce(self.buyer.node.clock)
        return self._said.due(kind, what)

    def _scheduleSearch(self, *args):
        delay = self._nextRetry()
        self.timer = self.buyer.node.clock.callLater(delay, self.timerFired)
        unsaid = self._saidOnce("search", self.item)
        if unsaid is None:
            return
        # Said with the first line alone: the node searches on for ever.
        hint = (f" ({plural(unsaid, 'more search', 'more searches')} found none since "
                "this was said)" if unsaid
                else countedHint(self.item) if self.fruitless == 1 else "")
        self.buyer.log.info("no offer for {item} yet; searching again in {delay:.1f} "
                            "s{hint}", item=self.item, delay=delay, hint=hint)

    def _nextRetry(self):
        self.fruitless += 1
        return exponential(RETRY_MIN, RETRY_MAX, self.buyer.node.rng)(self.fruitless)

    def _keepOffers(self, offers):
        self.fruitless = 0
        self.offers = list(offers)

    def _takeNextOffer(self, *args):
        offer = self.offers.pop(0)
        units = 1 if contentOf(offer) != (None, None) else max(1, self.remainder())
        self._hold(offer, *self.buyer.buyFor(self.item, offer, units))
        self._savePending()

    def _takePending(self, pending):
        self._hold(offerOf(pending), pending.buy_id, pending.expires, pending.quantity)
        self.buyer.log.info("resuming buy {id} of {item} from {seller}",
                            id=pending.buy_id, item=pending.item, seller=shortId(pending.seller))

    def _hold(self, offer, buy_id, expires, units):
        self.offer = offer
        self.buy_id = buy_id
        self.expires = expires
        self.asked = units
        self.attempts = 0
        self.refusals = 0
        self.buyer.track(buy_id, self)

    def _release(self):
        """The want's buy is resolved or handed over: forget it."""
        if self.buy_id is not None:
            self.buyer.untrack(self.buy_id)
        self.offer = None
        self.buy_id = None
        self.expires = None
        self.asked = None

    def pendingBuy(self):
        """The want's own buy, as recorded (the question its answers must
        match)."""
        offer = self.offer
        sha256, size = contentOf(offer)
        return PendingBuy(self.buy_id, self.item, offer.seller, offer.route,
                          offer.host, offer.port, self.expires, sha256, size,
                          self.asked)

    def _savePending(self, *args):
        buy_id = self.buy_id
        d = self.buyer.store.addPending(self.pendingBuy())
        d.addCallbacks(self._pendingSaved, self._pendingNotSaved,
                       callbackArgs=(buy_id,), errbackArgs=(buy_id,))

    def _pendingSaved(self, _, buy_id):
        self.saved(buy_id)

    def _pendingNotSaved(self, reason, buy_id):
        self.buyer.log.warn("could not record buy {id} of {item}: {why}", id=buy_id,
                            item=self.item, why=reason.getErrorMessage())
        self.saveFailed(buy_id)

    def _scheduleSave(self, buy_id):
        self.timer = self.buyer.node.clock.callLater(self._nextRetry(), self.timerFired)

    def _arm(self):
        delay = min(self.buyer.buy_timeout * 2 ** (self.attempts - 1), BUY_TIMEOUT_MAX)
        self.timer = self.buyer.node.clock.callLater(delay, self.timerFired)

    def _buy(self):
        sha256, size = contentOf(self.offer)
        return Buy(self.buy_id, self.item, self.offer.route, expires=self.expires,
                   sha256=sha256, size=size, quantity=quantityField(self.asked))

    def _sendFirst(self, *args):
        self.attempts = 1
        self._arm()
        self.buyer.sendFirst(self._buy(), self.offer, self.buyer.wantRefused)

    def _resend(self, *args):
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.attempts += 1
        self._arm()
        self.buyer.sendAgain(self._buy(), self.offer, self.buyer.wantRefused)

    def _armResend(self, buy_id):
        self._arm()

    def _waitAsTold(self, buy_id, why, wait):
        """Send the buy again once the seller said it would take it."""
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = self.buyer.node.clock.callLater(wait, self.timerFired)

    def _countRefusal(self, buy_id):
        self.refusals += 1

    def _notSent(self, buy_id):
        self.attempts -= 1

    def _searchAfter(self, buy_id, why, wait):
        self.timer = self.buyer.node.clock.callLater(min(wait, RETRY_MAX),
                                                     self.timerFired)

    def _failed(self, *args):
        self.buyer.failed(self.offer.seller)

    def _logGiveUp(self, buy_id=None, why=None):
        """Only ``unanswered`` names the buy it gives up on, and why; what
        comes next is the row's (called before it: the buy is current)."""
        then = ("waiting on the buys in doubt, which may fill the want"
                if self._if_fullWithout() else "trying the next offer" if self.offers
                else "searching again")
        self.buyer.failed(self.offer.seller)
        if why is None:
            why = "unreachable" if self.refusals >= REFUSALS else "silent"
        unsaid = self._saidOnce("gaveUp", (self.offer.seller, why, then))
        if unsaid is not None:
            self.buyer.log.info("seller {seller} is {why}; {then}{again}",
                                seller=shortId(self.offer.seller), why=why, then=then,
                                again=_again(unsaid))

    def _logStranded(self, buy_id, why):
        """The buy could not leave: said with what was wrong, that nothing
        was sold, and what the want does next (the next offer, or a
        search: L{_scheduleSearch} says when)."""
        self.buyer.failed(self.offer.seller)
        then = "trying the next offer" if self.offers else "no other offer"
        unsaid = self._saidOnce("stranded", (self.offer.seller, why, then))
        if unsaid is None:
            return
        self.buyer.log.info(
            "buy {id} of {item}: seller {seller} cannot be reached now ({why}); the "
            "buy never left this node, so nothing was sold: {then}{again}", id=buy_id,
            item=self.item, seller=shortId(self.offer.seller), why=why, then=then,
            again=_again(unsaid))

    def _abandon(self, *args):
        """Stop waiting for the current buy, but keep it pending: if the
        seller did sell, its buyOK must still find the bag."""
        pending = self.pendingBuy()
        self._release()
        self.buyer.giveUp(pending)

    def _dropCurrent(self, buy_id, *why):
        self._release()
        self.buyer.forget(buy_id)

    def _count(self, purchase):
        self.bought += purchase.units
        if self._said is not None:
            # A purchase changes what any retry would say.
            self._said.forget()
        if _isFile(purchase):
            # A file is one unit: bought once, it meets the want.
            self.quantity = min(self.quantity, self.bought)
        if purchase.buy_id == self.buy_id:
            self._release()
        self.buyer.log.info("bought {what} from {seller} ({n} of {q})",
                            what=counted(purchase.item, purchase.units),
                            item=purchase.item, units=purchase.units,
                            seller=shortId(purchase.seller),
                            n=self.bought,
                            q=self.quantity)

    def _heldAlready(self, path):
        # The fetcher said where, and that it is met (L{Fetcher.look}).
        self.buyer.wantDone()

    def _uncount(self):
        self.bought = 0
        self.buyer.log.info("{item} is not bought until its bytes are verified: "
                            "buying it again", item=self.item)

    def _finish(self, purchase):
        if self.buy_id is not None:
            # An earlier buy, answered late, met the want while another was
            # out: that one must still be settled, or a unit the seller sold
            # for it would never reach the bag.
            self._abandon()
        if not _isFile(purchase):
            # Met for good: the offers left are never tried (only a file's
            # want is reopened, and buys again from them: L{reopen}).  Up
            # to 64 offers with their records, held by every buyer done;
            # 1.9 kB a node of a warm run of 20,000 index nodes at its end.
            self.offers = []
        self.buyer.wantDone()


def _rows(*rows):
    return list(rows)


def _givenUp(say, last, then):
    """The rows that give the current buy up (kept pending, in doubt if
    it may have been sold), ``say`` first: doubting if the buys in doubt
    fill the want; else the next offer; else ``last``, with ``then``."""
    return (((Want._if_isCurrent, Want._if_fullWithout), DOUBTING, (say, Want._abandon)),
            ((Want._if_isCurrent, Want._if_offersLeft), SAVING,
             (say, Want._abandon, Want._takeNextOffer)),
            ((Want._if_isCurrent,), last, (say, Want._abandon, then)))


#: (state, input) -> rows of (guards, next state, outputs): the first row
#: whose guards all hold is taken.  Guards and outputs are Want's methods
#: themselves, so a misspelt one fails at import.
TRANSITIONS = {
    (WAITING, "kick"): _rows(
        ((Want._if_full,), DOUBTING, ()),
        ((Want._if_canFind,), SEARCHING, (Want._startFind,))),
    (DOUBTING, "resolved"): _rows(
        ((Want._if_full,), DOUBTING, ()),
        ((Want._if_offersLeft,), SAVING, (Want._takeNextOffer,)),
        ((), WAITING, (Want._kickAgain,))),
    (WAITING, "resume"): _rows(
        ((), RESUMING, (Want._takePending,))),
    (BACKOFF, "timerFired"): _rows(
        ((), WAITING, (Want._kickAgain,))),
    (SEARCHING, "held"): _rows(
        ((), DONE, (Want._heldAlready,))),
    (SEARCHING, "found"): _rows(
        ((Want._if_offered,), SAVING, (Want._keepOffers, Want._takeNextOffer)),
        ((), BACKOFF, (Want._scheduleSearch,))),
    (SAVING, "saved"): _rows(
        ((Want._if_isCurrent,), BUYING, (Want._sendFirst,))),
    (SAVING, "saveFailed"): _rows(
        ((Want._if_isCurrent,), RETRY_SAVE, (Want._scheduleSave,))),
    (RETRY_SAVE, "timerFired"): _rows(
        ((), SAVING, (Want._savePending,))),
    (RESUMING, "kick"): _rows(
        ((), BUYING, (Want._sendFirst,))),
    (BUYING, "timerFired"): _rows(
        ((Want._if_mayResend,), BUYING, (Want._resend,)),
        ((Want._if_fullWithout,), DOUBTING, (Want._logGiveUp, Want._abandon)),
        ((Want._if_offersLeft,), SAVING,
         (Want._logGiveUp, Want._abandon, Want._takeNextOffer)),
        ((), WAITING, (Want._logGiveUp, Want._abandon, Want._kickAgain))),
    # The seller read the buy and did not answer, or answered that it
    # cannot settle it yet (notyet): the buy is given up on, in doubt.
    (BUYING, "unanswered"): _rows(
        *_givenUp(Want._logGiveUp, WAITING, Want._kickAgain)),
    # The seller would take the buy in a while (notyet, with retryAfter):
    # wait as told if the buy is still live then.  Else it is given up on
    # (the clocks' word was said once: L{ClocksApart.behind}), and with
    # no other offer the want searches again after that wait, or
    # RETRY_MAX, not at once: the same seller would refuse it again.
    (BUYING, "notYet"): _rows(
        ((Want._if_isCurrent, Want._if_waitFits), BUYING, (Want._waitAsTold,)),
        *_givenUp(Want._failed, BACKOFF, Want._searchAfter)),
    (BUYING, "refused"): _rows(
        ((Want._if_isCurrent,), BUYING, (Want._countRefusal,))),
    (BUYING, "noSlot"): _rows(
        ((Want._if_isCurrent,), BUYING, (Want._notSent,))),
    (BUYING, "slotFreed"): _rows(
        ((Want._if_isCurrent,), BUYING, (Want._resend,))),
    (BUYING, "unreachable"): _rows(
        ((Want._if_isCurrent, Want._if_offersLeft), SAVING,
         (Want._logStranded, Want._dropCurrent, Want._takeNextOffer)),
        ((Want._if_isCurrent,), BACKOFF,
         (Want._logStranded, Want._dropCurrent, Want._scheduleSearch))),
    (COMMITTING, "notCommitted"): _rows(
        ((Want._if_isCurrent,), BUYING, (Want._armResend,))),
}

for _state in _HOLDING:
    TRANSITIONS[_state, "soldOut"] = _rows(
        ((Want._if_isCurrent, Want._if_offersLeft), SAVING,
         (Want._dropCurrent, Want._takeNextOffer)),
        ((Want._if_isCurrent,), WAITING, (Want._dropCurrent, Want._kickAgain)))
    TRANSITIONS[_state, "buyOK"] = _rows(
        ((Want._if_isCurrent,), COMMITTING, ()))

for _state in _ACTIVE:
    TRANSITIONS[_state, "committed"] = _rows(
        ((Want._if_lastUnit,), DONE, (Want._count, Want._finish)),
        # A partial fill: the rest from the next offer found, if any.
        ((Want._if_isCurrentPurchase, Want._if_moreOffered), SAVING,
         (Want._count, Want._takeNextOffer)),
        ((Want._if_isCurrentPurchase,), WAITING, (Want._count, Want._kickAgain)),
        ((), _state, (Want._count,)))
    TRANSITIONS[_state, "stop"] = _rows(
        ((), STOPPED, ()))

for _state in (DONE, STOPPED):
    TRANSITIONS[_state, "committed"] = _rows(
        ((), _state, (Want._count,)))
TRANSITIONS[DONE, "reopen"] = _rows(
    ((), WAITING, (Want._uncount, Want._kickAgain)))

del _state

for _state, _input in TRANSITIONS:
    # An input the table names must be one of Want's: fail at import.
    getattr(Want, _input)
del _state, _input


def _isFile(purchase):
    return purchase.sha256 is not None


def contentOf(offer):
    """(sha256, size) of the shared file an offer names, else (None, None):
    what a buy of it pays for."""
    if offer.sha256 is None or offer.size is None:
        return None, None
    return offer.sha256, offer.size


def offerOf(pending):
    """The offer a L{PendingBuy} was bought from, as far as it says."""
    return Offer(pending.seller, pending.path, pending.host, pending.port,
                 pending.size, pending.sha256)


def _again(unsaid):
    """The end of a retry's line said again while it says the same
    (L{SaidOnce}): how many times it went unsaid."""
    return f" (the same {plural(unsaid, 'more time')} since this was said)" if unsaid else ""
