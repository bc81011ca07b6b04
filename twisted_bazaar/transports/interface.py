"""
One kind of transport (L{ITransport}), shaped like Twisted's client
endpoints: it connects a protocol along a path of its kind, the peer's
key proven by the channel on it, and knows paths, keys and protocol
factories, never a node, a dialer or a book.  Which path to dial, when,
and which peer a path is to are the dialer's policy
(L{twisted_bazaar.reach.dialer.Dialer}); the transports a dialer (or a
tracker) dials through are handed to it at construction, found by kind
(L{twisted_bazaar.transports.table.Transports}).  A new transport is a
package holding one of these and one registration line in
L{twisted_bazaar.transports.path} (docs/architecture.md, "Adding a
transport").
"""

import attr
from zope.interface import Attribute, Interface

from twisted_bazaar.transports.relay.messages import NODE

__all__ = ["ITransport", "DialOptions", "NO_OPTIONS"]


class ITransport(Interface):
    """Connects protocols along the paths of one kind, and listens."""

    kind = Attribute("The kind of transport it is: a kind of path of the registry "
                     "(L{twisted_bazaar.transports.path.KINDS}) that carries the paths "
                     "it dials (the TCP transport's DIRECT carries LAN and "
                     "router-mapped paths too).")

    def canDial(path):
        """Whether it can dial path (a
        L{twisted_bazaar.transports.path.Path}) at all, as the path says:
        its kind's, with what a dial of it needs (a relay's address, an IP
        address where names are not dialled)."""

    def dial(path, expectedKey, protocolFactory, options=None):
        """
        Connect a protocol (C{protocolFactory()}, called once) along path:
        a Deferred firing with that protocol once connected (through a
        relay, once the circuit is open), the peer's key proven on it by
        the channel when ``expectedKey`` (32 raw bytes, or a keyed node id
        for a peer known by its id alone: a key of that id) is given, or
        failing with why not; cancelling it gives the dial up.

        @param options: the L{DialOptions} of this dial, or None (the
            defaults).
        """

    def listen(factory):
        """Serve factory's protocols on the transport's own port: a
        Deferred firing with the listening port, or failing with why it
        does not listen."""

    # A transport whose addresses travel also has C{advertised()}: the
    # L{Path} of its own port that its node names of itself (its
    # ``thisisme``, docs/protocol.md §3, "Paths"), or None while it has
    # none (L{twisted_bazaar.transports.table.Transports.advertised}).
    # Optional, so not declared here: verifyObject would ask it of all.


@attr.s(frozen=True, slots=True)
class DialOptions:
    """
    What a dial asks of its transport beyond the path and the key; each
    transport reads the options that concern it.

    @ivar target: the node id a circuit through a relay is opened to
        (relayed).
    @ivar purpose: the peer's service dialled: its links (L{NODE}) or its
        transfers (C{FILES}), a circuit's purpose and a QUIC stream's
        service.
    @ivar pin: in place of an expected key, a circuit's inner key pin
        (L{twisted_bazaar.net.encrypted.EncryptedProtocol}'s), told the
        key once proven (relayed).
    @ivar fromPort: the local port a TCP dial is made from, its socket
        bound with address and port reuse (a punch's simultaneous open,
        RFC 5128 §3.4), or None: any (TCP).
    @ivar opener: whether this end opens the channel (on a simultaneous
        open, both ends dialled; one must open it) (TCP, from a port).
    @ivar via: the QUIC socket (a L{QuicEndpoint
        <twisted_bazaar.transports.quic.endpoint.QuicEndpoint>}) a dial
        leaves from (the one a UDP punch met its peer on: only its
        5-tuple passes the routers), or None: the node's own (QUIC).
    """

    target = attr.ib(default=None)
    purpose = attr.ib(default=NODE)
    pin = attr.ib(default=None)
    fromPort = attr.ib(default=None)
    opener = attr.ib(default=True)
    via = attr.ib(default=None)


#: The options of a dial that asks nothing more.
NO_OPTIONS = DialOptions()
