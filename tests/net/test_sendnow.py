"""
Tests for L{twisted_bazaar.net.sendnow}: a small write leaves at once when
the TCP transport holds nothing unsent, and Twisted's buffered way is
kept otherwise, in order.
"""

import socket

from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.sendnow import SEND_NOW_BYTES, sendNow


class _Reactor:
    """What a tcp.Connection asks of its reactor: who watches for
    writing."""

    def __init__(self):
        self.writers = set()

    def addWriter(self, writer):
        self.writers.add(writer)

    def removeWriter(self, writer):
        self.writers.discard(writer)

    def addReader(self, reader):
        pass

    def removeReader(self, reader):
        pass


class _PullProducer:
    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


class SendNowTests(SynchronousTestCase):
    def setUp(self):
        self.mine, self.theirs = socket.socketpair()
        self.mine.setblocking(False)
        self.theirs.setblocking(False)
        self.addCleanup(self.mine.close)
        self.addCleanup(self.theirs.close)
        self.reactor = _Reactor()
        self.transport = tcp.Connection(self.mine, Protocol(), self.reactor)
        self.transport.connected = True

    def received(self):
        try:
            return self.theirs.recv(1 << 20)
        except BlockingIOError:
            return b""

    def test_sentAtOnce(self):
        """With nothing unsent, the bytes are on the socket when sendNow
        returns, and the reactor never watches it for writing."""
        sendNow(self.transport, b"one")
        sendNow(self.transport, b"two")
        self.assertEqual(self.received(), b"onetwo")
        self.assertEqual(self.reactor.writers, set())

    def test_afterBufferedInOrder(self):
        """Behind bytes the transport still holds, a write waits its turn:
        the peer reads them in the order written."""
        self.transport.write(b"held")
        sendNow(self.transport, b"after")
        self.assertEqual(self.received(), b"")
        self.assertEqual(self.reactor.writers, {self.transport})
        self.transport.doWrite()
        self.assertEqual(self.received(), b"heldafter")

    def test_restBuffered(self):
        """What the socket does not take is written the buffered way, after
        what it took."""
        self.mine.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        data = bytes(range(256)) * (SEND_NOW_BYTES // 256)
        for _ in range(16):
            sendNow(self.transport, data)
        self.assertEqual(self.reactor.writers, {self.transport})
        got = b""
        while self.reactor.writers or len(got) < 16 * len(data):
            got += self.received()
            if self.reactor.writers:
                self.transport.doWrite()
        self.assertEqual(got, data * 16)

    def test_largeWriteBuffered(self):
        """A write over SEND_NOW_BYTES goes the buffered way."""
        sendNow(self.transport, b"x" * (SEND_NOW_BYTES + 1))
        self.assertEqual(self.received(), b"")
        self.assertEqual(self.reactor.writers, {self.transport})

    def test_pullProducerBuffered(self):
        """With a pull producer, whose transport asks for more only from
        doWrite, a write is buffered."""
        self.transport.registerProducer(_PullProducer(), False)
        sendNow(self.transport, b"data")
        self.assertEqual(self.received(), b"")

    def test_otherTransportWritten(self):
        """Any other transport gets a plain write."""
        transport = StringTransport()
        sendNow(transport, b"data")
        self.assertEqual(transport.value(), b"data")
