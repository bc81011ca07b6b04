"""
A protocol of netstring frames for the connections that are no L{Link}:
the file transfer server, the control socket and ``bazaar restock``.  It
frames through L{twisted_bazaar.wire.framing}, as L{Link} and the file
transfer client do, so every connection of the project reads frames by
one rule (docs/protocol.md §2: no sign, no leading zero, at most the
connection's limit), where Twisted's C{NetstringReceiver} would take a
length with a leading zero.
"""

from twisted.internet.protocol import Protocol

from twisted_bazaar.wire.framing import FrameError, digitsFor, frame, readFrame


class FramedProtocol(Protocol):
    """
    Hands each whole frame's payload to L{stringReceived}; on a broken
    frame (see L{twisted_bazaar.wire.framing.readFrame}), one over
    L{MAX_LENGTH} included, calls L{brokenFrame} and reads nothing more.

    @cvar MAX_LENGTH: the longest payload taken.
    @ivar brokenPeer: True once a broken frame came.
    """

    MAX_LENGTH = 99999
    brokenPeer = False
    _buffer = b""

    def dataReceived(self, data):
        if self.brokenPeer:
            return
        if self._buffer:
            data = self._buffer + data
        limit = self.MAX_LENGTH
        digits = digitsFor(limit)
        start = 0
        while not self.brokenPeer:
            try:
                found = readFrame(data, start, limit, digits)
            except FrameError as e:
                self.brokenPeer = True
                self._buffer = b""
                self.brokenFrame(str(e))
                return
            if found is None or found[1] >= len(data):
                break
            begin, end = found
            start = end + 1
            self.stringReceived(data[begin:end])
        self._buffer = data[start:] if not self.brokenPeer else b""

    def stringReceived(self, payload):
        """One frame's payload (bytes) arrived."""
        raise NotImplementedError

    def brokenFrame(self, reason):
        """The peer broke the framing (reason says how): hang up without a
        word (docs/protocol.md §14)."""
        self.transport.loseConnection()

    def sendString(self, payload):
        """Send payload (bytes) as one frame."""
        self.transport.write(frame(payload))
