"""
The seller's side of the transfer protocol: a listening port of its own
(not the overlay's), one L{TransferServer} per buyer connection, and the
L{RangeSender} that streams a byte range of a shared file to it.

A connection takes requests (``head``, ``get``) one after another, and
answers them in order; requests sent ahead wait their turn, up to
L{MAX_QUEUED}.  Only files on offer in the shared folder are served,
found by their identity (C{sha256}), and only while they are unchanged
since they were hashed.  Sending is pulled by the transport (a non-streaming producer, as
Twisted's C{FileSender}): a buyer that reads slowly slows the reads from
disk, and nothing piles up in memory.  Over a plain TCP connection
without a rate limit the bytes go from the file to the socket with
C{os.sendfile}, without passing through Python (see L{socketOf}).

Connections and transfer slots are pooled resources, shared fairly among
the buyers' address groups (see L{twisted_bazaar.net.account}): a
connection holds a slot only while a range is asked of it or sent on it,
so one that only asks ``head`` holds none; and once the slots (or the
connections) are all taken, a buyer of an address group holding fewer
takes one from the group holding the most.  No one address can keep a
paying buyer out, however many connections it opens.

An answer (``about``, ``error``) waits for the buyer to read the one
before it as a range does (L{Answers}): a buyer that asks and never reads
holds up its own requests, MAX_QUEUED at most, not the seller's memory.
"""

import os
import socket

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.interfaces import (IPullProducer, IPushProducer, IReadWriteDescriptor,
                                         ISystemHandle)
from twisted.internet.protocol import Factory
from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.connections import admitted
from twisted_bazaar.net.syngate import gatePort, ungate
from twisted_bazaar.net.framed import FramedProtocol
from twisted_bazaar.wire.framing import frame
from twisted_bazaar.files.hashing import statKey
from twisted_bazaar.files.messages import About, Cipher, Data, Get, Head
from twisted_bazaar.net.capabilities import IBulkTransport, ISecureTransport
from twisted_bazaar.channel.session import SWITCHES

#: Bytes read from disk and written to the transport at a time, under a
#: rate limit (small, so that the pace is even).
CHUNK = 256 * 1024
#: The same without a rate limit: a piece (1 MiB) in one read, one seal
#: and one write, where 256 KiB chunks took four of each, each a turn of
#: the reactor (see "Through the channel" in docs/benchmarks.md).
BULK_CHUNK = 1024 * 1024
#: Most bytes a socket transport hands the kernel in one C{send} (its
#: C{SEND_LIMIT}; Twisted's is 128 KiB): a whole BULK_CHUNK, sealed, in
#: one call where the socket takes it, for about a fifth of the seller's
#: CPU through the channel (see "Through the channel" in
#: docs/benchmarks.md).
SEND_SIZE = 2 * BULK_CHUNK
#: Most bytes one C{os.sendfile} call is asked for; it sends what fits in
#: the socket's buffer and the rest waits for the next call.
SENDFILE_MAX = 4 * 1024 * 1024
#: Largest request frame accepted.
MAX_REQUEST = 4096
#: Requests a buyer may send ahead of the answers.
MAX_QUEUED = 16
#: Default transfer slots: connections with a range asked for or being
#: sent, at once.
DEFAULT_TRANSFER_SLOTS = 16
#: Transfer connections open at once, per slot: buyers connect before
#: they ask, and ask ``head`` first.
CONNECTIONS_PER_SLOT = 4
CONNECTIONS_LIMIT = declare(
    "files.connections", CONNECTIONS_PER_SLOT * DEFAULT_TRANSFER_SLOTS, "connections",
    "transfer connections open to a seller's file server", owner=__name__)
SERVING_LIMIT = declare(
    "files.serving", DEFAULT_TRANSFER_SLOTS, "transfers",
    "transfer slots of a seller's file server, each sending a file", owner=__name__)
#: Seconds a connection may stay without a request before it is closed.
IDLE_TIMEOUT = 60.0
#: Seconds a range may go without the buyer taking any of its bytes
#: before the connection is dropped (a buyer that stops reading would
#: otherwise hold a transfer slot for ever).
STALL_TIMEOUT = 60.0


