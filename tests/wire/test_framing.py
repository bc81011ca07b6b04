"""The one netstring framing: what it reads, and every fault it names."""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.framing import FrameError, digitsFor, frame, readFrame

LIMIT = 1000
DIGITS = digitsFor(LIMIT)

#: Broken streams, each with the reason it is refused.
BROKEN = [
    (b"01:a,", "length has a leading zero"),
    (b"00", "length has a leading zero"),
    (b":a,", "frame has no length"),
    (b"1a:a,", "length is not a decimal number"),
    (b"x", "length is not a decimal number"),
    (b"-1:a,", "length is not a decimal number"),
    (b"+1:a,", "length is not a decimal number"),
    (b" 1:a,", "length is not a decimal number"),
    (b"12345", "length is missing its colon or is too long"),
    (b"1001:", "length 1001 is over the frame limit 1000"),
    (b"1:ab", "frame is not terminated by a comma"),
    (b"0:;", "frame is not terminated by a comma"),
]


class ReadFrameTests(SynchronousTestCase):
    def test_brokenFramesAreNamed(self):
        for data, reason in BROKEN:
            for view in (data, memoryview(data)):
                error = self.assertRaises(FrameError, readFrame, view, 0, LIMIT, DIGITS)
                self.assertEqual(str(error), reason, data)

    def test_incompleteLength(self):
        for data in (b"", b"1", b"99", b"100"):
            self.assertIsNone(readFrame(data, 0, LIMIT, DIGITS), data)

    def test_incompletePayload(self):
        """A frame whose comma has not come yet says where it will be."""
        self.assertEqual(readFrame(b"5:ab", 0, LIMIT, DIGITS), (2, 7))

    def test_emptyPayload(self):
        self.assertEqual(readFrame(b"0:,", 0, LIMIT, DIGITS), (2, 2))

    def test_fromAnOffset(self):
        data = frame(b"abc") + frame(b"de")
        self.assertEqual(readFrame(data, 6, LIMIT, DIGITS), (8, 10))

    def test_digits(self):
        self.assertEqual([digitsFor(n) for n in (9, 10, 99999, 100000)], [1, 2, 5, 6])

    @given(st.lists(st.binary(max_size=50), max_size=8))
    def test_framesReadBack(self, payloads):
        """Whatever frame() writes, readFrame reads back, frame by frame."""
        data = b"".join(frame(p) for p in payloads)
        start, read = 0, []
        while start < len(data):
            begin, end = readFrame(data, start, LIMIT, DIGITS)
            read.append(data[begin:end])
            start = end + 1
        self.assertEqual(read, payloads)
