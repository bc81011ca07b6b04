"""
The super-peer's side of the scheme: it takes its leaves' registrations
and updates into its L{LeafIndex}, answers their queries (gathered by its
L{QueryFlood}), and forgets a leaf as soon as its link closes.

It vouches only for what it checked: a leaf's entries are named to
nobody until the super-peer has connected back to the address the leaf
registered and found that leaf there (the tracker's own check,
L{twisted_bazaar.tracker.check.AddressCheck}); a leaf that fails the
check is forgotten and its link closed.

The index's entries count against the address group a leaf's link comes
from, whatever address (or port 0) it registers: a full index makes room
for a leaf of a group holding fewer by dropping the newest leaves of the
group holding the most (see L{LeafIndex}); those are told ``full`` and
their links closed.
"""

from twisted.logger import Logger, LogLevel

from twisted_bazaar.core.events import NodeObserver
from twisted_bazaar.core.market import OFFER_DETAILS, fileDescription
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.schemes.superpeer.index import LeafIndex, Refused
from twisted_bazaar.tracker.check import AddressCheck
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
        self.index = LeafIndex(per_leaf, total, evicted=self._evicted)
        self.flood = None
        #: leaf -> the address it was found at by a check.
        self._checked = {}
        #: leaf -> its L{AddressCheck} in flight.
        self._checks = {}
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
        link.peerLine(LogLevel.info, "refused leaf {peer}: {code}: {info}", self.log,
                      code=refused.code, info=refused.info)
        link.protocolError(refused.code, refused.info, close=True)

    def _evicted(self, leaf):
        """The index dropped leaf's entries for a leaf of an address group
        holding fewer: it is told, and its link goes."""
        self._stopChecking(leaf)
        self._checked.pop(leaf, None)
        link = self.node.links.get(leaf)
        if link is not None:
            self._refuse(link, Refused("full", "your entries were dropped to make "
                                       "room for a leaf of an address group holding "
                                       "fewer of this index's entries"))

    def _register(self, link, message):
        host = message.host or getattr(link.transport.getPeer(), "host", "")
        leaf, address = link.peer_id, (host, message.port)
        # Port 0 takes no connections: nothing to check (as at the tracker).
        listed = not message.port or self._checked.get(leaf) == address
        fresh = leaf not in self.index
        try:
            count = self.index.register(leaf, address, message.items, message.files,
                                        listed=listed, group=groupOf(link))
        except Refused as refused:
            self._refuse(link, refused)
            return
        if not listed:
            self._check(link, address)
        line = "leaf {leaf} at {host}:{port} registered {n} items ({leaves} leaves)"
        fields = dict(leaf=leaf, host=host, port=message.port, n=count,
                      leaves=len(self.index))
        if fresh:
            self.log.info(line, **fields)
        else:
            # Registering again and again is the leaf's doing: logged within
            # its address group's bound.
            link.peerLine(LogLevel.info, line, self.log, **fields)
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

    def _check(self, link, address):
        """Connect back to address; list the leaf if it is there."""
        leaf = link.peer_id
        self._stopChecking(leaf)
        self._checked.pop(leaf, None)
        check = self._checks[leaf] = AddressCheck(
            leaf, None, self.node.clock, self.node.config.link,
            keyed=link in self.node.overlay.keyed)
        check.start(self.node.connector, *address).addCallback(
            self._addressChecked, link, address, check)

    def _addressChecked(self, passed, link, address, check):
        leaf = link.peer_id
        if self._checks.get(leaf) is not check:
            return
        del self._checks[leaf]
        host, port = address
        if passed:
            self._checked[leaf] = address
            self.index.list(leaf)
            self.log.info("leaf {leaf} listens at {host}:{port} as it said: listing "
                          "its items", leaf=leaf, host=host, port=port)
            return
        self.log.warn("leaf {leaf}: nothing at {host}:{port} answers as that leaf; "
                      "forgetting it", leaf=leaf, host=host, port=port)
        self.index.forget(leaf)
        link.disconnect(f"nothing at {host}:{port} answers as leaf {leaf}")

    def _stopChecking(self, leaf):
        check = self._checks.pop(leaf, None)
        if check is not None:
            check.cancel()

    def nodeStopping(self):
        for leaf in list(self._checks):
            self._stopChecking(leaf)

    def linkRemoved(self, peer_id):
        self._stopChecking(peer_id)
        self._checked.pop(peer_id, None)
        if peer_id in self.index:
            self.index.forget(peer_id)
            self.log.info("leaf {leaf} gone; its entries dropped ({leaves} leaves)",
                          leaf=peer_id, leaves=len(self.index))


def _described(shop, item):
    """(size, sha256, transfer) of item if ``shop`` shares it as a file,
    else ()."""
    described = fileDescription(shop, item)
    return tuple(described[key] for key in OFFER_DETAILS) if described else ()
