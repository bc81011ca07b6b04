"""
A burst of a connection's datagrams in few system calls: Linux's UDP
segmentation offload (GSO, the ``UDP_SEGMENT`` control message of
C{sendmsg}), one call carrying up to 64 datagrams of one size that the
kernel cuts apart (L{Segmenter}).

On a 1,500-byte path a window's burst is hundreds of 1,472-byte
datagrams, each a C{sendto} and Twisted's checks of its address: about
a tenth of what a MiB costs there (docs/architecture.md, "QUIC").  The
datagrams on the wire are the same.  Where the kernel or the socket
refuses (no GSO, a device that cannot, a path narrower than a segment)
they go one at a time, as before.
"""

import errno
import struct
import sys

from twisted_bazaar.transports.quic.pathmtu import MOST

__all__ = ["Segmenter", "batches", "MOST_SEGMENTS"]

#: Linux's option and control message (<linux/udp.h>); Python's socket
#: module does not name it.
UDP_SEGMENT = 103
SOL_UDP = 17
#: The most segments one send carries (the kernel's UDP_MAX_SEGMENTS).
MOST_SEGMENTS = 64
#: A send refused for its size (the segment past the path's MTU, or the
#: whole past UDP's): its datagrams go one at a time, which tells
#: the connection which is too large.
_TOO_LARGE = (errno.EMSGSIZE, errno.EINVAL)
#: A send refused because this socket or its device cannot segment (no
#: checksum offload, an IPsec path, a kernel without GSO): never again.
_CANNOT = (errno.EIO, errno.EOPNOTSUPP, errno.ENOPROTOOPT)


def batches(datagrams, most=MOST):
    """
    datagrams, ``[(data, addr), ...]`` in their order, as runs that one
    send can carry: ``[(addr, size, [data, ...]), ...]``, each run's
    datagrams to one addr, every one of ``size`` bytes but the last,
    which may be shorter, at most L{MOST_SEGMENTS} of them and ``most``
    bytes in all.
    """
    runs = []
    run, total = None, 0
    for data, addr in datagrams:
        length = len(data)
        if (run is not None and addr == run[0] and length <= run[1]
                and len(run[2]) < MOST_SEGMENTS and total + length <= most
                and len(run[2][-1]) == run[1]):
            run[2].append(data)
            total += length
            continue
        run = (addr, length, [data])
        total = length
        runs.append(run)
    return runs


class Segmenter:
    """
    The GSO sends of one UDP socket (its handle, a C{socket.socket}).

    @ivar on: whether the socket segments; off for good once the kernel
        says it cannot.
    """

    def __init__(self, handle):
        self.handle = handle
        self.on = True

    @classmethod
    def of(cls, handle):
        """A L{Segmenter} for handle, or None where the socket takes no
        GSO (not Linux, a kernel without it)."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            # 0: no size of the socket's own; each send names its own.
            handle.setsockopt(SOL_UDP, UDP_SEGMENT, 0)
        except OSError:
            return None
        return cls(handle)

    def send(self, addr, size, run):
        """
        Send run (datagrams of size bytes but the last) to addr in one
        call.

        @return: True if it went, or was lost as a datagram may be (a
            full buffer, an unreachable host: QUIC resends); False if it
            is to be sent one datagram at a time (refused for its size,
            or the socket cannot segment).
        """
        if not self.on:
            return False
        try:
            self.handle.sendmsg(run, [(SOL_UDP, UDP_SEGMENT, struct.pack("=H", size))],
                                0, addr)
        except OSError as e:
            if e.errno in _CANNOT:
                self.on = False
                return False
            return e.errno not in _TOO_LARGE
        return True
