"""
The buyer role: searches for what it wants, tries the offers (sellers
that failed it last), buys (directly when it can, else along the path),
and keeps a bag.

Each wanted item runs its own state machine, a
L{twisted_bazaar.roles.want.Want} (its whole transition table is in
L{twisted_bazaar.roles.want}): find offers (through the node's
discovery scheme) -> write the chosen buy as pending -> send it, resending
the same buy id on silence -> commit the purchase -> next unit, or search
again with backoff when no offer came.  The L{Buyer} feeds the wants
their inputs and does the I/O their outputs ask for, through three
parts: L{Sender} (sending buys and asks), L{Doubts} (buys given up on,
asked about until answered) and L{Answers} (checking and accepting
answers).  Every buy id has one L{BuyRecord} in one L{BuyBook}.

Exactly-once: a buy id is written to the store as pending before it is
first sent, and a purchase is committed before it is counted, put in the
bag or reported.  Each buy expires (BUY_LIFETIME after it is chosen).
"""

from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.base.deferreds import Outstanding
from twisted_bazaar.core.market import discoveryOf
from twisted_bazaar.core.node import NoRoute, Unreachable
from twisted_bazaar.roles import Role
from twisted_bazaar.roles.buyer.answers import Answers
from twisted_bazaar.roles.buyer.book import BuyBook, FieldView
from twisted_bazaar.roles.buyer.doubts import Doubts
from twisted_bazaar.roles.buyer.sellers import SellerMemory, sellerGroup
from twisted_bazaar.roles.buyer.sending import NoSlot, Sender, Stranded
from twisted_bazaar.roles.probe import ANSWER_GRACE
from twisted_bazaar.roles.trades import TradeLog
from twisted_bazaar.roles.want import DOUBT_LIMIT, DONE, Want
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.wire.trade import BuyOK

DEFAULT_SEARCH_WINDOW = 1.0
#: What a buy that found no route to its seller's address, and had no
#: search's path to go along, says of the way across (L{NoRoute}).
NO_ROUTE_WAY = ("; this node has no route to that address (of the other address "
                "family, say), and this offer has no path through another node (a "
                "flood search's has one, through a node on both families linked to "
                "each side: --discovery flood)")
#: The same for a shared file, whose bytes come only straight from its
#: seller (L{twisted_bazaar.roles.buyer.sending}).
NO_ROUTE_FILE = ("; this node has no route to that address (of the other address "
                 "family, say), and a shared file's bytes come only over a connection "
                 "to its seller")
DEFAULT_BUY_TIMEOUT = 2.0


