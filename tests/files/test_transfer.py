"""
Tests for the transfer protocol: L{TransferServer} and L{RangeSender} on
the seller, L{TransferClient} on the buyer, each driven through a
StringTransport and a fake clock.
"""

import errno
import os
import socket

from twisted.internet import defer, task, tcp
from twisted.internet.interfaces import IReadWriteDescriptor, ISystemHandle
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import alsoProvides, implementer

from twisted_bazaar.net.connections import ConnectionManager
from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.files import client, hashing, server
from twisted_bazaar.files.client import (
    Broken,
    PeerGone,
    Refused,
    Stalled,
    TransferClient,
)
from twisted_bazaar.files.hashing import digestFile
from twisted_bazaar.files.messages import About, Data, Get, Head
from twisted_bazaar.files.server import RangeSender, TransferServer
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.capabilities import IBulkTransport
from tests.files.helpers import fileId, scratchDir, touch, writeFile
from tests.helpers import failIfHung, netstring, parseNetstrings

DATA = bytes(range(256)) * 40  # 10240 bytes
#: The identity of DATA in the 4096-byte pieces the tests use.
SHA = fileId(DATA, 4096)
OTHER = "0" * 64


class FakeShare:
    """The part of SharedFolder the server uses."""

    def __init__(self, path):
        self.path = path
        self.digest = digestFile(path)
        self.rescans = 0

    def byHash(self, sha256):
        return (self.path, self.digest) if sha256 == self.digest.sha256 else None

    def changed(self):
        self.rescans += 1


class FakeService:
    """The part of TransferService a server uses: its share, its clock and
    its pools."""

    def __init__(self, share, clock, slots=4):
        self.share = share
        self.clock = clock
        self.rate = 0
        self.connections = Account.of(server.CONNECTIONS_LIMIT, server.CONNECTIONS_PER_SLOT * slots)
        self.serving = Account.of(server.SERVING_LIMIT, slots)
        self.peer_log = PeerLog(clock)
        self.policy = ConnectionManager(clock)


def frames(data):
    """Split what a server wrote into (message, body) pairs."""
    out = []
    while data:
        length, _, rest = data.partition(b":")
        payload = rest[:int(length)]
        message = wire.decode(payload)
        data = rest[int(length) + 1:]
        body = b""
        if type(message) is Data:
            body, data = data[:message.length], data[message.length:]
        out.append((message, body))
    return out