@implementer(IPushProducer)
class Answers:
    """
    Whether the buyer reads the answers a connection writes between
    ranges, as its transport says (a streaming producer: paused once what
    the transport holds unsent passes its buffer, resumed once it has
    gone).  While paused the next request waits, as behind a range: a
    4096-piece file's ``about`` is 274 KB, and one connection asking
    ``head`` without reading grew a seller by 1.5 GiB in 20 s.

    @ivar paused: the buyer has not read what was written.
    """

    def __init__(self, server):
        self.server = server
        self.paused = False

    def pauseProducing(self):
        self.paused = True
        self.server._unread()

    def resumeProducing(self):
        self.paused = False
        self.server._read()

    def stopProducing(self):
        self.paused = True


class SourceChanged(Exception):
    """The file shrank while it was being sent."""


class Pace:
    """
    One connection's sending rate: ``rate`` bytes a second on ``clock``,
    over every range sent on it.
    """

    def __init__(self, clock, rate):
        self.clock = clock
        self.rate = rate
        self._next = clock.seconds()

    def book(self, size):
        """Seconds to wait before ``size`` bytes may go; 0 means now, and
        they are counted."""
        now = self.clock.seconds()
        if now < self._next:
            return self._next - now
        self._next = max(now, self._next) + size / self.rate
        return 0


def socketOf(consumer):
    """
    The socket a consumer writes its bytes to unchanged, if bytes may be
    sent to it around the consumer with C{os.sendfile}; None otherwise.

    That is so for a socket transport of the reactor (C{tcp.Connection}):
    it provides C{ISystemHandle}, whose C{getHandle} is the socket
    itself, and C{IReadWriteDescriptor}: it is a reactor's file descriptor
    (C{abstract.FileDescriptor}), whose C{startWriting} has the reactor
    call its C{doWrite}, which resumes a pull producer once its own
    buffer is empty.  Over TLS C{getHandle} is the TLS connection, not
    a socket (the bytes must be encrypted); test and simulator transports
    have no socket.
    """
    # Provided, not adapted: a transport wrapping a socket's (the channel)
    # is no socket of its own.
    if (not hasattr(os, "sendfile") or not ISystemHandle.providedBy(consumer)
            or not IReadWriteDescriptor.providedBy(consumer)):
        return None
    handle = consumer.getHandle()
    return handle if isinstance(handle, socket.socket) else None


