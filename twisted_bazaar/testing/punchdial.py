"""
The dial of a punch on the in-memory network: the counterpart of
L{twisted_bazaar.transports.tcp.fromport.PunchDialer}, a TCP simultaneous open
through the home routers of L{MemoryNetwork.homes}, so that a simulation
runs the daemons' own punches (L{twisted_bazaar.reach.punch.tcp.service}) and only
the sockets are modelled.

A dial sends a SYN from its local port to the address its punch aims at,
and sends it again 1 s and 3 s later (Linux's first retransmission
timeout, doubled each time) until it gives up, L{DIAL_TIMEOUT} after the
first.  Each SYN reaches the other side after the network's latency.
There it meets the other side's dial if that dial has sent its own SYN
from the address this one aims at, to the address this one comes from:
the connection is up, at both ends, at once (the SYN-ACKs that follow
are not modelled).  Otherwise a router drops it (it has no mapping for
it: the other side has not dialled yet, or its router draws a port for
each connection, a symmetric NAT, so that no SYN aims where it sends
from), and a retransmission may meet the other side later; a public host
with no such dial answers with a reset, and the dial fails at once, as a
connect refused does.  A SYN from a symmetric router comes from a port
the other side did not aim at, and meets nothing either.
"""

from twisted.internet import defer, error
from twisted.internet.address import IPv4Address
from twisted.python.failure import Failure

from twisted_bazaar.transports.tcp.fromport import DIAL_TIMEOUT

#: Seconds after a dial's first SYN that it sends the next, doubled each
#: time (Linux's initial retransmission timeout).
FIRST_RETRY = 1.0


def synTimes(timeout):
    """The times, from a dial's start, at which it sends a SYN before
    ``timeout``: 0, 1, 3, 7..."""
    times, wait, at = [0.0], FIRST_RETRY, FIRST_RETRY
    while at < timeout:
        times.append(at)
        wait *= 2
        at += wait
    return times


class _Dial:
    """One dial under way: from where, seen where, aimed where."""

    def __init__(self, host, local_port, seen, target, protocol, opener, done):
        self.host = host
        self.local_port = local_port
        #: (host, port) the other side sees this dial's SYNs come from.
        self.seen = seen
        #: (host, port) its SYNs aim at.
        self.target = target
        self.protocol = protocol
        self.opener = opener
        self.done = done
        self.timers = []
        self.over = False


