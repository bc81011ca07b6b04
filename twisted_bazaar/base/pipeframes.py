"""
The frames a daemon's helper processes and the daemon speak over their
pipes (L{twisted_bazaar.base.childprocess}: the store's writer): a
4-byte big-endian length, then a pickle.  Both ends are one program (the
parent started the other), so a pickle is a safe and fast encoding
here, and nowhere else.
"""

import pickle
import struct

#: A frame's head: the length of the pickle after it.
HEAD = struct.Struct(">I")


class Frames:
    """Frames cut from what a pipe reads (a partial one waits)."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data):
        """@return: the whole frames' payloads now held, in order."""
        buffer = self._buffer
        buffer += data
        frames, start = [], 0
        while len(buffer) - start >= HEAD.size:
            (size,) = HEAD.unpack_from(buffer, start)
            end = start + HEAD.size + size
            if end > len(buffer):
                break
            frames.append(bytes(buffer[start + HEAD.size:end]))
            start = end
        del buffer[:start]
        return frames


def frame(obj):
    """One frame of obj's pickle."""
    payload = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    return HEAD.pack(len(payload)) + payload
