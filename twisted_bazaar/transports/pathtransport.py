"""
How a protocol is connected along one kind of path (L{IPathTransport}),
with what that needs as parameters, never a node: so a tracker, which
has none, dials through the same transports as a node.

The dials over TCP and the relay's circuits go through the table of these
a L{twisted_bazaar.transports.relay.connector.RelayedConnector} holds,
one transport per kind: the dialer's ways to a peer
(L{twisted_bazaar.transports.interface.ITransport}, which choose the
path), the tracker's and a super-peer's address checks, a node's
reservation at a relay, its accepts of the circuits announced there and
its relay probe.  QUIC dials from its own sockets, through the dialer's
way for it (L{twisted_bazaar.transports.quic.transport}).
tests/test_dials.py fails on a dial made around the table, and lists the
dials still made around the node's dialer.
"""

from zope.interface import Attribute, Interface

from twisted_bazaar.transports.path import DIRECT, RELAYED
from twisted_bazaar.transports.relay.messages import NODE

__all__ = ["IPathTransport", "DIRECT", "RELAYED"]

# The kinds a transport of this table connects along: the book's
# (L{twisted_bazaar.transports.path}), defined there once.  DIRECT: at an
# address, over the connector's own network (TCP under the channel, or
# the memory network's): a peer's own address, a local or a
# router-mapped one, or a relay's (the book's LAN and mapped paths are
# dialled as it).  RELAYED: a circuit through a relay to a node, the
# channel end to end inside it.


class IPathTransport(Interface):
    """Connects a protocol along a path of its kind."""

    kind = Attribute("The kind of path it connects along (L{DIRECT}, L{RELAYED}, or a "
                     "kind of its own).")

    def connect(transports, host, port, protocol, expected=None, relay=None, target=None,
                purpose=NODE, pin=None):
        """
        Connect protocol to host:port, or through ``relay`` (``HOST:PORT``)
        to node ``target``'s port for ``purpose`` (host:port then only the
        peer's address as its inner transport names it): a Deferred firing
        with protocol once connected (through a relay: once the circuit is
        open), or failing with why not.

        @param transports: the L{RelayedConnector} whose table it is in:
            the connector, clock, channel and peer log it dials with, and
            the table a hop of its own is dialled through (a circuit's to
            its relay).
        @param expected: the key (32 raw bytes) the peer must prove in the
            channel's handshake (the inner one, through a relay), or None.
        @param pin: in place of ``expected``, a circuit's inner key pin
            (L{twisted_bazaar.net.encrypted.EncryptedProtocol}'s), told
            the key once proven.
        """