@implementer(IPullProducer)
class RangeSender:
    """
    Stream ``length`` bytes of an open file from ``offset`` to a consumer,
    a chunk each time the consumer asks (C{FileSender}'s way, with a range
    and C{pread}).  It owns the file descriptor and closes it when done.

    With a L{Pace}, a chunk asked for too early is written when the pace
    allows, from a timer it owns.  Without one, to a consumer that
    L{socketOf} finds a socket in, the bytes go with C{os.sendfile}, from
    the page cache to the socket without a copy through Python, for about
    a third of the seller's CPU (see "Zero-copy sending" in
    docs/benchmarks.md).
    """

    def __init__(self, fd, offset, length, chunk=CHUNK, pace=None, asked=None):
        """
        @param asked: called each time the consumer asks for more (the
            buyer is taking the bytes), if given.
        """
        self.fd = fd
        self.offset = offset
        self.position = offset
        self.remaining = length
        self.chunk = chunk
        self.pace = pace
        self.asked = asked
        self.consumer = None
        self.deferred = None
        self._later = None
        #: The socket sendfile writes to, or None: the pread path.
        self._socket = None
        #: Whether the first resume (from registerProducer) has passed:
        #: from then on only the transport's doWrite resumes us, with its
        #: buffer empty (see L{_sendAround}).
        self._flushed = False

    def beginTransfer(self, consumer):
        """@return: a Deferred that fires when every byte is written, or
        fails if the file shrank or the consumer stopped us (with an
        C{OSError} if sendfile found the connection or the file broken)."""
        d = self.deferred = defer.Deferred()
        if not self.remaining:
            self._finish(None)
            return d
        self.consumer = consumer
        if self.pace is None:
            self._socket = socketOf(consumer)
        consumer.registerProducer(self, False)
        return d

    def resumeProducing(self):
        if self.consumer is None or self._later is not None:
            return
        if self.asked is not None:
            self.asked()
        if self.pace is not None:
            wait = self.pace.book(min(self.chunk, self.remaining))
            if wait:
                self._later = self.pace.clock.callLater(wait, self._onTime)
                return
        try:
            sent = self._writeChunk() if self._socket is None else self._sendAround()
        except OSError as e:
            self._finish(e)
            return
        if sent is not None:
            if not sent:
                self._finish(SourceChanged("the file is shorter than when it was "
                                           "hashed"))
                return
            self.position += sent
            self.remaining -= sent
            if not self.remaining:
                self._finish(None)
                return
        if self._socket is not None:
            # Bytes that went around the transport do not make it call
            # back: have it call doWrite, hence us, once the socket can
            # take more.
            self.consumer.startWriting()

    def _writeChunk(self):
        """Read a chunk and write it to the consumer.  @return: its size
        (0: the file ended early)."""
        data = os.pread(self.fd, min(self.chunk, self.remaining), self.position)
        if data:
            self.consumer.write(data)
        return len(data)

    def _sendAround(self):
        """
        Send what the socket takes of the range with sendfile, around the
        transport.  That is right only while the transport's own buffer is
        empty, else file bytes would pass bytes written before them: the
        transport's C{doWrite} resumes a pull producer only once its buffer
        is drained, and nothing but that resumes us after the first call.
        The first call comes from C{registerProducer}, while the C{data}
        frame just written before the range may still wait in that buffer:
        it sends nothing, and we wait for C{doWrite}.

        If sendfile fails before any byte of the range went, the range is
        read and written instead (as C{socket.sendfile} does): the file's
        file system may not allow sendfile, and a connection that is gone
        is then the transport's to find, as on the other path.

        @return: the bytes sent (0: the file ended early), None if none
            could go yet.
        """
        if not self._flushed:
            self._flushed = True
            return None
        try:
            return os.sendfile(self._socket.fileno(), self.fd, self.position,
                               min(self.remaining, SENDFILE_MAX))
        except BlockingIOError:
            return None
        except OSError:
            if self.position != self.offset:
                raise
            self._socket = None
            return self._writeChunk()

    def _onTime(self):
        self._later = None
        self.resumeProducing()

    def pauseProducing(self):
        pass

    def stopProducing(self):
        if self.consumer is not None:
            self._finish(defer.CancelledError("the connection went away"))

    def _finish(self, error):
        if self._later is not None and self._later.active():
            self._later.cancel()
        self._later = None
        consumer, self.consumer = self.consumer, None
        if self.fd is None:
            return
        os.close(self.fd)
        self.fd = None
        if consumer is not None:
            consumer.unregisterProducer()
        d, self.deferred = self.deferred, None
        if error is None:
            d.callback(None)
        else:
            d.errback(error)


