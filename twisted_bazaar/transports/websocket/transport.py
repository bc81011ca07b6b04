"""
The transport of kind L{WEBSOCKET} (L{WebSocketTransport}), in the shape
every transport takes (docs/architecture.md, "Adding a transport"):
``kind``, ``canDial(path)``, ``dial(path, expectedKey, protocolFactory,
options)`` and ``listen(factory)``.  It knows paths, keys and protocol
factories, never a node: what a connection carries is sealed by the
encrypted channel end to end, as over TCP.
"""

from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.internet.abstract import isIPv6Address
from twisted.internet.endpoints import (
    HostnameEndpoint, TCP4ServerEndpoint, TCP6ServerEndpoint)
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.httphosts import ServedNames
from twisted_bazaar.base.lan import oneSpelling
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.net.encrypted import EncryptedClientEndpoint, EncryptedFactory
from twisted_bazaar.transports.interface import NO_OPTIONS, ITransport
from twisted_bazaar.transports.path import Path
from twisted_bazaar.transports.relay.messages import FILES as FILES_PURPOSE
from twisted_bazaar.transports.relay.messages import RELAY as RELAY_PURPOSE
from twisted_bazaar.transports.websocket import WEBSOCKET, WHAT
from twisted_bazaar.transports.websocket.endpoints import ROOT, WebSocketClientEndpoint
from twisted_bazaar.transports.websocket.stream import StreamServerFactory

__all__ = ["WebSocketTransport", "FILES", "RELAY", "CONNECT_SECONDS"]

_log = Logger()
#: Seconds TCP may take to connect under WebSocket.
CONNECT_SECONDS = 5.0
#: The resource a node serves its transfer port's protocol at (a file's
#: buyer dials it); its links are at L{ROOT}.
FILES = "/files"
#: The resource a tracker serves its relay at (a node at a home that lets
#: only HTTP(S) out accepts its circuits there).
RELAY = "/relay"
#: The resource a dial of each L{DialOptions} purpose goes to (others:
#: L{ROOT}).
_RESOURCES = {FILES_PURPOSE: FILES, RELAY_PURPOSE: RELAY}


class _Once(Factory):
    """The factory of a dial: the protocol the dialler makes, once."""

    noisy = False

    def __init__(self, make):
        self.make = make

    def buildProtocol(self, addr):
        return self.make()


@implementer(ITransport)
class WebSocketTransport:
    """
    Dials paths of kind L{WEBSOCKET} and listens on one WebSocket port,
    every connection under the process's channel key.

    @ivar port: the listening port, once L{listen} listened, else None.
    """

    kind = WEBSOCKET

    def __init__(self, reactor, channel, peerLog=None, interface="", port=0,
                 clientEndpoint=None, serverEndpoint=None, names=()):
        """
        @param channel: the process's L{ChannelKey
            <twisted_bazaar.channel.session.ChannelKey>}.
        @param interface: the address it listens on ("" every IPv4
            interface, an IPv6 address or "::" for IPv6).
        @param port: the TCP port it listens on (0: a free one).
        @param clientEndpoint: (host, port) -> the TCP endpoint a dial
            connects over (a hostname endpoint by default).
        @param serverEndpoint: () -> the TCP server endpoint it listens on
            (port ``port`` of ``interface`` by default).
        @param names: host names its port answers to besides loopback's
            and the address it is bound to (``--ws-names``: the check of
            every HTTP port, L{twisted_bazaar.base.httphosts}).
        """
        self.reactor = reactor
        self.channel = channel
        self.peerLog = peerLog if peerLog is not None else PeerLog(reactor)
        self.interface = interface
        self.wanted = port
        self.clientEndpoint = clientEndpoint or (
            lambda host, port: HostnameEndpoint(reactor, host, port,
                                                timeout=CONNECT_SECONDS))
        self.serverEndpoint = serverEndpoint or self._tcp
        self.names = ServedNames(interface, names, what=WHAT)
        #: resource -> the sealed factory served there.
        self.resources = {}
        self.port = None
        self._listening = None

    def _tcp(self):
        kind = TCP6ServerEndpoint if isIPv6Address(self.interface) else TCP4ServerEndpoint
        return kind(self.reactor, self.wanted, interface=self.interface)

    def canDial(self, path):
        """Whether path is one this transport dials: of its kind, with a
        host and a port."""
        return path.kind == WEBSOCKET and bool(path.host) and 0 < path.port < 65536

    def advertised(self):
        """The path a node names of itself for this transport (its
        ``thisisme``, docs/protocol.md §3, "Paths"): its port, once it
        listens, at no host (the tracker names it at the node's); else
        None."""
        if self.port is None:
            return None
        return Path(WEBSOCKET, port=self.port.getHost().port)

    def dial(self, path, expectedKey, protocolFactory, options=None):
        """
        Connect a protocol (C{protocolFactory()}, called once) at path,
        its peer to prove ``expectedKey`` (32 raw bytes, or a keyed node
        id: a key of that id; None: any) in the channel's handshake: at
        the links' resource (L{ROOT}), or, for
        the L{DialOptions} purpose C{files}, at L{FILES}; C{relay}, at
        L{RELAY}.

        @return: a Deferred firing with the protocol once WebSocket is
            open, or failing with why not; cancelling it gives it up.
        """
        options = NO_OPTIONS if options is None else options
        resource = _RESOURCES.get(options.purpose, ROOT)
        endpoint = WebSocketClientEndpoint(
            self.reactor, self.clientEndpoint(path.host, path.port), path.host, path.port,
            resource)
        sealed = EncryptedClientEndpoint(endpoint, self.channel, self.reactor,
                                         peerLog=self.peerLog, expected=expectedKey)
        return sealed.connect(_Once(protocolFactory))

    def listen(self, factory, resource=ROOT):
        """
        Serve factory's protocols at resource of this transport's port
        (listening on the first call): a Deferred firing with the
        listening port.
        """
        self.resources[resource] = EncryptedFactory(factory, self.channel, self.reactor,
                                                    peerLog=self.peerLog)
        if self._listening is None:
            self._listening = []
            d = self.serverEndpoint().listen(
                StreamServerFactory(self.reactor, self.resources, self.names,
                                    self._refused))
            d.addBoth(self._listened)
        waiting = defer.Deferred()
        if isinstance(self._listening, list):
            self._listening.append(waiting)
        else:
            waiting.callback(self._listening)
        return waiting

    def _listened(self, result):
        """The port listens (or failed to): each listen waiting is told."""
        waiting, self._listening = self._listening, result
        if not isinstance(result, Failure):
            self.port = result
            self.names.listening(result)
        for d in waiting:
            (d.errback if isinstance(result, Failure) else d.callback)(result)

    def _refused(self, address, why):
        host = oneSpelling(getattr(address, "host", "") or "") or "?"
        self.peerLog.emit(_log, LogLevel.info, addressGroup(host),
                          "websocket: closed a connection from {host}: {why}",
                          host=host, why=why)

    def stopListening(self):
        """Stop listening (a Deferred, or None when it did not listen)."""
        port, self.port, self._listening = self.port, None, None
        return None if port is None else port.stopListening()

