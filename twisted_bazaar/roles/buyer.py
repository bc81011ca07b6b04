"""
The buyer role: searches for what it wants, picks the shortest offer, buys
it (directly when it can, else along the path), and keeps a bag.

Each wanted item runs its own small state machine, :class:`_Want`:
find offers (through the node's discovery scheme) -> try them in order,
resending the same buy id on silence -> next unit, or search again with
backoff when no offer came.

Exactly-once: a buy id is written to the store as pending before it is
first sent, and a purchase is committed before it is reported.  A buy that
is given up on (its seller went quiet or away) stays pending, and is
resent from time to time until the seller answers it, so a unit the seller
did sell always reaches the bag, across restarts too.
"""

import attr
from twisted.logger import Logger
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.discovery import Offer, discoveryOf
from twisted_bazaar.node import Unreachable
from twisted_bazaar.parsing import bounded_int, seconds
from twisted_bazaar.roles import IRolePlugin, Role, RoleOption
from twisted_bazaar.store import PendingBuy, Purchase

__all__ = ["Buyer", "BuyerPlugin", "Purchase"]

DEFAULT_SEARCH_WINDOW = 1.0
DEFAULT_BUY_TIMEOUT = 2.0
#: Silent sends of one buy id before trying the next offer.  Each wait is
#: twice the one before, up to BUY_TIMEOUT_MAX.
BUY_ATTEMPTS = 5
BUY_TIMEOUT_MAX = 30.0
#: Failed connections to a seller that make it count as gone.
REFUSALS = 2
#: Pauses between searches that found nothing.
RETRY_MIN = 1.0
RETRY_MAX = 30.0
#: Seconds between resends of buys that were given up on.
RESOLVE_INTERVAL = 30.0


def _offerFromPending(pending):
    return Offer(pending.seller, pending.path, pending.host, pending.port)


class _Want:
    """The purchase state of one wanted item."""

    def __init__(self, item, quantity):
        self.item = item
        self.quantity = quantity
        self.bought = 0
        self.state = "waiting"  # waiting, searching, buying, done
        self.finding = None
        self.offers = []
        self.offer = None
        self.buy_id = None
        self.attempts = 0
        self.refusals = 0
        self.timer = None
        self.retry_delay = RETRY_MIN

    def cancelTimer(self):
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None


