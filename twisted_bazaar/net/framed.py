"""
The one framed protocol of the connections that are no L{Link}: the file
transfer server, the control socket, ``bazaar restock``, and the relay's
(its ends at the relay, a circuit's end, a reservation held at a node's
relay).  It frames through L{twisted_bazaar.wire.framing}, as L{Link} and
the file transfer client do, so every connection of the project reads
frames by one rule (docs/protocol.md §2: no sign, no leading zero, at
most the protocol's L{FramedProtocol.MAX_LENGTH}), where Twisted's
C{NetstringReceiver} would take a length with a leading zero.

A protocol whose connection turns into a stream of bytes (a relay's
circuit once it opens) switches to raw mode, as Twisted's
C{LineReceiver.setRawMode} does: no second frame loop.
"""

from twisted.internet.protocol import Protocol

from twisted_bazaar.wire.framing import FrameError, digitsFor, frame, readFrame


class FramedProtocol(Protocol):
    """
    Hands each whole frame's payload to L{stringReceived}; after
    L{setRawMode}, every byte to L{rawDataReceived} (those in the same
    read as the frame that switched it included); on a broken frame (see
    L{twisted_bazaar.wire.framing.readFrame}), one over L{MAX_LENGTH}
    included, calls L{brokenFrame} and reads nothing more, nor after
    L{readNoMore}.

    @cvar MAX_LENGTH: the longest payload taken.
    @ivar brokenPeer: True once a broken frame came.
    """

    MAX_LENGTH = 99999
    brokenPeer = False
    _buffer = b""
    _raw = False
    _reading = True

    def dataReceived(self, data):
        if not self._reading:
            return
        if self._raw:
            self.rawDataReceived(data)
            return
        if self._buffer:
            data = self._buffer + data
            self._buffer = b""
        limit = self.MAX_LENGTH
        digits = digitsFor(limit)
        start = 0
        while self._reading:
            try:
                found = readFrame(data, start, limit, digits)
            except FrameError as e:
                self.brokenPeer = True
                self._reading = False
                self.brokenFrame(str(e))
                return
            if found is None or found[1] >= len(data):
                break
            begin, end = found
            start = end + 1
            self.stringReceived(data[begin:end])
            if self._raw:
                rest = data[start:]
                if rest and self._reading:
                    self.rawDataReceived(rest)
                return
        if self._reading:
            self._buffer = data[start:]

    def setRawMode(self):
        """From now on every byte read goes to L{rawDataReceived}: what is
        left of the read that carried the frame being handled too."""
        self._raw = True
        self._buffer = b""

    def readNoMore(self):
        """Nothing more read is handed on (the connection is being closed)."""
        self._reading = False
        self._buffer = b""

    def stringReceived(self, payload):
        """One frame's payload (bytes) arrived."""
        raise NotImplementedError

    def rawDataReceived(self, data):
        """Bytes arrived in raw mode."""
        raise NotImplementedError

    def brokenFrame(self, reason):
        """The peer broke the framing (reason says how): hang up without a
        word (docs/protocol.md §14)."""
        self.transport.loseConnection()

    def sendString(self, payload):
        """Send payload (bytes) as one frame."""
        self.transport.write(frame(payload))
