"""
Helpers for the status tests: a question asked as the node's operator,
over a link whose transport plays an encrypted channel's.
"""

from twisted_bazaar.status.messages import State
from twisted_bazaar.identity.operator import operatorProof
from twisted_bazaar.testing.capabilities import secured

from tests.helpers import feed, sent

#: The handshake hash the channel under a test's link stands for.
CHANNEL_HASH = bytes(range(32))


def onChannel(link, binding=CHANNEL_HASH):
    """Give the link's transport the handshake hash of a channel, as an
    encrypted connection's has."""
    secured(link.transport, getattr(link.transport, "peerKey", None), binding)
    return link


def askAsOperator(node, link, identity=None, binding=CHANNEL_HASH):
    """Ask state on link with the proof of identity (the node's own, by
    default) for a channel of handshake hash binding; the answer."""
    onChannel(link)
    proof = operatorProof(identity or node.identity, binding)
    feed(link, State(operator=proof))
    return sent(link)[-1]