class TransferServer(FramedProtocol):
    """One buyer's transfer connection, on the seller."""

    MAX_LENGTH = MAX_REQUEST
    log = Logger()

    def __init__(self, service):
        self.service = service
        self.queue = []
        self.sender = None
        self._idle = None
        #: The error this connection is refused with, once it is: sent
        #: when no range is being sent, then the connection is closed.
        self._refusal = None
        #: The buyer's address group.
        self.group = None
        #: When the connection was made.
        self.since = None
        #: A request came (a cipher switch must be the first).
        self._asked = False
        #: The switch asked for, until the bytes read with it are handled.
        self._switching = None
        #: Whether the buyer reads the answers (registered on the
        #: transport while no range is being sent).
        self.answers = Answers(self)

    def connectionMade(self):
        # A reactor's socket transport, under the channel, has a send
        # size; test and simulator transports have none.
        bulk = IBulkTransport(self.transport, None)
        if bulk is not None:
            bulk.SEND_LIMIT = SEND_SIZE
        rate = self.service.rate
        self.pace = Pace(self.service.clock, rate) if rate else None
        self.group = addressGroup(self._host())
        self.since = self.service.clock.seconds()
        self.transport.registerProducer(self.answers, True)
        if self._take(self.service.connections, "connections"):
            self._armIdle()

    def _host(self):
        return peerHost(self.transport)

    def _take(self, pool, what):
        """
        Take a unit of ``pool`` (the connections or the slots) for this
        connection: at once if one is free, else from the address group
        holding the most, if it holds more than this buyer's would; else
        the buyer is refused ``busy``.  @return: True if taken.
        """
        policy = self.service.policy
        victims = pool.makeRoom(
            self.group, yielding=lambda other: policy.hadItsTurn(other.group, other.since))
        if victims is None:
            self._refuse("busy", f"all {pool.capacity} transfer {what} are taken, and "
                         "your address group holds as many as any other")
            return False
        for victim in victims:
            victim._evict(what)
        pool.hold(self, self.group)
        return True

    def _evict(self, what):
        """
        Give this connection up for a buyer of an address group holding
        fewer: at once (a range being sent is cut short: its buyer sees a
        short answer, as from a seller that went away).
        """
        self._release()
        self.service.peer_log.emit(
            self.log, LogLevel.info, self.group, "evicting a transfer connection from "
            "{host}: its address group holds the most transfer {what}",
            host=self._host(), what=what)
        if self.sender is not None:
            self.transport.abortConnection()
        else:
            self._refuse("busy", f"evicted: your address group holds the most transfer "
                         f"{what}")

    def _release(self):
        if self in self.service.connections:
            self.service.policy.closed(self.group, self.since)
        self.service.connections.release(self)
        self.service.serving.release(self)

    def connectionLost(self, reason):
        self._release()
        self._disarmIdle()
        self.queue = []
        if self.sender is not None and self.sender.consumer is not None:
            self.sender.stopProducing()

    def _armIdle(self):
        self._disarmIdle()
        self._idle = self.service.clock.callLater(IDLE_TIMEOUT, self._idleTimeout)

    def _disarmIdle(self):
        if self._idle is not None and self._idle.active():
            self._idle.cancel()
        self._idle = None

    def _idleTimeout(self):
        self._idle = None
        self._close()

    def _close(self):
        """Close once what was written is out.  A transport does not hang
        up while a producer is registered (its last resume goes to the
        producer): L{Answers} is unregistered first."""
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def _armStall(self):
        """The buyer took bytes of the range being sent: it has
        L{STALL_TIMEOUT} seconds to take more (the same timer as the idle
        one: one of the two runs at a time).  Called for every chunk, so
        a running stall timer is moved, not replaced."""
        idle = self._idle
        if idle is not None and idle.active() and idle.func == self._stalled:
            idle.reset(STALL_TIMEOUT)
            return
        self._disarmIdle()
        self._idle = self.service.clock.callLater(STALL_TIMEOUT, self._stalled)

    def _stalled(self):
        """Nothing of the range went for STALL_TIMEOUT: the buyer stopped
        reading.  Closing cleanly would wait for the bytes it does not
        read, so the connection is dropped."""
        self._idle = None
        self.service.peer_log.emit(
            self.log, LogLevel.info, self.group, "dropping the transfer connection "
            "from {host}: it took none of the bytes sent for {seconds:g} s",
            host=self._host(), seconds=STALL_TIMEOUT)
        self.transport.abortConnection()

    def _refuse(self, code, info):
        """
        Answer with an error and hang up, taking no more requests.  While
        a range is being sent the error waits for its last byte: the bytes
        after a C{data} frame are raw, and a frame in their middle would
        be taken for file content.
        """
        self.queue = []
        self._refusal = wire.Error(code, info)
        self.transport.pauseProducing()
        if self.sender is None:
            self._hangUp()

    def _hangUp(self):
        self._send(self._refusal)
        self._close()

    def _send(self, message):
        self.sendString(wire.encode(message))

    def dataReceived(self, data):
        super().dataReceived(data)
        switching, self._switching = self._switching, None
        if switching is None or self._refusal is not None or self.transport.disconnecting:
            return
        if self.framesHeld():
            self._refuse("wtf", "bytes after cipher, before its answer")
            return
        self._armIdle()
        # The answer goes sealed with the old cipher; what follows, both
        # ways, is the new one's (or the connection is dropped).
        self.transport.switchCipher(switching.name, frame(wire.encode(switching)))

    def _askCipher(self, request):
        """A buyer's request to switch the channel's cipher function
        (docs/protocol.md §19.1): answered once every byte read with it is
        handled, if nothing came after it (L{dataReceived})."""
        if self._asked:
            self._refuse("wtf", "cipher must be a transfer connection's first request")
        elif request.name not in SWITCHES:
            self._refuse("wtf", f"no cipher {request.name} here (only "
                         f"{', '.join(SWITCHES)})")
        elif not ISecureTransport.providedBy(self.transport):
            self._refuse("wtf", "this connection has no channel to switch")
        else:
            self._switching = request
        self._asked = True

    def stringReceived(self, data):
        if self._refusal is not None or self.transport.disconnecting:
            return
        try:
            request = wire.decode(data)
        except wire.ProtocolError as e:
            self._refuse(e.code, e.info)
            return
        if self._switching is not None:
            self._refuse("wtf", f"{request.TYPE} after cipher, before its answer")
            return
        taken = _REQUESTS.get(type(request))
        if taken is None:
            self._asked = True
            self._refuse("wtf", f"a transfer connection takes cipher, head and get, "
                         f"not {request.TYPE}")
            return
        taken(self, request)

    def _queued(self, request):
        """A description's or a range's request: answered in turn."""
        self._asked = True
        if len(self.queue) >= MAX_QUEUED:
            self._refuse("wtf", f"more than {MAX_QUEUED} requests waiting")
            return
        if self._idle is not None and self._idle.func == self._idleTimeout:
            # Idle no more; a stall's timer (a range or answers unread)
            # runs on: a request is no byte taken.
            self._disarmIdle()
        self.queue.append(request)
        self._next()

    def _next(self):
        """Answer the next request, unless a range is still being sent.  A
        range needs a transfer slot, held until no request is left."""
        service = self.service
        while (self.sender is None and not self.answers.paused and self.queue
               and not self.transport.disconnecting):
            request = self.queue[0]
            answer, slot = _ANSWERS[type(request)]
            if slot and self not in service.serving and not self._take(
                    service.serving, "slots"):
                return
            self.queue.pop(0)
            found = service.share.byHash(request.sha256)
            if found is None:
                self._send(wire.Error("nofile", f"no file with content id "
                                      f"{request.sha256} here"))
                continue
            answer(self, request, *found)
        if self.sender is None and not self.queue and not self.answers.paused:
            service.serving.release(self)
            self._armIdle()

    def _unread(self):
        """The buyer has not read the answers written: it has
        L{STALL_TIMEOUT} seconds to take them, as a range's bytes."""
        self._armStall()

    def _read(self):
        """The buyer took what was written: on to the next request."""
        self._disarmIdle()
        self._next()

    def _describe(self, request, path, digest):
        """Answer a ``head``: the file's description, if it is still the
        version hashed."""
        if self._unchanged(path, digest):
            self._send(About(digest.sha256, digest.size, digest.piece_size,
                             digest.pieces))
        else:
            self._send(wire.Error("nofile", f"{os.path.basename(path)} "
                                  "changed since it was offered"))

    def _sendRange(self, request, path, digest):
        """Answer a ``get``: the range's bytes, streamed (L{RangeSender})."""
        if request.offset + request.length > digest.size:
            self._send(wire.Error("badrange", f"{request.offset}+{request.length} "
                                  f"is past the end ({digest.size} bytes)"))
            return
        fd = self._open(path, digest)
        if fd is None:
            self._send(wire.Error("nofile", f"{os.path.basename(path)} changed "
                                  "since it was offered"))
            return
        self.transport.unregisterProducer()
        self._send(Data(request.sha256, request.offset, request.length))
        self.sender = RangeSender(fd, request.offset, request.length,
                                  BULK_CHUNK if self.pace is None else CHUNK,
                                  self.pace, asked=self._armStall)
        self._armStall()
        d = self.sender.beginTransfer(self.transport)
        d.addCallbacks(self._sent, self._notSent)

    def _unchanged(self, path, digest):
        """Is the file at path still the version that was hashed?  If not,
        the folder is rescanned (the description would be a lie)."""
        try:
            unchanged = statKey(os.lstat(path)) == digest.key
        except OSError:
            unchanged = False
        if not unchanged:
            self.service.share.changed()
        return unchanged

    def _open(self, path, digest):
        """An open descriptor on the very version of the file that was
        hashed, or None (it changed or went: the folder is rescanned)."""
        try:
            # Without waiting: a FIFO put in its place would hold the reactor.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            self.service.share.changed()
            return None
        if statKey(os.fstat(fd)) != digest.key:
            os.close(fd)
            self.service.share.changed()
            return None
        return fd

    def _sent(self, _):
        self.sender = None
        self._disarmIdle()
        self.transport.registerProducer(self.answers, True)
        if self._refusal is not None:
            self._hangUp()
        else:
            self._next()

    def _notSent(self, reason):
        self.sender = None
        self._disarmIdle()
        if reason.check(defer.CancelledError):
            return
        if not reason.check(ConnectionError):
            self.log.warn("stopped sending a file: {why}", why=reason.getErrorMessage())
            self.service.share.changed()
        # The buyer was promised bytes that will not come: hang up, it
        # sees a short answer.  A ConnectionError is sendfile finding the
        # buyer gone before the transport does: nothing to warn about, the
        # transport is told at once.
        self.transport.abortConnection()


