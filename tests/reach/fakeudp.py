"""
A fake transport of a path kind of its own, for the test that a new
transport plugs into the dialer as a module and its place in the list
(tests/transports/test_interface.py): what QUIC over UDP would be.
"""

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar.transports.path import UDP
from twisted_bazaar.transports.interface import ITransport


class Unanswered(Exception):
    """Nothing answered at the UDP path."""


@implementer(ITransport)
class FakeUdp:
    """Dials a peer at the UDP paths the node's book holds for it; each
    dial answered by the test (``dials``: (host, port, purpose, its
    Deferred)); raced at once against the others, as go-libp2p dials QUIC
    and TCP addresses."""

    kind = UDP
    delay = 0.0
    holds = False

    def __init__(self):
        self.dials = []

    def applies(self, dialer, peer, purpose, protocol):
        return bool(dialer.book.pathsOf(peer.id, UDP))

    def attempt(self, dialer, peer, purpose, protocol):
        paths = dialer.book.pathsOf(peer.id, UDP)
        d = defer.Deferred()
        self.dials.append((paths[0].host, paths[0].port, purpose, d))
        return d
