"""
What WebSocket brings to the daemons (L{WebSocketPlugin}, an
L{ITransportPlugin}): ``--ws-port`` on both, ``--ws-peer`` on a node,
``ws:`` among the endpoints a node's ``--tracker`` takes, and the
services that run it.  The daemons find it by its line in
``twisted_bazaar/plugins/bazaar_websocket.py`` and name WebSocket
nowhere else.

Light, as twistd reads it at every start: autobahn is loaded only by a
daemon whose options turn WebSocket on (L{service} imported then).
"""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.base.httphosts import hostNames
from twisted_bazaar.base.options import PluginOption, boundedInt
from twisted_bazaar.transports.plugin import ITransportPlugin
from twisted_bazaar.transports.websocket.limits import OPENING
from twisted_bazaar.transports.websocket.parser import PREFIX, parsePeer

__all__ = ["WebSocketPlugin"]

_PORT = boundedInt(0, 65535)
_LISTENS = ("TCP port to listen for WebSocket on, on the --listen interface (0: a "
            "free one; logged as 'websocket listening on HOST:PORT'): ")
_NAMES = PluginOption(
    "ws-names", "Host names the --ws-port also answers to, separated by commas (the "
    "names a node reaches it by: --tracker ws:NAME:PORT); it answers to loopback's "
    "names and the addresses it listens on, refuses any other name an opening "
    "handshake gives (421: DNS rebinding), and any handshake with an Origin (403: a "
    "page's); refused without --ws-port", hostNames, metavar="NAMES")


@implementer(IPlugin, ITransportPlugin)
class WebSocketPlugin:
    """WebSocket for the daemons: a node's port and peers, a tracker's
    port."""

    name = "WebSocket"
    nodeOptions = (
        PluginOption("ws-port", _LISTENS + "links and file transfers in WebSocket "
                     "binary messages, each under the encrypted channel as over TCP, "
                     "for nodes whose network lets only HTTP(S) out (none by default)",
                     _PORT, listens=True, metavar="PORT"),
        _NAMES,
        PluginOption("ws-peer", "ID=HOST:PORT: reach node ID over WebSocket at that "
                     "address (an IP address and the node's --ws-port), raced beside "
                     "TCP", parsePeer, repeatable=True, metavar="ID=HOST:PORT"),
    )
    trackerOptions = (
        PluginOption("ws-port", _LISTENS + "nodes whose network lets only HTTP(S) out "
                     "reach the tracker there with --tracker ws:HOST:PORT (none by "
                     "default)", _PORT, listens=True, metavar="PORT"),
        _NAMES,
    )
    trackerKinds = (PREFIX,)
    wayOut = (f"if this network lets only HTTP(S) out, reach the tracker with --tracker "
              f"{PREFIX}:HOST:PORT (its --ws-port, which serves its relay over WebSocket "
              f"too) and nodes over WebSocket (a seller's --ws-port, or name one with "
              f"--ws-peer ID=HOST:PORT)")
    trackerHelp = f"{PREFIX}:HOST:PORT for its WebSocket port"

    def checkValues(self, values):
        """--ws-names without --ws-port is refused: the names are the
        port's, and without it nothing serves them (taken in silence)."""
        if values["ws-names"] is not None and values["ws-port"] is None:
            raise ValueError("--ws-names are the names of the --ws-port: give "
                             "--ws-port PORT too")

    def trackerAccounts(self, values):
        """The tracker's WebSocket port, when --ws-port turns it on, holds
        its connections in their opening handshake in an account of
        L{OPENING}."""
        return () if values["ws-port"] is None else (OPENING,)

    def nodeTransport(self, reactor, values, interface, onFailure, trackerKinds=()):
        """The maker of the node's WebSocket (its port, --ws-port, and its
        --ws-peer paths), for a node given either or that reaches a
        tracker by ``ws:`` (it dials the WebSocket paths the tracker
        names: its network may let only HTTP(S) out); else None."""
        if (values["ws-port"] is None and not values["ws-peer"]
                and PREFIX not in trackerKinds):
            return None
        from twisted_bazaar.transports.websocket.service import NodeWebSocket
        return lambda channel, peerLog: NodeWebSocket(
            reactor, channel, peerLog, values["ws-port"], interface, values["ws-peer"],
            onFailure, values["ws-names"] or ())

    def trackerService(self, reactor, identity, factory, peerLog, values, interface,
                       onFailure, relay=None):
        """The tracker's WebSocket port, for a tracker given --ws-port (its
        relay served there too); else None."""
        if values["ws-port"] is None:
            return None
        from twisted_bazaar.transports.websocket.service import trackerService
        return trackerService(reactor, identity, factory, peerLog, values["ws-port"],
                              interface, onFailure, values["ws-names"] or (), relay)

    def trackerWay(self, address):
        """The path a node that reaches its tracker at ``address`` (an
        L{Address <twisted_bazaar.base.address.Address>}) by ``ws:``
        dials the tracker's relay by: its WebSocket port, which serves the
        relay too (a firewall that lets that port out may let out nothing
        else); None for any other kind."""
        if address.kind != PREFIX:
            return None
        from twisted_bazaar.transports.path import CONFIGURED, Path
        from twisted_bazaar.transports.websocket import WEBSOCKET
        return Path(WEBSOCKET, address.host, address.port, word=CONFIGURED)