class ServerTests(SynchronousTestCase):
    def setUp(self):
        self.patch(server, "CHUNK", 4096)
        self.patch(server, "BULK_CHUNK", 4096)
        self.patch(hashing, "MIN_PIECE", 4096)
        folder = scratchDir(self)
        self.path = writeFile(folder, "f", DATA)
        self.share = FakeShare(self.path)
        self.clock = task.Clock()
        self.service = FakeService(self.share, self.clock)
        self.transport, self.server = self.connect()

    def connect(self, host="192.168.1.1"):
        """A buyer's connection, from host."""
        protocol = TransferServer(self.service)
        transport = StringTransport(peerAddress=IPv4Address("TCP", host, 40000))
        protocol.makeConnection(transport)
        return transport, protocol

    def send(self, *messages, server=None):
        (server or self.server).dataReceived(b"".join(netstring(m) for m in messages))

    def pull(self, transport=None):
        """Let the transport take everything the producer gives."""
        transport = transport or self.transport
        while isinstance(transport.producer, RangeSender):
            transport.producer.resumeProducing()

    def test_head(self):
        self.send(Head(SHA))
        [(about, _)] = frames(self.transport.value())
        self.assertEqual(about, About(SHA, len(DATA), 4096, self.share.digest.pieces))
        self.assertEqual(len(about.pieces), 3)

    def test_bulkSendSize(self):
        """A socket transport is told to hand the kernel a whole chunk in
        one send (Twisted's default, 128 KiB, took eight a MiB); a
        transport without a send size is left alone."""
        transport = StringTransport(peerAddress=IPv4Address("TCP", "192.168.1.2", 40000))
        transport.SEND_LIMIT = 128 * 1024
        alsoProvides(transport, IBulkTransport)
        TransferServer(self.service).makeConnection(transport)
        self.assertEqual(transport.SEND_LIMIT, server.SEND_SIZE)
        self.assertGreater(server.SEND_SIZE, server.BULK_CHUNK)
        self.assertFalse(hasattr(self.transport, "SEND_LIMIT"))

    def test_getStreamsInChunksWhenPulled(self):
        """Nothing is read until the transport asks, and each ask gives one
        chunk: backpressure from a slow buyer reaches the disk."""
        self.send(Get(SHA, 100, 10000))
        self.assertFalse(self.transport.streaming)
        header = self.transport.value()
        self.assertEqual(frames(header), [(Data(SHA, 100, 10000), b"")])
        self.transport.clear()
        sizes = []
        while isinstance(self.transport.producer, RangeSender):
            self.transport.producer.resumeProducing()
            sizes.append(len(self.transport.value()) - sum(sizes))
        self.assertEqual(sizes, [4096, 4096, 1808])
        self.assertEqual(self.transport.value(), DATA[100:10100])

    def test_resumeFromAnOffset(self):
        self.send(Get(SHA, 9000, 1240))
        self.pull()
        [(data, body)] = frames(self.transport.value())
        self.assertEqual((data.offset, body), (9000, DATA[9000:]))

    def test_pipelinedRequestsAnsweredInOrder(self):
        self.send(Get(SHA, 0, 5000), Head(SHA), Get(SHA, 5000, 10))
        self.pull()
        answers = frames(self.transport.value())
        self.assertEqual([type(m) for m, _ in answers], [Data, About, Data])
        self.assertEqual(answers[0][1] + answers[2][1], DATA[:5010])

    def test_unknownFile(self):
        self.send(Head(OTHER), Get(OTHER, 0, 1))
        self.assertEqual([(m.code, type(m)) for m, _ in frames(self.transport.value())],
                         [("nofile", wire.Error)] * 2)
        self.assertFalse(self.transport.disconnecting)

    def test_rangePastTheEnd(self):
        self.send(Get(SHA, 10000, 241))
        [(error, _)] = frames(self.transport.value())
        self.assertEqual(error.code, "badrange")

    def test_changedFileNotServed(self):
        """Neither its bytes nor its old description: the folder is
        rescanned."""
        writeFile(os.path.dirname(self.path), "f", DATA[::-1])
        touch(self.path, 1)
        self.send(Get(SHA, 0, 10), Head(SHA))
        self.assertEqual([(type(m), m.code) for m, _ in frames(self.transport.value())],
                         [(wire.Error, "nofile")] * 2)
        self.assertEqual(self.share.rescans, 2)

    def test_fifoInItsPlaceNotOpened(self):
        """A FIFO put in place of the file offered, which no program
        writes to, is refused at once: the reactor waited in open() for
        ever, and with it the whole seller."""
        os.unlink(self.path)
        os.mkfifo(self.path)
        failIfHung(self, "a get of a file replaced by a FIFO")
        self.send(Get(SHA, 0, 10))
        self.assertEqual([(type(m), m.code) for m, _ in frames(self.transport.value())],
                         [(wire.Error, "nofile")])
        self.assertEqual(self.share.rescans, 1)

    def test_removedFileNotDescribed(self):
        os.unlink(self.path)
        self.send(Head(SHA))
        [(error, _)] = frames(self.transport.value())
        self.assertEqual(error.code, "nofile")
        self.assertEqual(self.share.rescans, 1)

    def test_fileShrinksWhileSent(self):
        """The buyer was promised bytes that will not come: hang up."""
        self.send(Get(SHA, 0, 10240))
        os.truncate(self.path, 5000)
        self.pull()
        header = netstring(Data(SHA, 0, 10240))
        self.assertEqual(self.transport.value(), header + DATA[:5000])
        self.assertTrue(self.transport.disconnecting)

    def test_badRequestsRefused(self):
        """A request that is not head or get is answered with an error; a
        broken frame is not answered; both hang up."""
        for bad in [b"5:hello,", netstring(wire.Ping(1)),
                    netstring(Data(SHA, 0, 1))]:
            transport, protocol = self.connect()
            protocol.dataReceived(bad)
            [(error, _)] = frames(transport.value())
            self.assertIsInstance(error, wire.Error)
            self.assertTrue(transport.disconnecting, bad)
        for broken in [b"99999:", b"x:", b"3:abc;", b"0" + netstring(Head(SHA))]:
            transport, protocol = self.connect()
            protocol.dataReceived(broken)
            self.assertTrue(transport.disconnecting, broken)
            # A whole head behind a length with a leading zero too (§2):
            # refused as the links and the transfer client refuse it.
            self.assertEqual(transport.value(), b"", broken)

    def test_tooManyQueued(self):
        """One range being sent and 16 waiting: one more is refused, and
        the 16 waiting are not answered."""
        self.send(*[Get(SHA, 0, 10)] * (server.MAX_QUEUED + 2))
        self.pull()
        answers = frames(self.transport.value())
        self.assertEqual([type(m) for m, _ in answers], [Data, wire.Error])
        self.assertEqual(answers[1][0].code, "wtf")
        self.assertTrue(self.transport.disconnecting)

    def test_refusalWaitsForTheBytesBeingSent(self):
        """
        A request refused while a range is on its way (one too many
        waiting, or one that does not decode) is answered with
        C{error{wtf}} only after that range's last byte: a frame in the
        middle of the raw bytes would be taken for file content.  Nothing
        after the refused request is answered.
        """
        for bad in [[Head(SHA)] * (server.MAX_QUEUED + 1), [b"{nope"]]:
            transport, protocol = self.connect()
            self.send(Get(SHA, 0, 10240), server=protocol)
            transport.producer.resumeProducing()
            protocol.dataReceived(b"".join(
                b"%d:%s," % (len(m), m) if type(m) is bytes else netstring(m)
                for m in bad)
                + netstring(Head(SHA)))
            self.assertEqual(len(transport.value()),
                             len(netstring(Data(SHA, 0, 10240))) + 4096)
            self.assertFalse(transport.disconnecting)
            self.pull(transport)
            (data, body), (error, _) = frames(transport.value())
            self.assertEqual((data, body), (Data(SHA, 0, 10240), DATA))
            self.assertEqual(error.code, "wtf")
            self.assertTrue(transport.disconnecting)
            self.assertEqual(transport.producerState, "paused")

    def test_refusedRequestAnsweredAtOnceWhenNothingIsSent(self):
        self.send(Get(SHA, 0, 10))
        self.pull()
        self.server.dataReceived(b"5:{nope,")
        (_, body), (error, _) = frames(self.transport.value())
        self.assertEqual((body, error.code), (DATA[:10], "wtf"))
        self.assertTrue(self.transport.disconnecting)

    def test_busy(self):
        """With every slot sending a range to one address group, another
        connection of that group is refused busy when it asks for one."""
        self.send(Get(SHA, 0, 10240))
        for _ in range(3):
            _, protocol = self.connect()
            self.send(Get(SHA, 0, 10240), server=protocol)
        transport, protocol = self.connect()
        self.send(Head(SHA), server=protocol)
        self.assertEqual(type(frames(transport.value())[0][0]), About)
        transport.clear()
        self.send(Get(SHA, 0, 10), server=protocol)
        [(error, _)] = frames(transport.value())
        self.assertEqual(error.code, "busy")
        self.assertTrue(transport.disconnecting)

    def test_idleConnectionClosed(self):
        self.send(Head(SHA))
        self.clock.advance(server.IDLE_TIMEOUT - 1)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)

    def test_idleCountsFromTheConnectionAndTheLastAnswer(self):
        """A connection that never asks is closed 60 s after it opened;
        one being sent a range is not idle while its buyer takes the
        bytes, however long that takes."""
        self.clock.advance(server.IDLE_TIMEOUT)
        self.assertTrue(self.transport.disconnecting)
        transport, protocol = self.connect()
        self.send(Get(SHA, 0, 10240), server=protocol)
        for _ in range(2):
            self.clock.advance(server.STALL_TIMEOUT - 1)
            transport.producer.resumeProducing()
        self.assertFalse(transport.disconnecting)
        self.pull(transport)
        self.clock.advance(server.IDLE_TIMEOUT - 1)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_buyerThatStopsReadingIsDropped(self):
        """A buyer that takes none of a range's bytes for STALL_TIMEOUT
        loses the connection, aborted (closing cleanly would wait for the
        bytes it does not read), and its slot; the file is closed."""
        self.send(Get(SHA, 0, 10240))
        self.transport.producer.resumeProducing()
        fd = self.server.sender.fd
        self.clock.advance(server.STALL_TIMEOUT - 1)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnected)  # aborted, not lost
        self.server.connectionLost(Failure(ConnectionLost()))
        self.assertRaises(OSError, os.fstat, fd)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual((len(self.service.connections), len(self.service.serving)),
                         (0, 0))

    def unread(self):
        """The transport says its buyer has not read what it was sent, as
        a TCP transport does once its buffer is full."""
        self.transport.producer.pauseProducing()

    def test_answersWaitForTheBuyerToReadThem(self):
        """A buyer that asks head after head and reads none of the answers
        has the next one wait, as behind a range: 16 wait, one more is
        refused. Before, each was written at once, without bound (a
        4096-piece file's about is 274 KB: a seller grew 1.5 GiB in 20 s)."""
        self.send(Head(SHA))
        self.assertEqual(len(frames(self.transport.value())), 1)
        self.unread()
        self.send(*[Head(SHA)] * server.MAX_QUEUED)
        self.assertEqual(len(frames(self.transport.value())), 1)
        self.assertFalse(self.transport.disconnecting)
        self.send(Head(SHA))
        answers = frames(self.transport.value())
        self.assertEqual([type(m) for m, _ in answers], [About, wire.Error])
        self.assertEqual(answers[1][0].code, "wtf")
        self.assertTrue(self.transport.disconnecting)

    def test_answersReadLetTheNextOneGo(self):
        """Once the buyer reads (the transport resumes), the requests
        waiting are answered in order, a range among them."""
        self.send(Head(SHA))
        self.unread()
        self.send(Get(SHA, 0, 10), Head(OTHER))
        self.transport.producer.resumeProducing()
        self.pull()
        self.assertEqual([type(m) for m, _ in frames(self.transport.value())],
                         [About, Data, wire.Error])
        self.assertIs(self.transport.producer, self.server.answers)

    def test_answersUnreadAreAStall(self):
        """A buyer that takes none of its answers for STALL_TIMEOUT is
        dropped, as one that takes none of a range's bytes; a request
        sent meanwhile does not put the drop off."""
        self.send(Head(SHA))
        self.unread()
        self.clock.advance(server.STALL_TIMEOUT - 1)
        self.send(Head(SHA))
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnected)

    def test_aRequestDoesNotPutOffARangesStall(self):
        """A buyer that stops reading a range and sends a request is still
        dropped STALL_TIMEOUT after it last took a byte: before, the
        request cancelled the stall's timer and the connection and its
        slot were held for ever."""
        self.send(Get(SHA, 0, 10240))
        self.transport.producer.resumeProducing()
        self.clock.advance(server.STALL_TIMEOUT - 1)
        self.send(Head(SHA))
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnected)

    def test_buyerGoneMidRange(self):
        """The file is closed and nothing is left scheduled."""
        self.send(Get(SHA, 0, 10240))
        sender = self.server.sender
        fd = sender.fd
        self.server.connectionLost(Failure(ConnectionLost()))
        self.assertIsNone(sender.consumer)
        self.assertRaises(OSError, os.fstat, fd)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual((len(self.service.connections), len(self.service.serving)),
                         (0, 0))


