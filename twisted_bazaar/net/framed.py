"""
The one frame loop (L{FrameLoop}) and the one framed protocol of the
connections that are no L{Link} (L{FramedProtocol}): the file transfer
server, the control socket, ``bazaar restock``, and the relay's (its ends
at the relay, a circuit's end, a reservation held at a node's relay).

Every connection of the project reads frames through L{FrameLoop}: the
link's reading (L{twisted_bazaar.net.link.Link}, the hot path every
relayed search takes), the framed protocol, and the file transfer client
(whose ``data`` bodies are raw stretches between frames).  It frames by
the one rule of L{twisted_bazaar.wire.framing} (docs/protocol.md §2: no
sign, no leading zero, at most the connection's C{MAX_LENGTH}), where
Twisted's C{NetstringReceiver} would take a length with a leading zero.

A protocol whose connection turns into a stream of bytes (a relay's
circuit once it opens) switches to raw mode, as Twisted's
C{LineReceiver.setRawMode} does: no second frame loop.
"""

from twisted.internet.protocol import Protocol

from twisted_bazaar.net.limits import DEFAULT_FRAME_LIMIT
from twisted_bazaar.wire.framing import FrameError, frame, lengthPrefix, readFrame


class FrameLoop:
    """
    Splits what a connection reads into frames, strictly, for the class
    it is mixed into, which provides:

      - C{MAX_LENGTH}: the longest payload taken (an attribute or a
        property);
      - C{deaf}: True while no frame is to be read (closed, or raw bytes
        due), looked at before each frame;
      - C{stringReceived(payload)}: one whole frame's payload (bytes);
      - C{unframed(data, start)}: called while C{deaf} with what is left
        of the read (C{data[start:]}, bytes, possibly empty): returns
        where frames resume in C{data}, once it is no longer deaf, or
        None to read no more of it;
      - C{framingBroken(reason)}: the peer broke the framing (see
        L{twisted_bazaar.wire.framing.readFrame}); nothing more of the
        read is looked at.

    The costs are the relay's: a whole frame with a well-formed length
    (every frame a node relays) is taken inline, with no call but the
    handler's; anything else asks L{readFrame}.  A partial frame waits
    in a bytearray that grows in place and is not scanned again until
    the bytes it needs are there, so a large frame in small reads costs
    linear time.  Whole frames are cut from bytes, one copy each; raw
    stretches are handed over as they are.

    What is left of a frame not yet whole is the loop's own slot
    (C{_partial}: None, or that frame's bytes and the bytes it needs at
    least before it is looked at again): the class it is mixed into
    calls L{resetFrames} once, when it is made.
    """

    __slots__ = ("_partial",)

    def resetFrames(self):
        """No frame is held: what was read of one not yet whole is
        forgotten (a new connection's start, raw mode, the end)."""
        self._partial = None

    def readFrames(self, data):
        """Read one burst of bytes (see the class docstring)."""
        partial = self._partial
        if partial is not None and not self.deaf:
            buffer = partial[0]
            buffer += data
            if len(buffer) < partial[1]:
                return
            data = bytes(buffer)
            self._partial = None
        elif type(data) is not bytes:
            data = bytes(data)
        size = len(data)
        start = 0
        needed = 0
        limit = self.MAX_LENGTH
        digits = len(str(limit))  # digitsFor(limit), inline: once a read
        window = digits + 1
        while True:
            if self.deaf:
                start = self.unframed(data, start)
                if start is None:
                    return
                continue
            if start >= size:
                return
            head = lengthPrefix(data, start, start + window)
            if head is not None:
                begin = head.end()
                end = begin + int(head[1])
                if end < size and end - begin <= limit and data[end] == 44:  # b","
                    start = end + 1
                    self.stringReceived(data[begin:end])
                    continue
            try:
                found = readFrame(data, start, limit, digits)
            except FrameError as e:
                self._partial = None
                self.framingBroken(str(e))
                return
            if found is None:
                break
            begin, end = found
            if end >= size:
                needed = end + 1 - start
                break
            start = end + 1
            self.stringReceived(data[begin:end])
        self._partial = [bytearray(memoryview(data)[start:]), needed]

    def framesHeld(self):
        """Whether bytes of a frame not yet whole wait."""
        return self._partial is not None


class FramedProtocol(FrameLoop, Protocol):
    """
    Hands each whole frame's payload to L{stringReceived}; after
    L{setRawMode}, every byte to L{rawDataReceived} (those in the same
    read as the frame that switched it included); on a broken frame (see
    L{twisted_bazaar.wire.framing.readFrame}), one over L{MAX_LENGTH}
    included, calls L{brokenFrame} and reads nothing more, nor after
    L{readNoMore}.

    @cvar MAX_LENGTH: the longest payload taken: each protocol's own (the
        relay's L{twisted_bazaar.transports.relay.messages.FRAME_LIMIT}, a
        request's C{MAX_REQUEST}), else the links' default (docs/protocol.md
        §2).
    @ivar brokenPeer: True once a broken frame came.
    """

    MAX_LENGTH = DEFAULT_FRAME_LIMIT
    brokenPeer = False
    _partial = None
    _raw = False
    _reading = True
    deaf = False

    def dataReceived(self, data):
        self.readFrames(data)

    def unframed(self, data, start):
        if self._reading and start < len(data):
            self.rawDataReceived(data[start:] if start else data)
        return None

    def setRawMode(self):
        """From now on every byte read goes to L{rawDataReceived}: what is
        left of the read that carried the frame being handled too."""
        self._raw = self.deaf = True
        self.resetFrames()

    def readNoMore(self):
        """Nothing more read is handed on (the connection is being closed)."""
        self._reading = False
        self.deaf = True
        self.resetFrames()

    def framingBroken(self, reason):
        self.brokenPeer = True
        self.readNoMore()
        self.brokenFrame(reason)

    def brokenFrame(self, reason):
        """The peer broke the framing (reason says how): hang up without a
        word (docs/protocol.md §14)."""
        self.transport.loseConnection()

    def stringReceived(self, payload):
        """One frame's payload (bytes) arrived."""
        raise NotImplementedError

    def rawDataReceived(self, data):
        """Bytes arrived in raw mode."""
        raise NotImplementedError

    def sendString(self, payload):
        """Send payload (bytes) as one frame."""
        self.transport.write(frame(payload))
