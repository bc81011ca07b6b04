"""
New connections from an address group over its connection rate, turned
away by the kernel: a flood from one group then costs the node's process
nothing, where each connection the rate limit closes costs it an accept
and a close, about 70 µs (docs/reliability.md, "A flood of connections
turned away by the kernel").

On Linux, a listening TCP socket runs the classic BPF program attached to
it (``SO_ATTACH_FILTER``) on every packet that comes to it, the opening
SYN included, and drops those it returns 0 for.  L{SynGate} keeps such a
program on a node's listening socket: it drops the IPv4 packets whose
source is in one of the /16s blocked, and keeps every other packet.  A
group is blocked when the rate limit refuses one of its connections
(L{twisted_bazaar.net.connections.admitted}), for as long as it must
wait for its next connection, and no less than L{SHORTEST_BLOCK}; so its
SYNs go unanswered meanwhile (a client's connect retries them, or times
out), and the rate it is held to is the same.  IPv6 groups, groups past
L{MAX_BLOCKED}, and systems whose kernel takes no such program are left
to the rate limit's close.
"""

import ctypes
import ipaddress
import socket
import struct

from twisted.logger import Logger

from twisted_bazaar.base.limitregistry import declare

#: Seconds a group stays blocked at least: blocked for less, a flood
#: would change the program a thousand times a second.  The group's rate
#: holds either way (while blocked, its bucket fills up).
SHORTEST_BLOCK = 0.25
#: IPv4 groups blocked at once, at most (each a test in the program).
MAX_BLOCKED = 256
BLOCKED_LIMIT = declare(
    "net.syngate", MAX_BLOCKED, "address groups",
    "IPv4 address groups over their connection rate whose new connections "
    "the kernel drops at once (past it, each such connection is accepted "
    "and closed)", owner=__name__)

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
SO_DETACH_FILTER = getattr(socket, "SO_DETACH_FILTER", 27)
#: Where the network header starts, for a load (the kernel's SKF_NET_OFF).
_NET = -0x100000
_LD_B_ABS, _LD_W_ABS = 0x30, 0x20
_RSH_K, _AND_K = 0x74, 0x54
_JEQ_K, _RET_K = 0x15, 0x06
_KEEP, _DROP = 0xFFFFFFFF, 0
#: Instructions the kernel takes in one classic BPF program (BPF_MAXINSNS),
#: and so the groups one of L{program}'s holds, far above L{MAX_BLOCKED}.
MAX_INSTRUCTIONS = 4096
MAX_PROGRAM_GROUPS = (MAX_INSTRUCTIONS - 7) // 2
#: Seconds between two lines that the gate holds as many groups as it may
#: (groups let in and others blocked at the flood's pace would say it at
#: each).
FULL_LINE_EVERY = 60.0


def _insn(code, jt, jf, k):
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


def program(networks):
    """
    The filter's instructions: drop an IPv4 packet whose source's first
    16 bits are one of ``networks`` (/16 prefixes as integers, the low 16
    bits zero), keep everything else.

    Every jump skips at most one instruction (each test is followed by
    its own "drop"), so the program packs for any number of groups: a
    jump's offset is one unsigned byte, and a program whose tests all
    jumped to one "drop" at its end no longer packed at the 254th group
    (2 + 3 + 1 + 2 * count instructions here; the kernel takes up to
    L{MAX_INSTRUCTIONS}, so at most L{MAX_PROGRAM_GROUPS} groups).

    @raise ValueError: for more groups than a program may hold.
    """
    if len(networks) > MAX_PROGRAM_GROUPS:
        raise ValueError(f"{len(networks)} groups do not fit in one filter "
                         f"(at most {MAX_PROGRAM_GROUPS})")
    code = [_insn(_LD_B_ABS, 0, 0, _NET), _insn(_RSH_K, 0, 0, 4),
            # Not IPv4: keep.
            _insn(_JEQ_K, 1, 0, 4), _insn(_RET_K, 0, 0, _KEEP),
            _insn(_LD_W_ABS, 0, 0, _NET + 12), _insn(_AND_K, 0, 0, 0xFFFF0000)]
    for network in networks:
        code += [_insn(_JEQ_K, 0, 1, network), _insn(_RET_K, 0, 0, _DROP)]
    code.append(_insn(_RET_K, 0, 0, _KEEP))
    return b"".join(code)


def ipv4Network(group):
    """The /16 prefix of an IPv4 address group (``"10.1.0.0/16"``) as an
    integer; None for any other group."""
    try:
        network = ipaddress.ip_network(group)
    except ValueError:
        return None
    if network.version != 4 or network.prefixlen != 16:
        return None
    return int(network.network_address)


def attachFilter(sock, code):
    """Attach the program ``code`` to ``sock`` (raises C{OSError} where
    the kernel takes none)."""
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HL", len(code) // 8, ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def detachFilter(sock):
    sock.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)