@implementer(ISystemHandle, IReadWriteDescriptor)
class SocketTransport(StringTransport):
    """
    A StringTransport whose handle is one end of a socket pair, as a TCP
    transport's is: what is written with C{write} stays in C{value()}, what
    the sender sends around it with sendfile comes out of the other end.
    C{startWriting} calls are counted; like StringTransport's,
    C{registerProducer} does not resume the producer: the test makes that
    first call.
    """

    def __init__(self, sock):
        super().__init__()
        self.socket = sock
        self.writing = 0

    def getHandle(self):
        return self.socket

    def startWriting(self):
        self.writing += 1


def socketPair(test):
    """Two connected non-blocking sockets, closed after the test."""
    pair = socket.socketpair()
    for sock in pair:
        sock.setblocking(False)
        test.addCleanup(sock.close)
    return pair


def readAll(sock):
    """What has arrived on a non-blocking socket, without waiting."""
    got = b""
    while True:
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return got
        if not data:
            return got
        got += data


class SendfileTests(SynchronousTestCase):
    """
    L{RangeSender} with sendfile, over a socket pair on the machine (no
    network), its transport's calls made by hand.
    """

    def setUp(self):
        self.folder = scratchDir(self)
        self.path = writeFile(self.folder, "f", DATA)
        ours, self.theirs = socketPair(self)
        self.transport = SocketTransport(ours)
        self.asked = 0

    def sender(self, offset, length, path=None):
        """A sender of a range of the file (or another), begun on the
        transport after a frame written there; (sender, its Deferred)."""
        fd = os.open(path or self.path, os.O_RDONLY)
        sender = server.RangeSender(fd, offset, length, asked=self.ask)
        self.transport.write(b"header")
        return sender, sender.beginTransfer(self.transport)

    def ask(self):
        self.asked += 1

    def test_firstResumeOnlyWaitsForTheTransport(self):
        """
        The first resume, which C{registerProducer} makes while the frame
        before the range may still be in the transport's buffer, sends
        nothing and asks the transport to call back; the next one, which
        only C{doWrite} makes, once that buffer is empty, sends the range.
        """
        sender, d = self.sender(100, 5000)
        fd = sender.fd
        sender.resumeProducing()
        self.assertEqual((readAll(self.theirs), self.transport.writing), (b"", 1))
        self.assertNoResult(d)
        sender.resumeProducing()
        self.assertEqual(readAll(self.theirs), DATA[100:5100])
        self.assertEqual(self.transport.value(), b"header")
        self.successResultOf(d)
        self.assertIsNone(self.transport.producer)
        self.assertRaises(OSError, os.fstat, fd)
        self.assertEqual(self.asked, 2)

    def test_eachCallSendsUpToTheCap(self):
        """A range from the middle of the file, in calls of at most
        SENDFILE_MAX bytes, each from where the last stopped."""
        self.patch(server, "SENDFILE_MAX", 4000)
        sender, d = self.sender(1000, 9000)
        sender.resumeProducing()
        sizes = []
        while self.transport.producer is not None:
            sender.resumeProducing()
            sizes.append(len(readAll(self.theirs)))
        self.assertEqual(sizes, [4000, 4000, 1000])
        self.assertEqual(self.transport.writing, 3)
        self.successResultOf(d)

    def test_fullSocketBuffer(self):
        """
        A socket that takes part of what is asked, then nothing (EAGAIN):
        what went is counted, the sender waits for the next call, and the
        buyer gets every byte once, in order.
        """
        big = os.urandom(1024 * 1024)
        path = writeFile(self.folder, "big", big)
        self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sender, d = self.sender(10, len(big) - 20, path)
        sender.resumeProducing()
        sender.resumeProducing()
        sent = sender.position - 10
        self.assertTrue(0 < sent < server.SENDFILE_MAX)
        sender.resumeProducing()
        self.assertEqual(sender.position - 10, sent)
        self.assertEqual(self.transport.writing, 3)
        self.assertNoResult(d)
        received = b""
        while self.transport.producer is not None:
            received += readAll(self.theirs)
            sender.resumeProducing()
        received += readAll(self.theirs)
        self.assertEqual(received, big[10:-10])
        self.successResultOf(d)

    def test_fileShrinks(self):
        """What is left is sent, then the range fails with SourceChanged."""
        sender, d = self.sender(0, len(DATA))
        os.truncate(self.path, 3000)
        while self.transport.producer is not None:
            sender.resumeProducing()
        self.assertEqual(readAll(self.theirs), DATA[:3000])
        self.failureResultOf(d, server.SourceChanged)
        self.assertIsNone(sender.fd)

    def test_buyerGone(self):
        """sendfile's error once bytes of the range went ends the range, and
        the file is closed."""
        self.patch(server, "SENDFILE_MAX", 4000)
        sender, d = self.sender(0, len(DATA))
        fd = sender.fd
        sender.resumeProducing()
        sender.resumeProducing()
        self.theirs.close()
        sender.resumeProducing()
        self.failureResultOf(d, ConnectionError)
        self.assertIsNone(self.transport.producer)
        self.assertRaises(OSError, os.fstat, fd)

    def test_firstSendFailsThenReadAndWrite(self):
        """A file sendfile cannot send (its file system does not allow it)
        is read and written through the transport, from where it stood."""

        def refuse(*args):
            raise OSError(errno.EINVAL, "Invalid argument")

        self.patch(os, "sendfile", refuse)
        sender, d = self.sender(100, 5000)
        while self.transport.producer is not None:
            sender.resumeProducing()
        self.successResultOf(d)
        self.assertEqual(self.transport.value(), b"header" + DATA[100:5100])
        self.assertEqual(self.transport.writing, 1)

    def test_stoppedWhileWaitingForTheSocket(self):
        """Stopped between two calls (the connection went): nothing stays
        registered, the file is closed once, later calls do nothing."""
        sender, d = self.sender(0, len(DATA))
        fd = sender.fd
        sender.resumeProducing()
        sender.stopProducing()
        self.failureResultOf(d, defer.CancelledError)
        self.assertIsNone(self.transport.producer)
        self.assertRaises(OSError, os.fstat, fd)
        sender.stopProducing()
        sender.resumeProducing()
        self.assertEqual((readAll(self.theirs), self.transport.writing), (b"", 1))

    def test_onlyOverAPlainSocket(self):
        """No sendfile where the transport has no socket of its own (a test
        or simulator transport; TLS, whose handle is its TLS connection)."""

        class TLSLike(SocketTransport):
            def getHandle(self):
                return object()

        self.assertIs(server.socketOf(self.transport), self.transport.socket)
        self.assertIsNone(server.socketOf(StringTransport()))
        self.assertIsNone(server.socketOf(TLSLike(self.transport.socket)))


