"""
The streams between the shards of a run on Dask: one TCP connection
between each two shards' workers, which the shards' own threads write
and read, a frame each window each way.

A window's post goes one way and is answered by nothing: the peer's
thread reads it when it wants the window, not the worker's event loop
(a Dask actor's call cost a call into the event loop at both ends, its
answer, and a wake-up of the waiting thread, about 1.6 ms of CPU a
window a shard; docs/simulator.md, "One-way streams").  A frame is its
length (8 bytes, big-endian) and the post pickled: plain tuples of
numbers and bytes (L{twisted_bazaar.sim.shardnet}'s messages).

Each shard listens on its worker's host at a port the system draws
(L{listen}); a shard dials every shard numbered below it and names
itself, and takes the calls of those above (L{connect}).  A post is
written as far as the socket takes it at once; the rest goes out while
the shard waits for its peers' frames (L{Streams.take}), so two shards
that post each other more than a socket holds never both wait to write.
"""

import pickle
import select
import socket
import struct
import threading
import time

from twisted_bazaar.base.address import hostPort

#: A frame's header: the length of what follows.
HEADER = struct.Struct(">Q")
#: A shard's number as it names itself on a stream it dialled.
HELLO = struct.Struct(">H")
#: Bytes read from a stream at a time.
READ_SIZE = 1 << 20


class StreamFailed(RuntimeError):
    """A shard's stream to a peer could not be made or was lost: the
    reason in one line (where, and what the system said), which
    C{bazaar-sim} prints as it is (L{twisted_bazaar.cli.simshards.Failed})."""


def listen(host):
    """A listening socket on host (a name, or an IPv4 or IPv6 address),
    at a port the system draws."""
    family = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, 0), family=family, backlog=256)


def connect(shard, listener, addresses, wait):
    """
    This shard's stream to each other shard: dialled to those below it
    (addresses: (host, port) of every shard's L{listen}, in shard order),
    taken from listener for those above; {shard: socket}.

    @raise StreamFailed: a shard that neither dials nor answers in wait
        seconds.
    """
    streams = {}
    for number, (host, port) in enumerate(addresses[:shard]):
        try:
            dialled = socket.create_connection((host, port), timeout=wait)
        except OSError as e:
            raise StreamFailed(f"shard {shard} could not reach shard {number} at "
                               f"{hostPort(host, port)}: {e}") from None
        dialled.sendall(HELLO.pack(shard))
        streams[number] = dialled
    listener.settimeout(wait)
    for _ in range(len(addresses) - shard - 1):
        try:
            taken, _ = listener.accept()
            taken.settimeout(wait)
            number, = HELLO.unpack(_exactly(taken, HELLO.size))
        except OSError as e:
            raise StreamFailed(f"shard {shard}: a shard above it did not call in "
                               f"{wait:g} s ({e})") from None
        streams[number] = taken
    listener.close()
    for stream in streams.values():
        stream.setblocking(False)
        # A frame goes out as it is written, not held for the last one's
        # acknowledgement (Nagle's algorithm would hold each window's).
        stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return streams


def _exactly(stream, size):
    """size bytes from a blocking stream."""
    got = b""
    while len(got) < size:
        more = stream.recv(size - len(got))
        if not more:
            raise ConnectionError("the stream closed")
        got += more
    return got


