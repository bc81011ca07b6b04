"""
A QUIC stream's bytes written and not yet acknowledged, as the chunks
they were written in (L{SendBuffer}), in place of aioquic's bytearray.

aioquic appends each write to a bytearray and cuts acknowledged bytes off
its head; once its head was cut, an append past its room copies it whole
into a new allocation, megabytes each time on a fast stream, each new
one's pages faulted in afresh.  Measured on loopback (64 MiB, the
channel over the stream): 120,000 page faults a run, the channel over
QUIC costing 4.0 ms of CPU a MiB against 2.5 with the allocator told to
keep its memory (docs/architecture.md, "QUIC").  Chunks are kept as
written and dropped whole once acknowledged: nothing is copied but the
frame's bytes that go out.
"""

from collections import deque

__all__ = ["SendBuffer"]


class SendBuffer:
    """What aioquic's stream sender asks of its buffer: C{+=} (a write),
    C{del buffer[:n]} (the head acknowledged), C{buffer[a:b]} (a frame's
    bytes, as bytes) and C{len}."""

    def __init__(self):
        self._chunks = deque()
        #: Bytes of the first chunk already cut off.
        self._head = 0
        self._size = 0

    def __len__(self):
        return self._size

    def __bool__(self):
        return self._size > 0

    def __iadd__(self, data):
        if data:
            self._chunks.append(bytes(data))
            self._size += len(data)
        return self

    def __delitem__(self, index):
        if index.start is not None or index.step is not None:
            raise TypeError("only the head of a send buffer is cut")
        left = min(index.stop, self._size)
        self._size -= left
        chunks = self._chunks
        while left:
            first = len(chunks[0]) - self._head
            if first > left:
                self._head += left
                return
            chunks.popleft()
            self._head = 0
            left -= first

    def __getitem__(self, index):
        start, stop = index.start or 0, min(index.stop, self._size)
        if stop <= start:
            return b""
        start += self._head
        stop += self._head
        parts = []
        at = 0
        for chunk in self._chunks:
            end = at + len(chunk)
            if end > start:
                parts.append(chunk[max(start - at, 0):stop - at])
                if end >= stop:
                    break
            at = end
        return parts[0] if len(parts) == 1 else b"".join(parts)
