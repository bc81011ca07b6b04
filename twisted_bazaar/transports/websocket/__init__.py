"""
WebSocket as a way to a peer: the link protocol, the encrypted channel
and all, carried as a byte stream in the binary messages of a WebSocket
connection, so that a node whose network lets only HTTP(S) out reaches a
tracker or a node that listens for it (docs/architecture.md, "Adding a
transport"; docs/protocol.md §2.4).  The WebSocket protocol is
autobahn's; this package adds the stream over it (L{stream}), its
endpoints (L{endpoints}), the transport of its kind (L{transport}) and
a daemon's port and a node's transport made before the node
(L{service}); its kind of path is declared here (L{WEBSOCKET}), and what
it brings to the daemons (its options, ``ws:`` trackers, its services)
in L{plugin}, registered by ``twisted_bazaar/plugins/bazaar_websocket.py``.
The dialer dials its paths as it dials any kind it has a transport for
(L{twisted_bazaar.reach.ways.Added}).
"""

from twisted_bazaar.transports.path import KINDS

__all__ = ["WEBSOCKET", "WHAT"]

#: A peer's WebSocket port: one its node's operator configured
#: (``--ws-peer``).
WEBSOCKET = KINDS.register("websocket")
#: What a WebSocket port is, as its refusals name it.
WHAT = "this WebSocket port"
