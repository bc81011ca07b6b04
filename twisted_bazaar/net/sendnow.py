"""
Small writes sent at once, when a TCP transport holds nothing unsent.

Twisted's C{write} only buffers: the bytes leave on the reactor's next
turn, once epoll says the socket is writable, which costs two
``epoll_ctl`` calls (to watch the socket for writing, then to stop) and
a pass through the reactor's dispatch for every answer a seller sends
(docs/benchmarks.md, "Where a purchase's time goes").  When the
transport has nothing waiting, sending now puts the same bytes on the
wire in the same order, and what the socket does not take is handed to
C{write} as before.

Only a plain TCP transport (L{twisted.internet.tcp.Connection}) with no
producer or a streaming one is written to so: a pull producer is asked
for more only by the transport's own C{doWrite}.  Large writes (file
transfers) keep Twisted's way.  How much a transport holds unsent is
L{unsent}'s to say (a web port's deadline, a transport's own pongs read it).
"""

from twisted.internet.tcp import Connection

#: The most bytes sent at once; more go to the transport's C{write}.
SEND_NOW_BYTES = 16384


def sendNow(transport, data):
    """Send ``data`` on ``transport`` now if it holds nothing unsent (and
    is a TCP connection that may be written to so), else write it."""
    if (len(data) <= SEND_NOW_BYTES and isinstance(transport, Connection)
            and transport.connected and not transport.disconnecting
            and not transport._writeDisconnected and not transport._tempDataLen
            and transport.offset == len(transport.dataBuffer)
            and (transport.producer is None or transport.streamingProducer)):
        sent = transport.writeSomeData(data)
        if type(sent) is int:
            if sent == len(data):
                return
            data = data[sent:]
    transport.write(data)


def unsent(transport):
    """Bytes a TCP transport has yet to send (what Twisted's
    FileDescriptor buffers); 0 for one that does not say."""
    buffered = getattr(transport, "dataBuffer", None)
    if not isinstance(buffered, bytes):
        return 0
    return (len(buffered) - getattr(transport, "offset", 0)
            + getattr(transport, "_tempDataLen", 0))
