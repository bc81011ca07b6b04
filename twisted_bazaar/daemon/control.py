"""
The owner's control channel of a node with ``--data-dir``: a UNIX socket,
``DIR/control.sock``, that only the user who runs the node can open (mode
0600, checked before the socket listens, inside the data dir the node has
locked).  No other node ever sees it, so it is no part of the market's
wire (docs/protocol.md); docs/running.md ("Restocking a running seller")
describes it for people, ``bazaar restock`` speaks it.

The exchange is one netstring each way, each holding a JSON object:

    {"restock": {"apple": 5}, "add": false}   ->   {"was": {"apple": 0}}
                                               or  {"error": "<reason>"}

``add`` false sets each item's units; true adds them.  The answer comes
once the change is on disk; then the node closes the connection.
"""

import json
import os
import stat

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.base.suggest import didYouMean
from twisted_bazaar.base.text import unicodeFault
from twisted_bazaar.net.framed import FramedProtocol
from twisted_bazaar.wire.trade import MAX_QUANTITY

#: The control socket's name inside the data dir.
SOCKET_NAME = "control.sock"
#: Bytes a request may hold.
MAX_REQUEST = 64 * 1024
#: Items one restock may name.
MAX_ITEMS = 1000


def socketPath(data_dir):
    """Where a node with this data dir listens for its owner."""
    return os.path.join(data_dir, SOCKET_NAME)


class RequestError(ValueError):
    """A request that is no restock this node can make, with the reason."""


def parseRequest(data):
    """
    A request's bytes -> (stock, add): {item: units}, and whether to add.

    @raise RequestError: with the reason, for anything else.
    """
    try:
        request = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise RequestError("the request is not JSON") from None
    if not isinstance(request, dict) or not isinstance(request.get("restock"), dict):
        raise RequestError('the request names no "restock" object')
    add = request.get("add", False)
    if not isinstance(add, bool):
        raise RequestError('"add" wants true or false')
    stock = request["restock"]
    if not 0 < len(stock) <= MAX_ITEMS:
        raise RequestError(f"a restock names 1 to {MAX_ITEMS} items")
    for item, units in stock.items():
        fault = unicodeFault(item)
        if fault:
            # JSON's \udcff: the encode below raised, and the request went
            # unanswered, a traceback in the node's log.
            raise RequestError(f"item {fault}")
        if not item or len(item.encode("utf-8")) > wire.MAX_ITEM_BYTES:
            raise RequestError(f"item {item!r} is not a name of 1 to "
                               f"{wire.MAX_ITEM_BYTES} bytes")
        if type(units) is not int or not 0 <= units <= MAX_QUANTITY:
            raise RequestError(f"{item}: wants a whole number of units from 0 to "
                               f"{MAX_QUANTITY}, not {units!r}")
    return dict(stock), add


class ControlProtocol(FramedProtocol):
    """One owner's request, answered, then the connection closed (at once,
    unanswered, for bytes that are no netstring of at most MAX_REQUEST)."""

    MAX_LENGTH = MAX_REQUEST

    def stringReceived(self, data):
        self.transport.pauseProducing()
        self.factory.handle(data).addCallback(self._answer)

    def _answer(self, answer):
        if self.transport is not None and self.connected:
            self.sendString(json.dumps(answer, sort_keys=True).encode("utf-8"))
            self.transport.loseConnection()


class ControlFactory(Factory):
    """
    Answers the owner's requests for one node.

    @ivar seller: the node's L{twisted_bazaar.roles.seller.Seller}, or None.
    """

    protocol = ControlProtocol
    noisy = False
    log = Logger()

    def __init__(self, seller):
        self.seller = seller

    def handle(self, data):
        """A Deferred firing with the answer (a dict) to a request."""
        try:
            stock, add = parseRequest(data)
        except RequestError as e:
            return defer.succeed({"error": str(e)})
        seller = self.seller
        if seller is None:
            return defer.succeed({"error": "this node is not a seller (no --role "
                                  "seller)"})
        shared = sorted(item for item in stock if seller.describe(item) is not None)
        if shared:
            return defer.succeed({"error": f"{', '.join(shared)}: a shared file of "
                                  "--share, offered while it is in the folder"})
        nothing = sorted(item for item, units in stock.items()
                         if units == 0 and item not in seller.stock)
        if nothing:
            return defer.succeed({"error": "; ".join(
                f"{item}=0: this seller holds no {item}, and a new item needs 1 unit "
                f"or more{didYouMean([item], seller.stock)}" for item in nothing)})
        over = sorted(item for item, units in stock.items()
                      if add and seller.stock.get(item, 0) + units > MAX_QUANTITY)
        if over:
            return defer.succeed({"error": ", ".join(
                f"{item}: {seller.stock.get(item, 0)} in stock and {stock[item]} more "
                f"is past the most an item holds, {MAX_QUANTITY:,}" for item in over)})
        d = seller.restock(stock, add)
        d.addCallbacks(self._restocked, self._notRestocked,
                       callbackArgs=(stock, add))
        return d

    def _restocked(self, was, stock, add):
        now = {item: was[item] + units if add else units for item, units in stock.items()}
        self.log.info("restocked by its owner: {changes}; the ledger is kept",
                      changes=", ".join(f"{item}={now[item]} (was {was[item]})"
                                        for item in sorted(now)))
        return {"was": was}

    def _notRestocked(self, reason):
        why = reason.getErrorMessage()
        self.log.warn("a restock was not recorded: {why}", why=why)
        return {"error": f"not recorded, nothing changed: {why}"}


class ControlService(Service):
    """
    Listens on ``DIR/control.sock`` while the node runs; the socket is
    gone once it stops.  A node whose socket cannot listen (a path too
    long for a UNIX socket, say) runs on without it, and says why.
    """

    log = Logger()

    def __init__(self, reactor, data_dir, seller):
        self.reactor = reactor
        self.path = socketPath(data_dir)
        self.factory = ControlFactory(seller)
        self.port = None

    def startService(self):
        super().startService()
        # The data dir is locked by this node: a socket left there is a
        # crashed run's.
        try:
            if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                os.remove(self.path)
        except FileNotFoundError:
            pass
        except OSError as e:
            self._notListening(e)
            return
        endpoint = UNIXServerEndpoint(self.reactor, self.path, mode=0o600)
        d = endpoint.listen(self.factory)
        d.addCallbacks(self._listening, self._notListening)

    def _listening(self, port):
        if not self.running:
            port.stopListening()
            return
        self.port = port
        self.log.debug("owner's control socket at {path}", path=self.path)

    def _notListening(self, reason):
        why = getattr(reason, "getErrorMessage", lambda: str(reason))()
        self.log.warn("no control socket at {path} ({why}): `bazaar restock` cannot "
                      "reach this node", path=self.path, why=why)

    def stopService(self):
        super().stopService()
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