class SynGate:
    """
    The groups a listening socket's kernel filter turns away, each until
    its time is up.  The program is attached anew when the set changes;
    one timer, for the soonest group to let in again.

    @ivar active: False once the kernel refused the program (or the gate
        stopped): the rate limit then closes each connection itself.
    """

    log = Logger()

    def __init__(self, clock, sock, attach=attachFilter, detach=detachFilter,
                 limit=MAX_BLOCKED):
        self.clock = clock
        self.sock = sock
        self._attach = attach
        self._detach = detach
        self.limit = limit
        self.active = True
        #: /16 prefix -> when it is let in again.
        self.blocked = {}
        self._attached = False
        self._timer = None
        #: When the line that L{limit} groups are blocked was said last.
        self._saidFull = None

    @classmethod
    def forPort(cls, clock, port):
        """A gate on a listening port's socket, or None for a port with
        none (not TCP, or not over IP)."""
        sock = getattr(port, "socket", None)
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        return cls(clock, sock)

    def block(self, group, seconds):
        """
        Turn away ``group``'s new connections for ``seconds`` (at least
        L{SHORTEST_BLOCK}); a group already blocked for longer stays so.
        Past L{limit} groups, none more is (one line says so, at most once
        a minute): their connections are the rate limit's to close, as
        before.

        @return: whether the group was not blocked and now is (its
            program on the socket, its release timed).
        """
        network = ipv4Network(group)
        if not self.active or network is None:
            return False
        until = self.clock.seconds() + max(SHORTEST_BLOCK, seconds)
        known = self.blocked.get(network)
        if known is not None:
            self.blocked[network] = max(known, until)
            return False
        if len(self.blocked) >= self.limit:
            now = self.clock.seconds()
            if self._saidFull is None or now - self._saidFull >= FULL_LINE_EVERY:
                self._saidFull = now
                self.log.info("{limit} address groups are turned away by the kernel "
                              "already, as many as it holds (net.syngate): more that "
                              "flood are closed one by one until some are let in "
                              "(said at most once a minute)", limit=self.limit)
            return False
        return self._install({**self.blocked, network: until})

    def _install(self, blocked):
        """
        Put the program for ``blocked`` (/16 -> when it is let in; none
        blocked: no program) on the socket, then keep those groups and
        time the next one's release.  Nothing is kept of a program that
        did not go on: one that does not pack changes nothing (the groups
        blocked before stay, with their timer), and a kernel that takes
        none turns the gate off (L{stop}).

        @return: whether the program went on.
        """
        try:
            code = program(sorted(blocked)) if blocked else None
        except (ValueError, struct.error) as e:
            self.log.warn("not turning away {n} address groups in the kernel: their "
                          "filter does not pack ({why})", n=len(blocked), why=e)
            return False
        try:
            if code is not None:
                self._attach(self.sock, code)
                self._attached = True
            elif self._attached:
                self._attached = False
                self._detach(self.sock)
        except OSError as e:
            self.log.info("new connections over their address group's rate are "
                          "closed one by one: the kernel takes no filter on the "
                          "listening socket ({why})", why=e.strerror or e)
            self.stop()
            return False
        self.blocked = blocked
        self._schedule()
        return True

    def _schedule(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.blocked:
            wait = max(0.0, min(self.blocked.values()) - self.clock.seconds())
            self._timer = self.clock.callLater(wait, self._release)

    def _release(self):
        """Let in again the groups whose time is up; if the program for
        the rest will not go on, every group (a program of fewer groups
        than one that packed always packs: this is the last guard that no
        group stays blocked with no timer to let it in)."""
        self._timer = None
        now = self.clock.seconds()
        kept = {network: until for network, until in self.blocked.items() if until > now}
        if not self._install(kept) and self.active:
            self._install({})

    def stop(self):
        """Let every group in, and keep no timer: the socket closes, or the
        kernel took no program."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._attached:
            self._attached = False
            try:
                self._detach(self.sock)
            except OSError:
                pass
        self.active = False
        self.blocked = {}


def gatePort(clock, port, rates):
    """
    Put a gate on a listening ``port`` for ``rates`` (a
    L{RateLimit <twisted_bazaar.net.connections.RateLimit>}): the groups
    its refusals make floods are turned away at this port too.

    @return: the gate, for L{ungate} when the port closes; None for a
        port that takes none.
    """
    gate = SynGate.forPort(clock, port)
    if gate is not None:
        rates.gates = (*rates.gates, gate)
    return gate


def ungate(gate, rates):
    """The port of ``gate`` (from L{gatePort}) closes: let every group in
    and forget the gate."""
    if gate is not None:
        gate.stop()
        rates.gates = tuple(known for known in rates.gates if known is not gate)
