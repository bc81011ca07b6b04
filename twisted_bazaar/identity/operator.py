"""
Who a node tells its whole state: its operator, whoever proves the node's
own key on the status link (docs/protocol.md §12a).  Anyone else is told
the public facts only.

The proof (``state``'s ``operator``) is the node key's signature of
L{CONTEXT} and the handshake hash of the encrypted channel the question
comes on.  It is made for that one connection: a proxy that passes it on
has a channel of its own, with another hash, so the proof is worth nothing
there, and a connection without the channel can carry none.
"""

from twisted_bazaar.identity.keys import verify

#: What an operator's proof signs, before the channel's handshake hash.
CONTEXT = b"bazaar-operator:"


def operatorProof(identity, binding):
    """The proof that the holder of identity (the node's own key) asks
    on the connection whose handshake hash is binding."""
    return identity.sign(CONTEXT + binding)


def provesOperator(key, binding, proof):
    """Whether proof is key's (the node's own key, as text) proof for the
    connection whose handshake hash is binding (None: no channel)."""
    if key is None or binding is None or proof is None:
        return False
    return verify(key, proof, CONTEXT + binding)
