"""
Tests for twisted_bazaar.base.console: output that a reader whose
encoding lacks a character still gets, escaped.
"""

import io
import sys

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.console import emit, tolerant


def asciiStream():
    """A text stream whose encoding is ASCII, strict, as stdout is under
    PYTHONIOENCODING=ascii."""
    return io.TextIOWrapper(io.BytesIO(), encoding="ascii")


class TolerantTests(SynchronousTestCase):
    def test_escapedNotRaised(self):
        """A name in Japanese on an ASCII stream is written escaped (it
        raised UnicodeEncodeError)."""
        stream = asciiStream()
        tolerant(stream)
        emit("bought 日本 語.bin", stream)
        self.assertEqual(stream.buffer.getvalue(), b"bought \\u65e5\\u672c \\u8a9e.bin\n")

    def test_stdoutAndStderrByDefault(self):
        out, err = asciiStream(), asciiStream()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        tolerant()
        self.assertEqual((out.errors, err.errors), ("backslashreplace", "backslashreplace"))

    def test_othersLeftAlone(self):
        """A stream that escapes or replaces already, or has no encoding
        of its own, is left as it is."""
        replacing = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="replace")
        plain = io.StringIO()
        tolerant(replacing, plain)
        self.assertEqual(replacing.errors, "replace")
        emit("日本", plain)
        self.assertEqual(plain.getvalue(), "日本\n")
