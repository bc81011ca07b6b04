"""
The network under a node's transports (L{IConnector}): TCP under the
encrypted channel in a daemon
(L{twisted_bazaar.daemon.services.EndpointConnector}), the memory network
in a test or a simulation (L{twisted_bazaar.testing.memory.MemoryConnector}).
The TCP transport dials through it
(L{twisted_bazaar.transports.tcp.transport.TcpTransport}), and a circuit
reaches its relay so; nothing else calls its C{connect}
(tests/test_dials.py).
"""

from twisted.internet.error import ConnectError
from zope.interface import Attribute, Interface


class IConnector(Interface):
    """Connects a protocol to a host and port, and listens for a node's
    other ports, under the connector's channel if it has one."""

    channel = Attribute("The channel key (L{twisted_bazaar.channel.session.ChannelKey}) "
                        "every connection runs under, or None: plain (the memory "
                        "network's).")
    peerLog = Attribute("Where the lines of channels that failed go, bounded per "
                        "address group (L{twisted_bazaar.base.logthrottle.PeerLog}), "
                        "or None.")
    addressed = Attribute("True when a host is an IP address or a name DNS resolves (TCP): "
                          "the dialer then checks a host a peer names before it dials it "
                          "(L{twisted_bazaar.reach.peerhosts}); False when hosts are "
                          "labels (the memory network's).")

    def connect(host, port, protocol, expected=None):
        """Connect protocol to host:port; a Deferred firing with it once
        connected, or failing with why not.  ``expected``: the key (32
        raw bytes) the peer must prove in the channel's handshake, or
        None."""

    def listen(factory, port=0):
        """Listen with factory on port (0: any free one); a Deferred
        firing with the listening port."""

    def resolve(name, port):
        """The IP addresses (as text, in the order found) a host name
        resolves to now: a Deferred firing with a list, perhaps empty,
        or failing with why not.  Only an L{addressed} connector's."""


def connectAny(hosts, connect):
    """
    ``connect(host)`` for each of hosts in turn until one connects (the
    addresses a name resolves to: one of another family may be
    unreachable, as a dial by name would find); a Deferred of the first
    that does, or of the last failure.  Only a failure to connect
    (C{ConnectError}) moves on.
    """
    d = connect(hosts[0])
    if len(hosts) > 1:
        d.addErrback(_nextHost, hosts[1:], connect)
    return d


def _nextHost(reason, hosts, connect):
    reason.trap(ConnectError)
    return connectAny(hosts, connect)
