"""Tests for L{twisted_bazaar.base.pipeframes}: frames cut from a pipe's
reads however they are split."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.pipeframes import Frames, frame


class FramesTests(SynchronousTestCase):
    def test_splitAnyhow(self):
        """Two frames read a byte at a time, then together: the same two
        payloads, a partial frame waiting meanwhile."""
        data = frame((1, "a", [])) + frame([(1, None)])
        frames = Frames()
        got = []
        for index in range(len(data)):
            got += frames.feed(data[index:index + 1])
        self.assertEqual(got, Frames().feed(data))
        self.assertEqual(len(got), 2)
        self.assertEqual(frames.feed(b""), [])
