"""
The ``thisisme`` handshake of a node's links (docs/protocol.md §6), as
its link table (L{twisted_bazaar.net.overlay.Overlay}) runs it: what each
side says, who must prove a key to whom, and what makes a link
established (L{Greeter}, an object the table holds).

Each side with a key proves it to the other, for this link's purpose and
nonces: an opener with a ``proof`` after the acceptor's answer (the
acceptor establishes the link only then), an acceptor with the ``sig`` of
its thisisme.  A link dialled to a known id must be answered by the
node of that id.

The greeter owns what lasts only while handshakes do: the links in
their handshake, the state of each one's handshake (a
L{twisted_bazaar.net.handshake.LinkHandshake}) and the dials waiting for
them; an established link keeps only the key its peer proved
(L{twisted_bazaar.net.link.Link.key}).  The established links are the
table's, and so are the decisions of its
L{twisted_bazaar.net.admission.Admission} (which links the table takes,
which of two links to one peer survives): the greeter asks its table
through L{IGreetingTable}, and nothing else of it.
"""

from twisted.internet import defer
from twisted.logger import Logger, LogLevel
from zope.interface import Attribute, Interface

from twisted_bazaar import wire
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.identity.proofs import LINK
from twisted_bazaar.net.dispatch import answerCheck
from twisted_bazaar.net.eviction import groupOf, namedGroupOf
from twisted_bazaar.identity.operator import provesOperator
from twisted_bazaar.net.handshake import PROVING, LinkHandshake, channelHash, channelKey
from twisted_bazaar.net.recent import OPERATOR, STATUS, STATUS_PURPOSES
from twisted_bazaar.wire.ids import shortId, wireId

#: Links that make up the overlay a scheme builds (neighbours, super-peers,
#: successors...): the default purpose, and the one old peers get.
OVERLAY = "overlay"


def _replaceOldest(table, purpose):
    """Make room for a link of purpose by closing the oldest inbound one
    (the operator's links: its newest is the one it uses, an older one
    most likely left behind).

    @return: True if one was closed."""
    oldest = min(((since, link) for link, since in table.connected()
                  if link.purpose == purpose and not link.closing),
                 key=lambda pair: pair[0], default=None)
    if oldest is None:
        return False
    oldest[1].refuse("noslots", "replaced by a newer link of this node's operator", True)
    return True


def named(link, peer):
    """Who is at the other end of a link, for the log: a node, or a status
    client (whose id is no node's)."""
    return ("a status client" if link.purpose in STATUS_PURPOSES
            else f"node {shortId(peer)}")


class IGreetingTable(Interface):
    """
    What a L{Greeter} asks of the link table it greets for (the node's
    L{twisted_bazaar.net.overlay.Overlay}), and nothing else of it.
    """

    node = Attribute("The node whose links these are: its id, identity, "
                     "introduction, events, paths and relays.")
    def linkTo(peer_id):
        """The established link to peer_id, or None."""

    def linkEnds():
        """Every established link."""

    def holdLink(peer_id, link):
        """link is established to peer_id, in place of any before."""
    admission = Attribute("The table's L{twisted_bazaar.net.admission.Admission}, "
                          "asked with the table: which inbound links it takes, "
                          "which of two links to one peer survives.")
    budgets = Attribute("purpose -> most established links of it.")

    def held(purpose):
        """Links of purpose that hold one of its slots."""

    def connected():
        """(link, when it connected) of every inbound link, in the order
        they connected."""

    def setPurpose(link, purpose):
        """Give link a purpose (and that purpose's idle timeout)."""

    def linkLine(link, format, **fields):
        """Log a link's coming, at the level its purpose is logged at."""

    def reached(peer_id):
        """A link to peer_id came up: it is reachable after all."""


