"""
What qh3 is told and asked: the configurations of both ends, the
throwaway certificate QUIC's TLS needs, and L{Quic}, qh3's connection
whose streams' credit waits while the protocol above is paused.

QUIC's own TLS proves nothing here: a server's certificate is made up at
start and a client verifies none.  Whom a stream reaches is proven by the
encrypted channel run over it (docs/protocol.md §2.1), exactly as on TCP,
and nothing is read or written above it unsealed; QUIC's TLS only keeps
the packets' headers and acknowledgements from a bystander.

qh3 is aioquic's fork with its packet core in Rust: a 1,472-byte
datagram costs both ends 5 µs against aioquic's 33 (docs/architecture.md,
"QUIC").
"""

import dataclasses
import datetime
import logging
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from qh3._hazmat import Buffer, X25519KeyExchange
from qh3.quic.configuration import QuicConfiguration
from qh3.quic.connection import QuicConnection, QuicConnectionError
from qh3.quic.packet import (
    QuicErrorCode,
    pull_quic_transport_parameters,
    push_quic_transport_parameters,
    stream_is_unidirectional,
)
from qh3.tls import ExtensionType, Group

from twisted_bazaar.transports.quic.pathmtu import FALLBACK, MOST

__all__ = ["Quic", "clientConfiguration", "serverConfiguration", "STREAM_WINDOW",
           "IDLE_TIMEOUT", "READ_SIZE"]

#: qh3's own lines (Python's logging, ``quic``): one for each rule of
#: QUIC a peer breaks, and each close, unbounded, and outside the node's
#: log (to stderr, Python's logging being unset): a peer's lines are
#: bounded (§14 of docs/protocol.md), and what matters of such an end
#: reaches the streams' protocols as the connection's reason.
logging.getLogger("quic").setLevel(logging.CRITICAL)

#: Bytes a peer may send on a stream beyond what the protocol above has
#: read (the stream's flow-control window).
STREAM_WINDOW = 2 * 1024 * 1024
#: Bytes a peer may send on a connection beyond what was read: one
#: stream's window, as a dial opens one stream.  This is what a peer can
#: make qh3 hold for each connection (bytes out of order, or waiting for
#: a paused reader), in the node's own memory where TCP's would be the
#: kernel's: 4 MiB, with 1,024 connections, let peers hold 4 GiB (the
#: tenth round, docs/reliability.md).
CONNECTION_WINDOW = STREAM_WINDOW
#: Seconds a connection may be silent before it is dropped (the links'
#: own keepalives are sooner).
IDLE_TIMEOUT = 60.0
#: Bytes of the largest UDP payload read (and so the transport parameter
#: max_udp_payload_size sent): as much as UDP carries.
READ_SIZE = MOST
#: The core's states in which its events are taken even while a reader is
#: held: the connection is ending, and its streams must hear so.
_ENDING = frozenset({"closing", "draining", "terminated"})


