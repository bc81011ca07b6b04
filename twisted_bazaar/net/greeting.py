"""
The ``thisisme`` handshake of a node's links (docs/protocol.md §6), as
its link table (L{twisted_bazaar.net.overlay.Overlay}) runs it: what each
side says, who must prove a key to whom, and what makes a link
established (L{Greeting}, a part of the table).

Each side with a key proves it to the other, for this link's purpose and
nonces: an opener with a ``proof`` after the acceptor's answer (the
acceptor establishes the link only then), an acceptor with the ``sig`` of
its thisisme.  A link dialled to a known id must be answered by the
node of that id.

The state of one link's handshake is a
L{twisted_bazaar.net.handshake.LinkHandshake}, kept by the table while
the handshake lasts; an established link keeps only the key its peer
proved (L{twisted_bazaar.net.link.Link.key}).  Which links the table
takes and which of two links to one peer survives are its
L{twisted_bazaar.net.admission.Admission}'s to decide.
"""

from twisted.logger import LogLevel

from twisted_bazaar import wire
from twisted_bazaar.base.sparing import own
from twisted_bazaar.identity.proofs import LINK
from twisted_bazaar.net.dispatch import answerCheck
from twisted_bazaar.net.handshake import PROVING, LinkHandshake, channelKey
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.wire.ids import shortId, wireId

#: Links that make up the overlay a scheme builds (neighbours, super-peers,
#: successors...): the default purpose, and the one old peers get.
OVERLAY = "overlay"


def named(link, peer):
    """Who is at the other end of a link, for the log: a node, or a status
    client (whose id is no node's)."""
    return "a status client" if link.purpose == STATUS else f"node {shortId(peer)}"


class Greeting:
    """
    The handshake of the links of an L{twisted_bazaar.net.overlay.Overlay}
    (a part of it, kept apart for what it does, with no state of its own):
    it uses the table's node, its links (C{links}), the links in their
    handshake (C{pending}) and their handshakes (C{handshakes}), the
    C{connectTo} Deferreds waiting (C{_waiters}), the peers found
    unreachable (C{_unreachable}), its admission and slot budgets, its
    logger, and its C{_setPurpose} and C{_linkLine}.
    """

    def provenKey(self, link):
        """The key link's peer proved in the handshake, or None."""
        if link.key is not None:
            return link.key
        handshake = self.handshakes.get(link)
        return None if handshake is None else handshake.key

    @property
    def keyed(self):
        """link -> the key its peer proved, for every link established or
        in its handshake whose peer proved one (a view, made on each
        call)."""
        keyed = {link: handshake.key for link, handshake in self.handshakes.items()
                 if handshake.key is not None}
        keyed.update((link, link.key) for link in self.links.values()
                     if link.key is not None)
        return keyed

    def _handshakeOf(self, link):
        """link's handshake, made when first needed."""
        handshake = self.handshakes.get(link)
        if handshake is None:
            handshake = own(self, "handshakes")[link] = LinkHandshake()
        return handshake

    def _introduce(self, link):
        """This node opened link: it says thisisme first (with a fresh
        nonce, if it has a key)."""
        nonce = self._handshakeOf(link).begin(self.node.identity, LINK,
                                              link.purpose or OVERLAY)
        link.send(self.node.introduction(link.purpose, nonce))

    def _heard(self, link, message):
        """A message on link before its handshake is over: only the
        handshake's own (and an inbound address check) are taken."""
        kind = type(message)
        if kind is wire.ThisIsMe:
            self._accept(link, message)
        elif kind is wire.Proof and self._handshakeOf(link).phase == PROVING:
            self._proved(link, message)
        elif kind is wire.WhoAreYou and link.inbound:
            answerCheck(self.node, link, message, self._handshakeOf)
        elif kind is wire.Error:
            link.peerLine(LogLevel.info, "{peer} refused the link: {code}: {info}",
                          self.log, code=message.code, info=message.info)
        else:
            link.protocolError("wtf", f"say thisisme before {message.TYPE}",
                               close=True)

    def _accept(self, link, hello):
        """
        The peer said thisisme.  A peer with a key must hold it: an opener
        proves it with a ``proof`` after this node's answer (the link is
        established only then), an acceptor with the ``sig`` of its
        thisisme.  Its id and key must go together (L{LinkHandshake.hear}).
        """
        node = self.node
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
            purpose = hello.purpose or OVERLAY
            if purpose not in self.budgets:
                link.refuse("wtf", f"this node takes no {purpose} links")
                return
            existing = self.links.get(peer)
            taken = self.held(purpose) - (existing is not None
                                          and existing.purpose == purpose)
            if taken >= self.budgets[purpose] and not self.admission.evict(self, purpose, link):
                link.refuse("noslots", f"all {self.budgets[purpose]} {purpose} "
                            "slots are taken")
                return
            link.purpose = purpose
            if hello.key is not None and state.begin(node.identity, LINK, purpose):
                # Established once the peer proves its key.
                state.expectProof()
                link.send(node.introduction(purpose, state.nonce,
                                            state.prove(hello.key, hello.nonce)))
                return
        self._establish(link, hello)

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
        node = self.node
        peer = hello.id
        self.pending.pop(link, None)
        # The handshake is over: nothing of it is of use any more but the
        # key the peer proved.
        state = self.handshakes.pop(link)
        state.establish()
        link.key = state.key
        existing = self.links.get(peer)
        if existing is not None and self.admission.usurps(self, link, existing, peer):
            return
        if existing is not None and not self.admission.replaces(self, link, existing, peer):
            link.peer_id = peer
            link.retire(f"already linked to node {shortId(peer)}")
            if link.purpose == OVERLAY and existing.purpose != OVERLAY:
                # The peer becomes a neighbour: told like a new link.
                self._setPurpose(existing, OVERLAY)
                node.events.linkAdded(peer)
            self._settle(link, peer)
            return
        link.identified(peer)
        if existing is not None and existing.purpose == OVERLAY:
            # One link serves both purposes; a neighbour stays a neighbour.
            link.purpose = OVERLAY
        self._setPurpose(link, link.purpose)
        if link.inbound and link.key is None:
            link.send(node.introduction(link.purpose))
        self.links[peer] = link
        if existing is not None:
            existing.retire("replaced by a newer link")
        address = link.transport.getPeer()
        link.address = (hello.host or getattr(address, "host", ""), hello.port)
        # How to reach the peer again: through the relay it names, if any.
        node.noteRelay(peer, hello.relay)
        node.paths.learn((node.id, peer))
        self._settle(link, peer)
        if existing is None:
            self._linkLine(link, "linked to {who} ({purpose})", peer=peer,
                           purpose=link.purpose, who=named(link, peer))
            node.events.linkAdded(peer)
        else:
            if existing.purpose != OVERLAY and link.purpose == OVERLAY:
                node.events.linkAdded(peer)
            if self.whenReplaced is not None:
                self.whenReplaced(peer)

    def _settle(self, link, peer):
        """Whoever waits for link (see connectTo) has its peer linked."""
        if self._unreachable:
            self._unreachable.pop(peer, None)
        waiter = self._waiters.pop(link, None)
        if waiter is not None and not waiter.called:
            waiter.callback(peer)