class SendfileServerTests(SynchronousTestCase):
    """L{TransferServer} with a sender that uses sendfile."""

    def setUp(self):
        self.patch(hashing, "MIN_PIECE", 4096)
        self.patch(server, "SENDFILE_MAX", 4000)
        self.share = FakeShare(writeFile(scratchDir(self), "f", DATA))
        self.clock = task.Clock()
        self.service = FakeService(self.share, self.clock)
        self.ours, self.theirs = socketPair(self)

    def getOverSocket(self):
        """A server on a SocketTransport, asked for the whole file;
        (transport, server)."""
        transport = SocketTransport(self.ours)
        protocol = TransferServer(self.service)
        protocol.makeConnection(transport)
        protocol.dataReceived(netstring(Get(SHA, 0, 10240)))
        return transport, protocol

    def test_overTwistedsTcpTransport(self):
        """
        Twisted's own TCP transport, on a socket pair, its reactor's write
        events made by hand: the C{data} frame, then the range (every byte
        by sendfile), then the next answer, in that order on the wire.
        """
        sent = []
        sendfile = os.sendfile

        def counted(*args):
            sent.append(sendfile(*args))
            return sent[-1]

        self.patch(os, "sendfile", counted)
        reactor = MemoryReactorClock()
        transport = tcp.Connection(self.ours, None, reactor)
        transport.getPeer = lambda: IPv4Address("TCP", "127.0.0.1", 40000)
        transport.connected = True
        protocol = transport.protocol = TransferServer(self.service)
        protocol.makeConnection(transport)
        protocol.dataReceived(netstring(Get(SHA, 100, 10000)) + netstring(Head(SHA)))
        received = b""
        while transport in reactor.getWriters():
            transport.doWrite()
            received += readAll(self.theirs)
        self.assertEqual(frames(received), [
            (Data(SHA, 100, 10000), DATA[100:10100]),
            (About(SHA, len(DATA), 4096, self.share.digest.pieces), b"")])
        self.assertEqual(sent, [4000, 4000, 2000])
        transport.connectionLost(Failure(ConnectionLost()))

    def test_aRefusalAfterARangeHangsUp(self):
        """
        Over Twisted's own TCP transport: a request refused while a range
        goes out has its error after the range's last byte, then the
        connection closes.  With the connection's L{Answers} registered
        as the transport's producer, its last resume went to them and the
        connection stayed open (the live test of §19.1 waited for ever):
        the range's last chunk, written through the transport (the path
        the channel takes), was still in its buffer.
        """
        self.patch(server, "socketOf", lambda consumer: None)
        reactor = MemoryReactorClock()
        transport = tcp.Connection(self.ours, None, reactor)
        transport.bufferSize = 1024
        transport.getPeer = lambda: IPv4Address("TCP", "127.0.0.1", 40000)
        transport.connected = True
        protocol = transport.protocol = TransferServer(self.service)
        protocol.makeConnection(transport)
        protocol.dataReceived(netstring(Get(SHA, 0, 10240)) + b"7:{nope!},")
        received, closed = b"", None
        while closed is None and transport in reactor.getWriters():
            closed = transport.doWrite()
            received += readAll(self.theirs)
        answers = frames(received)
        self.assertEqual([type(m) for m, _ in answers], [Data, wire.Error])
        self.assertEqual(answers[1][0].code, "wtf")
        self.assertIsInstance(closed, ConnectionDone)
        transport.connectionLost(Failure(closed))

    def test_stallTimerMovedOnEachSend(self):
        """The buyer taking bytes keeps the connection, in calls of sendfile
        as in chunks."""
        transport, protocol = self.getOverSocket()
        for _ in range(3):
            self.clock.advance(server.STALL_TIMEOUT - 1)
            transport.producer.resumeProducing()
        self.assertFalse(transport.disconnecting)
        self.assertEqual(len(readAll(self.theirs)), 8000)

    def test_buyerGoneIsNoWarning(self):
        """sendfile finding the buyer gone aborts the connection, as the
        transport would; it is not a changed file: no warning, no rescan."""
        events = []
        self.patch(TransferServer, "log", Logger(observer=events.append))
        transport, protocol = self.getOverSocket()
        transport.producer.resumeProducing()
        transport.producer.resumeProducing()
        self.theirs.close()
        transport.producer.resumeProducing()
        self.assertIsNone(protocol.sender)
        self.assertTrue(transport.disconnected)  # aborted
        self.assertEqual((events, self.share.rescans), ([], 0))

    def test_rateLimitedConnectionReadsAndWrites(self):
        """With a rate, the server's sender writes through the transport."""
        self.service.rate = 10 ** 9
        transport, protocol = self.getOverSocket()
        while isinstance(transport.producer, RangeSender):
            transport.producer.resumeProducing()
        self.assertEqual(frames(transport.value()), [(Data(SHA, 0, 10240), DATA)])
        self.assertEqual(readAll(self.theirs), b"")


