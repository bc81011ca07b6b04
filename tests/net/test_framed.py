"""
Tests of L{twisted_bazaar.net.framed}: frames read by wire/framing.py's
rule for the connections that are no Link.
"""

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.framed import FrameLoop, FramedProtocol


class Recording(FramedProtocol):
    MAX_LENGTH = 10

    def __init__(self):
        self.payloads = []
        self.broken = []
        self.raw = []

    def stringReceived(self, payload):
        self.payloads.append(payload)
        if payload == b"raw":
            self.setRawMode()
        elif payload == b"stop":
            self.readNoMore()

    def rawDataReceived(self, data):
        self.raw.append(data)

    def brokenFrame(self, reason):
        self.broken.append(reason)
        super().brokenFrame(reason)


def connected():
    protocol = Recording()
    protocol.makeConnection(StringTransport())
    return protocol


class FramedProtocolTests(SynchronousTestCase):
    def test_framesWholeAndSplit(self):
        """Frames come whole however the bytes are cut, several in one
        read, the empty payload too."""
        data = b"3:abc,0:,10:0123456789,"
        for cut in range(len(data) + 1):
            protocol = connected()
            protocol.dataReceived(data[:cut])
            protocol.dataReceived(data[cut:])
            self.assertEqual(protocol.payloads, [b"abc", b"", b"0123456789"], cut)
            self.assertEqual(protocol.broken, [])

    def test_brokenFramesHangUp(self):
        """A broken frame (a leading zero, which Twisted's
        NetstringReceiver takes, a length over the limit, no comma, no
        digits) hangs up without a word, and nothing after it is read."""
        for broken, why in [(b"03:abc,", "leading zero"), (b"11:", "over the frame limit"),
                            (b"3:abc;", "comma"), (b"x:", "not a decimal number")]:
            protocol = connected()
            protocol.dataReceived(b"1:a," + broken)
            protocol.dataReceived(b"1:b,")
            self.assertEqual(protocol.payloads, [b"a"], broken)
            [reason] = protocol.broken
            self.assertIn(why, reason)
            self.assertTrue(protocol.transport.disconnecting)
            self.assertEqual(protocol.transport.value(), b"")

    def test_sendString(self):
        protocol = connected()
        protocol.sendString(b"hello")
        self.assertEqual(protocol.transport.value(), b"5:hello,")

    def test_rawMode(self):
        """After setRawMode every byte goes to rawDataReceived as it comes,
        those in the read of the frame that switched included, however
        the bytes are cut: no frame is read from them, a broken one or an
        over-long one neither."""
        data = b"1:a,3:raw,03:x" + b"9" * 30 + b",,"
        for cut in range(len(data) + 1):
            protocol = connected()
            for part in (data[:cut], data[cut:]):
                if part:
                    protocol.dataReceived(part)
            self.assertEqual(protocol.payloads, [b"a", b"raw"], cut)
            self.assertEqual(b"".join(protocol.raw), data[len(b"1:a,3:raw,"):], cut)
            self.assertNotIn(b"", protocol.raw)
            self.assertEqual(protocol.broken, [])

    def test_readNoMore(self):
        """After readNoMore nothing is handed on: not the frames left in
        the same read, nor later reads."""
        protocol = connected()
        protocol.dataReceived(b"1:a,4:stop,1:b,")
        protocol.dataReceived(b"1:c,3:raw,xyz")
        self.assertEqual((protocol.payloads, protocol.raw), ([b"a", b"stop"], []))


class Stretches(FrameLoop):
    """Frames, and raw stretches between them: a frame ``raw N`` makes the
    next N bytes a stretch (as a transfer's ``data`` answer does)."""

    MAX_LENGTH = 10

    def __init__(self):
        self.resetFrames()
        self.due = 0
        self.read = []
        self.broken = []

    @property
    def deaf(self):
        return self.due > 0 or bool(self.broken)

    def stringReceived(self, payload):
        self.read.append(("frame", payload))
        if payload.startswith(b"raw "):
            self.due = int(payload[4:])

    def unframed(self, data, start):
        if self.broken:
            return None
        end = min(start + self.due, len(data))
        if end == start:
            return None
        self.due -= end - start
        self.read.append(("raw", bytes(memoryview(data)[start:end])))
        return end

    def framingBroken(self, reason):
        self.broken.append(reason)


def joined(read):
    """Adjacent raw pieces as one (a read's cut splits a stretch)."""
    out = []
    for kind, value in read:
        if out and kind == "raw" and out[-1][0] == "raw":
            out[-1] = ("raw", out[-1][1] + value)
        else:
            out.append((kind, value))
    return out


class FrameLoopTests(SynchronousTestCase):
    def test_stretchesBetweenFrames(self):
        """A raw stretch between frames is handed over as it comes, and
        the frames after it are read, in one read or cut anywhere into
        two or three: where frames resume is what unframed says."""
        data = b"1:a,5:raw 3,xyz0:,5:raw 1,,2:bc,"
        expected = [("frame", b"a"), ("frame", b"raw 3"), ("raw", b"xyz"),
                    ("frame", b""), ("frame", b"raw 1"), ("raw", b","),
                    ("frame", b"bc")]
        for one in range(len(data) + 1):
            for two in range(one, len(data) + 1):
                loop = Stretches()
                for part in (data[:one], data[one:two], data[two:]):
                    loop.readFrames(part)
                self.assertEqual(joined(loop.read), expected, (one, two))
                self.assertIsNone(loop._partial)

    def test_partialWaitsForWhatItNeeds(self):
        """A frame not yet whole is kept with the bytes it needs; reads
        short of them are only appended."""
        loop = Stretches()
        loop.readFrames(b"9:abc")
        buffer, needed = loop._partial
        self.assertEqual((bytes(buffer), needed), (b"9:abc", 12))
        loop.readFrames(b"def")
        self.assertIs(loop._partial[0], buffer)
        loop.readFrames(b"ghi,1:")
        self.assertEqual(loop.read, [("frame", b"abcdefghi")])
        self.assertEqual(bytes(loop._partial[0]), b"1:")

    def test_brokenFrameStopsTheRead(self):
        """A broken frame is named once; nothing after it is read."""
        loop = Stretches()
        loop.readFrames(b"1:a,11:" + b"x" * 11 + b",1:b,")
        self.assertEqual(loop.read, [("frame", b"a")])
        [reason] = loop.broken
        self.assertIn("over the frame limit", reason)
        self.assertIsNone(loop._partial)