class SimultaneousOpens:
    """
    The punch dials under way on one L{MemoryNetwork}, and what became of
    their SYNs (L{counts}).
    """

    def __init__(self, network, timeout=DIAL_TIMEOUT):
        self.network = network
        self.timeout = timeout
        #: (seen, target) -> the L{_Dial} sending SYNs from seen to target.
        self._dials = {}
        #: dials started; SYNs sent, dropped by a router, reset by a
        #: public host; connections made (two dials met), dials timed out.
        self.counts = {"dials": 0, "syns": 0, "dropped": 0, "reset": 0,
                       "connected": 0, "timed_out": 0}
        #: The dials over whose reset is on its way back (L{_arrive}).
        self._resetting = set()

    def dialer(self, host):
        """The punch dialer of a node on host."""
        return MemoryPunchDialer(self, host)

    def dial(self, host, local_port, target, protocol, opener):
        """See L{MemoryPunchDialer.dial}."""
        network = self.network
        if not local_port:
            # From any local port: an ordinary connect, which needs no
            # other side's dial (a dial of a peer's local address by the
            # dialer's LAN way, L{twisted_bazaar.reach.ways.Lan}).
            return network.connect(target[0], target[1], protocol, from_host=host)
        homes = network.homes
        seen = homes.seenFrom(host, local_port) if homes is not None else None
        dial = _Dial(host, local_port, seen or (host, local_port), target, protocol,
                     opener, None)
        dial.done = defer.Deferred(lambda _: self._end(dial))
        self._dials[(dial.seen, target)] = dial
        self.counts["dials"] += 1
        clock = network.clock
        dial.timers = [clock.callLater(at, self._send, dial)
                       for at in synTimes(self.timeout)[1:]]
        dial.timers.append(clock.callLater(self.timeout, self._timedOut, dial))
        self._send(dial)
        return dial.done

    def _send(self, dial):
        self.counts["syns"] += 1
        dial.timers.append(self.network.clock.callLater(self.network.delay(),
                                                        self._arrive, dial))

    def _arrive(self, dial):
        """dial's SYN reaches the other side."""
        if dial.over:
            return
        network = self.network
        homes = network.homes
        if homes is not None and dial.target[0] == dial.seen[0] and homes.isRouter(
                dial.seen[0]):
            # Aimed at its own router's public address: a router does not
            # hairpin, so the SYN goes nowhere.
            self.counts["dropped"] += 1
            return
        other = self._dials.get((dial.target, dial.seen))
        if other is not None and not (network.dead_hosts and other.host in
                                      network.dead_hosts):
            self._connect(dial, other)
            return
        if homes is not None and homes.isRouter(dial.target[0]):
            self.counts["dropped"] += 1
            return
        self.counts["reset"] += 1
        # Over at once: the reset on its way back closes the mapping its
        # SYN opened, so nothing meets it any more.
        self._end(dial)
        self._resetting.add(dial)
        dial.timers.append(network.clock.callLater(network.delay(), self._reset, dial))

    def _reset(self, dial):
        self._resetting.discard(dial)
        dial.timers = []
        dial.done.errback(Failure(error.ConnectionRefusedError(
            f"{dial.target[0]}:{dial.target[1]}: reset (nothing dialled back from "
            "there)")))

    def _timedOut(self, dial):
        self.counts["timed_out"] += 1
        self._end(dial)
        dial.done.errback(Failure(error.TimeoutError(
            f"{dial.target[0]}:{dial.target[1]}: no SYN met within "
            f"{self.timeout:g} s")))

    def _connect(self, first, second):
        """The two dials met: one connection, up at both ends."""
        for dial in (first, second):
            self._end(dial)
        opener, other = (first, second) if first.opener else (second, first)
        ends = self.network.punched(
            opener.protocol, IPv4Address("TCP", opener.host, opener.local_port),
            opener.seen, other.protocol, IPv4Address("TCP", other.host, other.local_port),
            other.seen)
        self.counts["connected"] += 1
        for dial, end in zip((opener, other), ends):
            dial.protocol.makeConnection(end)
        for dial in (opener, other):
            dial.done.callback(dial.protocol)

    def stop(self):
        """
        The network's run has ended (a simulation's, which stops by no
        longer advancing its clock): every dial's timers are cancelled,
        those of the dials under way and of the resets on their way back.
        Their Deferreds are left as they are: nothing runs any more to
        hear of them.
        """
        for dial in list(self._dials.values()):
            self._end(dial)
        resetting, self._resetting = self._resetting, set()
        for dial in resetting:
            self._end(dial)

    def _end(self, dial):
        """dial is over: forgotten, its timers cancelled."""
        dial.over = True
        key = (dial.seen, dial.target)
        if self._dials.get(key) is dial:
            del self._dials[key]
        timers, dial.timers = dial.timers, []
        for timer in timers:
            if timer.active():
                timer.cancel()


class MemoryPunchDialer:
    """The punch dialer of one host, as
    L{twisted_bazaar.transports.tcp.fromport.PunchDialer} is a daemon's.

    @cvar addressed: False: its hosts are the memory network's labels
        (``n5``), punched as the tracker names them."""

    addressed = False

    def __init__(self, opens, host):
        self.opens = opens
        self.host = host

    def dial(self, local_port, host, port, protocol, opener, expected):
        """
        Connect protocol to host:port from ``local_port`` by simultaneous
        open (see the module); from local port 0, by an ordinary connect
        (what answers there must listen).  The memory network has no channel: the
        key the peer must prove (``expected``) is not checked, and
        ``opener`` names only the end the connection's first end is.

        @return: a Deferred firing with protocol once the connection is
            up, or failing with why not; cancelling it ends the dial.
        """
        return self.opens.dial(self.host, local_port, (host, port), protocol, opener)
