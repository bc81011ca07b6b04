"""
The bounds of a WebSocket connection, in the limits registry: a peer
cannot make this side hold more than these, before or after the
WebSocket handshake.
"""

from twisted_bazaar.base.limitregistry import declare

MESSAGE_BYTES = declare(
    "websocket.message-bytes", 65536, "bytes",
    "payload of one WebSocket message (and frame) either way: a writer splits its "
    "stream at this size, and a peer's larger message or frame closes the "
    "connection (1009, message too big)", owner=__name__)
HANDSHAKE_BYTES = declare(
    "websocket.handshake-bytes", 8192, "bytes",
    "an HTTP request or response of the WebSocket opening handshake: more before "
    "it is complete refuses the connection", owner=__name__)
HANDSHAKE_SECONDS = declare(
    "websocket.handshake-seconds", 10.0, "seconds",
    "the WebSocket opening handshake, from TCP's connection on: a peer that has "
    "not finished it by then is dropped", owner=__name__)
CLOSE_SECONDS = declare(
    "websocket.close-seconds", 5.0, "seconds",
    "the WebSocket closing handshake: a peer that has not closed by then is "
    "dropped", owner=__name__)
OPENING = declare(
    "websocket.opening", 256, "connections",
    "connections to a WebSocket port still in the opening handshake, in all: past "
    "the group's share a new one is closed as TCP connects; the port full, it takes "
    "the place of the oldest of the group holding the most, if that group keeps as "
    "many (the service's own limits count a connection from its opening on)",
    group=8, owner=__name__)
