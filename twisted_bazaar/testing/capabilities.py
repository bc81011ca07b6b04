"""
Fake transports' capabilities: a test's C{StringTransport} given what an
encrypted channel proved, the word of a relay's circuit, or a QUIC
stream's way, declared as the interface a real one provides
(L{ISecureTransport}, L{IRelayedTransport}, L{IQuicTransport}), since
readers ask the interface, not the attribute.
"""

from zope.interface import alsoProvides, implementer

from twisted_bazaar.net.capabilities import IQuicTransport, IRelayedTransport, ISecureTransport


def secured(transport, peerKey=None, handshakeHash=None):
    """transport, as a connection whose channel proved peerKey (raw bytes,
    or None for a keyless peer) with handshakeHash."""
    transport.peerKey = peerKey
    transport.handshakeHash = handshakeHash
    alsoProvides(transport, ISecureTransport)
    return transport


def relayed(transport, host, relayAt=""):
    """transport, as a relay's circuit whose relay saw the other end come
    from host, reached at relayAt (``HOST:PORT``; "": its own peer's)."""
    transport.relayedFrom = host
    transport.relayAt = relayAt
    alsoProvides(transport, IRelayedTransport)
    return transport


@implementer(IQuicTransport)
class _OverQuic:
    """A transport that says it runs over QUIC, as a QUIC stream's does;
    the rest is the transport it wraps."""

    def __init__(self, transport):
        self._transport = transport

    def __getattr__(self, name):
        return getattr(self._transport, name)


def overQuic(transport):
    """transport, as a QUIC stream's (a link over QUIC on UDP): for a
    transport whose class takes no declaration of its own (a memory
    transport's slots)."""
    return _OverQuic(transport)
