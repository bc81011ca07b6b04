"""
What aioquic is told and asked: the configurations of both ends, the
throwaway certificate QUIC's TLS needs, and L{Quic}, aioquic's
connection with stream credit paced by what the protocol above reads.

QUIC's own TLS proves nothing here: a server's certificate is made up at
start and a client verifies none.  Whom a stream reaches is proven by the
encrypted channel run over it (docs/protocol.md §2.1), exactly as on TCP,
and nothing is read or written above it unsealed; QUIC's TLS only keeps
the packets' headers and acknowledgements from a bystander.
"""

import dataclasses
import datetime
import logging
import ssl

from aioquic.buffer import Buffer, size_uint_var
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.congestion.base import K_INITIAL_WINDOW
from aioquic.quic.connection import (
    MAX_STREAM_DATA_FRAME_CAPACITY,
    QuicConnection,
)
from aioquic.quic.packet import (
    QuicFrameType,
    pull_quic_transport_parameters,
    push_quic_transport_parameters,
)
from aioquic.quic.recovery import QuicPacketPacer
from aioquic.tls import Direction, Epoch
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from twisted_bazaar.net.quic.pathmtu import FALLBACK, MOST
from twisted_bazaar.net.quic.protection import LeanHeaderProtection
from twisted_bazaar.net.quic.sendbuffer import SendBuffer

__all__ = ["Quic", "clientConfiguration", "serverConfiguration", "STREAM_WINDOW",
           "IDLE_TIMEOUT", "READ_SIZE"]

#: aioquic's own lines (Python's logging, ``quic``): one for each rule of
#: QUIC a peer breaks, unbounded, and outside the node's log (to stderr,
#: Python's logging being unset): a peer's lines are bounded (§14 of
#: docs/protocol.md), and what matters of such an end reaches the
#: streams' protocols as the connection's reason.
logging.getLogger("quic").setLevel(logging.CRITICAL)

#: Bytes a peer may send on a stream beyond what the protocol above has
#: read (the stream's flow-control window).
STREAM_WINDOW = 2 * 1024 * 1024
#: Bytes a peer may send on a connection beyond what was read.
CONNECTION_WINDOW = 4 * 1024 * 1024
#: Seconds a connection may be silent before it is dropped (the links'
#: own keepalives are sooner).
IDLE_TIMEOUT = 60.0
#: Bytes of the largest UDP payload read (and so the transport parameter
#: max_udp_payload_size sent): as much as UDP carries.
READ_SIZE = MOST


