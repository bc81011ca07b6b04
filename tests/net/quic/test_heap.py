"""
Tests of L{twisted_bazaar.net.quic.heap}: what the C library is told
(a fake mallopt), and that a process without one goes on.
"""

import platform
from unittest import skipUnless

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.quic.heap import MMAP_THRESHOLD, TRIM_THRESHOLD, keepHeap


class KeepHeapTests(SynchronousTestCase):
    def test_bothThresholds(self):
        """Both thresholds are set (setting one stops glibc adjusting the
        other): the mapping one, then the trim one."""
        calls = []

        def mallopt(parameter, value):
            calls.append((parameter, value))
            return 1

        self.assertTrue(keepHeap(lambda: mallopt))
        self.assertEqual(calls, [(-3, MMAP_THRESHOLD), (-1, TRIM_THRESHOLD)])
        self.assertGreater(TRIM_THRESHOLD, MMAP_THRESHOLD)

    def test_refused(self):
        """A C library that refuses the first setting is not asked the
        second, and the answer says so."""
        calls = []

        def mallopt(parameter, value):
            calls.append(parameter)
            return 0

        self.assertFalse(keepHeap(lambda: mallopt))
        self.assertEqual(calls, [-3])

    def test_noLibrary(self):
        """Without glibc's mallopt nothing is told, and nothing fails."""
        self.assertFalse(keepHeap(lambda: None))

    @skipUnless(platform.libc_ver()[0] == "glibc", "glibc's mallopt")
    def test_glibc(self):
        """This process's C library takes it."""
        self.assertTrue(keepHeap())
