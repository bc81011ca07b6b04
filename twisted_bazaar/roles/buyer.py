"""
The buyer role: searches for what it wants, picks the shortest offer, buys
it (directly when it can, else along the path), and keeps a bag.

Each wanted item runs its own small state machine, :class:`_Want`:
search -> collect replies for a window -> try offers, shortest path first,
resending the same buy id on silence -> next unit, or search again with
backoff when no offer came.
"""

import attr
from twisted.logger import Logger
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.roles import IRolePlugin, Role, RoleOption
from twisted_bazaar.parsing import bounded_int, seconds

DEFAULT_SEARCH_WINDOW = 1.0
DEFAULT_BUY_TIMEOUT = 2.0
#: Sends of one buy id to one offer before moving to the next offer.
BUY_ATTEMPTS = 3
#: Pauses between searches that found nothing.
RETRY_MIN = 1.0
RETRY_MAX = 30.0


@attr.s(frozen=True, auto_attribs=True)
class Purchase:
    """One item in the shopping bag."""

    buy_id: int
    item: str
    seller: int
    time: float


class _Want:
    """The purchase state of one wanted item."""

    def __init__(self, item, quantity):
        self.item = item
        self.quantity = quantity
        self.bought = 0
        self.state = "waiting"  # waiting, searching, buying, done
        self.search_started = None
        self.offers = []
        self.offer = None
        self.buy_id = None
        self.attempts = 0
        self.timer = None
        self.retry_delay = RETRY_MIN

    def cancelTimer(self):
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None


class Buyer(Role):
    """
    @ivar bag: the L{Purchase}s made, in order.
    """

    log = Logger()

    def __init__(self, node, wants, quantity=1, search_window=DEFAULT_SEARCH_WINDOW,
                 buy_timeout=DEFAULT_BUY_TIMEOUT):
        super().__init__(node)
        self.wants = [_Want(item, quantity) for item in wants]
        self.search_window = search_window
        self.buy_timeout = buy_timeout
        self.bag = []
        self._bought_ids = set()
        self._by_search = {}
        self._by_buy = {}

    @property
    def satisfied(self):
        return all(want.state == "done" for want in self.wants)

    # -- node events ---------------------------------------------------------

    def nodeReady(self):
        self._startWaiting()

    def linkAdded(self, peer_id):
        self._startWaiting()

    def nodeStopping(self):
        for want in self.wants:
            want.cancelTimer()

    def _startWaiting(self):
        if not self.node.links:
            return
        for want in self.wants:
            if want.state == "waiting" and want.timer is None:
                self._search(want)

    # -- searching -------------------------------------------------------------

    def _search(self, want):
        want.cancelTimer()
        if not self.node.links:
            want.state = "waiting"
            return
        want.state = "searching"
        want.offers = []
        want.search_started = self.node.clock.seconds()
        search_id = self.node.search(want.item)
        self._by_search[search_id] = want
        want.timer = self.node.clock.callLater(self.search_window, self._choose, want)

    def _onReply(self, reply):
        want = self._by_search.get(reply.id)
        if want is None or reply.item != want.item or want.state == "done":
            return
        want.offers.append(reply)
        if want.state == "buying":
            want.offers.sort(key=lambda offer: len(offer.path))
        elif want.state == "waiting" and want.timer is not None:
            # A reply that came after the window: the seller holds a unit
            # for us, so take it now rather than search again.
            want.cancelTimer()
            want.state = "buying"
            self._nextOffer(want)

    def _choose(self, want):
        want.timer = None
        if not want.offers:
            delay = want.retry_delay * (0.5 + self.node.rng.random())
            want.retry_delay = min(want.retry_delay * 2, RETRY_MAX)
            self.log.info("no offer for {item} yet; searching again in {delay:.1f} s",
                          item=want.item, delay=delay)
            want.state = "waiting"
            want.timer = self.node.clock.callLater(delay, self._search, want)
            return
        want.retry_delay = RETRY_MIN
        want.offers.sort(key=lambda offer: len(offer.path))
        want.state = "buying"
        self._nextOffer(want)

    # -- buying ------------------------------------------------------------------

    def _nextOffer(self, want):
        want.cancelTimer()
        if not want.offers:
            self._search(want)
            return
        want.offer = want.offers.pop(0)
        want.buy_id = self.node.rng.randrange(1, wire.ID_LIMIT)
        self._by_buy[want.buy_id] = want
        want.attempts = 0
        self._sendBuy(want)

    def _sendBuy(self, want):
        want.attempts += 1
        offer, node = want.offer, self.node
        want.timer = node.clock.callLater(self.buy_timeout, self._buyTimedOut, want)
        if offer.seller in node.links:
            self._buyDirect(want)
        elif want.attempts == 1 and offer.host and offer.port:
            buy_id = want.buy_id
            d = node.connectTo(offer.host, offer.port, offer.seller)
            d.addCallbacks(lambda _: self._buyDirect(want, buy_id),
                           lambda _: self._buyAlongPath(want, buy_id))
        else:
            self._buyAlongPath(want)

    def _buyDirect(self, want, buy_id=None):
        if buy_id is not None and buy_id != want.buy_id:
            return
        node = self.node
        node.route(wire.Buy(want.buy_id, want.item, (node.id, want.offer.seller)))

    def _buyAlongPath(self, want, buy_id=None):
        if buy_id is not None and buy_id != want.buy_id:
            return
        self.node.route(wire.Buy(want.buy_id, want.item, want.offer.path[::-1]))

    def _buyTimedOut(self, want):
        want.timer = None
        if want.attempts < BUY_ATTEMPTS:
            self._sendBuy(want)
        else:
            self.log.info("seller {seller} is silent; trying the next offer",
                          seller=want.offer.seller)
            self._nextOffer(want)

    # -- answers -------------------------------------------------------------------

    def delivered(self, message):
        kind = type(message)
        if kind is wire.Reply:
            self._onReply(message)
        elif kind is wire.BuyOK:
            self._onBuyOK(message)
        elif kind is wire.Error and message.code == "soldout":
            want = self._by_buy.get(message.id)
            if want is not None and want.buy_id == message.id and want.state == "buying":
                self._nextOffer(want)

    def _onBuyOK(self, ok):
        want = self._by_buy.get(ok.id)
        if want is None or ok.id in self._bought_ids:
            return
        seller = ok.path[0]
        self._bought_ids.add(ok.id)
        self.bag.append(Purchase(ok.id, ok.item, seller, self.node.clock.seconds()))
        want.bought += 1
        self.log.info("bought {item} from {seller} ({n} of {q})", item=ok.item,
                      seller=seller, n=want.bought, q=want.quantity)
        if want.bought >= want.quantity:
            want.cancelTimer()
            if want.state != "done":
                want.state = "done"
                if self.satisfied:
                    self.log.info("all wants met: {bag} in the bag; staying up as a "
                                  "relay", bag=len(self.bag))
        elif ok.id == want.buy_id:
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
