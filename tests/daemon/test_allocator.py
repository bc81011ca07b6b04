"""
Tests for L{twisted_bazaar.daemon.allocator}: counted in page faults, not
in time.
"""

import os
import platform
import resource
import unittest

from twisted_bazaar.daemon.allocator import tuneForStreaming

ROUNDS = 200


def faultsOfBulkBuffers():
    """Minor page faults while a transfer's pattern runs ROUNDS times:
    four 64 KiB pieces made (the messages of a sealed chunk), then joined
    into one 256 KiB buffer, then all freed."""
    piece = os.urandom(1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(ROUNDS):
        parts = [piece * 64 for _ in range(4)]
        joined = b"".join(parts)
        del parts, joined
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@unittest.skipUnless(platform.libc_ver()[0] == "glibc", "the settings are glibc's")
class TuneForStreamingTests(unittest.TestCase):
    def test_buffersUsedAgain(self):
        """
        Once tuned, the 256 KiB buffers of a transfer come from memory
        already mapped: far fewer than one fault a round, where glibc's
        defaults fault each buffer in again (about 97 a round here, 64
        pages of the joined buffer and those of its pieces).
        """
        self.assertTrue(tuneForStreaming())
        faultsOfBulkBuffers()
        self.assertLess(faultsOfBulkBuffers(), ROUNDS)
