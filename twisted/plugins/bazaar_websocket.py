"""
The ``ws:`` endpoint strings of twisted-bazaar's WebSocket transport
(L{twisted_bazaar.transports.websocket.parser}), for Twisted's
C{clientFromString} and C{serverFromString}.
"""

from twisted_bazaar.transports.websocket.parser import (
    WebSocketClientParser, WebSocketServerParser)

webSocketClient = WebSocketClientParser()
webSocketServer = WebSocketServerParser()
