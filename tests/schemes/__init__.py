"""
Tests of the discovery schemes (twisted_bazaar.schemes), and the small
stand-ins they share.
"""

from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import StringTransport
from zope.interface import implementer

from tests import records
from tests.helpers import feed, parseNetstrings
from twisted_bazaar import wire
from twisted_bazaar.identity.proofs import CHECK, Handshake
from twisted_bazaar.wire.ids import isKeyed
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.relay.messages import RelayOpen
from twisted_bazaar.core.market import IShop


@implementer(IShop)
class StaticShop:
    """
    A shop with a fixed inventory that says yes to every buyer of an item
    it has, and records whom it was asked about.

    @ivar asked: (item, buyer) per offerTo call, in order.
    """

    def __init__(self, **stock):
        self.stock = stock
        self.asked = []

    def inventory(self):
        return dict(self.stock)

    def offerTo(self, item, buyer, via=None):
        self.asked.append((item, buyer))
        return self.stock.get(item, 0) > 0


class FindEvents(NodeObserver):
    """A node observer that records what discovery announces."""

    def __init__(self, node):
        self.events = []
        node.addObserver(self)

    def findStarted(self, item):
        self.events.append(("findStarted", item))

    def offersFound(self, item, offers):
        self.events.append(("offersFound", item, list(offers)))


def answerChecks(node, answer=None):
    """
    Complete every address check the node (a super-peer, on a
    L{tests.helpers.FakeConnector}) has in flight: the connection is made
    (a check through the leaf's relay: the relay opens the circuit) and
    the node there answers ``whoareyou`` as ``answer`` says, by default
    as the leaf being checked.  Returns the checked leaves' ids.

    @param answer: called with the leaf id, returns the id that answers
        (None: nobody answers, the connection is refused).
    """
    checked = []
    for request in list(node.connector.requests):
        if request.deferred.called:
            continue
        circuit = isinstance(request.link, CircuitEnd)
        leaf = request.link.first.to if circuit else request.link.owner.node_id
        checked.append(leaf)
        who = leaf if answer is None else answer(leaf)
        if who is None:
            request.deferred.errback(ConnectionRefusedError())
            continue
        request.link.makeConnection(StringTransport())
        request.deferred.callback(request.link)
        link = request.link
        if circuit:
            link.transport.clear()
            feed(link, RelayOpen(host="198.51.100.1"))
            link = link.protocol
        feed(link, _answer(who, request))
    return checked


def _answer(who, request):
    """Node who's answer to the check's whoareyou: with a key's id, with
    its key (drawn by L{tests.records}), and its proof if asked."""
    if not isKeyed(who):
        return wire.ThisIsMe(who, request.port, request.host)
    identity = records.identityOf(who)
    # The check's bytes, the circuit's once it opened.
    [ask] = [wire.decode(p) for p in parseNetstrings(request.link.transport.value())]
    if ask.key is None:
        return wire.ThisIsMe(who, request.port, request.host, key=identity.key)
    handshake = Handshake(identity, CHECK)
    return wire.ThisIsMe(who, request.port, request.host, key=identity.key,
                         nonce=handshake.nonce, sig=handshake.prove(ask.key, ask.nonce))