class Streams:
    """
    A shard's streams to its peers (see the module): frames out queued
    and written, frames in read, one a peer a window.

    @ivar sent: bytes written to the streams (headers included).
    """

    def __init__(self, shard, streams, now=time.monotonic):
        """
        @param streams: peer's number -> its connected, non-blocking
            socket (L{connect}; or one end of a C{socket.socketpair}).
        @param now: a clock (seconds) for the wait of L{take}.
        """
        self.shard = shard
        self.peers = sorted(streams)
        self._streams = streams
        self._out = {number: bytearray() for number in streams}
        self._in = {number: bytearray() for number in streams}
        self._now = now
        self.sent = 0
        #: Written to, from any thread, to wake a L{take} (L{abort}).
        self._wake, self._woken = socket.socketpair()
        self._wake.setblocking(False)
        self._lock = threading.Lock()
        self._broken = None

    def hand(self, window, outbox, earliest):
        """This shard's post for every peer's window (outbox: shard ->
        messages; a peer sent none is posted none)."""
        for number in self.peers:
            self.post(number, window, outbox.get(number, []), earliest)

    def post(self, number, window, messages, earliest):
        """Queue this shard's post for a peer's window and write what the
        socket takes now."""
        body = pickle.dumps((window, earliest, messages), pickle.HIGHEST_PROTOCOL)
        out = self._out[number]
        out += HEADER.pack(len(body))
        out += body
        self.sent += HEADER.size + len(body)
        self._write(number)

    def take(self, window, wait):
        """
        Every peer's post for window, in the order of the peers' numbers
        ([(messages, earliest)]), once each is in and this shard's own
        posts are all written.

        @raise StreamFailed: once aborted, for a peer that closed its
            stream or posted another window, or if the posts are not all in
            within wait seconds.
        """
        posts = {}
        deadline = self._now() + wait
        while True:
            for number in self.peers:
                if number not in posts:
                    frame = self._frame(number)
                    if frame is not None:
                        posts[number] = self._check(number, window, frame)
            writing = [self._streams[n] for n in self.peers if self._out[n]]
            if len(posts) == len(self.peers) and not writing:
                return [posts[number] for number in self.peers]
            reading = [self._streams[n] for n in self.peers if n not in posts]
            left = max(0.0, deadline - self._now())
            readable, writable, _ = select.select(reading + [self._woken], writing, [],
                                                  left)
            if self._woken in readable:
                raise StreamFailed(self._broken)
            if not readable and not writable:
                self._silent(window, posts, wait)
            for number in self.peers:
                stream = self._streams[number]
                if stream in writable:
                    self._write(number)
                if stream in readable:
                    self._read(number)

    def _silent(self, window, posts, wait):
        """Raise that some peers' posts (or this shard's writes) did not
        go through in wait seconds."""
        unheard = [n for n in self.peers if n not in posts]
        unwritten = [n for n in self.peers if self._out[n]]
        raise StreamFailed(f"window {window}: nothing from shard(s) {unheard} and "
                           f"unwritten to {unwritten} in {wait:g} s (shard {self.shard})"
                           if unwritten else
                           f"window {window}: shard(s) {unheard} sent nothing in "
                           f"{wait:g} s (shard {self.shard})")

    def _check(self, number, window, frame):
        """(messages, earliest) of a peer's frame, which must be for window."""
        posted, earliest, messages = pickle.loads(frame)
        if posted != window:
            raise StreamFailed(f"shard {number} posted window {posted} where shard "
                               f"{self.shard} wanted window {window}")
        return messages, earliest

    def _write(self, number):
        out = self._out[number]
        try:
            written = self._streams[number].send(out)
        except BlockingIOError:
            return
        except OSError as e:
            raise StreamFailed(f"shard {self.shard} could not write to shard {number}: "
                               f"{e}") from None
        del out[:written]

    def _read(self, number):
        try:
            got = self._streams[number].recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            got = None
            why = str(e)
        else:
            why = "it closed its stream"
        if not got:
            raise StreamFailed(f"shard {self.shard} lost shard {number}: {why} (its "
                               f"worker stopped?)")
        self._in[number] += got

    def _frame(self, number):
        """A whole frame read from that peer, taken off its buffer; or None."""
        buffer = self._in[number]
        if len(buffer) < HEADER.size:
            return None
        size, = HEADER.unpack_from(buffer)
        end = HEADER.size + size
        if len(buffer) < end:
            return None
        frame = bytes(buffer[HEADER.size:end])
        del buffer[:end]
        return frame

    def abort(self, why):
        """Give the run up, from any thread: a L{take} waiting, or to
        come, raises why."""
        with self._lock:
            if self._broken is None:
                self._broken = why
                try:
                    self._wake.send(b"!")
                except OSError:
                    pass

    def close(self):
        """Every stream closed."""
        for stream in list(self._streams.values()) + [self._wake, self._woken]:
            stream.close()
