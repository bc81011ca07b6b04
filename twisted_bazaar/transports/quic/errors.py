"""
How a dial over QUIC fails (L{QuicUnanswered}, L{QuicSilent}), apart from
the stack: the dialer's QUIC transport tells them apart without loading
qh3 into every process that builds a node (a simulator's: 2.5 MB).
"""

from twisted.internet.error import ConnectError

__all__ = ["QuicOtherFamily", "QuicUnanswered", "QuicSilent"]


class QuicUnanswered(ConnectError):
    """A dial over QUIC failed before its handshake was done: nothing
    answered, or what answered would not take it."""

    def __str__(self):
        return (self.args[0] if self.args else "") or "no QUIC answer"


class QuicSilent(QuicUnanswered):
    """A dial over QUIC that nothing answered within its time: the path
    carries nothing (a router forgot it, a peer gone), which a refusal
    does not say."""


class QuicOtherFamily(QuicUnanswered):
    """A dial to an address of the other family than the node's QUIC
    socket's: it cannot send there (L{twisted_bazaar.net.opening.NoRoute}),
    which says nothing of the peer."""

    noRoute = True