def _certificate():
    """A self-signed certificate and its key, in PEM, made up for this
    process: QUIC's TLS wants one, and the channel above proves the
    node's key."""
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
    return (certificate.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _common(is_client, services):
    # max_datagram_frame_size 0: no DATAGRAM frames (RFC 9221) taken.
    # qh3's client offers them by default, outside flow control, and
    # while a reader is held they waited in its core without bound
    # (tests/transports/quic/test_hostile.py, DiallerTests).
    return QuicConfiguration(
        is_client=is_client, alpn_protocols=list(services),
        idle_timeout=IDLE_TIMEOUT, max_data=CONNECTION_WINDOW,
        max_stream_data=STREAM_WINDOW, max_datagram_size=FALLBACK,
        probe_datagram_size=False, max_datagram_frame_size=0)


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
    configuration.load_cert_chain(*_certificate())
    return configuration


def warmUp():
    """Make qh3's first key exchange now: the first one a process makes
    takes ~21 ms (its Rust crypto library setting itself up, once), and
    each side of a node's first QUIC connection made one, in its
    handshake, ~45 ms on a purchase's clock.  A node's QUIC socket calls
    this as it starts listening; after the first call it costs 10 µs."""
    X25519KeyExchange()


class _Tapped:
    """qh3's native core, the streams it reports finished seen on their
    way out (qh3's connection keeps that event to itself)."""

    def __init__(self, core, finished):
        """
        @param finished: called with the id of each stream qh3 reports
            finished.
        """
        self._core = core
        self._finished = finished

    def next_event(self):
        event = self._core.next_event()
        if event is not None and event[0] == "stream_finished":
            self._finished(event[1])
        return event

    def __getattr__(self, name):
        value = getattr(self._core, name)
        if callable(value):
            # A method: looked up here once (a property, such as state,
            # is read afresh each time).
            self.__dict__[name] = value
        return value


class Quic(QuicConnection):
    """
    qh3's connection, with:

      - its streams' credit held while a reader above is paused
        (L{held}): qh3's core raises a stream's and the connection's
        credit as their bytes are taken out of it, read or not, so while
        one is held nothing is taken out and the peer is held at a
        window (the streams of a connection wait together: a dial opens
        one);
      - its datagrams of the path's size once the handshake is done
        (the route's, L{twisted_bazaar.transports.quic.pathmtu}: qh3's probing
        for more, RFC 8899, is off), and the most this side reads told
        the peer (``max_udp_payload_size``, which qh3's client says is
        1,472: L{peerReads} is the peer's);
      - what qh3 holds of a stream (L{unacknowledged}), counted even
        where qh3 does not say, and whether the peer has both its ends
        (L{finished}).
    """

    def __init__(self, size=FALLBACK, **kwargs):
        """
        @param size: bytes of the largest datagram sent (the path's).
        """
        configuration = kwargs["configuration"]
        kwargs["configuration"] = dataclasses.replace(
            configuration, max_datagram_size=max(size, 1200))
        super().__init__(**kwargs)
        #: ids of the streams whose reader is paused.
        self.held = set()
        #: ids of the streams a protocol above holds (L{track}).
        self.tracked = set()
        #: ids of those done both ways, acknowledged: only theirs, so
        #: that a peer opening streams to be refused fills nothing.
        self.done = set()
        #: Whether the streams were told of the connection's end.
        self.closeTold = False
        #: The peer's max_udp_payload_size, once its transport parameters
        #: came (None: it did not say, or not yet).
        self.peerReads = None
        #: stream id -> bytes given qh3 to send on it.
        self._written = {}
        #: stream id -> bytes of it known freed (acknowledged, all before
        #: them too), as last seen while no loss was unrepaired.
        self._freed = {}
        #: qh3's count of lost packets when none was left unrepaired.
        self._repaired = 0

    @property
    def datagramSize(self):
        return self._configuration.max_datagram_size

    def _create_core(self, remote_addr, initial_dcid, now):
        super()._create_core(remote_addr, initial_dcid, now)
        self._core = _Tapped(self._core, self._streamFinished)

    def _streamFinished(self, stream_id):
        if stream_id in self.tracked:
            self.done.add(stream_id)

    def track(self, stream_id, tracked=True):
        """Note when a stream a protocol above holds is done (or, not
        ``tracked``, forget it: its protocol is gone)."""
        if tracked:
            self.tracked.add(stream_id)
            return
        self.tracked.discard(stream_id)
        self.done.discard(stream_id)
        self.held.discard(stream_id)
        self._written.pop(stream_id, None)
        self._freed.pop(stream_id, None)

    def _create_tls(self, remote_source_cid):
        bridge = super()._create_tls(remote_source_cid)
        serialize = bridge.serialize_transport_parameters

        def ours():
            parameters = pull_quic_transport_parameters(Buffer(data=serialize()))
            parameters.max_udp_payload_size = READ_SIZE
            buf = Buffer(capacity=4 * FALLBACK)
            push_quic_transport_parameters(buf, parameters)
            return buf.data

        bridge.serialize_transport_parameters = ours
        # Serialized once already, in the bridge's making.
        bridge.tls.handshake_extensions = [
            (ExtensionType.QUIC_TRANSPORT_PARAMETERS, ours())]
        # X25519 alone: qh3 offers X25519MLKEM768 too, whose 1,216 bytes
        # of key share make a ClientHello of some 1,800 bytes, sent in one
        # datagram wherever the route allows it, and lost where the path
        # is narrower than its route; alone, it fits QUIC's 1,200-byte
        # floor.  (QUIC's TLS guards no secret here: the channel above does.)
        bridge.tls._supported_groups = [Group.X25519]
        return bridge

    def _drain_core(self):
        """qh3 takes the core's events after each packet; while a reader
        is held, they wait in the core (and so does the credit), unless
        the connection is ending."""
        if self.held and self._core.state not in _ENDING:
            return
        super()._drain_core()
        parameters = self._applied_transport_parameters
        if parameters is not None and self.peerReads is None:
            self.peerReads = parameters.max_udp_payload_size or MOST
        close = self._close_event
        if close is not None and not self.closeTold:
            # qh3 tells of an end only once the connection is gone, after
            # its closing or draining period (three probe timeouts, some
            # seconds): the streams hear of it when it begins, as a TCP
            # connection's of a reset or a FIN.
            self.closeTold = True
            self._events.append(close)

    def ending(self):
        """Whether the connection is closing or draining: it ended for
        its streams, not yet for the socket."""
        return self._core is not None and self._core.state in _ENDING - {"terminated"}

    def datagrams_to_send(self, now):
        """What qh3 has to send, [(datagram, addr), ...]: its own, less
        the logging it does of each (a packet's header parsed, sliced
        and thrown away: no logger is set here): a tenth of the CPU a
        MiB at 1,472 bytes."""
        core = self._core
        if core is None:
            return []
        poll = core.poll_transmit
        datagrams = []
        try:
            transmit = poll(now)
            while transmit is not None:
                datagrams.append((transmit[0], transmit[1]))
                transmit = poll(now)
        except RuntimeError as e:
            raise QuicConnectionError(QuicErrorCode.INTERNAL_ERROR, None, str(e)) from e
        return datagrams

    def receiveTurn(self, datagrams, now):
        """The datagrams of a reactor's turn, [(bytes, addr), ...], given
        qh3 a run from one address at a time, each run in one call (a peer
        whose address changed sends from its new one)."""
        start = 0
        while start < len(datagrams):
            addr = datagrams[start][1]
            end = start + 1
            while end < len(datagrams) and datagrams[end][1] == addr:
                end += 1
            if end - start == 1:
                self.receive_datagram(datagrams[start][0], addr, now)
            else:
                self.receive_many_datagrams([data for data, _ in datagrams[start:end]],
                                            addr, now)
            start = end

    def refuse(self, stream_id, code):
        """Refuse a stream the peer opened: reset this side of it (a
        bidirectional one: qh3 raises for a peer's unidirectional one)
        and stop the peer's; nothing if it is gone already."""
        try:
            if not stream_is_unidirectional(stream_id):
                self.reset_stream(stream_id, code)
            self.stop_stream(stream_id, code)
        except ValueError:
            pass

    def _log_packets(self, event, data):
        """Nothing: see L{datagrams_to_send}."""

    def release(self):
        """The held readers were let go: what waited in the core comes."""
        if self._core is not None:
            self._drain_core()

    def send_stream_data(self, stream_id, data, end_stream=False):
        super().send_stream_data(stream_id, data, end_stream)
        written = self._written
        written[stream_id] = written.get(stream_id, 0) + len(data)

    def unacknowledged(self, stream_id):
        """
        Bytes of the stream qh3 holds: those not sent, and the
        connection's in flight (a dial's one stream is nearly all of
        them); 0 once the stream is done.

        qh3 keeps a stream's bytes from the first one not acknowledged
        on, and says nothing of those acknowledged past a loss: a peer
        that never acknowledges one packet, and all after it, had qh3
        hold 65 MiB past it, counted as 3.6 MiB (docs/reliability.md,
        "The eleventh round").  So once a packet was lost, and until no
        loss is unrepaired (L{settle}), every byte written since the
        last count with none is counted as held.
        """
        core = self._core
        if core is None or stream_id in self.done:
            return 0
        held = self.get_send_buffer_size(stream_id) + core.bytes_in_flight
        written = self._written.get(stream_id, 0)
        if core.loss_total == self._repaired:
            self._freed[stream_id] = written - held
            return held
        return max(held, written - self._freed.get(stream_id, 0))

    def settle(self):
        """
        After a flush: whether the losses counted since none was left
        unrepaired are all repaired now (nothing in flight, so every
        lost byte was sent again and acknowledged: what was lost and
        waits is sent by the flush), which ends the count of
        L{unacknowledged}'s written bytes.
        """
        core = self._core
        if core is None or core.bytes_in_flight:
            return False
        lost = core.loss_total
        if lost == self._repaired:
            return False
        self._repaired = lost
        return True

    def finished(self, stream_id):
        """Whether the stream is done both ways (both ends sent and
        acknowledged), or all it sent is acknowledged."""
        return stream_id in self.done or not self.unacknowledged(stream_id)