def _certificate():
    """A self-signed certificate and its key, made up for this process:
    QUIC's TLS wants one, and the channel above proves the node's key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "twisted-bazaar")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder()
                   .subject_name(name).issuer_name(name)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=3650))
                   .sign(key, hashes.SHA256()))
    return certificate, key


def _common(is_client, services):
    return QuicConfiguration(
        is_client=is_client, alpn_protocols=list(services),
        idle_timeout=IDLE_TIMEOUT, max_data=CONNECTION_WINDOW,
        max_stream_data=STREAM_WINDOW, max_datagram_size=FALLBACK)


def clientConfiguration(service):
    """A dialler's: it asks for one service (its ALPN), verifies no
    certificate (see the module's docstring)."""
    configuration = _common(True, [service])
    configuration.verify_mode = ssl.CERT_NONE
    return configuration


def serverConfiguration(services):
    """A listener's: the services it serves (their ALPN) and a certificate
    of its own, made now."""
    configuration = _common(False, services)
    configuration.certificate, configuration.private_key = _certificate()
    return configuration


#: Seconds of sending a pacer lets go at once: a reactor's timer wakes no
#: finer than a millisecond or so.
PACING_GRAIN = 0.002


class CoarsePacer(QuicPacketPacer):
    """aioquic's pacer, its bucket never under L{PACING_GRAIN} seconds of
    the pacing rate: at a bucket of 16 datagrams and a timer that fires
    each millisecond at best, a connection could not pass 23 MB/s."""

    def update_rate(self, congestion_window, smoothed_rtt):
        super().update_rate(congestion_window=congestion_window,
                            smoothed_rtt=smoothed_rtt)
        self.bucket_max = max(self.bucket_max, PACING_GRAIN)


#: The bits of a STREAM frame's type (RFC 9000 §19.8).
STREAM_FIN, STREAM_LENGTH, STREAM_OFFSET = 0x1, 0x2, 0x4


def _chunked(stream):
    """stream, its sender's buffer a L{SendBuffer} (see there why)."""
    sender = stream.sender
    if type(sender._buffer) is not SendBuffer and not sender._buffer:
        sender._buffer = SendBuffer()
    return stream


def _initialWindow(size):
    """RFC 9002 §7.2's initial congestion window for datagrams of size."""
    return min(K_INITIAL_WINDOW * size, max(14720, 2 * size))


class Quic(QuicConnection):
    """
    aioquic's connection, with:

      - a stream's credit raised only as the protocol above reads
        (L{consumed}), and never while it is paused: aioquic on its own
        doubles a stream's window whenever half of it arrived, read or
        not, so a peer could fill a paused reader's memory; and the
        connection's likewise (L{delivered});
      - its datagrams' size set for the path (L{resize}, from
        L{twisted_bazaar.net.quic.pathmtu}), where aioquic keeps its
        configuration's for good, and the most this side reads told the
        peer (``max_udp_payload_size``, which aioquic neither sends nor
        heeds: L{peerReads});
      - STREAM frames of up to a whole datagram (L{_write_stream_frame}),
        and each stream's unacknowledged bytes kept as the chunks
        written (L{SendBuffer});
      - 1-RTT packets' header protection copying only the header
        (L{LeanHeaderProtection}).
    """

    def __init__(self, size=FALLBACK, **kwargs):
        """
        @param size: bytes of the datagrams sent until the handshake is
            done (its Initials are padded to it: at most L{FALLBACK}).
        """
        configuration = kwargs["configuration"]
        kwargs["configuration"] = dataclasses.replace(
            configuration, max_datagram_size=min(size, FALLBACK))
        super().__init__(**kwargs)
        self._loss._pacer = CoarsePacer(max_datagram_size=self._max_datagram_size)
        #: stream id -> bytes of it the protocol above has read.
        self.consumed = {}
        #: ids of the streams whose reader is paused.
        self.held = set()
        #: The peer's max_udp_payload_size, once its transport parameters
        #: came (None: it did not say, or not yet).
        self.peerReads = None
        #: Bytes of the peer's streams taken out of memory: read by the
        #: protocols above, or dropped (L{_write_connection_limits}).
        self.delivered = 0

    @property
    def datagramSize(self):
        return self._max_datagram_size

    def resize(self, size):
        """Send datagrams of size bytes from now on (once the handshake is
        done: its long headers carry at most 16,383 bytes a packet).  A
        congestion window not past its start grows to RFC 9002 §7.2's
        initial window for the new size."""
        before, self._max_datagram_size = self._max_datagram_size, size
        # The pacer is left at the handshake's size: it charges every
        # packet as a full one, so at 64 KiB a link's small messages would
        # each spend half a round trip of its budget.  Small packets are
        # paced as before; large ones less (the congestion window holds).
        control = self._loss._cc
        control._max_datagram_size = size
        if size > before and control.ssthresh is None:
            control.congestion_window = max(control.congestion_window,
                                            _initialWindow(size))

    def _update_traffic_key(self, direction, epoch, cipher_suite, secret):
        """The 1-RTT keys' header protection made lean (a key update's
        keys, which aioquic makes itself, keep its own: slower, alike on
        the wire)."""
        super()._update_traffic_key(direction, epoch, cipher_suite, secret)
        if epoch == Epoch.ONE_RTT:
            pair = self._cryptos[epoch]
            context = pair.send if direction == Direction.ENCRYPT else pair.recv
            context.hp = LeanHeaderProtection(context.hp)

    def _get_or_create_stream(self, frame_type, stream_id):
        return _chunked(super()._get_or_create_stream(frame_type, stream_id))

    def _get_or_create_stream_for_send(self, stream_id):
        return _chunked(super()._get_or_create_stream_for_send(stream_id))

    def _write_stream_frame(self, builder, space, stream, max_offset):
        """
        One STREAM frame of stream, as much of it as the credit and the
        packet allow, its length a variable-length integer of up to four
        bytes: aioquic's own writes two, which hold 16,383 bytes, and so
        cut a frame of a larger datagram short (one frame a packet: each
        costs its Python calls at both ends).

        @return: the bytes of the stream sent for the first time (what
            the connection's credit is charged).
        """
        sender = stream.sender
        before = sender.highest_offset
        start = sender.next_offset
        # Type, id, offset (none at 0), length.
        header = (1 + size_uint_var(stream.stream_id)
                  + (size_uint_var(start) if start else 0) + 4)
        frame = sender.get_frame(builder.remaining_flight_space - header, max_offset)
        if frame is None:
            return 0
        kind = QuicFrameType.STREAM_BASE | STREAM_LENGTH
        if frame.offset:
            kind |= STREAM_OFFSET
        if frame.fin:
            kind |= STREAM_FIN
        buf = builder.start_frame(
            kind, capacity=header, handler=sender.on_data_delivery,
            handler_args=(frame.offset, frame.offset + len(frame.data), frame.fin))
        buf.push_uint_var(stream.stream_id)
        if frame.offset:
            buf.push_uint_var(frame.offset)
        buf.push_uint_var(len(frame.data))
        buf.push_bytes(frame.data)
        return sender.highest_offset - before

    def _write_connection_limits(self, builder, space):
        """The connection's credit (MAX_DATA) raised only as its bytes
        are taken out of memory (L{delivered}), once a quarter of the
        window is: aioquic on its own doubles it whenever half of it
        arrived, so a peer leaving a gap at each stream's start (nothing
        can be read), or sending on streams refused, had it buffer
        without bound.  MAX_STREAMS is aioquic's."""
        limit = self._local_max_data
        window = self._configuration.max_data
        wanted = self.delivered + window
        if wanted - limit.value >= window // 4:
            limit.value = wanted
        # aioquic doubles the credit when used is past half of it: hidden
        # from it for the call.
        used, limit.used = limit.used, 0
        try:
            super()._write_connection_limits(builder, space)
        finally:
            limit.used = used

    def _serialize_transport_parameters(self):
        parameters = pull_quic_transport_parameters(
            Buffer(data=super()._serialize_transport_parameters()))
        parameters.max_udp_payload_size = READ_SIZE
        buf = Buffer(capacity=4 * FALLBACK)
        push_quic_transport_parameters(buf, parameters)
        return buf.data

    def _parse_transport_parameters(self, data, from_session_ticket=False):
        super()._parse_transport_parameters(data, from_session_ticket)
        self.peerReads = pull_quic_transport_parameters(
            Buffer(data=data)).max_udp_payload_size

    def unacknowledged(self, stream_id):
        """Bytes written on the stream that the peer has not acknowledged
        yet (0 for a stream gone)."""
        stream = self._streams.get(stream_id)
        if stream is None:
            return 0
        sender = stream.sender
        return sender._buffer_stop - sender._buffer_start

    def _write_stream_limits(self, builder, space, stream):
        read = self.consumed.get(stream.stream_id)
        if read is None or not stream.max_stream_data_local:
            return super()._write_stream_limits(builder, space, stream)
        if stream.stream_id not in self.held:
            wanted = read + self._configuration.max_stream_data
            # Raised once a quarter of the window is read: fewer frames.
            if wanted - stream.max_stream_data_local >= self._configuration.max_stream_data // 4:
                stream.max_stream_data_local = wanted
        if stream.max_stream_data_local_sent != stream.max_stream_data_local:
            buf = builder.start_frame(
                QuicFrameType.MAX_STREAM_DATA, capacity=MAX_STREAM_DATA_FRAME_CAPACITY,
                handler=self._on_max_stream_data_delivery, handler_args=(stream,))
            buf.push_uint_var(stream.stream_id)
            buf.push_uint_var(stream.max_stream_data_local)
            stream.max_stream_data_local_sent = stream.max_stream_data_local
