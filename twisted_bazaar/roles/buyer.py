"""
The buyer role: searches for what it wants, tries the offers (sellers
that failed it last: L{Buyer.order}), buys (directly when it can, else
along the path), and keeps a bag.

Each wanted item runs its own state machine, a
L{twisted_bazaar.roles.want.Want} (its whole transition table is in
L{twisted_bazaar.roles.want}): find offers (through the node's
discovery scheme) -> write the chosen buy as pending -> send it, resending
the same buy id on silence -> commit the purchase -> next unit, or search
again with backoff when no offer came.  The L{Buyer} feeds the wants
their inputs and does the I/O their outputs ask for.

Exactly-once: a buy id is written to the store as pending before it is
first sent, and a purchase is committed before it is counted, put in the
bag or reported; a buyOK repeated while its commit is in flight is
ignored.  A buy that
is given up on (its seller went quiet or away) stays pending, and the
seller is asked about it (``ask``, which never buys) from time to time
until it answers, so a unit the seller did sell always reaches the bag,
across restarts too.

Exactly the quantity wanted: while a buy given up on is in doubt (its
seller has not said whether it sold it, for up to DOUBT_LIMIT seconds), it
counts towards its want, which buys no more than the rest.

An answer counts only if it answers the very buy asked (L{Buyer._fault}):
signed by the seller the buy went to, addressed to this buyer's key, about
its buy id, and for a ``buyOK`` the item and the file content it paid
for.  Any other is logged (a few lines per interval) and ignored, and the
buy goes on as if unanswered.  Each buy expires (BUY_LIFETIME after it is
chosen): ``expired``, like ``soldout`` and ``unsold``, settles it as not
sold; ``notyet`` (a seller that cannot promise that yet) leaves it in
doubt, asked about again later.

A seller that reads what it is sent and will not answer gains nothing by
it: on a link where the seller proved its key, each direct buy and ask is
followed by a ping (L{twisted_bazaar.roles.probe}).  A buy read and not
answered is given up on at once; asks read and not answered, ASK_ROUNDS
times, make the seller one that *refuses to answer*: its buys are no
longer in doubt (they stop holding their wants back and are dropped),
its offers are never tried again, and a late buyOK from it for such a buy
is not put in the bag.
"""

from collections import OrderedDict

import attr
from twisted.internet import defer
from twisted.logger import Logger
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import LogThrottle
from twisted_bazaar.identity.keys import signedBy, signedIf
from twisted_bazaar.roles.probe import ANSWER_GRACE, ASK_ROUNDS, BUY_ROUNDS, Probe
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK
from twisted_bazaar.core.market import discoveryOf
from twisted_bazaar.net.overlay import DIRECT, Unreachable
from twisted_bazaar.roles.files.fetch import Fetcher
from twisted_bazaar.roles.files.options import downloadsFolder
from twisted_bazaar.base.options import boundedInt, seconds
from twisted_bazaar.roles import IRolePlugin, Role, RoleOption
from twisted_bazaar.roles.want import (
    BUY_ATTEMPTS,
    BUY_LIFETIME,
    BUY_TIMEOUT_MAX,
    DOUBT_LIMIT,
    HASTY_ATTEMPTS,
    REFUSALS,
    RETRY_MAX,
    RETRY_MIN,
    DONE,
    Want,
    contentOf,
    offerOf,
)
from twisted_bazaar.store import Purchase

__all__ = ["Buyer", "BuyerPlugin", "Purchase", "BUY_ATTEMPTS", "BUY_LIFETIME",
           "BUY_TIMEOUT_MAX", "DOUBT_LIMIT", "HASTY_ATTEMPTS", "REFUSALS", "RETRY_MIN",
           "RETRY_MAX", "RESOLVE_INTERVAL"]

DEFAULT_SEARCH_WINDOW = 1.0
DEFAULT_BUY_TIMEOUT = 2.0
#: Seconds between questions about buys that were given up on.
RESOLVE_INTERVAL = 30.0
#: Sellers remembered as having failed this buyer (given up on), and as
#: refusing to answer, and buys disowned for that, newest kept.
FAILED_LIMIT = 1024


