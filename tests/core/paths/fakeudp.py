"""
A fake transport of a path kind of its own, for the test that a new
transport plugs into the dialer as a module and its place in the list
(tests/core/paths/test_transport.py): what QUIC over UDP would be.
"""

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar.core.paths.path import UDP
from twisted_bazaar.core.paths.transport import ITransport


class Unanswered(Exception):
    """Nothing answered at the UDP path: the next transport is tried."""


@implementer(ITransport)
class FakeUdp:
    """Dials a peer at the UDP paths the node's book holds for it; each
    dial answered by the test (``dials``: (host, port, purpose, its
    Deferred))."""

    kind = UDP
    handsOver = (Unanswered,)

    def __init__(self):
        self.dials = []

    def attempt(self, dialer, peer, purpose, protocol):
        paths = dialer.book.pathsOf(peer.id, UDP)
        if not paths:
            return None
        d = defer.Deferred()
        self.dials.append((paths[0].host, paths[0].port, purpose, d))
        return d