class Buyer(Role):
    """
    The boss of the wants: feeds them the node's events, answers, and
    store results, and does the I/O their outputs ask for.

    @ivar wants: a L{Want} per wanted item.
    @ivar bag: the L{Purchase}s made, in order (restored from the store).
    @ivar book: the L{BuyBook}: one record per buy id.
    @ivar unresolved: buy id -> L{PendingBuy} given up on but not answered
        (a view of the book).
    """

    log = Logger()

    def __init__(self, node, wants, quantity=1, search_window=DEFAULT_SEARCH_WINDOW,
                 buy_timeout=DEFAULT_BUY_TIMEOUT, exit_when_done=False,
                 answer_grace=ANSWER_GRACE, doubt_limit=DOUBT_LIMIT):
        """
        @param doubt_limit: seconds one buy in doubt may hold its want
            back (L{Doubts}).
        @param exit_when_done: once every want is met, ask for the node to
            stop (L{Node.requestStop}) rather than stay up as a relay.
        @param answer_grace: seconds a seller that read a buy or an ask
            (see L{twisted_bazaar.roles.probe}) has to answer it.
        """
        super().__init__(node)
        self.answer_grace = answer_grace
        self.exit_when_done = exit_when_done
        self.store = node.store
        self.search_window = search_window
        self.buy_timeout = buy_timeout
        self.bag = self.store.bag()
        #: The last purchases, with the path each buy took, for the operator.
        self.trades = TradeLog(node.clock)
        self.book = BuyBook(purchase.buy_id for purchase in self.bag)
        # Views of the book, for the tests and anyone reading the buyer:
        # buy id -> PendingBuy given up on, buy id -> the want holding it.
        self.unresolved = FieldView(self.book, "unresolved")
        self._by_buy = FieldView(self.book, "want")
        held = self.bagHeld()
        # A file is one unit, whatever the quantity: bought, its want is met.
        files = {purchase.item for purchase in self.bag if purchase.sha256 is not None}
        self.wants = [Want(self, item, 1 if item in files else quantity, held.get(item, 0))
                      for item in wants]
        self._by_item = {want.item: want for want in self.wants}
        # Told each purchase once it is on disk (tellPurchases), or None.
        self._onBought = None
        self.discovery = discoveryOf(node)
        self.sellers = SellerMemory(purchase.seller for purchase in self.bag)
        #: Deferreds this buyer waits on and cancels when it stops.
        self._outstanding = Outstanding()
        self.sender = Sender(node, self.book, self._outstanding, answer_grace,
                             self._slotFreed)
        self.doubts = Doubts(self, node, self.book, self.sender, self.sellers,
                             doubt_limit)
        self.answers = Answers(self, node, self.book, self.doubts, self.sellers)
        # What the wants ask of the buyer, done by its parts.
        self.sendFirst = self.sender.sendFirst
        self.sendAgain = self.sender.sendAgain
        self.giveUp = self.doubts.giveUp
        self.inDoubt = self.doubts.inDoubt
        #: The L{Fetcher} of the files bought, with --downloads.
        self.fetcher = None
        self._stopped = False
        self._restorePending()

    def order(self, offers):
        """The order to try offers in (L{SellerMemory.order}), each
        seller's address group as the node sees it now, without those of
        a file content that could not be fetched or of a seller this node
        has no way to fetch a file from (L{Fetcher.fetchable
        <twisted_bazaar.roles.files.fetch.Fetcher.fetchable>})."""
        if self.fetcher is not None:
            offers = self.fetcher.fetchable(offers)
        linkTo = self.node.linkTo
        return self.sellers.order(
            offers, lambda offer: sellerGroup(linkTo, offer.seller, offer.route))

    def lookFor(self, item, offers):
        """Before buying item from offers: a Deferred of the path of a
        verified file they name that is in the downloads folder already
        (or of None), or None when there is nothing to look for (no
        --downloads, no file named: L{Fetcher.look})."""
        if self.fetcher is None:
            return None
        return self.fetcher.look(item, offers)

    def unfetched(self, item):
        """The file bought as item could not be fetched, and other content
        is offered under its name: the want is not met, and buys again."""
        want = self._by_item.get(item)
        if want is not None:
            want.reopen()

    def tradesHeld(self, now):
        return self.trades.entries(now)

    def bagHeld(self):
        """item -> units in its bag."""
        held = {}
        for purchase in self.bag:
            held[purchase.item] = held.get(purchase.item, 0) + purchase.units
        return held

    @property
    def satisfied(self):
        # A want for a file is met once the file is in place (the files
        # part's hook: L{Fetcher.settled}).
        return all(want.state == DONE for want in self.wants) and (
            self.fetcher is None or self.fetcher.settled())

    def _restorePending(self):
        """Buys sent before a restart: the first one of each want goes on
        with its old id; the rest wait for the resolver."""
        for pending in self.store.pending():
            record = self.book.record(pending.buy_id)
            record.routed = True
            want = self._by_item.get(pending.item)
            if want is not None:
                want.resume(pending)
            if record.want is None:
                self.doubts.doubt(pending)
        self.doubts.scheduleResolve()

    # -- node events ---------------------------------------------------------

    def nodeReady(self):
        """Start buying; a buyer restarted with every want met says so."""
        if self.satisfied:
            self.wantDone()
        self._kick()

    def linkAdded(self, peer_id):
        self._kick()

    def linkRemoved(self, peer_id):
        self.sender.waits.freed()

    def _slotFreed(self, buy_id):
        """A direct slot may be free: the want of buy_id, which waits for
        one, sends it again now."""
        record = self.book.get(buy_id)
        if record is None or record.want is None:
            self.sender.waits.left(buy_id)
        else:
            record.want.slotFreed(buy_id)

    def trackerRegistered(self):
        self._kick()

    def discoveryReady(self):
        self._kick()

    def _answered(self, link, answer):
        self.answers.delivered(link, answer)

    #: The sellers' answers (buyOK, or an error about a buy), delivered.
    delivers = {BuyOK: _answered, wire.Error: _answered}

    def usesLinkTo(self, peer_id):
        """See L{Role.usesLinkTo}: a buy or an ask out with that seller."""
        return self.book.outWith(peer_id)

    def nodeStopping(self):
        self._stop()

    def stopService(self):
        """Cancel every timer, find, connection and question this buyer
        owns.  Safe to call more than once, and after nodeStopping."""
        super().stopService()
        self._stop()

    def _stop(self):
        self._stopped = True
        self.answers.stop()
        self.doubts.stop()
        self.sender.pings.stop()
        self.sender.waits.stop()
        for want in self.wants:
            want.stop()
        self._outstanding.cancelAll()
        self.book.stopAll()

    def _kick(self):
        """Start whatever was waiting for the node to be able to talk."""
        if not self.node.ready or self._stopped:
            return
        for want in self.wants:
            want.kick()

    # -- what the wants ask of the buyer -------------------------------------

    def track(self, buy_id, want):
        self.book.record(buy_id).want = want

    def untrack(self, buy_id):
        """The want let its buy go: a ping after it no longer matters."""
        record = self.book.get(buy_id)
        if record is not None:
            record.want = None
            if record.watching is not None:
                probe, record.watching = record.watching, None
                probe.answered()
        # Its seller's link, if any, may be one to give up for a buy waiting.
        self.sender.waits.left(buy_id)
        self.sender.waits.freed()

    def buyFor(self, item, offer, units):
        """
        The (id, expiry, quantity) of a buy of up to units of item from
        offer: one in doubt of the same content from this seller goes
        again as it was (so the seller cannot sell us more for it);
        otherwise a new id for units, expiring BUY_LIFETIME from now.
        """
        return self.doubts.reclaim(item, offer, units) or (*self.sender.newBuy(), units)

    def wouldDoubt(self, buy_id):
        """
        Whether giving up on the want's buy_id would hold its want back:
        its seller may have sold it (it left this process, or was
        restored from the store, so may have left before), and the want's
        doubt budget has seconds left for that seller's address group.
        """
        record = self.book.get(buy_id)
        return (record is not None and record.routed and record.want is not None
                and self.doubts.wouldHold(record.want.pendingBuy()))

    def forget(self, buy_id):
        """A buy that was not sold (or never left): its record goes, and
        it is no longer pending."""
        self.book.forget(buy_id)
        self.store.dropPending(buy_id).addErrback(self.storeFailed,
                                                  "drop pending buy", buy_id)

    def wantDone(self):
        if not self.satisfied:
            return
        units = sum(self.bagHeld().values())
        if self.exit_when_done:
            self.log.info("all wants met: {bag} in the bag; stopping "
                          "(--exit-when-done)", bag=units)
            self.node.requestStop("all wants met")
        else:
            self.log.info("all wants met: {bag} in the bag; staying up as a relay",
                          bag=units)

    def wantRefused(self, buy_id, reason):
        record = self.book.get(buy_id)
        if record is None or record.want is None:
            return
        if reason.check(NoSlot):
            record.want.noSlot(buy_id)
        elif reason.check(Unreachable, Stranded, NoRoute) and not record.routed:
            why = reason.getErrorMessage()
            if reason.check(NoRoute):
                offer = record.want.offer
                why += (NO_ROUTE_FILE if offer is not None and offer.sha256 is not None
                        else NO_ROUTE_WAY)
            record.want.unreachable(buy_id, why)
        else:
            record.want.refused(buy_id)

    def storeFailed(self, reason, what, buy_id):
        self.log.warn("could not {what} {id}: {why}", what=what, id=buy_id,
                      why=reason.getErrorMessage())

    # -- what the parts ask of the buyer -------------------------------------

    def doubtsResolved(self, item):
        """Fewer buys of item are in doubt: its want may buy again."""
        want = self._by_item.get(item)
        if want is not None:
            want.resolved()

    def failed(self, seller):
        """A buy from seller was given up on (silent, nothing listening, or
        ``notyet``): it is tried last from now on, and the node's
        discovery is told."""
        self.sellers.failed(seller)
        self.sellerSoldNothing(seller)

    def sellerSoldNothing(self, seller):
        """seller answered a buy of a want ``soldout`` (or another
        never-sold answer), or was given up on: the node's discovery is
        told (L{INodeEvents.soldNothing})."""
        self.node.events.soldNothing(seller)

    def sellerRefuses(self, seller):
        """seller refuses to answer: none of its offers is tried again, and
        the node's discovery is told (its records are nothing to go on)."""
        for want in self.wants:
            want.offers = [offer for offer in want.offers if offer.seller != seller]
        self.node.events.refusedToSell(seller)

    def tellPurchases(self, listener):
        """Have listener told each purchase, ``listener(purchase)``, once
        it is on disk: C{bazaar buy} says it then, before a file bought is
        fetched."""
        self._onBought = listener

    def bought(self, purchase, want, doubted):
        """A purchase is on disk: into the bag, and counted by its want."""
        self.bag.append(purchase)
        if self._onBought is not None:
            self._onBought(purchase)
        if self.fetcher is not None:
            self.fetcher.bought(purchase)
        elif purchase.sha256 is not None:
            # Its want is met all the same (it is bought); the file is not
            # here, and the operator is told why (once a file bought).
            self.log.warn("bought {item}, a shared file, but this buyer has no "
                          "--downloads: it is not fetched (give --downloads DIR "
                          "to fetch what it buys)", item=purchase.item)
        want = want or self._by_item.get(purchase.item)
        if want is None:
            self.log.info("bought {item} from {seller} (an earlier buy, answered "
                          "late)", item=purchase.item, seller=shortId(purchase.seller))
            return
        want.committed(purchase)
        if doubted:
            want.resolved()
