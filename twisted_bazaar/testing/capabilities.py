"""
Fake transports' capabilities: a test's C{StringTransport} given what an
encrypted channel proved, or the word of a relay's circuit, declared as
the interface a real one provides (L{ISecureTransport},
L{IRelayedTransport}), since readers ask the interface, not the
attribute.
"""

from zope.interface import alsoProvides

from twisted_bazaar.net.capabilities import IRelayedTransport, ISecureTransport


def secured(transport, peerKey=None, handshakeHash=None):
    """transport, as a connection whose channel proved peerKey (raw bytes,
    or None for a keyless peer) with handshakeHash."""
    transport.peerKey = peerKey
    transport.handshakeHash = handshakeHash
    alsoProvides(transport, ISecureTransport)
    return transport


def relayed(transport, host):
    """transport, as a relay's circuit whose relay saw the other end come
    from host."""
    transport.relayedFrom = host
    alsoProvides(transport, IRelayedTransport)
    return transport
