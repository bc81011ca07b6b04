"""
Tests for twisted_bazaar.net.syngate: the kernel filter's program, run by
a small interpreter of the classic BPF instructions it uses over packets
made here, and the gate's groups, timers and failures on a fake clock
with a recorded socket.
"""

import socket
import struct

from twisted.internet import task
from twisted.logger import Logger
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_bazaar.net import syngate
from twisted_bazaar.net.connections import (
    CONNECTIONS_LIMIT,
    REFUSALS_BEFORE_GATE,
    RateLimit,
    admitted,
)
from twisted_bazaar.net.syngate import (
    MAX_BLOCKED,
    MAX_PROGRAM_GROUPS,
    SHORTEST_BLOCK,
    attachFilter,
    SynGate,
    gatePort,
    ipv4Network,
    program,
    ungate,
)


def run(code, network_header):
    """
    What the program ``code`` returns for a packet whose network header is
    ``network_header``: the kernel's meaning of each instruction the gate
    uses, written from the BPF instruction set (loads relative to the
    network header, a right shift, an and, jumps if equal, returns).
    """
    insns = [struct.unpack("=HBBI", code[i:i + 8]) for i in range(0, len(code), 8)]
    accumulator, pc = 0, 0
    while True:
        op, jt, jf, k = insns[pc]
        offset = k - (1 << 32) - syngate._NET if k & 0x80000000 else None
        if op == 0x30:  # ld byte [net + offset]
            accumulator = network_header[offset]
        elif op == 0x20:  # ld word [net + offset], network order
            accumulator = struct.unpack("!I", network_header[offset:offset + 4])[0]
        elif op == 0x74:
            accumulator >>= k
        elif op == 0x54:
            accumulator &= k
        elif op == 0x15:
            pc += jt if accumulator == k else jf
        elif op == 0x06:
            return k
        else:
            raise AssertionError(f"instruction {op:#x} not expected")
        pc += 1


def ipv4Header(source):
    return (bytes([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0])
            + socket.inet_aton(source) + socket.inet_aton("10.0.0.1"))


def ipv6Header(source):
    return (bytes([0x60, 0, 0, 0, 0, 20, 6, 64]) + socket.inet_pton(socket.AF_INET6, source)
            + socket.inet_pton(socket.AF_INET6, "2001:db8::1"))


