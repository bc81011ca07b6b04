"""
What a connection or a connector may offer beyond Twisted's own
interfaces, declared as interfaces (as Twisted's C{ISSLTransport} and
C{INegotiated} are), so that a reader asks C{IFoo(transport, None)} and a
test checks a provider with C{verifyObject}, rather than each reading an
attribute that may or may not be there.

A transport that wraps another (the channel's L{EncryptedProtocol} over a
relay's circuit) answers with C{__conform__} (L{conformThrough}) for the
capabilities of the path under it, those that extend L{IPathCapability}
(the relay a circuit runs through is the channel's path too), and for no
other: its socket (C{ISystemHandle}) is not one, or a file would be sent
around the channel unencrypted.
"""

from twisted.internet.tcp import Connection
from zope.interface import Attribute, Interface, classImplements


class IPathCapability(Interface):
    """What a connection says of the way it runs (through a relay, say),
    which a transport wrapping it (a channel inside it) says too."""


class ISecureTransport(Interface):
    """A connection under the encrypted channel (docs/protocol.md §2.1):
    what its handshake proved."""

    peerKey = Attribute("The peer's Ed25519 key (32 raw bytes) the channel "
                        "proved, or None (a keyless peer, or a handshake not done).")
    handshakeHash = Attribute("The channel's handshake hash (32 bytes), the same "
                              "at both ends and unique to the connection, or None "
                              "before the handshake is done.")

    def switchCipher(name, last=b""):
        """Seal and open the messages after the last one opened (and after
        ``last``, written first) with the cipher function ``name``
        (docs/protocol.md §19.1): whether it switched."""


class IChannelProtocol(Interface):
    """A protocol inside the encrypted channel (L{EncryptedProtocol
    <twisted_bazaar.net.encrypted.EncryptedProtocol>}'s wrapped one) told
    once the channel's handshake is done (a node's L{Link
    <twisted_bazaar.net.link.Link>}, which tells its owner)."""

    def channelUp():
        """The channel's handshake is done: the transport's handshake hash
        is known, and what is written now is sealed."""


class IQueuedBeside(Interface):
    """A producer (a node's L{Link <twisted_bazaar.net.link.Link>}) whose
    account of the bytes waiting for its peer also takes those its
    transport queues for that peer of its own accord, which it never
    wrote (a pong, which the peer's ping makes): a peer that
    makes the transport write and does not read fills the producer's
    account (its write limit, the process's unsent bytes) as if the
    producer had written them, and is dropped when it is full."""

    def queuedBeside(size):
        """The transport is about to queue ``size`` bytes of its own for
        the peer: charged as the producer's while the transport has paused
        it.  False when the connection is dropped for them (or already
        closing): they are not to be written."""


class IHeldWrites(Interface):
    """A transport that sends each write at once (the channel's, which
    hands each sealed frame to the kernel: L{twisted_bazaar.net.sendnow})
    and can also leave one to its transport's buffer, for a link in the
    middle of a burst whose next frames follow on this turn
    (L{twisted_bazaar.net.link.Link.flushWrites}).  A reactor's TCP
    transport buffers every write: its C{write} is that already."""

    def writeLater(data):
        """As C{write}, but left to the buffer under it, sent at the
        turn's end."""


class IRelayedTransport(IPathCapability):
    """A connection that runs through a relay's circuit
    (L{twisted_bazaar.transports.relay.circuit.CircuitTransport}), or a channel
    over one (whose C{__conform__} answers for it)."""

    relayAt = Attribute("The relay's address, ``HOST:PORT`` as this end reached it "
                        "(\"\" if it cannot tell): what a log line names the "
                        "link by, the other end's being its own word.")
    relayedFrom = Attribute("Where the relay saw the other end's connection come "
                            "from (\"\" if it did not say): the host a hole punch "
                            "over this circuit dials, and the address group the "
                            "node divides its relay's share of handshakes by.")


class IQuicTransport(IPathCapability):
    """A connection that runs over a QUIC stream on UDP
    (L{twisted_bazaar.transports.quic.stream.StreamTransport}: dialled, accepted
    or punched over UDP), or a channel over one, or a relay's circuit
    whose connection to the relay is one (docs/protocol.md §12a's
    ``quic``)."""


class IBulkTransport(IPathCapability):
    """A connection over a socket whose read and send sizes a reader or a
    writer of bulk data (a file's buyer, its seller) may set: a reactor's
    TCP transport.  A channel over one, or a relay's circuit, answers
    with the socket's transport under it (the sizes are the socket's)."""

    bufferSize = Attribute("Bytes read from the socket at a time.")
    SEND_LIMIT = Attribute("Bytes handed to the kernel in one send at most.")


# Twisted's TCP transport has both (its own names) and declares neither.
classImplements(Connection, IBulkTransport)


def conformThrough(wrapper, wrapped, interface):
    """
    A wrapper's C{__conform__}: the wrapper itself if it provides
    interface, else, for a capability of the path (L{IPathCapability}),
    the wrapped object's provider; or None (a
    C{__conform__}'s answer for "no").  The wrapper's own come first: a
    channel inside a relay's circuit proves the inner key, not the key of
    the channel with the relay under it.
    """
    if interface.providedBy(wrapper):
        return wrapper
    if wrapped is None or not interface.isOrExtends(IPathCapability):
        return None
    return interface(wrapped, None)
