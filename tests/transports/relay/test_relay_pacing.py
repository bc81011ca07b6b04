"""
A throttled relay paces the transfers through its circuits, on a clock
with transports that do flow control as a socket's do: each transfer
gets its share of the relay's rate, delivered within a tenth, in short
steps, with no pause anywhere near a buyer's stall window (10 s) and no
burst much past a second's worth.  A circuit's other end draining its
buffer lets nothing read past the throttle.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.transports.relay.limits import RelayLimits
from twisted_bazaar.transports.relay.messages import RelayAccept, RelayConnect
from twisted_bazaar.transports.relay.relay import Relay, RelayEnd
from twisted_bazaar.wire.framing import frame

#: A socket read's bytes (Twisted's bufferSize), and the unsent bytes
#: past which a socket's transport pauses its producer.
READ = 64 * 1024
#: Seconds between two turns of the simulated reactor.
TICK = 0.002
#: A buyer's pieces, as many asked at once (L{twisted_bazaar.roles.files}),
#: and the bytes of a request for one.
PIECE = 1024 * 1024
DEPTH = 4
REQUEST = 100
RATE = 256 * 1024
NODE = 77


class FlowTransport(StringTransport):
    """A socket's transport as far as flow control goes: at READ bytes
    unsent (a read's worth, sealed again by the relay's channel with the
    other end: a little more) it pauses its producer, and once it has sent them all (L{drain})
    resumes it, as Twisted's C{FileDescriptor} does."""

    full = False

    def write(self, data):
        super().write(data)
        if self.producer is not None and not self.full and len(self.io.getvalue()) >= READ:
            self.full = True
            self.producer.pauseProducing()

    def drain(self):
        """Everything written goes out: its bytes."""
        data = self.value()
        self.clear()
        if self.full:
            self.full = False
            self.producer.resumeProducing()
        return data


class Transfer:
    """
    A buyer fetching ``size`` bytes from a seller through a circuit of
    ``relay``, DEPTH pieces asked at a time (one more each time one is
    in), and a seller that sends what it is asked a read at a time while
    the relay reads from it.
    """

    def __init__(self, relay, told, host, size):
        self.size = size
        ends = []
        for address in (host, "192.168.1.2"):
            end = RelayEnd(relay)
            end.makeConnection(FlowTransport(peerAddress=IPv4Address("TCP", address, 1)))
            ends.append(end)
        self.dialler, self.node = ends
        self.dialler.dataReceived(frame(wire.encode(RelayConnect(NODE, "files"))))
        self.node.dataReceived(frame(wire.encode(RelayAccept(told[-1].circuit))))
        self.dialler.transport.drain()
        self.node.transport.drain()
        self.asked = 0
        self.requests = 0
        self.owed = 0
        self.received = 0
        #: (when, bytes) of each arrival at the buyer.
        self.arrivals = []
        self.done = None
        for _ in range(DEPTH):
            self.ask()

    def ask(self):
        if self.asked < self.size:
            self.asked += PIECE
            self.requests += 1

    def turn(self, now):
        """One turn of the reactor: each end reads what it may."""
        if self.requests and self.dialler.transport.producerState == "producing":
            self.dialler.dataReceived(b"r" * (REQUEST * self.requests))
            self.requests = 0
        self.owed += len(self.node.transport.drain()) // REQUEST * PIECE
        if self.owed and self.node.transport.producerState == "producing":
            count = min(READ, self.owed)
            self.owed -= count
            self.node.dataReceived(b"x" * count)
        got = len(self.dialler.transport.drain())
        if got:
            before = self.received // PIECE
            self.received += got
            self.arrivals.append((now, got))
            for _ in range(self.received // PIECE - before):
                self.ask()
            if self.received >= self.size and self.done is None:
                self.done = now


def simulate(count, size, rate=RATE, seconds=200.0):
    """``count`` transfers of ``size`` bytes each, each from a dialler
    of its own address group, through one relay of ``rate``: the
    transfers, once all are done (or ``seconds`` passed)."""
    clock = Clock()
    told = []
    relay = Relay(clock, PeerLog(clock), RelayLimits(rate=rate, circuit_bytes=2**40))
    relay.port = 7000
    relay.reserve(NODE, "192.168", told.append, "key", "10.9.0.1")
    transfers = [Transfer(relay, told, f"10.{i + 1}.0.5", size) for i in range(count)]
    start = clock.seconds()
    while clock.seconds() - start < seconds and any(t.done is None for t in transfers):
        clock.advance(TICK)
        for transfer in transfers:
            # Times from the start: a transfer's arrivals and end.
            transfer.turn(clock.seconds() - start)
    relay.stop()
    return transfers


def longestPause(transfer):
    """The longest time between two arrivals, or from the start to the
    first."""
    times = [0.0] + [when for when, _ in transfer.arrivals]
    return max(b - a for a, b in zip(times, times[1:]))


def busiestSecond(transfer):
    """The most bytes that arrived within any one second."""
    arrivals, most, start, inWindow = transfer.arrivals, 0, 0, 0
    for when, got in arrivals:
        inWindow += got
        while arrivals[start][0] <= when - 1.0:
            inWindow -= arrivals[start][1]
            start += 1
        most = max(most, inWindow)
    return most


class PacingTests(SynchronousTestCase):
    def assertRate(self, size, seconds, rate, what):
        """``size`` bytes in ``seconds`` is ``rate`` within a tenth, the
        relay's first second's worth (saved up before anything) aside."""
        ratio = (size - rate) / seconds / rate
        self.assertLess(abs(ratio - 1.0), 0.1, f"{what}: {ratio:.3f} of the rate")

    def test_aTransferMovesAtTheRate(self):
        """8 MiB through a relay of 256 KiB/s: in 31 s within a tenth
        (32 s, less the first second's worth saved up), never paused
        for a second, never more than a second's worth and a read (on top
        of the first second's saving) in a second."""
        [transfer] = simulate(1, 8 * PIECE)
        self.assertIsNotNone(transfer.done)
        self.assertRate(transfer.size, transfer.done, RATE, "the transfer")
        self.assertLess(longestPause(transfer), 1.0)
        self.assertLessEqual(busiestSecond(transfer), 2 * RATE + READ)

    def test_transfersShareTheRate(self):
        """Three transfers at once, from three address groups: each gets
        a third of the rate within a tenth, together the rate within a
        tenth, none paused for a second."""
        transfers = simulate(3, 4 * PIECE)
        last = max(transfer.done for transfer in transfers)
        self.assertRate(3 * 4 * PIECE, last, RATE, "all three")
        for transfer in transfers:
            self.assertRate(transfer.size, transfer.done, RATE / 3, "each")
            self.assertLess(longestPause(transfer), 1.0)

    def test_aFastRelay(self):
        """The same through a relay of 8 MiB/s (the tracker's): 32 MiB in
        3 s within a tenth, never paused for a second."""
        [transfer] = simulate(1, 32 * PIECE, rate=8 * 1024 * 1024)
        self.assertRate(transfer.size, transfer.done, 8 * 1024 * 1024, "the transfer")
        self.assertLess(longestPause(transfer), 1.0)
