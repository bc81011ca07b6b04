"""
A rogue QUIC peer for the hostile-peer tests (L{RoguePeer}).

The node's QUIC stack is qh3, whose packet core is Rust and cannot be
bent into sending what a well-behaved peer never sends.  aioquic (pure
Python, qh3's origin) stays a test dependency to play that peer: its
internals are open to a test, which bends them (withholds bytes, never
acknowledges, breaks a limit) and so attacks the node over the
deterministic L{FakeNetwork <tests.transports.quic.fakeudp.FakeNetwork>}.
"""

import ssl

from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from twisted.internet.protocol import DatagramProtocol

from twisted_bazaar.transports.quic.connector import LINKS

__all__ = ["RoguePeer"]


class _Withheld(Exception):
    """A packet L{RoguePeer.withhold} drops unrecorded."""


class RoguePeer(DatagramProtocol):
    """
    An aioquic client attached to a fake network (``network.attach(peer,
    host, port)``): every datagram it gets is fed to aioquic, and what
    aioquic then has to send is sent, as after each L{flush}; aioquic's
    timer runs on the network's clock.

    @ivar quic: the aioquic L{QuicConnection}, for a test to bend.
    @ivar events: every aioquic event it received, in order (it acts on
        none: a rogue does what the test says, not what a stack would).
    @ivar withheld: how many times a packet was left unacknowledged for
        the byte L{withhold} names.
    """

    noisy = False

    def __init__(self, clock, service=LINKS, window=None):
        """
        @param window: the flow-control windows it grants, of a stream
            and of the connection (aioquic's own if None).
        """
        self.clock = clock
        windows = {} if window is None else {"max_data": window, "max_stream_data": window}
        configuration = QuicConfiguration(
            is_client=True, alpn_protocols=[service], verify_mode=ssl.CERT_NONE,
            max_datagram_size=1200, **windows)
        self.quic = QuicConnection(configuration=configuration)
        self.events = []
        self.withheld = 0
        self._timer = None

    def withhold(self, stream_id, offset):
        """Never acknowledge a packet that carries byte ``offset`` of
        stream_id, each time it is sent: the packet is dropped once
        decrypted, before aioquic records it; every other packet is
        acknowledged as usual."""
        handlers = self.quic._QuicConnection__frame_handlers
        for frame_type in range(0x08, 0x10):
            handle, epochs = handlers[frame_type]
            handlers[frame_type] = (self._withholding(handle, stream_id, offset), epochs)

    def _withholding(self, handle, stream_id, offset):
        def handleStream(context, frame_type, buf):
            start = buf.tell()
            frame_stream = buf.pull_uint_var()
            frame_offset = buf.pull_uint_var() if frame_type & 0x04 else 0
            length = buf.pull_uint_var() if frame_type & 0x02 else buf.capacity - buf.tell()
            buf.seek(start)
            if frame_stream == stream_id and frame_offset <= offset < frame_offset + length:
                self.withheld += 1
                raise _Withheld()
            return handle(context, frame_type, buf)
        return handleStream

    def connect(self, host, port):
        """Begin QUIC's handshake with host:port (the test runs the
        network for it to finish)."""
        self.quic.connect((host, port), now=self.clock.seconds())
        self.flush()

    def datagramReceived(self, data, addr):
        try:
            self.quic.receive_datagram(data, addr, now=self.clock.seconds())
        except _Withheld:
            pass
        self._process()

    def flush(self):
        """Send what aioquic has to send now (a test calls it after bending
        or asking aioquic something), and set aioquic's timer anew."""
        now = self.clock.seconds()
        for data, addr in self.quic.datagrams_to_send(now=now):
            self.transport.write(data, addr)
        self._setTimer(now)

    def stop(self):
        """Cancel aioquic's timer: the rogue leaves no call pending on the
        clock (every timer has an owner)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _process(self):
        event = self.quic.next_event()
        while event is not None:
            self.events.append(event)
            event = self.quic.next_event()
        self.flush()

    def _setTimer(self, now):
        self.stop()
        at = self.quic.get_timer()
        if at is not None:
            self._timer = self.clock.callLater(max(0.0, at - now), self._onTimer)

    def _onTimer(self):
        self._timer = None
        self.quic.handle_timer(now=self.clock.seconds())
        self._process()