class Sink:
    def __init__(self, fail=None):
        self.data = b""
        self.fail = fail

    def write(self, data):
        if self.fail:
            raise self.fail
        self.data += data


class ClientTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.client = TransferClient(self.clock, stall=5)
        self.transport = StringTransport()
        self.client.makeConnection(self.transport)

    def answer(self, *parts, byByte=False):
        data = b"".join(part if type(part) is bytes else netstring(part)
                        for part in parts)
        if byByte:
            for i in range(len(data)):
                self.client.dataReceived(data[i:i + 1])
        else:
            self.client.dataReceived(data)

    def test_headSendsARequest(self):
        d = self.client.head(SHA)
        self.assertEqual(parseNetstrings(self.transport.value()),
                         [wire.encode(Head(SHA))])
        about = About(SHA, 3, 4096, (b"\x01" * 32,))
        self.answer(about)
        self.assertEqual(self.successResultOf(d), about)

    def test_getFedByteByByte(self):
        """Chunks of any size, the header split anywhere."""
        sink = Sink()
        d = self.client.get(SHA, 7, 300, sink)
        self.assertEqual(parseNetstrings(self.transport.value()),
                         [wire.encode(Get(SHA, 7, 300))])
        self.answer(Data(SHA, 7, 300), DATA[7:307], byByte=True)
        self.successResultOf(d)
        self.assertEqual(sink.data, DATA[7:307])

    def test_pipelined(self):
        first, second = Sink(), Sink()
        d1 = self.client.get(SHA, 0, 10, first)
        d2 = self.client.get(SHA, 10, 5, second)
        d3 = self.client.head(SHA)
        self.answer(Data(SHA, 0, 10), DATA[:10], Data(SHA, 10, 5), DATA[10:15],
                    wire.Error("nofile", "gone"))
        self.successResultOf(d1)
        self.successResultOf(d2)
        self.assertEqual(self.failureResultOf(d3, Refused).value.code, "nofile")
        self.assertEqual((first.data, second.data), (DATA[:10], DATA[10:15]))

    def test_wrongSizeAnswered(self):
        d = self.client.get(SHA, 0, 300, Sink())
        self.answer(Data(SHA, 0, 299))
        self.assertTrue(self.transport.disconnecting)
        self.client.connectionLost(Failure(ConnectionLost()))
        self.failureResultOf(d, Broken)

    def test_hangUpMidBody(self):
        sink = Sink()
        d = self.client.get(SHA, 0, 300, sink)
        self.answer(Data(SHA, 0, 300), DATA[:100])
        self.client.connectionLost(Failure(ConnectionLost()))
        failure = self.failureResultOf(d, PeerGone)
        self.assertIn("middle", failure.getErrorMessage())

    def test_hungUpAfterWhatCame(self):
        """A connection the seller closed says so (a relay's circuit that
        ran out, say), with the bytes of answers it brought: the buyer
        hands the piece over to a new connection."""
        d = self.client.get(SHA, 0, 300, Sink())
        self.answer(Data(SHA, 0, 300), DATA[:100])
        self.client.connectionLost(Failure(ConnectionDone()))
        self.failureResultOf(d, PeerGone)
        self.assertEqual((self.client.hungUp, self.client.received), (True, 100))

    def test_nothingTakenOnceClosedByThisSide(self):
        """Bytes already on their way when this side hangs up (a download
        that moved the connection's pieces to another) reach no sink,
        whether they come in the read that closed it or after: the rest
        is asked elsewhere, and nothing is taken twice."""
        client = self.client
        first, second = Sink(), Sink()

        class Closing:
            """A sink that hangs the connection up once its bytes came."""

            def write(self, data):
                first.write(data)
                client.close()

        d1 = client.get(SHA, 0, 100, Closing())
        d2 = client.get(SHA, 100, 200, second)
        self.answer(Data(SHA, 0, 100), DATA[:100], Data(SHA, 100, 200), DATA[100:150])
        self.answer(DATA[150:300])
        self.assertEqual((first.data, second.data, client.received),
                         (DATA[:100], b"", 100))
        client.connectionLost(Failure(ConnectionLost()))
        self.successResultOf(d1)
        self.failureResultOf(d2, PeerGone)

    def test_notHungUpWhenThisSideCloses(self):
        """Closed by this side (a slow seller dropped), by a stall or a
        broken answer: not the seller's hang-up."""
        for fail in (lambda client, clock: client.close(),
                     lambda client, clock: clock.advance(5),
                     lambda client, clock: client.dataReceived(DATA[100:300] + b"abc:")):
            clock = task.Clock()
            client = TransferClient(clock, stall=5)
            client.makeConnection(StringTransport())
            d = client.get(SHA, 0, 300, Sink())
            client.dataReceived(netstring(Data(SHA, 0, 300)) + DATA[:100])
            d.addErrback(lambda _: None)
            fail(client, clock)
            client.connectionLost(Failure(ConnectionLost()))
            self.assertTrue(client.closed)
            self.assertFalse(client.hungUp)

    def test_whoEndedTheConnectionIsSaid(self):
        """Why a request failed names who ended the connection, in the
        project's words (issue 96 LOW: this side's own close read 'the
        seller hung up: Connection was aborted locally'): this node's close
        (a drop, a move to another connection), a cut under it (its
        transport aborted below), or the seller's end."""
        closes = (
            (lambda client: client.close(), ConnectionAborted(),
             "this node closed the connection", False),
            (lambda client: None, ConnectionAborted(),
             "this node cut the connection", False),
            (lambda client: None, ConnectionDone(),
             "it closed the connection (it stopped, restarted or crashed)", True),
        )
        for close, reason, said, hungUp in closes:
            client = TransferClient(task.Clock(), stall=5)
            client.makeConnection(StringTransport())
            d = client.head(SHA)
            close(client)
            client.connectionLost(Failure(reason))
            self.assertEqual((self.failureResultOf(d, PeerGone).getErrorMessage(),
                              client.hungUp), (said, hungUp))

    def test_unaskedAnswer(self):
        self.answer(About(SHA, 3, 4096, (b"\x01" * 32,)))
        self.assertTrue(self.transport.disconnecting)

    def test_garbage(self):
        d = self.client.head(SHA)
        self.answer(b"abc:")
        self.client.connectionLost(Failure(ConnectionLost()))
        self.failureResultOf(d, Broken)

    def test_leadingZeroIsABrokenFrame(self):
        """The client frames as every connection does (docs/protocol.md
        §2): a length with a leading zero breaks the stream, as a link
        refuses it."""
        d = self.client.head(SHA)
        payload = wire.encode(About(SHA, 3, 4096, (b"\x01" * 32,)))
        self.answer(b"0%d:%b," % (len(payload), payload))
        self.assertTrue(self.transport.disconnecting)
        self.client.connectionLost(Failure(ConnectionLost()))
        failure = self.failureResultOf(d, Broken)
        self.assertIn("leading zero", failure.getErrorMessage())

    def test_sinkErrorDropsTheConnection(self):
        d = self.client.get(SHA, 0, 10, Sink(fail=OSError("disk full")))
        later = self.client.head(SHA)
        self.answer(Data(SHA, 0, 10), DATA[:10])
        self.client.connectionLost(Failure(ConnectionLost()))
        self.failureResultOf(d, OSError)
        self.failureResultOf(later, PeerGone)

    def test_stall(self):
        d = self.client.get(SHA, 0, 300, Sink())
        self.clock.advance(4)
        self.answer(Data(SHA, 0, 300), DATA[:10])
        self.clock.advance(4)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)
        self.client.connectionLost(Failure(ConnectionLost()))
        self.failureResultOf(d, Stalled)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_noStallWhileThisNodeSlept(self):
        """
        The stall's timer runs long past its time (a laptop resumed: its
        timers run before the bytes waiting in its socket are read): the
        node did not run, not the seller, which is not dropped; the stall
        counts from then, and a seller silent after it still stalls.
        Before, the seller was dropped at once: "nothing came from the
        seller for 5 s".
        """
        d = self.client.get(SHA, 0, 300, Sink())
        self.clock.advance(60)
        self.assertFalse(self.transport.disconnecting)
        self.answer(Data(SHA, 0, 300), DATA[:10])
        self.clock.advance(4.9)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(0.1)
        self.assertTrue(self.transport.disconnecting)
        self.client.connectionLost(Failure(ConnectionLost()))
        self.failureResultOf(d, Stalled)

    def test_noStallTimerWhenIdle(self):
        d = self.client.head(SHA)
        self.answer(About(SHA, 3, 4096, (b"\x01" * 32,)))
        self.successResultOf(d)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_pausedByTheSink(self):
        """A sink that cannot keep up stops the reading of the socket."""
        self.client.get(SHA, 0, 300, Sink())
        self.client.pauseProducing()
        self.assertEqual(self.transport.producerState, "paused")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.client.resumeProducing()
        self.assertEqual(self.transport.producerState, "producing")

    def test_readsInBigChunks(self):
        """A socket transport is told to read READ_SIZE bytes at a time;
        a transport without that setting is left alone."""
        @implementer(IBulkTransport)
        class SocketLike(StringTransport):
            bufferSize = 2 ** 16

        transport = SocketLike()
        TransferClient(self.clock).makeConnection(transport)
        self.assertEqual(transport.bufferSize, client.READ_SIZE)
        self.assertFalse(hasattr(self.transport, "bufferSize"))

    def test_noStallWhilePaused(self):
        """A request asked while the sink holds the reading paused counts
        no stall until it is resumed."""
        self.client.get(SHA, 0, 300, Sink())
        self.client.pauseProducing()
        self.client.get(SHA, 300, 300, Sink())
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.client.resumeProducing()
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_sinkMayKeepWhatItIsGiven(self):
        """The buffers given to the sink are read-only views of bytes nothing
        changes, so a sink may keep them (to hash them later)."""
        kept = []

        class Keeper:
            def write(self, data):
                kept.append(data)

        d = self.client.get(SHA, 0, 300, Keeper())
        self.answer(Data(SHA, 0, 300), DATA[:100])
        self.answer(DATA[100:300])
        self.successResultOf(d)
        self.assertTrue(all(memoryview(each).readonly for each in kept))
        self.assertEqual(b"".join(kept), DATA[:300])

    def test_cancelClosesTheConnection(self):
        d = self.client.get(SHA, 0, 300, Sink())
        d.cancel()
        self.failureResultOf(d)
        self.assertTrue(self.transport.disconnecting)


