"""
A link to a peer at an address a test names (L{linkAt}): the book of
paths fed as a peer's word would feed it, then the dial by id alone, as
the node's parts do (docs/architecture.md, "Reaching a peer: the
dialer"); or, with no id, a dial of whoever answers there.
"""

from twisted_bazaar.core.node import OVERLAY, Peer

__all__ = ["linkAt"]


def linkAt(node, host, port, peer_id=None, purpose=OVERLAY, namedBy=None):
    """A Deferred of the peer's id once node is linked to the peer at
    host:port (peer_id, heard there as a peer's claim; None: whoever
    answers, which the book cannot hold, dialled at that address)."""
    if peer_id is None:
        return node.dial(Peer(None, host, port), purpose)
    node.heard(peer_id, host, port, namedBy)
    return node.connectTo(peer_id, purpose)
