"""
The super-peer's side of the scheme: it takes its leaves' registrations
and updates into its L{LeafIndex}, answers their queries (gathered by its
L{QueryFlood}), and forgets a leaf as soon as its link closes.
"""

from twisted.logger import Logger

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.schemes import OFFER_DETAILS, fileDescription
from twisted_bazaar.schemes.superpeer.index import LeafIndex, Refused
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF,
    MAX_HITS,
    LeafAck,
    LeafHits,
    LeafQuery,
    LeafRegister,
    LeafUpdate,
)


class SuperPeerSide(NodeObserver):
    """
    @ivar index: the leaves' entries (L{LeafIndex}).
    @ivar shops: this node's own shops, answered for at query time.
    @ivar flood: the L{QueryFlood} that gathers hits; set by the scheme.
    """

    log = Logger()

    def __init__(self, node, shops, per_leaf, total):
        self.node = node
        self.shops = shops
        self.index = LeafIndex(per_leaf, total)
        self.flood = None
        node.handle(LeafRegister, self._leafOnly(self._register))
        node.handle(LeafUpdate, self._leafOnly(self._update))
        node.handle(LeafQuery, self._leafOnly(self._query))
        node.addObserver(self)

    def lookup(self, item, limit):
        """Sellers of item known here: this node first, if it sells it
        (with what its shop describes of it), then its leaves."""
        node = self.node
        own = [(node.id, node.host, node.port) + _described(shop, item)
               for shop in self.shops if shop.inventory().get(item, 0) > 0][:1]
        return own + self.index.lookup(item, limit - len(own))

    def _leafOnly(self, handler):
        def checked(link, message):
            if link.purpose != LEAF:
                link.protocolError("wtf", f"{message.TYPE} is for a leaf link (open "
                                   f"the link with purpose {LEAF!r})")
                return
            handler(link, message)

        return checked

    def _refuse(self, link, refused):
        """A register or update the index would not take: the error, and
        the link goes (the leaf re-registers afresh, here or elsewhere)."""
        self.log.info("refused leaf {leaf}: {code}: {info}", leaf=link.peer_id,
                      code=refused.code, info=refused.info)
        link.protocolError(refused.code, refused.info, close=True)

    def _register(self, link, message):
        host = message.host or getattr(link.transport.getPeer(), "host", "")
        try:
            count = self.index.register(link.peer_id, (host, message.port),
                                        message.items, message.files)
        except Refused as refused:
            self._refuse(link, refused)
            return
        self.log.info("leaf {leaf} at {host}:{port} registered {n} items "
                      "({leaves} leaves)", leaf=link.peer_id, host=host,
                      port=message.port, n=count, leaves=len(self.index))
        link.send(LeafAck(message.seq, count))

    def _update(self, link, message):
        try:
            count = self.index.update(link.peer_id, message.items, message.files)
        except Refused as refused:
            self._refuse(link, refused)
            return
        link.send(LeafAck(message.seq, count))

    def _query(self, link, message):
        asking = self.flood.ask(message.item, link.peer_id)
        asking.addCallback(lambda sellers: link.send(
            LeafHits(message.id, message.item, tuple(sellers[:MAX_HITS]))))

    def linkRemoved(self, peer_id):
        if peer_id in self.index:
            self.index.forget(peer_id)
            self.log.info("leaf {leaf} gone; its entries dropped ({leaves} leaves)",
                          leaf=peer_id, leaves=len(self.index))


def _described(shop, item):
    """(size, sha256, transfer) of item if ``shop`` shares it as a file,
    else ()."""
    described = fileDescription(shop, item)
    return tuple(described[key] for key in OFFER_DETAILS) if described else ()
