"""The WebSocket transport, as twisted.plugin finds it."""

from twisted_bazaar.transports.websocket.plugin import WebSocketPlugin

websocket = WebSocketPlugin()
