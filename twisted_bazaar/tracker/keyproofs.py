"""
The keys nodes prove to the tracker as they register (docs/protocol.md,
"Registration"): a ``thisisme`` with a key is told the id of its key,
the tracker's key and a nonce (``thisisyou``), and its node registered
(L{Tracker.join <twisted_bazaar.tracker.service.Tracker.join>}) once
its ``proof`` proves that key to this tracker in this registration; one
without a key is registered at once.  The key each node proved is kept
while it stays registered: its address checks and the relays' circuits
to it expect that key.

Apart from the tracker (L{twisted_bazaar.tracker.service}), which owns
the links and the registry: how a key is proven, and who keeps an id
two keys claim, change with the handshake, never with what a registered
node may ask.
"""

from twisted.logger import LogLevel

from twisted_bazaar import wire
from twisted_bazaar.identity.proofs import REGISTER
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.handshake import LinkHandshake, channelKey
from twisted_bazaar.wire.ids import shortId, wireId


class KeyProofs:
    """
    A tracker's side of its nodes' proofs of their keys.

    @ivar tracker: the L{Tracker <twisted_bazaar.tracker.service.Tracker>}
        it registers the nodes with: its key pair, its pace of
        registrations, its links.
    """

    def __init__(self, tracker):
        self.tracker = tracker
        #: link -> its handshake (L{LinkHandshake}), from a thisisme with
        #: a key until its proof.
        self._proving = {}
        # The key a registered node proved is its link's (L{Link.key}, as
        # an overlay's link keeps its peer's), not an entry of a table by
        # id: the tracker of a run holds a million.

    def _register(self, link, hello):
        """
        A node introduced itself.  One without a key is registered at once
        (with the id it asks for, if free); one with a key is told the id
        of its key, and the tracker's key and nonce, and registered once it
        proves its key to the tracker.  A thisisme whose id and key do not
        go together (L{LinkHandshake.hear}) is refused.
        """
        tracker = self.tracker
        if not tracker.pace.mayJoin(link, hello, tracker.registered):
            return
        handshake = LinkHandshake()
        fault = handshake.hear(hello, proof_due=True, any_id=True,
                               channel=channelKey(link.transport))
        if fault is not None:
            link.refuse("wtf", fault)
            return
        if hello.key is None:
            handshake.establish()
            tracker.join(link, hello)
            return
        nonce = handshake.begin(tracker.identity, REGISTER)
        handshake.expectProof()
        self._proving[link] = handshake
        link.send(wire.ThisIsYou(handshake.peerId, hello.port, tracker.identity.key, nonce))

    def _proofHeard(self, link, proof):
        if link in self._proving:
            self._proved(link, proof)
        else:
            link.protocolError("wtf", f"say thisisme before {proof.TYPE}", close=True)

    def _proved(self, link, proof):
        """A node proved its key: it gets its key's id, unless another key
        holds that id."""
        tracker = self.tracker
        handshake = self._proving.pop(link)
        hello, node_id = handshake.hello, handshake.peerId
        if not handshake.checkProof(proof.sig):
            link.refuse("wtf", "that proof does not prove your key to this tracker in "
                        "this registration")
            return
        handshake.establish()
        holder = tracker.links.get(node_id)
        if holder is not None and holder.key != handshake.key:
            # Another key with the same id (ids narrowed in a test, or a
            # collision): the first holder keeps its registration.
            tracker.memberLine(groupOf(link), LogLevel.info,
                               "refused node {id}'s registration from another key: that "
                               "id is registered already, with its own key, and the "
                               "first holder of an id keeps it", id=shortId(node_id))
            link.refuse("wtf", f"node {wireId(node_id)} is registered already, with "
                        "another key")
            return
        if holder is not None:
            # The key's owner is back: its old connection gives way.
            tracker.drop(holder)
            holder.refuse("wtf", f"node {wireId(node_id)} proved its key on another "
                          "connection")
        link.keyProven(handshake.key)
        tracker.join(link, hello, node_id)

    def keyOf(self, node_id):
        """The key node_id proved (as its thisisme wrote it: the base64url
        text of its 32 bytes), while it is registered; else None."""
        link = self.tracker.links.get(node_id)
        return None if link is None else link.key

    def linkLost(self, link):
        """A connection closed: its proof, if one was due, is no more."""
        self._proving.pop(link, None)

    #: What it takes of a connection before the tracker registers its
    #: node: message class -> function(proofs, link, message).
    takes = {wire.ThisIsMe: _register, wire.Proof: _proofHeard}
