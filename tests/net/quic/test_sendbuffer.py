"""
Tests of L{twisted_bazaar.net.quic.sendbuffer}: a stream's unacknowledged
bytes as chunks read, cut and sliced as aioquic's bytearray would be.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.quic.sendbuffer import SendBuffer


class SendBufferTests(SynchronousTestCase):
    def test_slicesAcrossChunks(self):
        """A slice spanning chunks is their bytes joined; one inside a
        chunk is that chunk's."""
        buffer = SendBuffer()
        buffer += b"abc"
        buffer += bytearray(b"defg")
        buffer += b"hi"
        self.assertEqual((len(buffer), bool(buffer)), (9, True))
        self.assertEqual(buffer[1:8], b"bcdefgh")
        self.assertEqual(buffer[3:5], b"de")
        self.assertEqual(buffer[7:20], b"hi")
        self.assertEqual(buffer[5:5], b"")

    def test_theHeadCut(self):
        """Cutting the head, within a chunk and past it: what is left is
        read from offset 0 again."""
        buffer = SendBuffer()
        for part in (b"abc", b"defg", b"hi"):
            buffer += part
        del buffer[:2]
        self.assertEqual(buffer[0:7], b"cdefghi")
        del buffer[:4]
        self.assertEqual((buffer[0:3], len(buffer)), (b"ghi", 3))
        del buffer[:3]
        self.assertEqual((len(buffer), bool(buffer), buffer[0:1]), (0, False, b""))

    def test_onlyTheHead(self):
        """aioquic cuts the head alone; anything else is refused."""
        buffer = SendBuffer()
        buffer += b"abc"
        with self.assertRaises(TypeError):
            del buffer[1:2]

    def test_asABytearray(self):
        """Random writes, cuts and slices read as a bytearray's would."""
        rng = random.Random(71)
        buffer, model = SendBuffer(), bytearray()
        for _ in range(2000):
            action = rng.random()
            if action < 0.4:
                data = rng.randbytes(rng.randrange(0, 300))
                buffer += data
                model += data
            elif action < 0.6:
                n = rng.randrange(0, len(model) + 1)
                del buffer[:n]
                del model[:n]
            else:
                a = rng.randrange(0, len(model) + 1)
                b = rng.randrange(a, len(model) + 10)
                self.assertEqual(buffer[a:b], bytes(model[a:b]))
            self.assertEqual(len(buffer), len(model))
