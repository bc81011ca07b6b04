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

import datetime
import ssl

from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import (
    MAX_STREAM_DATA_FRAME_CAPACITY,
    QuicConnection,
)
from aioquic.quic.packet import QuicFrameType
from aioquic.quic.recovery import QuicPacketPacer
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["Quic", "clientConfiguration", "serverConfiguration", "STREAM_WINDOW",
           "IDLE_TIMEOUT", "DATAGRAM_SIZE"]

#: Bytes a peer may send on a stream beyond what the protocol above has
#: read (the stream's flow-control window).
STREAM_WINDOW = 2 * 1024 * 1024
#: Bytes a peer may send on a connection beyond what was read.
CONNECTION_WINDOW = 4 * 1024 * 1024
#: Seconds a connection may be silent before it is dropped (the links'
#: own keepalives are sooner).
IDLE_TIMEOUT = 60.0
#: The largest UDP payload sent: what an Ethernet path of 1500 bytes
#: carries in IPv4 or IPv6 without fragments.
DATAGRAM_SIZE = 1452


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
        max_stream_data=STREAM_WINDOW, max_datagram_size=DATAGRAM_SIZE)


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


class Quic(QuicConnection):
    """
    aioquic's connection, a stream's credit raised only as the protocol
    above reads (L{consumed}), and never while it is paused: aioquic on
    its own doubles a stream's window whenever half of it arrived, read
    or not, so a peer could fill a paused reader's memory.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._loss._pacer = CoarsePacer(max_datagram_size=self._max_datagram_size)
        #: stream id -> bytes of it the protocol above has read.
        self.consumed = {}
        #: ids of the streams whose reader is paused.
        self.held = set()

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
