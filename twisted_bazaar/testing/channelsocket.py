"""
A blocking socket that speaks the encrypted channel (docs/protocol.md §2)
from a plain thread: for end-to-end tests and benchmarks that talk to live
daemons the way a stranger would, byte by byte, but inside the channel.

It takes any sans-IO session with the shape of
L{twisted_bazaar.channel.session.Session} (C{start}, C{receive}, C{seal},
C{established}), so a test that must not use the package to talk (the
interoperability checks) can hand it an independent implementation.
"""

#: Bytes read from the socket at a time.
READ_SIZE = 1 << 16


class ChannelClosed(ConnectionError):
    """The channel failed (the peer sent what the channel refuses)."""


class ChannelSocket:
    """
    A connected socket with the channel's handshake done: C{sendall} seals,
    C{recv} opens.  Whatever it does not define (C{settimeout},
    C{setsockopt}, C{getsockname}...) is the socket's own.

    @ivar session: the channel session, for its C{peerKey}.
    """

    def __init__(self, sock, session):
        """Run the opener's side of the handshake on sock (blocking, under
        the socket's own timeout)."""
        self.sock = sock
        self.session = session
        self._plain = bytearray()
        self._eof = False
        sock.sendall(session.start())
        while not session.established:
            if not self._readMore():
                raise ChannelClosed("the peer closed the connection during the "
                                    "channel's handshake")

    def __getattr__(self, name):
        return getattr(self.sock, name)

    def _readMore(self):
        """Read once from the socket; False at the end of the stream."""
        try:
            data = self.sock.recv(READ_SIZE)
        except ConnectionResetError:
            data = b""
        if not data:
            self._eof = True
            return False
        try:
            reply, plain = self.session.receive(data)
        except Exception as e:
            self._eof = True
            raise ChannelClosed(f"the channel failed: {e}") from e
        if reply:
            self.sock.sendall(reply)
        self._plain += plain
        return True

    def sendall(self, data):
        self.sock.sendall(self.session.seal(bytes(data)))

    def send(self, data):
        self.sendall(data)
        return len(data)

    def recv(self, size):
        """Up to size bytes of plaintext; b"" once the peer has closed."""
        while not self._plain and not self._eof:
            self._readMore()
        chunk = bytes(self._plain[:size])
        del self._plain[:size]
        return chunk

    def recv_into(self, view, size=0):
        chunk = self.recv(size or len(view))
        view[:len(chunk)] = chunk
        return len(chunk)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