class LoopbackTests(SynchronousTestCase):
    """Client and server together, over iosim, with a slow-reading buyer."""

    def test_wholeFile(self):
        from twisted.test import iosim

        self.patch(server, "CHUNK", 1000)
        self.patch(server, "BULK_CHUNK", 1000)
        self.patch(hashing, "MIN_PIECE", 4096)
        folder = scratchDir(self)
        share = FakeShare(writeFile(folder, "f", DATA))
        clock = task.Clock()
        service = FakeService(share, clock)
        client = TransferClient(clock)
        seller = TransferServer(service)
        _, _, pump = iosim.connectedServerAndClient(lambda: seller, lambda: client,
                                                    greet=False)
        sink = Sink()
        d = client.get(SHA, 0, len(DATA), sink)
        pump.flush()
        self.successResultOf(d)
        self.assertEqual(sink.data, DATA)


class RateTests(SynchronousTestCase):
    def test_paceCountsEveryRangeOfAConnection(self):
        clock = task.Clock()
        pace = server.Pace(clock, 1000)
        self.assertEqual(pace.book(500), 0)
        self.assertEqual(pace.book(500), 0.5)
        clock.advance(0.5)
        self.assertEqual(pace.book(500), 0)
        self.assertEqual(pace.book(10), 0.5)

    def test_rateLimitedSending(self):
        """With a rate, chunks asked for early wait on the clock; stopping
        cancels the wait."""
        folder = scratchDir(self)
        fd = os.open(writeFile(folder, "f", DATA), os.O_RDONLY)
        clock = task.Clock()
        sender = server.RangeSender(fd, 0, 3000, chunk=1000,
                                    pace=server.Pace(clock, 1000))
        transport = StringTransport()
        d = sender.beginTransfer(transport)
        sender.resumeProducing()
        sender.resumeProducing()
        self.assertEqual(len(transport.value()), 1000)
        clock.advance(1)
        self.assertEqual(len(transport.value()), 2000)
        sender.resumeProducing()
        sender.stopProducing()
        self.assertEqual(clock.getDelayedCalls(), [])
        self.failureResultOf(d)
