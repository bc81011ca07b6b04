"""
One side's handshake on one link: the one state machine that the node's
overlay, its tracker session, the tracker and the address check all run
(docs/protocol.md §5, §6), so that what a ``thisisme`` must hold, when a
proof is due and which key a peer proved are decided in one place.

The proofs themselves are L{twisted_bazaar.identity.proofs}'s; this is
what a side does with them, and the phases it goes through::

    opening --hear(hello)------------------> established   (nothing to prove,
       |                                                       or proven by the
       +--hear(hello), expectProof()-> proving              hello's sig)
       |                                  |  (a thisisme again: proving anew)
       |                                  +--checkProof(sig)--> established
       +------ a fault, a bad proof ------+-----------------> refused

It is plain state, no I/O: the link's owner sends what it says and
refuses the link with the fault it names.  It is not an automat machine
on purpose: a cold simulation runs one per link end, millions of them,
and an automat machine costs an object more per instance.  It lasts as
long as the handshake: the overlay then keeps only the key the peer
proved, on the link (L{twisted_bazaar.net.link.Link.key}).
"""

from twisted_bazaar.identity.keys import encode, keyId
from twisted_bazaar.identity.proofs import Handshake
from twisted_bazaar.net.capabilities import ISecureTransport
from twisted_bazaar.wire.ids import NO_ID, isKeyed, wireId

OPENING = "opening"
PROVING = "proving"
ESTABLISHED = "established"
REFUSED = "refused"

#: What L{channelKey} says of a connection without the encrypted channel
#: (in-memory tests and the simulator): nothing to compare a key with.
PLAIN = "plain"


def channelKey(transport):
    """
    The key the encrypted channel under a connection proved (protocol.md
    §2.1), as wire text; None for a peer that proved none; L{PLAIN} for a
    connection without the channel.
    """
    secure = ISecureTransport(transport, None)
    if secure is None:
        return PLAIN
    proven = secure.peerKey
    return None if proven is None else encode(proven)


def channelHash(transport):
    """
    The handshake hash of the encrypted channel under a connection (32
    bytes, the same at both ends and unique to the connection), for a
    proof bound to this one connection; None without the channel.
    """
    secure = ISecureTransport(transport, None)
    return None if secure is None else secure.handshakeHash


#: phase -> the phases it may go to.
_MOVES = {
    OPENING: frozenset({PROVING, ESTABLISHED, REFUSED}),
    # A thisisme again before the proof (a duplicate) starts the proof
    # over, with a fresh nonce: what the peer proves must answer it.
    PROVING: frozenset({PROVING, ESTABLISHED, REFUSED}),
    ESTABLISHED: frozenset(),
    REFUSED: frozenset(),
}


class LinkHandshake:
    """
    One side of the handshake of one link.

    @ivar phase: L{OPENING}, L{PROVING}, L{ESTABLISHED} or L{REFUSED}.
    @ivar hello: the peer's thisisme, from L{hear} until the handshake is
        over.
    @ivar key: the key the peer proved it holds, once it proved one (kept
        for the link's life), else None.
    """

    __slots__ = ("phase", "hello", "key", "_side")

    def __init__(self):
        self.phase = OPENING
        self.hello = None
        self.key = None
        #: This side's L{Handshake} (its identity, context and nonce)
        #: while the handshake lasts, if this side has a key.
        self._side = None

    def _enter(self, phase):
        if phase not in _MOVES[self.phase]:
            raise ValueError(f"a handshake does not go from {self.phase} to {phase}")
        self.phase = phase

    # -- this side -------------------------------------------------------------------

    def begin(self, identity, context, purpose=None):
        """
        Start this side's part, for context (and a link's purpose), with a
        fresh nonce.

        @param identity: this side's L{Identity}, or None: a side without a
            key proves nothing and asks for no proof.
        @return: this side's nonce, or None without a key.
        """
        self._side = None if identity is None else Handshake(identity, context, purpose)
        return self.nonce

    @property
    def nonce(self):
        """This side's nonce, None if it has no part (no key) or no more."""
        return None if self._side is None else self._side.nonce

    @property
    def proves(self):
        """Whether this side has a key in this handshake (and so asks the
        peer for a proof, and can prove itself)."""
        return self._side is not None

    @property
    def ownKey(self):
        """This side's key, None without one."""
        return None if self._side is None else self._side.identity.key

    def prove(self, peer_key, peer_nonce):
        """This side's proof to the peer whose key and nonce are given."""
        return self._side.prove(peer_key, peer_nonce)

    # -- the peer ----------------------------------------------------------------------

    def hear(self, hello, proof_due=False, any_id=False, channel=PLAIN):
        """
        The peer's thisisme: keep it, and say what is wrong with it, if
        anything, as the reason of a refusal (the handshake is then
        refused).  A thisisme is wrong if its id and key do not go
        together: a key that is no key, an id that is not the key's (with
        any_id, ``""`` is taken: the tracker names the id), or a key's id
        (32 hex digits) without a key, which no keyless peer may take
        (§3).  With proof_due (the peer is to prove its key to this side
        later: an acceptor, the tracker), a key needs a nonce.  Over the
        encrypted channel (channel: L{channelKey} of the connection), the
        key must be the one the channel proved, and none if it proved none.

        @return: the reason, or None.
        """
        self.hello = hello
        fault = _fault(hello, proof_due, any_id, channel)
        if fault is not None:
            self._refused()
        return fault

    @property
    def peerId(self):
        """The id the peer's thisisme stands for: its key's, if it has a
        key (see L{hear}), else the id it says."""
        hello = self.hello
        return hello.id if hello.key is None else keyId(hello.key)

    def expectProof(self):
        """The peer, which has a key, is to prove it (a ``proof``, later)."""
        self._enter(PROVING)

    def checkProof(self, sig):
        """
        Whether sig proves the key of the peer's thisisme to this side, in
        this handshake.  If it does, that key is the proven one; if not,
        the handshake is refused.
        """
        hello = self.hello
        if self._side.proven(hello.key, hello.nonce, sig):
            self.key = hello.key
            return True
        self._refused()
        return False

    def establish(self, key=None):
        """
        The handshake is over and the link established: the nonces and the
        thisisme are no use any more, the proven key stays (key: one proven
        elsewhere, for a link built by hand).
        """
        self._enter(ESTABLISHED)
        if key is not None:
            self.key = key
        self.hello = self._side = None

    def _refused(self):
        self._enter(REFUSED)
        self.hello = self._side = None


def _fault(hello, proof_due, any_id, channel):
    """See L{LinkHandshake.hear}."""
    if channel is not PLAIN and hello.key != channel:
        if channel is None:
            return "a key in a thisisme on a connection whose channel proved no key"
        return "the key is not the one this connection's channel proved"
    if hello.key is None:
        if isKeyed(hello.id):
            return (f"{wireId(hello.id)} is a key's id: a thisisme with it names "
                    "that key")
        return None
    node_id = keyId(hello.key)
    if node_id is None:
        return "that key is not the base64url of an Ed25519 public key"
    if hello.id != node_id and not (any_id and hello.id == NO_ID):
        return f"{wireId(hello.id)} is not the id of that key"
    if proof_due and hello.nonce is None:
        return "a thisisme with a key needs a nonce to prove it with"
    return None
