"""
glibc's heap told to keep what it freed (L{keepHeap}), as each QUIC
connection is made (a setting of the process, so again is no change).

QUIC's datagrams here are up to 64 KiB, and each one aioquic builds or
opens makes several short-lived copies of that size: they come from the
top of the heap, and once their frees leave more than glibc's trim
threshold free there (its default, 128 KiB, grows with the largest block
it unmapped), it hands the pages back to the kernel, to fault them in
afresh for the next datagram.  Measured on loopback (256 MiB, the
channel over a stream): about 100 page faults a MiB moved, the transfer
at 2.5 ms of CPU a MiB; with the heap kept, none and 2.3 ms
(docs/architecture.md, "QUIC").  The TCP channel's figure does not move.

Setting either threshold stops glibc adjusting both, so both are set:
blocks under L{MMAP_THRESHOLD} come from the heap (its dynamic threshold
would have grown past a channel's 256 KiB writes too), and at most
L{TRIM_THRESHOLD} bytes of free heap top are kept.
"""

import ctypes
import functools
import sys

__all__ = ["keepHeap", "TRIM_THRESHOLD", "MMAP_THRESHOLD"]

#: Bytes of free heap top glibc keeps rather than give back.
TRIM_THRESHOLD = 16 * 1024 * 1024
#: Bytes from which a block is mapped on its own, not taken from the heap.
MMAP_THRESHOLD = 4 * 1024 * 1024

# <malloc.h>'s mallopt parameters.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def _libc():
    """The C library's mallopt, or None where there is none (not glibc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None


def keepHeap(mallopt=_libc):
    """
    Tell the C library to keep up to L{TRIM_THRESHOLD} bytes of free
    heap: whether it took it (False where there is no glibc).

    @param mallopt: gives the C library's ``mallopt(parameter, value)``,
        or None where there is none.
    """
    call = mallopt()
    return bool(call is not None
                and call(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and call(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
