"""
WebSocket as a way to a peer: the link protocol, the encrypted channel
and all, carried as a byte stream in the binary messages of a WebSocket
connection, so that a node whose network lets only HTTP(S) out reaches a
tracker or a node that listens for it (docs/architecture.md, "Adding a
transport"; docs/protocol.md §2.4).  The WebSocket protocol is
autobahn's; this package adds the stream over it (L{stream}), its
endpoints (L{endpoints}), the transport of its kind (L{transport}) and
a daemon's port and a node's transport made before the node
(L{service}); its kind of path is declared here with its wire form
(L{WEBSOCKET}: a node names its port in its ``thisisme``, the tracker
names it to others, docs/protocol.md §3, "Paths"), and what
it brings to the daemons (its options, ``ws:`` trackers, its services)
in L{plugin}, registered by ``twisted_bazaar/plugins/bazaar_websocket.py``.
The dialer dials its paths as it dials any kind it has a transport for
(L{twisted_bazaar.reach.ways.Added}).
"""

from twisted_bazaar.transports.path import KINDS
from twisted_bazaar.wire.codec import intIn
from twisted_bazaar.wire.paths import Form

__all__ = ["WEBSOCKET", "WHAT", "WebSocketForm"]


class WebSocketForm(Form):
    """A node's WebSocket port (§2.4): ``port`` 1 to 65535, required;
    ``host`` optional (left out in a node's word of itself: the tracker
    names the port at the host it names the node at)."""

    _port = staticmethod(intIn(1, 65535, "from 1 to 65535"))

    def read(self, kind, entry, word, name):
        self._port(entry.get("port"), f"{name}.port")
        return super().read(kind, entry, word, name)


#: A peer's WebSocket port: one its node's operator configured
#: (``--ws-peer``), or one the tracker named (the node's claim).
WEBSOCKET = KINDS.register("websocket", form=WebSocketForm())
#: What a WebSocket port is, as its refusals name it.
WHAT = "this WebSocket port"