class Buyer(Role):
    """
    The boss of the wants: feeds them the node's events, answers, and
    store results, and does the I/O their outputs ask for (sending buys,
    writing to the store).

    @ivar wants: a L{Want} per wanted item.
    @ivar bag: the L{Purchase}s made, in order (restored from the store).
    @ivar unresolved: buy id -> L{PendingBuy} given up on but not answered.
    """

    #: Errors that settle a buy: the seller did not and will not sell it.
    NOT_SOLD = ("soldout", "unsold", "expired")

    log = Logger()

    def bagHeld(self):
        held = {}
        for purchase in self.bag:
            held[purchase.item] = held.get(purchase.item, 0) + 1
        return held

    def __init__(self, node, wants, quantity=1, search_window=DEFAULT_SEARCH_WINDOW,
                 buy_timeout=DEFAULT_BUY_TIMEOUT, exit_when_done=False,
                 answer_grace=ANSWER_GRACE):
        """
        @param exit_when_done: once every want is met, ask for the node to
            stop (L{Node.requestStop}) rather than stay up as a relay.
        @param answer_grace: seconds a seller that read a buy or an ask
            (see L{twisted_bazaar.roles.probe}) has to answer it.
        """
        self.answer_grace = answer_grace
        super().__init__(node)
        self.exit_when_done = exit_when_done
        self.store = node.store
        self.search_window = search_window
        self.buy_timeout = buy_timeout
        self.bag = self.store.bag()
        self._bought_ids = {purchase.buy_id for purchase in self.bag}
        held = {}
        for purchase in self.bag:
            held[purchase.item] = held.get(purchase.item, 0) + 1
        self.wants = [Want(self, item, quantity, held.get(item, 0)) for item in wants]
        self._by_item = {want.item: want for want in self.wants}
        self.discovery = discoveryOf(node)
        #: buy id -> the want whose own buy it is; an entry goes when the
        #: buy is resolved (bought, sold out, given up on).
        self._by_buy = {}
        #: buy id -> Purchase being committed.
        self._committing = {}
        self.unresolved = {}
        #: buy id -> when it went unresolved; it is in doubt for DOUBT_LIMIT.
        self._doubted = {}
        #: Ids of the buys that may have reached their sellers (see
        #: L{mayHaveSold}); an entry goes when its buy is settled.
        self._routed = set()
        #: Sellers given up on and not heard from since, oldest first.
        self._failed = OrderedDict()
        #: Sellers that read our asks and would not answer them, oldest
        #: first: never tried again.
        self._refusers = OrderedDict()
        #: buy id -> seller, of buys dropped because their seller refused
        #: to answer: a buyOK for one is not put in the bag.
        self._disowned = OrderedDict()
        #: buy id -> the L{Probe} of a direct buy, or of an ask, running.
        self._watching = {}
        self._probes = {}
        self._resolve_call = None
        #: Answers ignored for not matching their buys: a few logged per
        #: interval, the rest summed up.
        self._ignored = LogThrottle(node.clock, self._logIgnored)
        #: The L{Fetcher} of the files bought, with --downloads.
        self.fetcher = None
        #: Deferreds this buyer waits on and cancels when it stops.
        self._outstanding = set()
        self._stopped = False
        self._restorePending()

    @property
    def satisfied(self):
        return all(want.state == DONE for want in self.wants)

    def _restorePending(self):
        """Buys sent before a restart: the first one of each want goes on
        with its old id; the rest wait for the resolver."""
        for pending in self.store.pending():
            self._routed.add(pending.buy_id)
            want = self._by_item.get(pending.item)
            if want is not None:
                want.resume(pending)
            if pending.buy_id not in self._by_buy:
                self._doubt(pending)
        self._scheduleResolve()

    # -- node events ---------------------------------------------------------

    def nodeReady(self):
        """Start buying; a buyer restarted with every want met says so."""
        if self.satisfied:
            self.wantDone()
        self._kick()

    def linkAdded(self, peer_id):
        self._kick()

    def trackerRegistered(self):
        self._kick()

    def discoveryReady(self):
        self._kick()

    def nodeStopping(self):
        self._stop()

    def stopService(self):
        """Cancel every timer, find, connection and question this buyer
        owns.  Safe to call more than once, and after nodeStopping."""
        super().stopService()
        self._stop()

    def _stop(self):
        self._stopped = True
        self._ignored.close()
        for want in self.wants:
            want.stop()
        if self._resolve_call is not None and self._resolve_call.active():
            self._resolve_call.cancel()
        self._resolve_call = None
        while self._outstanding:
            self._outstanding.pop().cancel()
        for probes in (self._watching, self._probes):
            while probes:
                probes.popitem()[1].answered()

    def _kick(self):
        """Start whatever was waiting for the node to be able to talk."""
        if not self.node.ready or self._stopped:
            return
        for want in self.wants:
            want.kick()

    # -- what the wants ask of the buyer ---------------------------------------------

    def track(self, buy_id, want):
        self._by_buy[buy_id] = want

    def untrack(self, buy_id):
        """The want let its buy go: a ping after it no longer matters."""
        self._by_buy.pop(buy_id, None)
        probe = self._watching.pop(buy_id, None)
        if probe is not None:
            probe.answered()

    def buyFor(self, item, offer):
        """
        The (id, expiry) of a buy of item from offer: a buy of the same
        content from this seller that it never answered is sent again
        with its id and expiry, so the seller cannot sell us a second unit
        for it; otherwise a new id, expiring BUY_LIFETIME from now.
        """
        content = contentOf(offer)
        for buy_id, pending in self.unresolved.items():
            if (pending.item == item and pending.seller == offer.seller
                    and (pending.sha256, pending.size) == content
                    and buy_id not in self._committing):
                self._settled(buy_id)
                return buy_id, pending.expires
        expires = int((self.node.clock.seconds() + BUY_LIFETIME) * 1000)
        return self.node.rng.randrange(1, wire.ID_LIMIT), expires

    def giveUp(self, pending):
        """
        A want stopped waiting for this buy.  One that never left is
        simply dropped; any other is in doubt: ask its seller about it now
        (an answer settles the doubt at once), then with the resolver.
        """
        if not self.mayHaveSold(pending.buy_id):
            self.forget(pending.buy_id)
            return
        if pending.seller in self._refusers:
            self._dropRefused(pending)
            return
        self._doubt(pending)
        if not self._stopped:
            self._askAgain(pending)
        self._scheduleResolve()

    def _doubt(self, pending):
        self.unresolved[pending.buy_id] = pending
        self._doubted[pending.buy_id] = self.node.clock.seconds()

    def _settled(self, buy_id):
        """An unresolved buy is answered (or taken back by its want): no
        more asks about it."""
        del self.unresolved[buy_id]
        self._doubted.pop(buy_id, None)
        probe = self._probes.pop(buy_id, None)
        if probe is not None:
            probe.answered()

    def inDoubt(self, item):
        """Buys of item given up on less than DOUBT_LIMIT ago that their
        sellers have not answered: each may have been sold."""
        return sum(1 for buy_id, pending in self.unresolved.items()
                   if pending.item == item and buy_id in self._doubted)

    def _doubtsResolved(self, item):
        """Fewer buys of item are in doubt: its want may buy again."""
        want = self._by_item.get(item)
        if want is not None:
            want.resolved()

    def forget(self, buy_id):
        """A buy the seller said soldout to (or that never left): no
        longer pending."""
        self._routed.discard(buy_id)
        self.store.dropPending(buy_id).addErrback(self._storeFailed,
                                                  "drop pending buy", buy_id)

    def order(self, offers):
        """
        The order to try offers in, so that a short path wins an attacker
        nothing: none from a seller that refused to answer; offers from
        sellers that have not failed this buyer first, and among them those
        with an address (bought from directly, so no relay can swallow the
        buy); the scheme's order within that.
        """
        return sorted((offer for offer in offers if offer.seller not in self._refusers),
                      key=lambda offer: (offer.seller in self._failed,
                                         not (offer.host and offer.port)))

    def failed(self, seller):
        """This buyer gave up on a buy from seller: try it last from now
        on, until it answers."""
        self._failed.pop(seller, None)
        self._failed[seller] = True
        if len(self._failed) > FAILED_LIMIT:
            self._failed.popitem(last=False)

    def wantDone(self):
        if not self.satisfied:
            return
        if self.exit_when_done:
            self.log.info("all wants met: {bag} in the bag; stopping "
                          "(--exit-when-done)", bag=len(self.bag))
            self.node.requestStop("all wants met")
        else:
            self.log.info("all wants met: {bag} in the bag; staying up as a relay",
                          bag=len(self.bag))

    def wantRefused(self, buy_id, reason):
        want = self._by_buy.get(buy_id)
        if want is not None:
            want.refused(buy_id)

    def _storeFailed(self, reason, what, buy_id):
        self.log.warn("could not {what} {id}: {why}", what=what, id=buy_id,
                      why=reason.getErrorMessage())

    # -- sending buys ------------------------------------------------------------------
    #
    # Directly when linked to the seller or able to connect to it, else
    # along the offer's path.  A first send waits for the connection before
    # falling back on the path; a resend (a buy id is safe to repeat) goes
    # along the path at once, and tries the connection too.

    def sendFirst(self, buy, offer, onRefused):
        """Send a buy (or an ask) the first time: see above."""
        if offer.seller in self.node.links:
            self._send(self._direct(buy, offer))
        elif offer.host and offer.port:
            self._connect(buy, offer, onRefused, self._firstConnectFailed)
        elif self._alongPath(buy):
            self._send(buy)

    def sendAgain(self, buy, offer, onRefused):
        """Send a buy (or an ask) again: see above."""
        if offer.seller in self.node.links:
            self._send(self._direct(buy, offer))
            return
        if self._alongPath(buy):
            self._send(buy)
        if offer.host and offer.port:
            self._connect(buy, offer, onRefused, self._connectFailed)

    def _send(self, message):
        """Route a buy or an ask, signed; a buy that left may have been
        sold.  A buy sent straight to a seller that proved its key is
        watched (see L{_watch})."""
        message = signedIf(self.node.identity, message)
        if self.node.route(message) and type(message) is not Ask:
            self._routed.add(message.id)
            if len(message.path) == 2:
                self._watch(message)

    def _provenLink(self, seller):
        """The link to seller, if it is up and seller proved its key on
        it (docs/protocol.md §6), else None."""
        link = self.node.links.get(seller)
        if link is None or link.closing or not self.node.isProven(link):
            return None
        return link

    def _watch(self, buy):
        """
        Ping after a direct buy: a seller that read it (the pong came) and
        did not answer within ANSWER_GRACE is given up on at once, and
        the ask probe takes over (L{_askAgain}).
        """
        buy_id = buy.id
        link = self._provenLink(buy.path[1])
        if (link is None or type(buy) is not Buy or buy_id in self._watching
                or buy_id not in self._by_buy):
            return
        probe = self._watching[buy_id] = Probe(
            link, self.node.clock, lambda: None,
            lambda refused: self._watched(buy_id, probe, refused), BUY_ROUNDS,
            self.answer_grace)
        probe.start()

    def _watched(self, buy_id, probe, refused):
        if self._watching.get(buy_id) is probe:
            del self._watching[buy_id]
        want = self._by_buy.get(buy_id)
        if refused and want is not None:
            want.unanswered(buy_id)

    def _answered(self, buy_id):
        """An answer about buy_id came: its probes are over."""
        for probes in (self._watching, self._probes):
            probe = probes.pop(buy_id, None)
            if probe is not None:
                probe.answered()

    def mayHaveSold(self, buy_id):
        """Whether a seller may have sold buy_id: it left this process, or
        it was restored from the store (it may have left before)."""
        return buy_id in self._routed

    def _direct(self, buy, offer):
        return attr.evolve(buy, path=(self.node.id, offer.seller))

    def _alongPath(self, buy):
        return len(buy.path) > 2 and buy.path[0] == self.node.id

    def _stillOut(self, buy_id):
        return buy_id in self._by_buy or buy_id in self.unresolved

    def _connect(self, buy, offer, onRefused, failed):
        d = self._own(self.node.connectTo(offer.host, offer.port, offer.seller, DIRECT))
        d.addCallbacks(self._connected, failed, callbackArgs=(buy, offer),
                       errbackArgs=(buy, onRefused))

    def _connected(self, _, buy, offer):
        if self._stillOut(buy.id):
            self._send(self._direct(buy, offer))

    def _connectFailed(self, reason, buy, onRefused):
        """
        A live seller out of connection slots refuses the link too: with a
        path to fall back on, only an address where nothing listens says
        the seller is gone.
        """
        if reason.check(defer.CancelledError):
            return False
        if reason.check(Unreachable) or not self._alongPath(buy):
            onRefused(buy.id, reason)
        return True

    def _firstConnectFailed(self, reason, buy, onRefused):
        if (self._connectFailed(reason, buy, onRefused) and self._stillOut(buy.id)
                and self._alongPath(buy)):
            self._send(buy)

    def _own(self, d):
        """Keep d until it fires, to cancel it if the buyer stops first."""
        self._outstanding.add(d)
        d.addBoth(self._disown, d)
        return d

    def _disown(self, result, d):
        self._outstanding.discard(d)
        return result

    # -- buys given up on ----------------------------------------------------------

    def _scheduleResolve(self):
        if (self.unresolved and self._resolve_call is None and not self._stopped
                and not self.node.stopping):
            self._resolve_call = self.node.clock.callLater(RESOLVE_INTERVAL,
                                                           self._resolve)

    def _resolve(self):
        """Ask each seller that never answered a buy about it once more;
        a buy in doubt for DOUBT_LIMIT no longer holds its want back."""
        self._resolve_call = None
        now = self.node.clock.seconds()
        for buy_id, since in list(self._doubted.items()):
            if now - since >= DOUBT_LIMIT:
                del self._doubted[buy_id]
                self.log.warn("seller {seller} has not said for {limit:g} s whether it "
                              "sold buy {id}; buying on without it",
                              seller=shortId(self.unresolved[buy_id].seller), limit=DOUBT_LIMIT,
                              id=buy_id)
                self._doubtsResolved(self.unresolved[buy_id].item)
        if self.node.ready:
            for pending in list(self.unresolved.values()):
                self._askAgain(pending)
        self._scheduleResolve()

    def _askAgain(self, pending):
        """Ask a seller about a buy: on a link where it proved its key,
        with a probe, unless one is running; else as a buy is resent."""
        buy_id = pending.buy_id
        ask = Ask(buy_id, pending.item, pending.path, expires=pending.expires)
        offer = offerOf(pending)
        link = self._provenLink(pending.seller)
        if link is None:
            self.sendAgain(ask, offer, self._relocate)
            return
        if buy_id in self._probes:
            return
        watching = self._watching.pop(buy_id, None)
        if watching is not None:
            watching.answered()
        direct = self._direct(ask, offer)

        def again():
            if self.node.links.get(pending.seller) is link and not link.closing:
                self._send(direct)
            else:
                probe.answered()
                self._probes.pop(buy_id, None)

        probe = self._probes[buy_id] = Probe(
            link, self.node.clock, again,
            lambda refused: self._probed(pending, probe, refused), ASK_ROUNDS,
            self.answer_grace)
        self._send(direct)
        probe.start()

    def _probed(self, pending, probe, refused):
        buy_id = pending.buy_id
        if self._probes.get(buy_id) is probe:
            del self._probes[buy_id]
        if refused and buy_id in self.unresolved:
            self._refusing(pending.seller, buy_id)

    def _refusing(self, seller, buy_id):
        """
        The seller read our asks about buy_id, ASK_ROUNDS times, and
        answered none: an honest seller that is up answers an ask at once.
        Its buys stop holding their wants back, and it is not tried again.
        """
        self.log.warn("seller {seller} read {rounds} asks about buy {id} and answered "
                      "none within {grace:g} s: it refuses to answer; buying "
                      "elsewhere, and never from it again", seller=shortId(seller),
                      rounds=ASK_ROUNDS, id=buy_id, grace=self.answer_grace)
        self._refusers.pop(seller, None)
        self._refusers[seller] = True
        if len(self._refusers) > FAILED_LIMIT:
            self._refusers.popitem(last=False)
        items = set()
        for pending in list(self.unresolved.values()):
            if pending.seller == seller:
                items.add(pending.item)
                self._dropRefused(pending)
        for want in self.wants:
            want.offers = [offer for offer in want.offers if offer.seller != seller]
        for item in sorted(items):
            self._doubtsResolved(item)

    def _dropRefused(self, pending):
        """Drop a buy of a seller that refuses to answer: no longer pending
        nor in doubt, and a buyOK for it will not be put in the bag."""
        buy_id = pending.buy_id
        if buy_id in self.unresolved:
            self._settled(buy_id)
        self._answered(buy_id)
        self._disowned[buy_id] = pending.seller
        if len(self._disowned) > FAILED_LIMIT:
            self._disowned.popitem(last=False)
        self.forget(buy_id)

    def _relocate(self, buy_id, reason):
        """Nothing listens where the seller was: it may have restarted on
        another port.  Ask the tracker, and ask the seller there."""
        membership = self.node.membership
        pending = self.unresolved.get(buy_id)
        if membership is None or pending is None or not reason.check(Unreachable):
            return
        d = self._own(membership.whereIs(pending.seller))
        d.addCallbacks(self._relocated, _ignoreCancelled, callbackArgs=(buy_id,))

    def _relocated(self, address, buy_id):
        pending = self.unresolved.get(buy_id)
        if address is None or pending is None:
            return
        host, port = address
        if (host, port) == (pending.host, pending.port):
            return
        moved = attr.evolve(pending, host=host, port=port)
        self.unresolved[buy_id] = moved
        self.store.addPending(moved).addCallbacks(
            self._moveRecorded, self._storeFailed, callbackArgs=(buy_id,),
            errbackArgs=("record the new address of buy", buy_id))

    def _moveRecorded(self, _, buy_id):
        pending = self.unresolved.get(buy_id)
        if pending is None or self._stopped:
            return
        self.log.info("seller {seller} is now at {host}:{port}; asking it about "
                      "buy {id} there", seller=shortId(pending.seller), host=pending.host,
                      port=pending.port, id=buy_id)
        self._askAgain(pending)

    # -- answers -------------------------------------------------------------------

    def delivered(self, message):
        if self._stopped:
            return
        kind = type(message)
        if kind is BuyOK:
            self._onBuyOK(message)
        elif kind is wire.Error and message.code in self.NOT_SOLD:
            self._onNotSold(message)
        elif kind is wire.Error and message.code == "notyet":
            self._onNotYet(message)

    def _question(self, buy_id):
        """The L{PendingBuy} an answer about buy_id must answer: a want's
        own buy, or one given up on; None for any other id."""
        want = self._by_buy.get(buy_id)
        if want is not None and want.offer is not None:
            return want.pendingBuy()
        return self.unresolved.get(buy_id)

    def _checked(self, answer):
        """
        The L{PendingBuy} answer answers, if it does (see L{_fault});
        else None, and the answer is ignored (logged if it is about a buy
        of ours).
        """
        pending = self._question(answer.id)
        if pending is None:
            return None
        fault = self._fault(answer, pending)
        if fault is None:
            # It answered: no longer one to try last.
            self._failed.pop(pending.seller, None)
            return pending
        if self._ignored.admit(answer.TYPE):
            self.log.info("ignoring a {type} about buy {id} of {item} from seller "
                          "{seller}: {fault}", type=answer.TYPE, id=answer.id,
                          item=pending.item, seller=shortId(pending.seller), fault=fault)
        return None

    def _fault(self, answer, pending):
        """
        What makes answer no answer to the buy pending, or None: it must
        come from the seller the buy went to, signed with that seller's
        key (a buyer without a key checks no signature), be addressed to
        this buyer's key, and, for a buyOK, name the item and the file
        content (sha256 and size) the buy paid for.
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
        return None

    def _logIgnored(self, counts, interval):
        self.log.info("ignored {n} more answers in the last {interval:g} s that did "
                      "not match their buys: {kinds}", n=sum(counts.values()),
                      interval=interval,
                      kinds=", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items())))

    def _onNotSold(self, error):
        buy_id = error.id
        if buy_id in self._disowned:
            return
        pending = self._checked(error)
        if pending is None:
            return
        if error.code == "expired":
            self._expiredEarly(pending)
        self._answered(buy_id)
        if buy_id in self.unresolved:
            item = self.unresolved[buy_id].item
            self._settled(buy_id)
            self.forget(buy_id)
            self._doubtsResolved(item)
            return
        want = self._by_buy.get(buy_id)
        if want is not None:
            want.soldOut(buy_id)

    def _expiredEarly(self, pending):
        """A seller said a buy expired that this node's clock says has
        not: the clocks are apart (docs/protocol.md §11, "Expiry")."""
        left = (pending.expires or 0) / 1000 - self.node.clock.seconds()
        if left > 0 and self._ignored.admit("clock"):
            self.log.warn("seller {seller} says buy {id} has expired, {left:.0f} s "
                          "before it expires by this node's clock: is one of the "
                          "clocks wrong?", seller=shortId(pending.seller), id=pending.buy_id,
                          left=left)

    def _onNotYet(self, error):
        """The seller did not sell the buy, and cannot promise yet that it
        never will: it stays in doubt, and is asked about again later."""
        buy_id = error.id
        if buy_id in self._disowned:
            return
        pending = self._checked(error)
        if pending is None:
            return
        self._answered(buy_id)
        want = self._by_buy.get(buy_id)
        if want is not None:
            want.unanswered(buy_id, f"unable to settle buy {buy_id} yet ({error.info})")

    def _onBuyOK(self, ok):
        """Commit the purchase; it counts, and is reported, once on disk.
        A buyOK repeated meanwhile changes nothing."""
        if ok.id in self._bought_ids or ok.id in self._committing:
            return
        if ok.id in self._disowned:
            self.log.warn("not putting buy {id} from seller {seller} in the bag: that "
                          "seller refused to answer our asks about it, and we bought "
                          "elsewhere", id=ok.id, seller=shortId(self._disowned[ok.id]))
            return
        pending = self._checked(ok)
        if pending is None:
            return
        self._answered(ok.id)
        want = self._by_buy.get(ok.id)
        purchase = Purchase(ok.id, ok.item, pending.seller, self.node.clock.seconds(),
                            ok.sha256, ok.size)
        self._committing[ok.id] = purchase
        if want is not None:
            want.buyOK(ok.id)
        self.store.commitPurchase(purchase).addCallbacks(
            self._purchased, self._notPurchased, callbackArgs=(purchase,),
            errbackArgs=(purchase,))

    def _purchased(self, _, purchase):
        buy_id = purchase.buy_id
        del self._committing[buy_id]
        self._bought_ids.add(buy_id)
        self._routed.discard(buy_id)
        doubted = buy_id in self.unresolved
        if doubted:
            self._settled(buy_id)
        self.bag.append(purchase)
        if self.fetcher is not None:
            self.fetcher.bought(purchase)
        want = self._by_buy.get(buy_id) or self._by_item.get(purchase.item)
        if want is None:
            self.log.info("bought {item} from {seller} (an earlier buy, answered "
                          "late)", item=purchase.item, seller=shortId(purchase.seller))
            return
        want.committed(purchase)
        if doubted:
            want.resolved()

    def _notPurchased(self, reason, purchase):
        """The buy stays pending; the seller answers it again when asked."""
        buy_id = purchase.buy_id
        del self._committing[buy_id]
        self.log.warn("could not record the purchase of buy {id}: {why}", id=buy_id,
                      why=reason.getErrorMessage())
        want = self._by_buy.get(buy_id)
        if want is not None:
            want.notCommitted(buy_id)


def _ignoreCancelled(reason):
    reason.trap(defer.CancelledError)


def parseItem(text):
    size = len(text.encode("utf-8"))
    if not 1 <= size <= wire.MAX_ITEM_BYTES:
        raise ValueError(f"an item name is 1 to {wire.MAX_ITEM_BYTES} bytes")
    return text


@implementer(IPlugin, IRolePlugin)
class BuyerPlugin:
    """The ``buyer`` role, as twistd and the simulator find it."""

    name = "buyer"
    description = "buy what --want names, --quantity of each"
    options = (
        RoleOption("want", "ITEM to buy (repeatable)", parseItem, repeatable=True),
        RoleOption("quantity", "units of each wanted item to buy", boundedInt(1), 1),
        RoleOption("search-window", "seconds to collect replies to a search",
                   seconds, DEFAULT_SEARCH_WINDOW),
        RoleOption("buy-timeout", "seconds to wait for buyOK before resending",
                   seconds, DEFAULT_BUY_TIMEOUT),
        RoleOption("exit-when-done", "once every want is met, stop the node "
                   "(the daemon exits 0) instead of staying up as a relay",
                   flag=True),
        RoleOption("downloads", "DIR to fetch the shared files bought into",
                   downloadsFolder),
    )

    def configure(self, config):
        wants = list(dict.fromkeys(config["want"]))
        if not wants:
            raise ValueError("the buyer role needs at least one --want ITEM")
        settings = {"wants": wants, "quantity": config["quantity"],
                    "search_window": config["search-window"],
                    "buy_timeout": config["buy-timeout"],
                    "exit_when_done": config["exit-when-done"]}
        if config.get("downloads") is not None:
            if settings["exit_when_done"]:
                raise ValueError("--exit-when-done would stop the node before "
                                 "the files bought are in --downloads; use one "
                                 "or the other")
            settings["downloads"] = config["downloads"]
        return settings

    def build(self, node, settings):
        settings = dict(settings)
        folder = settings.pop("downloads", None)
        buyer = Buyer(node, **settings)
        if folder is not None:
            Fetcher(node, buyer, folder, search_window=buyer.search_window)
        return buyer