class Greeter:
    """
    The ``thisisme`` handshake of the links of one table (an
    L{IGreetingTable}), and what lasts only while they do.

    @ivar pending: links still in their handshake -> the id an outbound
        link dialled (None when unknown, or for an inbound link).
    @ivar handshakes: link -> its
        L{twisted_bazaar.net.handshake.LinkHandshake}, from the
        handshake's start until the link is established or lost.
    @ivar waiters: link -> the Deferred of a dial waiting for it
        (L{dialled}), until it fires.

    The three are empty on nearly every simulated node: L{NOTHING} until
    written (L{own}).  Slots: every simulated node holds a greeter.
    """

    __slots__ = ("table", "pending", "handshakes", "waiters")

    log = Logger()

    def __init__(self, table):
        self.table = table
        self.pending = NOTHING
        self.handshakes = NOTHING
        self.waiters = NOTHING

    # -- what the table tells ---------------------------------------------------

    def expect(self, link):
        """An inbound link the table took: its peer says thisisme first."""
        own(self, "pending")[link] = None

    def dialled(self, link, peer_id, cancel):
        """
        The table dials link to peer_id (None if unknown): whoever answers
        must be that node (L{_accept}).

        @param cancel: the canceller of the returned Deferred.
        @return: a Deferred that fires with the peer's id once link (or
            a link that wins over it) is established, or fails with what
            the table says when link is lost first (L{lost}).
        """
        waiter = own(self, "waiters")[link] = defer.Deferred(cancel)
        own(self, "pending")[link] = peer_id
        return waiter

    def introduce(self, link):
        """This node opened link: it says thisisme first (with a fresh
        nonce, if it has a key)."""
        node = self.table.node
        nonce = self._handshakeOf(link).begin(node.identity, LINK,
                                              link.purpose or OVERLAY)
        link.send(node.introduction(link.purpose, nonce))

    def abandon(self, link):
        """Nobody waits for link any more."""
        self.waiters.pop(link, None)

    def drop(self, link):
        """link's handshake is over, unfinished (the link is gone, or its
        dial failed): nothing of it is kept."""
        self.pending.pop(link, None)
        self.handshakes.pop(link, None)

    def lost(self, link, reason, peer):
        """link is gone (L{drop}ped already): whoever waits for it has
        peer linked still (a link that won over it), or L{NotConnected}
        from the table, made of reason."""
        waiter = self.waiters.pop(link, None)
        if waiter is not None and not waiter.called:
            if peer is not None and self.table.linkTo(peer) is not None:
                waiter.callback(peer)
            else:
                waiter.errback(reason)

    def settle(self, link, peer):
        """Whoever waits for link has its peer linked."""
        self.table.reached(peer)
        waiter = self.waiters.pop(link, None)
        if waiter is not None and not waiter.called:
            waiter.callback(peer)

    # -- what it holds ----------------------------------------------------------------

    def keyOf(self, link):
        """The key link's peer proved so far in its handshake, or None."""
        handshake = self.handshakes.get(link)
        return None if handshake is None else handshake.key

    def keyed(self):
        """link -> the key its peer proved, for every link of the table
        established or in its handshake whose peer proved one (a view,
        made on each call)."""
        keyed = {link: handshake.key for link, handshake in self.handshakes.items()
                 if handshake.key is not None}
        keyed.update((link, link.key) for link in self.table.linkEnds()
                     if link.key is not None)
        return keyed

    def _handshakeOf(self, link):
        """link's handshake, made when first needed."""
        handshake = self.handshakes.get(link)
        if handshake is None:
            handshake = own(self, "handshakes")[link] = LinkHandshake()
        return handshake

    # -- the handshake ------------------------------------------------------------------

    def heard(self, link, message):
        """A message on link before its handshake is over: only the
        handshake's own (and an inbound address check) are taken
        (L{_BEFORE}); any other ends the link."""
        handler = _BEFORE.get(type(message))
        if handler is None or not handler(self, link, message):
            link.protocolError("wtf", f"say thisisme before {message.TYPE}",
                               close=True)

    def _proofHeard(self, link, proof):
        """Taken only while the handshake waits for the peer's proof."""
        if self._handshakeOf(link).phase != PROVING:
            return False
        self._proved(link, proof)
        return True

    def _checkAsked(self, link, ask):
        """An address check (whoareyou), on an inbound link only."""
        if not link.inbound:
            return False
        answerCheck(self.table.node, link, ask, self._handshakeOf)
        return True

    def _refused(self, link, error):
        link.peerLine(LogLevel.info, "{peer} refused the link: {code}: {info}",
                      self.log, code=error.code, info=error.info)
        return True

    def _accept(self, link, hello):
        """
        The peer said thisisme.  A peer with a key must hold it: an opener
        proves it with a ``proof`` after this node's answer (the link is
        established only then), an acceptor with the ``sig`` of its
        thisisme.  Its id and key must go together (L{LinkHandshake.hear}).
        """
        table = self.table
        node = table.node
        peer = hello.id
        if peer < 0:
            link.refuse("notiy", "register with the tracker before linking")
            return
        if peer == node.id:
            link.refuse("wtf", "that is this node's own id")
            return
        dialled = None if link.inbound else self.pending.get(link)
        if dialled is not None and peer != dialled:
            # A stranger at the address could relay the dialled node's
            # own handshake, proofs and all: the link would then carry
            # the stranger's words under that node's name.
            link.refuse("wtf", f"this node dialled node {wireId(dialled)}, "
                        f"not {wireId(peer)}")
            return
        state = self._handshakeOf(link)
        fault = state.hear(hello, proof_due=link.inbound,
                           channel=channelKey(link.transport))
        if fault is not None:
            link.refuse("wtf", fault)
            return
        if not link.inbound and hello.key is not None and state.proves:
            if not state.checkProof(hello.sig):
                link.refuse("wtf", "your thisisme does not prove your key to me in "
                            "this handshake")
                return
            link.send(wire.Proof(state.prove(hello.key, hello.nonce)))
        if link.inbound:
            asked = hello.purpose or OVERLAY
            purpose = self._purposeOf(link, hello, asked)
            if purpose is None:
                return
            budgets = table.budgets
            if purpose not in budgets:
                link.refuse("wtf", f"this node takes no {purpose} links")
                return
            existing = table.linkTo(peer)
            # Neither the link this one would replace nor this one (a
            # punched connection's link comes with its purpose) holds a
            # slot another would want.
            taken = (table.held(purpose) - (existing is not None
                                            and existing.purpose == purpose)
                     - (link.purpose == purpose))
            if taken >= budgets[purpose] and not (
                    _replaceOldest(table, purpose) if purpose == OPERATOR
                    else table.admission.retireSpare(table, purpose)
                    or table.admission.evict(table, purpose, link)):
                # Named by its purpose in the log (a status client's line is
                # a debug one); closing, it holds no slot.
                link.purpose = purpose
                link.refuse("noslots", f"all {budgets[purpose]} {purpose} "
                            "slots are taken", purpose in STATUS_PURPOSES)
                return
            link.purpose = purpose
            if hello.key is not None and state.begin(node.identity, LINK, asked):
                # Established once the peer proves its key.
                state.expectProof()
                link.send(node.introduction(asked, state.nonce,
                                            state.prove(hello.key, hello.nonce)))
                return
        self._establish(link, hello)

    def _purposeOf(self, link, hello, asked):
        """
        The purpose whose slots an inbound link takes: the one it asked
        for, but L{OPERATOR} for a ``status`` link whose thisisme's
        ``operator`` proves its asker the node's operator (on a node that
        keeps slots for it); None, the link refused, for one whose proof
        does not hold, or that asks for L{OPERATOR} by name.  One proof
        checked a connection, on its first message.
        """
        if asked == OPERATOR:
            link.refuse("wtf", f"this node takes no {OPERATOR} links: its operator "
                        f"asks for {STATUS}, with the proof of its key")
            return None
        if hello.operator is None or asked != STATUS:
            return asked
        identity = self.table.node.identity
        if not provesOperator(identity and identity.key, channelHash(link.transport),
                              hello.operator):
            link.refuse("wtf", "your thisisme's operator does not prove this node's "
                        "key on this connection")
            return None
        return OPERATOR if OPERATOR in self.table.budgets else asked

    def _proved(self, link, proof):
        """An opener's proof of its key: established if it holds."""
        state = self.handshakes[link]
        hello = state.hello
        if not state.checkProof(proof.sig):
            link.refuse("wtf", "that proof does not prove your key to me in this "
                        "handshake")
            return
        self._establish(link, hello)

    def _establish(self, link, hello):
        """Make the link an established one (or retire it, if the peer is
        already linked by a link that wins)."""
        table = self.table
        node = table.node
        peer = hello.id
        self.pending.pop(link, None)
        # The handshake is over: nothing of it is of use any more but the
        # key the peer proved.
        state = self.handshakes.pop(link)
        state.establish()
        link.key = state.key
        existing = table.linkTo(peer)
        if existing is not None and table.admission.usurps(table, link, existing, peer):
            return
        if existing is not None and not table.admission.replaces(table, link, existing, peer):
            link.peer_id = peer
            link.retire(f"already linked to node {shortId(peer)}")
            if link.purpose == OVERLAY and existing.purpose != OVERLAY:
                # The peer becomes a neighbour: told like a new link.
                table.setPurpose(existing, OVERLAY)
                node.events.linkAdded(peer)
            self.settle(link, peer)
            return
        link.identified(peer)
        if existing is not None and existing.purpose == OVERLAY:
            # One link serves both purposes; a neighbour stays a neighbour.
            link.purpose = OVERLAY
        table.setPurpose(link, link.purpose)
        if link.inbound and link.key is None:
            link.send(node.introduction(STATUS if link.purpose == OPERATOR
                                        else link.purpose))
        table.holdLink(peer, link)
        if existing is not None:
            existing.retire("replaced by a newer link")
        link.address = (hello.host or peerHost(link.transport), hello.port)
        # How to reach the peer again: through the paths it names, if
        # any, its claims charged to the group its connection came from
        # (the one its relay names for it, over a circuit).
        if hello.paths is None:
            node.notePaths(peer, None)
        else:
            node.notePaths(peer, hello.paths, group=namedGroupOf(link) or groupOf(link))
        node.paths.learn((node.id, peer))
        self.settle(link, peer)
        if existing is None:
            table.linkLine(link, "linked to {who} ({purpose})", peer=peer,
                           purpose=link.purpose, who=named(link, peer))
            node.events.linkAdded(peer)
        else:
            if existing.purpose != OVERLAY and link.purpose == OVERLAY:
                node.events.linkAdded(peer)
            node.events.linkReplaced(peer)


def _hello(greeter, link, hello):
    greeter._accept(link, hello)
    return True


#: What a link takes before its handshake is over: message class ->
#: function(greeter, link, message), true if taken (else the link ends).
_BEFORE = {wire.ThisIsMe: _hello, wire.Proof: Greeter._proofHeard,
           wire.WhoAreYou: Greeter._checkAsked, wire.Error: Greeter._refused}
