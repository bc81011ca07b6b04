"""
WebSocket as a way to a peer: the link protocol, the encrypted channel
and all, carried as a byte stream in the binary messages of a WebSocket
connection, so that a node whose network lets only HTTP(S) out reaches a
tracker or a node that listens for it (docs/architecture.md, "Adding a
transport"; docs/protocol.md §2.4).  The WebSocket protocol is
autobahn's; this package adds the stream over it (L{stream}), its
endpoints (L{endpoints}), the transport of its kind (L{transport}) and
what plugs it into a node's dialer and a daemon (L{dialerway},
L{service}).
"""
