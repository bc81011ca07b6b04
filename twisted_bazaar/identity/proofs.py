"""
Handshake proofs: the one place where a node proves its key to a peer, and
checks a peer's proof (docs/protocol.md, "Keys and signatures").

A proof is the signer's Ed25519 signature of a text that names everything
the proof is for, so that it holds for that alone:

- the context: a tracker registration (L{REGISTER}), a node-to-node link
  (L{LINK}) or an address check (L{CHECK});
- the signer's public key and the verifier's: the peer it proves itself
  to, so that a proof handed on to anyone else names the wrong verifier;
- both sides' nonces, each side's fresh for this handshake: the
  verifier's makes the proof new to it, the signer's means that the
  signer never signs a text the other side chose alone;
- for a link, its purpose.

What a side of a handshake does with these, phase by phase (the
overlay's, the tracker's, the tracker session's and the address
check's alike), is L{twisted_bazaar.net.handshake.LinkHandshake}'s.

A node answers handshakes from anyone, so it signs whatever nonce and
verifier key a stranger sends; what it signs is still of no use anywhere
but in that handshake.  Keys are bound, not ids: an id is derived from
its key, so the proof's format does not depend on how.
"""

import os

from twisted_bazaar.identity.keys import encode, verify
from twisted_bazaar.wire import canonicalJSON

#: The contexts a proof can be for.
REGISTER = "register"
LINK = "link"
CHECK = "check"
CONTEXTS = (REGISTER, LINK, CHECK)
#: What every proof's text starts with: no other signature of the
#: protocol (trade messages sign ``bazaar-sig:...``) can be taken for one.
PREFIX = b"bazaar-proof:"
#: Random bytes in a handshake nonce.
NONCE_BYTES = 16


def newNonce():
    """A fresh handshake nonce, as text."""
    return encode(os.urandom(NONCE_BYTES))


def _checkContext(context, purpose):
    """
    @raise ValueError: for a context that is none of L{CONTEXTS}, or a
        purpose given for anything but a link, or missing for one.
    """
    if context not in CONTEXTS:
        raise ValueError(f"no proof context {context!r}")
    if (purpose is not None) != (context == LINK):
        raise ValueError("a link proof, and it only, names a purpose")


def proofText(context, signer, verifier, signer_nonce, verifier_nonce, purpose=None):
    """
    The bytes a proof signs: L{PREFIX} and the canonical JSON object of
    its context, keys, nonces and (for a link, only) purpose.

    @raise ValueError: see L{_checkContext}.
    """
    _checkContext(context, purpose)
    fields = {"context": context, "signer": signer, "verifier": verifier,
              "signerNonce": signer_nonce, "verifierNonce": verifier_nonce}
    if purpose is not None:
        fields["purpose"] = purpose
    return PREFIX + canonicalJSON(fields)


class Handshake:
    """
    One side of one handshake: who this side is, the context (and a
    link's purpose), and the fresh nonce this side sends the other.

    @ivar nonce: this side's nonce, as text.
    """

    def __init__(self, identity, context, purpose=None):
        _checkContext(context, purpose)
        self.identity = identity
        self.context = context
        self.purpose = purpose
        self.nonce = newNonce()

    def prove(self, peer_key, peer_nonce):
        """This side's proof to the peer whose key and nonce are given."""
        return self.identity.sign(proofText(self.context, self.identity.key, peer_key,
                                            self.nonce, peer_nonce, self.purpose))

    def proven(self, peer_key, peer_nonce, sig):
        """
        Whether sig is the peer's proof to this side in this handshake:
        made with peer_key, for this side's key and nonce and the peer's
        nonce.  Never raises: a missing or malformed part proves nothing.
        """
        if peer_key is None or peer_nonce is None or sig is None:
            return False
        return verify(peer_key, sig, proofText(self.context, peer_key, self.identity.key,
                                               peer_nonce, self.nonce, self.purpose))
