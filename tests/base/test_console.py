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


class UnwritableTests(SynchronousTestCase):
    """An output that cannot be written ends the command in one line and
    status 1 (each ended in a traceback: ``bazaar list >&-``,
    ``bazaar-ledger DIR > /dev/full``)."""

    def test_stdoutClosed(self):
        """Started with stdout closed, Python has no sys.stdout."""
        self.patch(sys, "argv", ["/usr/bin/bazaar", "list"])
        self.patch(sys, "stdout", None)
        error = self.assertRaises(SystemExit, emit, "apple")
        self.assertEqual(error.code, "bazaar: error: cannot write its output: "
                                     "its standard output is closed")

    def test_writeFails(self):
        class Full(io.StringIO):
            def write(self, text):
                raise OSError(28, "No space left on device")

        self.patch(sys, "argv", ["bazaar-ledger", "DIR"])
        error = self.assertRaises(SystemExit, emit, "apple", Full())
        self.assertEqual(error.code, "bazaar-ledger: error: cannot write its output: "
                                     "No space left on device")