class Buyer(Role):
    """
    @ivar bag: the L{Purchase}s made, in order (restored from the store).
    @ivar unresolved: buy id -> L{PendingBuy} given up on but not answered.
    """

    log = Logger()

    def __init__(self, node, wants, quantity=1, search_window=DEFAULT_SEARCH_WINDOW,
                 buy_timeout=DEFAULT_BUY_TIMEOUT):
        super().__init__(node)
        self.store = node.store
        self.wants = [_Want(item, quantity) for item in wants]
        self.search_window = search_window
        self.buy_timeout = buy_timeout
        self.bag = self.store.bag()
        self._bought_ids = {purchase.buy_id for purchase in self.bag}
        self._by_item = {want.item: want for want in self.wants}
        for purchase in self.bag:
            want = self._by_item.get(purchase.item)
            if want is not None:
                want.bought += 1
        for want in self.wants:
            if want.bought >= want.quantity:
                want.state = "done"
        self.discovery = discoveryOf(node)
        self._by_buy = {}
        self._committing = set()
        self.unresolved = {}
        self._resolve_call = None
        self._restorePending()

    @property
    def satisfied(self):
        return all(want.state == "done" for want in self.wants)

    def _restorePending(self):
        """Buys sent before a restart: the current one of a want goes on
        with its old id; the rest wait for the resolver."""
        for pending in self.store.pending():
            want = self._by_item.get(pending.item)
            if want is not None and want.state != "done" and want.buy_id is None:
                want.state = "buying"
                want.offer = _offerFromPending(pending)
                want.buy_id = pending.buy_id
                self._by_buy[pending.buy_id] = want
                self.log.info("resuming buy {id} of {item} from {seller}",
                              id=pending.buy_id, item=pending.item,
                              seller=pending.seller)
            else:
                self.unresolved[pending.buy_id] = pending
        self._scheduleResolve()

    # -- node events ---------------------------------------------------------

    def nodeReady(self):
        self._kick()

    def linkAdded(self, peer_id):
        self._kick()

    def trackerRegistered(self):
        self._kick()

    def nodeStopping(self):
        for want in self.wants:
            want.cancelTimer()
        if self._resolve_call is not None and self._resolve_call.active():
            self._resolve_call.cancel()
        self._resolve_call = None

    def _kick(self):
        """Start whatever was waiting for the node to be able to talk."""
        if not self.node.ready:
            return
        for want in self.wants:
            if want.timer is not None:
                continue
            if want.state == "buying" and want.attempts == 0:
                self._sendBuy(want)
            elif want.state == "waiting" and self.discovery.canFind():
                self._search(want)

    # -- searching -------------------------------------------------------------

    def _search(self, want):
        want.cancelTimer()
        if not self.discovery.canFind():
            want.state = "waiting"
            return
        want.state = "searching"
        want.offers = []
        finding = want.finding = self.discovery.find(want.item, self.search_window)
        finding.addCallback(self._found, want, finding)

    def _found(self, offers, want, finding):
        if want.finding is not finding or want.state != "searching":
            return
        want.finding = None
        if self.node.stopping:
            return
        if not offers:
            delay = want.retry_delay * (0.5 + self.node.rng.random())
            want.retry_delay = min(want.retry_delay * 2, RETRY_MAX)
            self.log.info("no offer for {item} yet; searching again in {delay:.1f} s",
                          item=want.item, delay=delay)
            want.state = "waiting"
            want.timer = self.node.clock.callLater(delay, self._search, want)
            return
        want.retry_delay = RETRY_MIN
        want.offers = list(offers)
        want.state = "buying"
        self._nextOffer(want)

    # -- buying ------------------------------------------------------------------

    def _nextOffer(self, want):
        want.cancelTimer()
        if not want.offers:
            self._search(want)
            return
        offer = want.offers.pop(0)
        buy_id = self._buyIdFor(want.item, offer.seller)
        if buy_id is None:
            buy_id = self.node.rng.randrange(1, wire.ID_LIMIT)
        else:
            # A buy this seller never answered: ask again with its id, so
            # the seller cannot sell us a second unit for it.
            del self.unresolved[buy_id]
        self.store.addPending(PendingBuy(buy_id, want.item, offer.seller, offer.route,
                                         offer.host, offer.port))
        want.offer = offer
        want.buy_id = buy_id
        self._by_buy[buy_id] = want
        want.attempts = 0
        want.refusals = 0
        self._sendBuy(want)

    def _buyIdFor(self, item, seller):
        for buy_id, pending in self.unresolved.items():
            if pending.item == item and pending.seller == seller:
                return buy_id
        return None

    def _sendBuy(self, want):
        want.attempts += 1
        node, offer, buy_id = self.node, want.offer, want.buy_id
        delay = min(self.buy_timeout * 2 ** (want.attempts - 1), BUY_TIMEOUT_MAX)
        want.timer = node.clock.callLater(delay, self._buyTimedOut, want)
        message = wire.Buy(buy_id, want.item, offer.route)
        self._deliver(message, offer, lambda: want.buy_id == buy_id,
                      lambda reason: self._refused(want, buy_id),
                      eager=want.attempts > 1)

    def _deliver(self, buy, offer, still_wanted, refused=None, eager=False):
        """
        Send a buy directly when linked to the seller or able to connect to
        it, else along the offer's path.  ``eager`` (a resend) also sends
        along the path at once rather than wait for the connection: a buy
        id is safe to repeat, and a resend should not wait.
        """
        node = self.node
        direct = wire.Buy(buy.id, buy.item, (node.id, offer.seller))
        along_path = len(buy.path) > 2 and buy.path[0] == node.id
        if offer.seller in node.links:
            node.route(direct)
            return
        if eager and along_path:
            node.route(buy)
        if offer.host and offer.port:
            def connected(_):
                if still_wanted():
                    node.route(direct)

            def failed(reason):
                # A live seller out of connection slots refuses the link
                # too: with a path to fall back on, only an address where
                # nothing listens says the seller is gone.
                if refused is not None and (reason.check(Unreachable)
                                            or not along_path):
                    refused(reason)
                if still_wanted() and along_path and not eager:
                    node.route(buy)

            node.connectTo(offer.host, offer.port, offer.seller).addCallbacks(
                connected, failed)
        elif along_path and not eager:
            node.route(buy)

    def _refused(self, want, buy_id):
        if want.buy_id == buy_id:
            want.refusals += 1

    def _buyTimedOut(self, want):
        want.timer = None
        if want.attempts < BUY_ATTEMPTS and want.refusals < REFUSALS:
            self._sendBuy(want)
            return
        why = "unreachable" if want.refusals >= REFUSALS else "silent"
        self.log.info("seller {seller} is {why}; trying the next offer",
                      seller=want.offer.seller, why=why)
        self._abandon(want)
        self._nextOffer(want)

    def _abandon(self, want):
        """Stop waiting for the current buy, but keep it pending: if the
        seller did sell, its buyOK must still find the bag."""
        offer = want.offer
        self.unresolved[want.buy_id] = PendingBuy(want.buy_id, want.item, offer.seller,
                                                  offer.route, offer.host, offer.port)
        want.buy_id = None
        self._scheduleResolve()

    # -- buys given up on ----------------------------------------------------------

    def _scheduleResolve(self):
        if self.unresolved and self._resolve_call is None and not self.node.stopping:
            self._resolve_call = self.node.clock.callLater(RESOLVE_INTERVAL,
                                                           self._resolve)

    def _resolve(self):
        """Ask each seller that never answered a buy about it once more."""
        self._resolve_call = None
        if self.node.ready:
            for pending in list(self.unresolved.values()):
                self._askAgain(pending)
        self._scheduleResolve()

    def _askAgain(self, pending):
        buy = wire.Buy(pending.buy_id, pending.item, pending.path)
        self._deliver(buy, _offerFromPending(pending),
                      lambda: pending.buy_id in self.unresolved,
                      lambda reason: self._relocate(pending, reason), eager=True)

    def _relocate(self, pending, reason):
        """Nothing listens where the seller was: it may have restarted on
        another port.  Ask the tracker, and ask the seller there."""
        membership = self.node.membership
        if membership is None or not reason.check(Unreachable):
            return
        membership.whereIs(pending.seller).addCallback(self._relocated, pending)

    def _relocated(self, address, pending):
        if address is None or pending.buy_id not in self.unresolved:
            return
        host, port = address
        if (host, port) == (pending.host, pending.port):
            return
        moved = attr.evolve(pending, host=host, port=port)
        self.unresolved[pending.buy_id] = moved
        self.store.addPending(moved)
        self.log.info("seller {seller} is now at {host}:{port}; asking it about "
                      "buy {id} there", seller=pending.seller, host=host, port=port,
                      id=pending.buy_id)
        self._askAgain(moved)

    # -- answers -------------------------------------------------------------------

    def delivered(self, message):
        kind = type(message)
        if kind is wire.BuyOK:
            self._onBuyOK(message)
        elif kind is wire.Error and message.code == "soldout":
            self._onSoldOut(message)

    def _onSoldOut(self, error):
        buy_id = error.id
        if buy_id in self.unresolved:
            del self.unresolved[buy_id]
            self.store.dropPending(buy_id)
            return
        want = self._by_buy.get(buy_id)
        if want is not None and want.buy_id == buy_id and want.state == "buying":
            self.store.dropPending(buy_id)
            want.buy_id = None
            self._nextOffer(want)

    def _onBuyOK(self, ok):
        if ok.id in self._bought_ids or ok.id in self._committing:
            return
        want = self._by_buy.get(ok.id)
        if want is None and ok.id not in self.unresolved:
            return
        seller = ok.path[0]
        purchase = Purchase(ok.id, ok.item, seller, self.node.clock.seconds())
        self._committing.add(ok.id)
        self.store.commitPurchase(purchase).addCallbacks(
            self._purchased, self._notPurchased, callbackArgs=(ok, want, seller, purchase),
            errbackArgs=(ok,))

    def _notPurchased(self, reason, ok):
        self._committing.discard(ok.id)
        self.log.warn("could not record buy {id}: {why}", id=ok.id,
                      why=reason.getErrorMessage())

    def _purchased(self, _, ok, want, seller, purchase):
        self._committing.discard(ok.id)
        self.unresolved.pop(ok.id, None)
        self._bought_ids.add(ok.id)
        self.bag.append(purchase)
        want = want or self._by_item.get(ok.item)
        if want is None:
            self.log.info("bought {item} from {seller} (an earlier buy, answered "
                          "late)", item=ok.item, seller=seller)
            return
        want.bought += 1
        self.log.info("bought {item} from {seller} ({n} of {q})", item=ok.item,
                      seller=seller, n=want.bought, q=want.quantity)
        if want.bought >= want.quantity:
            want.cancelTimer()
            if want.buy_id is not None and want.buy_id != ok.id:
                # An earlier buy, answered late, met the want while another
                # was out: that one must still be settled, or a unit the
                # seller sold for it would never reach the bag.
                self._abandon(want)
            want.buy_id = None
            if want.state != "done":
                want.state = "done"
                if self.satisfied:
                    self.log.info("all wants met: {bag} in the bag; staying up as a "
                                  "relay", bag=len(self.bag))
        elif ok.id == want.buy_id:
            want.buy_id = None
            self._search(want)


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
        RoleOption("quantity", "units of each wanted item to buy", bounded_int(1), 1),
        RoleOption("search-window", "seconds to collect replies to a search",
                   seconds, DEFAULT_SEARCH_WINDOW),
        RoleOption("buy-timeout", "seconds to wait for buyOK before resending",
                   seconds, DEFAULT_BUY_TIMEOUT),
    )

    def configure(self, config):
        wants = list(dict.fromkeys(config["want"]))
        if not wants:
            raise ValueError("the buyer role needs at least one --want ITEM")
        return {"wants": wants, "quantity": config["quantity"],
                "search_window": config["search-window"],
                "buy_timeout": config["buy-timeout"]}

    def build(self, node, settings):
        return Buyer(node, **settings)