#: A buyer's requests: message class -> function(server, request).
_REQUESTS = {Cipher: TransferServer._askCipher, Head: TransferServer._queued,
             Get: TransferServer._queued}
#: The requests queued: message class -> (function(server, request, path,
#: digest) that answers it, whether the answer needs a transfer slot).
_ANSWERS = {Head: (TransferServer._describe, False),
            Get: (TransferServer._sendRange, True)}


class TransferFactory(Factory):
    noisy = False

    def __init__(self, service):
        self.service = service

    def buildProtocol(self, addr):
        """A connection, or None (closed at once, before the channel's
        handshake) when its address group opens connections faster than
        the node's policy allows."""
        service = self.service
        if not admitted(service.policy.rates, addr, service.peer_log, TransferServer.log,
                        "transfer connection"):
            return None
        return TransferServer(service)


class TransferService(Service):
    """
    The seller's transfer port: listens (through the node's connector, on
    any free port unless told one), serves the shared folder, and closes
    every connection when it stops.

    @ivar port: the port it listens on, once listening (0 before).
    """

    log = Logger()

    def __init__(self, node, share, port=0, slots=DEFAULT_TRANSFER_SLOTS, rate=0):
        self.node = node
        self.clock = node.clock
        self.share = share
        self.wanted_port = port
        #: Most bytes a second sent on one connection (0: no limit).
        self.rate = rate
        self.port = 0
        #: The connections open, and those holding a transfer slot.
        self.connections = Account.of(CONNECTIONS_LIMIT, CONNECTIONS_PER_SLOT * slots)
        self.serving = Account.of(SERVING_LIMIT, slots)
        #: What buyers make this service log, bounded per address group.
        self.peer_log = PeerLog(self.clock, node.config.link.verbose)
        #: The node's connection policy (rates and tenure of address
        #: groups), shared with its links.
        self.policy = node.connections
        self._listening = None
        #: The port's kernel filter for floods (L{gatePort}), or None.
        self._gate = None

    def startService(self):
        super().startService()
        factory = TransferFactory(self)
        d = defer.maybeDeferred(self.node.connector.listen, factory, self.wanted_port)
        d.addCallback(self._takesCircuits, factory)
        d.addCallbacks(self._listened, self._failed)
        return d

    def _takesCircuits(self, listening, factory):
        """Circuits to the node's transfer port, through its relay, are
        served as the port's own connections."""
        self.node.transferFactory = factory
        return listening

    def _listened(self, listening):
        self._listening = listening
        self._gate = gatePort(self.clock, listening, self.policy.rates)
        self.port = listening.getHost().port
        self.log.info("serving shared files on port {port}", port=self.port)
        return self.port

    def _failed(self, reason):
        # Said by the daemon, which ends with it (L{twisted_bazaar.daemon.node}):
        # here only for -v.
        self.log.debug("cannot listen for file transfers: {why}",
                       why=reason.getErrorMessage())
        return reason

    def stopService(self):
        super().stopService()
        self.peer_log.close()
        for connection in self.connections:
            connection.transport.abortConnection()
        listening, self._listening = self._listening, None
        ungate(self._gate, self.policy.rates)
        self._gate = None
        self.port = 0
        self.node.transferFactory = None
        if listening is not None:
            return listening.stopListening()