class ProgramTests(SynchronousTestCase):
    """The filter drops an IPv4 packet from a blocked /16, keeps the rest."""

    def setUp(self):
        self.code = program(sorted([ipv4Network("127.9.0.0/16"),
                                    ipv4Network("10.20.0.0/16")]))

    def test_aBlockedGroupIsDropped(self):
        self.assertEqual(run(self.code, ipv4Header("127.9.3.4")), 0)
        self.assertEqual(run(self.code, ipv4Header("10.20.255.1")), 0)

    def test_everyOtherIPv4SourceIsKept(self):
        for source in ("127.0.0.1", "127.8.0.1", "127.10.0.1", "10.21.0.1", "9.20.0.1"):
            self.assertEqual(run(self.code, ipv4Header(source)), 0xFFFFFFFF, source)

    def test_IPv6IsKept(self):
        """Even a packet whose bytes where an IPv4 source would be match a
        blocked group: IPv6 groups are the rate limit's to close."""
        self.assertEqual(run(self.code, ipv6Header("7f09::1")), 0xFFFFFFFF)
        self.assertEqual(run(program([]), ipv4Header("127.9.0.1")), 0xFFFFFFFF)

    def test_atTheBoundAndPastIt(self):
        """Programs of 253 to 257 groups, and of as many as one may hold,
        pack: each group's packets dropped, the rest kept (a program whose
        tests all jumped to one "drop" did not pack at the 254th group:
        struct.error, ubyte format requires 0 <= number <= 255)."""
        for count in (253, 254, MAX_BLOCKED, MAX_BLOCKED + 1, MAX_PROGRAM_GROUPS):
            networks = sorted(_group(i) for i in range(count))
            code = program(networks)
            for network in (networks[0], networks[count // 2], networks[-1]):
                self.assertEqual(run(code, ipv4Header(_host(network))), 0, (count, network))
            self.assertEqual(run(code, ipv4Header("9.255.0.1")), 0xFFFFFFFF, count)

    def test_moreThanAProgramHolds(self):
        with self.assertRaises(ValueError):
            program([_group(i) for i in range(MAX_PROGRAM_GROUPS + 1)])

    def test_groups(self):
        self.assertEqual(ipv4Network("127.9.0.0/16"), 0x7F090000)
        for group in ("2001:db8::/32", "peer.example", "127.9.0.0/24", ""):
            self.assertIsNone(ipv4Network(group), group)


def _group(index):
    """The index-th /16 of 10.0.0.0/8 and on, as an integer."""
    return (10 << 24) + (index << 16)


def _host(network):
    return socket.inet_ntoa(struct.pack("!I", network + 0x0101))


class Socket:
    """What the gate attached to a socket, in order (None: detached)."""

    def __init__(self):
        self.programs = []

    def attach(self, sock, code):
        self.programs.append(code)

    def detach(self, sock):
        self.programs.append(None)


class SynGateTests(SynchronousTestCase):

    def setUp(self):
        self.clock = task.Clock()
        self.socket = Socket()
        self.gate = SynGate(self.clock, self.socket, self.socket.attach, self.socket.detach,
                            limit=3)

    def dropped(self, source):
        code = self.socket.programs[-1] if self.socket.programs else None
        return code is not None and run(code, ipv4Header(source)) == 0

    def test_blockedForItsWaitThenLetIn(self):
        self.gate.block("127.9.0.0/16", 2.0)
        self.assertTrue(self.dropped("127.9.0.1"))
        self.assertFalse(self.dropped("127.0.0.1"))
        self.clock.advance(1.9)
        self.assertTrue(self.dropped("127.9.0.1"))
        self.clock.advance(0.1)
        self.assertEqual(self.socket.programs[-1], None)
        self.assertEqual(self.gate.blocked, {})
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_neverForLessThanTheShortestBlock(self):
        """A group that may connect again in 10 ms is blocked for 0.25 s:
        the program is not changed at the flood's pace."""
        self.gate.block("127.9.0.0/16", 0.01)
        self.clock.advance(SHORTEST_BLOCK - 0.01)
        self.assertTrue(self.dropped("127.9.0.1"))
        self.clock.advance(0.01)
        self.assertFalse(self.dropped("127.9.0.1"))

    def test_blockedAgainLaterExtendsWithoutANewProgram(self):
        self.gate.block("127.9.0.0/16", 1.0)
        self.gate.block("127.9.0.0/16", 3.0)
        self.gate.block("127.9.0.0/16", 0.5)
        self.assertEqual(len(self.socket.programs), 1)
        self.clock.advance(1.0)
        self.assertTrue(self.dropped("127.9.0.1"))
        self.clock.advance(2.0)
        self.assertFalse(self.dropped("127.9.0.1"))

    def test_groupsLetInOneByOne(self):
        self.gate.block("127.9.0.0/16", 1.0)
        self.gate.block("10.1.0.0/16", 2.0)
        self.clock.advance(1.0)
        self.assertFalse(self.dropped("127.9.0.1"))
        self.assertTrue(self.dropped("10.1.2.3"))
        self.clock.advance(1.0)
        self.assertEqual(self.socket.programs[-1], None)

    def test_pastTheLimitLeftToTheRateLimit(self):
        for group in ("10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16"):
            self.gate.block(group, 1.0)
        self.assertEqual(len(self.gate.blocked), 3)
        self.assertFalse(self.dropped("10.4.0.1"))

    def test_IPv6AndNamesAreNotBlocked(self):
        self.gate.block("2001:db8::/32", 1.0)
        self.gate.block("peer.example", 1.0)
        self.assertEqual(self.socket.programs, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aKernelThatTakesNoFilterTurnsTheGateOff(self):
        def refuse(sock, code):
            raise OSError(92, "Protocol not available")
        gate = SynGate(self.clock, self.socket, refuse, self.socket.detach)
        events = []
        self.patch(SynGate, "log", Logger(observer=events.append))
        gate.block("127.9.0.0/16", 1.0)
        self.assertFalse(gate.active)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertIn("the kernel takes no filter", events[-1]["log_format"])
        gate.block("127.9.0.0/16", 1.0)
        self.assertEqual(gate.blocked, {})

    def test_stopLetsEveryGroupIn(self):
        self.gate.block("127.9.0.0/16", 5.0)
        self.gate.stop()
        self.assertEqual(self.socket.programs[-1], None)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.gate.block("127.9.0.0/16", 5.0)
        self.assertEqual(len(self.socket.programs), 2)

    def test_aProgramThatDoesNotPackChangesNothing(self):
        """The group is not kept as blocked, and those blocked before are
        let in on time."""
        self.gate.block("127.9.0.0/16", 1.0)
        events = []
        self.patch(SynGate, "log", Logger(observer=events.append))

        def unpackable(networks):
            raise struct.error("ubyte format requires 0 <= number <= 255")
        self.patch(syngate, "program", unpackable)
        self.assertFalse(self.gate.block("10.1.0.0/16", 5.0))
        self.assertEqual(list(self.gate.blocked), [0x7F090000])
        self.assertIn("does not pack", events[-1]["log_format"])
        self.assertTrue(self.gate.active)
        self.clock.advance(1.0)
        self.assertEqual(self.socket.programs[-1], None)
        self.assertEqual(self.gate.blocked, {})
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aReleaseWhoseProgramDoesNotGoOnLetsEveryGroupIn(self):
        self.gate.block("127.9.0.0/16", 1.0)
        self.gate.block("10.1.0.0/16", 5.0)
        self.patch(SynGate, "log", Logger(observer=lambda event: None))

        def unpackable(networks):
            raise ValueError("does not pack")
        self.patch(syngate, "program", unpackable)
        self.clock.advance(1.0)
        self.assertEqual(self.socket.programs[-1], None)
        self.assertEqual(self.gate.blocked, {})
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertTrue(self.gate.active)

    def test_forPort(self):
        class Port:
            socket = None
        self.assertIsNone(SynGate.forPort(self.clock, Port()))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        Port.socket = sock
        self.assertIsNone(SynGate.forPort(self.clock, Port()))


class BoundTests(SynchronousTestCase):
    """The gate at its bound of MAX_BLOCKED groups and past it, on a
    recorded socket and on a real listening one."""

    def setUp(self):
        self.clock = task.Clock()
        self.events = []
        self.patch(SynGate, "log", Logger(observer=self.events.append))

    def blockAll(self, gate, count):
        return [gate.block(_name(i), 1.0 + i / 1000) for i in range(count)]

    def test_atTheBoundEveryGroupIsBlockedAndLetIn(self):
        recorded = Socket()
        gate = SynGate(self.clock, recorded, recorded.attach, recorded.detach)
        self.assertEqual(self.blockAll(gate, MAX_BLOCKED), [True] * MAX_BLOCKED)
        code = recorded.programs[-1]
        self.assertEqual(run(code, ipv4Header(_host(_group(MAX_BLOCKED - 1)))), 0)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(1.0 + MAX_BLOCKED / 1000)
        self.assertEqual(recorded.programs[-1], None)
        self.assertEqual(gate.blocked, {})
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_pastTheBoundNoneMoreAndOneLine(self):
        """The 257th and 258th groups are left to the rate limit's close,
        said once (again a minute later at the earliest); once a group is
        let in, a new one is blocked again."""
        recorded = Socket()
        gate = SynGate(self.clock, recorded, recorded.attach, recorded.detach)
        self.blockAll(gate, MAX_BLOCKED)
        self.assertFalse(gate.block(_name(MAX_BLOCKED), 1.0))
        self.assertFalse(gate.block(_name(MAX_BLOCKED + 1), 1.0))
        self.assertEqual(len(gate.blocked), MAX_BLOCKED)
        full = [e for e in self.events if "as many as it holds" in e["log_format"]]
        self.assertEqual(len(full), 1)
        self.assertEqual(run(recorded.programs[-1],
                             ipv4Header(_host(_group(MAX_BLOCKED)))), 0xFFFFFFFF)
        self.clock.advance(1.0)
        self.assertTrue(gate.block(_name(MAX_BLOCKED), 1.0))
        self.assertFalse(gate.block(_name(MAX_BLOCKED + 1), 1.0))
        self.clock.advance(2.0)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.blockAll(gate, MAX_BLOCKED + 1)
        self.assertEqual(len([e for e in self.events
                              if "as many as it holds" in e["log_format"]]), 1)
        self.clock.advance(syngate.FULL_LINE_EVERY)
        self.blockAll(gate, MAX_BLOCKED + 1)
        self.assertEqual(len([e for e in self.events
                              if "as many as it holds" in e["log_format"]]), 2)

    def test_aRealSocketTakesTheProgramAtTheBound(self):
        """The kernel takes the program of MAX_BLOCKED groups on a
        listening socket, and drops the SYNs of a blocked group (on
        loopback, 127.9.0.0/16) while another's are answered."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(10)
        gate = SynGate(self.clock, listener)
        self.addCleanup(gate.stop)
        if not gate.block("127.9.0.0/16", 1.0):
            raise SkipTest("this kernel takes no filter on a listening socket")
        self.assertEqual(self.blockAll(gate, MAX_BLOCKED - 1), [True] * (MAX_BLOCKED - 1))
        self.assertEqual(len(gate.blocked), MAX_BLOCKED)
        flooder, honest = _client("127.9.0.1"), _client("127.0.0.1")
        self.addCleanup(flooder.close)
        self.addCleanup(honest.close)
        self.assertNotEqual(flooder.connect_ex(listener.getsockname()), 0)
        honest.settimeout(10)
        honest.connect(listener.getsockname())
        accepted, source = listener.accept()
        accepted.close()
        self.assertEqual(source, honest.getsockname())
        self.clock.advance(2.0)
        self.assertEqual(gate.blocked, {})


def _name(index):
    """The group of L{_group}(index), as a name."""
    return f"{_host(_group(index)).rsplit('.', 2)[0]}.0.0/16"


def _client(source):
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.bind((source, 0))
    client.setblocking(False)
    return client


class RateGateTests(SynchronousTestCase):
    """A group the rate limit refuses REFUSALS_BEFORE_GATE times in a row
    is blocked at every gate of the rate, for as long as it must wait; a
    burst of a few too many is closed one by one."""

    def setUp(self):
        self.clock = task.Clock()
        self.rates = RateLimit(self.clock, CONNECTIONS_LIMIT, 2)
        self.blocked = []

        class Gate:
            def block(gate, group, seconds):
                self.blocked.append((group, seconds))
                return True
        self.rates.gates = (Gate(),)

    def connect(self, host="127.9.0.1"):
        class Addr:
            pass
        addr = Addr()
        addr.host = host
        return admitted(self.rates, addr, _Quiet(), None)

    def test_aFloodIsBlocked(self):
        self.assertTrue(self.connect())
        self.assertTrue(self.connect())
        for _ in range(REFUSALS_BEFORE_GATE - 1):
            self.assertFalse(self.connect())
        self.assertEqual(self.blocked, [])
        self.assertFalse(self.connect())
        self.assertEqual(self.blocked, [("127.9.0.0/16", 0.5)])

    def test_aConnectionTakenStartsTheCountAgain(self):
        self.connect(), self.connect()
        for _ in range(REFUSALS_BEFORE_GATE - 1):
            self.connect()
        self.clock.advance(0.5)
        self.assertTrue(self.connect())
        self.assertEqual(self.rates.refusedInARow("127.9.0.0/16"), 0)
        self.assertFalse(self.connect())
        self.assertEqual(self.blocked, [])

    def test_untilNext(self):
        self.assertEqual(self.rates.untilNext("127.9.0.0/16"), 0.0)
        self.connect(), self.connect()
        self.assertEqual(self.rates.untilNext("127.9.0.0/16"), 0.5)
        self.clock.advance(0.2)
        self.assertAlmostEqual(self.rates.untilNext("127.9.0.0/16"), 0.3)
        self.clock.advance(0.3)
        self.assertEqual(self.rates.untilNext("127.9.0.0/16"), 0.0)


class _Quiet:
    def emit(self, logger, level, group, text, **fields):
        pass


class GatePortTests(SynchronousTestCase):
    """A port's gate joins its rate's gates while it listens."""

    def test_gateAndUngate(self):
        clock = task.Clock()
        rates = RateLimit(clock, CONNECTIONS_LIMIT, 2)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sock.close)

        class Port:
            pass
        port = Port()
        port.socket = sock
        first, second = gatePort(clock, port, rates), gatePort(clock, port, rates)
        self.assertEqual(rates.gates, (first, second))
        ungate(first, rates)
        self.assertEqual(rates.gates, (second,))
        self.assertFalse(first.active)
        ungate(None, rates)
        self.assertEqual(rates.gates, (second,))

    def test_aPortWithoutASocketHasNoGate(self):
        rates = RateLimit(task.Clock(), CONNECTIONS_LIMIT, 2)
        self.assertIsNone(gatePort(task.Clock(), object(), rates))
        self.assertEqual(rates.gates, ())
