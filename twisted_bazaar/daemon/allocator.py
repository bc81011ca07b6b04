"""
The C allocator's settings for a daemon that streams bulk data.

glibc's malloc serves a block of 128 KiB or more from its own mapping and
unmaps it when it is freed, and it gives the top of its heap back to the
system once more than twice that is free there.  A daemon that moves a
file through the encrypted channel allocates and frees such blocks all
the time: each 256 KiB socket read, each file chunk read, each chunk
sealed or opened, each buffer Twisted joins before a send.  With the
defaults every one of them is fresh memory, faulted in page by page
(96 minor faults for each 256 KiB sealed, measured here), and that
halved the channel's speed: sealing 256 KiB chunks went at about 700 MiB/s
against 1,400 MiB/s once those blocks came from the heap
(docs/benchmarks.md, "The encrypted channel").

L{tuneForStreaming} keeps blocks up to L{MMAP_THRESHOLD} in the heap and
lets up to L{TRIM_THRESHOLD} of free heap stay mapped, so freed buffers
are used again.  That is at most L{TRIM_THRESHOLD} more resident memory
than the defaults, whatever the size of the files moved.
"""

import ctypes
import platform

#: mallopt's parameter numbers (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks below this come from the heap: above every buffer a transfer
#: makes (256 KiB reads and chunks, Twisted's send buffer of a few of them).
MMAP_THRESHOLD = 4 * 1024 * 1024
#: Free heap kept mapped rather than given back.
TRIM_THRESHOLD = 32 * 1024 * 1024


def tuneForStreaming():
    """
    Set glibc's thresholds as above.  Elsewhere (another C library, no
    C{mallopt}) nothing changes.

    @return: whether the settings were made.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
