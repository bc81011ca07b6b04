"""
``bazaar buy``: a one-shot buyer.

L{OneShotBuy} runs a node with the buyer role and C{exit_when_done}, on
the daemons' own L{NodeService}, until every unit is bought (the node
asks to stop: L{Node.requestStop}) or the deadline passes; then it stops
the node in order and says what happened.  It takes its clock, endpoints
and connector as parameters, so a test runs it in a L{Market}.

Its state and its key live in memory: a buy still out when the deadline
passes is forgotten, although the seller may yet sell it.
"""

import random

from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.wire.ids import SHORT, wireId
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.daemon.registry import buildScheme, rolePlugins
from twisted_bazaar.daemon.services import NodeService
from twisted_bazaar.tap.shortfall import EmptySearches, shortfall

#: Seconds ``bazaar buy`` may take unless told otherwise.
DEFAULT_DEADLINE = 60.0


class OneShotBuy:
    """
    Buy ``quantity`` units of one item, then stop.

    @ivar node: the buying L{Node}.
    @ivar buyer: its L{twisted_bazaar.roles.buyer.Buyer}.
    """

    log = Logger()

    def __init__(self, clock, connector, listen, tracker, tracker_address, item,
                 quantity=1, deadline=DEFAULT_DEADLINE, discovery="flood",
                 host="", rng=None, listen_description=None, identity=None):
        """
        @param listen: the server endpoint the node listens on (peers
            answer its searches through links to it).
        @param tracker: the client endpoint of the tracker.
        @param tracker_address: the tracker as the messages say it.
        @param identity: the node's key pair (L{Identity}); a fresh one
            unless given.  It signs the buys, which keyed sellers require.
        """
        self.clock = clock
        self.item = item
        self.quantity = quantity
        self.deadline = deadline
        self.tracker_address = tracker_address
        rng = rng if rng is not None else random.Random()
        self.node = Node(clock, rng, connector, NodeConfig(host=host),
                         identity=identity or Identity.generate())
        buildScheme(self.node, discovery)
        plugin = rolePlugins()["buyer"]
        config = {option.name: option.default for option in plugin.options}
        config.update({"want": [item], "quantity": quantity, "exit-when-done": True})
        self.buyer = plugin.build(self.node, plugin.configure(config))
        self.service = NodeService(clock, self.node, listen, tracker,
                                   onFailure=self._cannotListen,
                                   listen_description=listen_description,
                                   tracker_address=tracker_address,
                                   onStopRequested=self._stopRequested)
        self._finished = defer.Deferred()
        self._timer = None
        self._ending = False
        self._searches = EmptySearches()
        self.node.addObserver(self._searches)

    def run(self, started=None):
        """
        Start the node and buy.

        @param started: when the purchase began, by the clock (its
            questions to the tracker may come first); default: now.
        @return: a Deferred firing, once the node has stopped, with a
            dict of what was bought (L{result}), or failing with
            L{ClientError} saying why not.
        """
        spent = 0 if started is None else self.clock.seconds() - started
        self._timer = self.clock.callLater(max(0, self.deadline - spent), self._expired)
        self.service.startService()
        return self._finished

    def _cannotListen(self, why):
        self.clock.callLater(0, self._end, why)

    def _stopRequested(self, why):
        self.clock.callLater(0, self._end, None)

    def _expired(self):
        self._timer = None
        self._end(self.shortfall())

    def shortfall(self):
        """Why the purchase is not done, in one line."""
        return shortfall(self.node, self.buyer, self._searches, self.tracker_address,
                         f" within {self.deadline:g} s")

    @defer.inlineCallbacks
    def _end(self, failure):
        if self._ending:
            return
        self._ending = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.service.running:
            yield self.service.stopService()
        if failure:
            self._finished.errback(ClientError(failure))
        else:
            self._finished.callback(self.result())

    def result(self):
        """What was bought: the node's id, the item, and each purchase."""
        return {"node": wireId(self.node.id), "item": self.item,
                "quantity": self.quantity,
                "purchases": [{"buy_id": p.buy_id, "seller": wireId(p.seller)}
                              for p in self.buyer.bag]}


def _short(text):
    """A node id's wire text as people read it (L{shortId})."""
    return text[:SHORT] if len(text) == 32 else text


def renderBuy(obj):
    """A purchase as text: one line per unit."""
    return "\n".join(f"bought {obj['item']} from node {_short(p['seller'])} "
                     f"({n} of {obj['quantity']})"
                     for n, p in enumerate(obj["purchases"], 1))
