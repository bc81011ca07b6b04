"""
Home routers for UDP, in memory: what each kind of NAT does to a
datagram going out (which public port it leaves from) and to one coming
in (whether a mapping takes it, and to which host), after RFC 4787's
terms, and a network of such routers that delivers datagrams after a
latency on a clock.  The model that the UDP punch's tests and the
simulator (``bazaar-sim --nat-mix``) run
L{twisted_bazaar.reach.punch.udp.plan} against.

The kinds:

- L{FULL_CONE}: endpoint-independent mapping and filtering; it keeps the
  local port while it is free.
- L{PORT_RESTRICTED}: endpoint-independent mapping, address-and-port
  dependent filtering (Linux ``MASQUERADE`` for UDP): a datagram comes in
  only from where the mapping has sent one.
- L{SEQUENTIAL}: a mapping per destination, its ports allocated in
  sequence (a few of them taken by the home's other traffic in between),
  filtering as port-restricted.
- L{RANDOM}: a mapping per destination, each port drawn at random
  (``MASQUERADE --random-fully``), filtering as port-restricted.

A router may also be one that keeps Linux conntrack's entries for what
came unasked (``conntrack``: plain ``MASQUERADE`` with no firewall in
front of the router itself): a datagram from a peer that no mapping
takes still holds the pair (its public port, the peer), and the host's
own first datagram of that pair later leaves from another port, drawn at
random.  Such a router forgets an entry no datagram came back on
L{UNASKED <twisted_bazaar.reach.punch.udp.plan.UNASKED>} s after its last
datagram (``nf_conntrack_udp_timeout``), the pair that came unasked as
its host's own mapping towards a peer (a symmetric router's mapping with
it: the pair's next datagram is given a port anew, as
``MASQUERADE --random-fully`` draws one for each new entry).  And a datagram sent with a TTL
(L{UdpNetwork.send}) dies on the way unless it lives past its sender's
router and the network's routers in between (L{UdpNetwork.between}); one
its own router drops for its TTL still keeps that router's entry of its
pair alive, as conntrack refreshes an entry before routing.

State is made on first use only: a router that saw no datagram holds two
empty references.
"""

from twisted.internet import defer

from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.udp.plan import PORTS, UNASKED

FULL_CONE = "full-cone"
PORT_RESTRICTED = "port-restricted"
SEQUENTIAL = "symmetric-sequential"
RANDOM = "symmetric-random"
KINDS = (FULL_CONE, PORT_RESTRICTED, SEQUENTIAL, RANDOM)
#: The odds that, between two mappings of a sequential router, the
#: home's other traffic took a port (then one to three).
OTHER_TRAFFIC = 0.2


class UdpRouter:
    """One home's router for UDP: its public address, kind (L{KINDS}),
    the generator its ports are drawn from, and (a sequential one) the
    odds that the home's other traffic takes ports between two of its
    mappings."""

    __slots__ = ("public", "kind", "rng", "other", "conntrack", "_out", "_in", "_next",
                 "_flows", "_taken", "_due")

    def __init__(self, public, kind, rng, other=OTHER_TRAFFIC, conntrack=False):
        if kind not in KINDS:
            raise ValueError(f"a UDP router is one of {', '.join(KINDS)}, not {kind!r}")
        self.public = public
        self.kind = kind
        self.rng = rng
        #: The odds that other traffic took ports between two mappings.
        self.other = other
        #: Whether what comes unasked holds its pair (see the module).
        self.conntrack = conntrack
        #: (source, destination) -> its public port, and the pairs (public
        #: port, remote) that came unasked -> when one last came: a
        #: conntrack router's.
        self._flows = None
        self._taken = None
        #: mapping key -> public port (made on first use).
        self._out = None
        #: public port -> [local (host, port), remote it sent to -> when
        #: a datagram of that pair last passed].
        self._in = None
        self._next = None
        #: No entry is forgotten before this time (L{_forget}).
        self._due = None

    def outbound(self, source, destination, now=0.0):
        """The public port a datagram from local (host, port) ``source``
        to (host, port) ``destination`` leaves from, at time ``now``."""
        if self._out is None:
            self._out, self._in = {}, {}
        self._forget(now)
        flow = self._flows.get((source, destination)) if self._flows else None
        if flow is not None:
            self._in[flow][1][destination] = now
            return flow
        dependent = self.kind in (SEQUENTIAL, RANDOM)
        key = (source, destination) if dependent else source
        port = self._out.get(key)
        if port is None:
            port = self._allocate(source[1], destination)
            self._out[key] = port
            self._in[port] = [source, {}]
        if self._taken and (port, destination) in self._taken:
            # The pair came in unasked first: conntrack gives this flow
            # a port of its own, drawn.
            port = self._draw(destination)
            self._in[port] = [source, {}]
        if self.conntrack:
            if self._flows is None:
                self._flows = {}
            self._flows[(source, destination)] = port
            self._dueBy(now + UNASKED)
        self._in[port][1][destination] = now
        return port

    def refresh(self, source, destination, now):
        """A datagram of that pair came to this router and died here (its
        TTL): a conntrack router's entry of the pair lives on from now."""
        self._forget(now)
        flow = self._flows.get((source, destination)) if self._flows else None
        if flow is not None:
            self._in[flow][1][destination] = now

    def _dueBy(self, when):
        """An entry made now is forgotten at ``when``, or later if a
        datagram of it passes again.  A microsecond early: L{_forget}
        compares ``now - last`` with L{UNASKED}, which rounds otherwise
        than ``last + UNASKED``."""
        when -= 1e-6
        if self._due is None or when < self._due:
            self._due = when

    def _forget(self, now):
        """
        A conntrack router forgets the pairs that came unasked, and its
        hosts' flows, whose last datagram is L{UNASKED} s old.  It looks
        them over only once the oldest may be (L{_due}: the soonest any
        could be forgotten, a bound a datagram only puts later): looked
        over at each datagram, a birthday punch's thousands of entries
        cost a test of its races 25 CPU-s.
        """
        if not self.conntrack or self._due is None or now < self._due:
            return
        self._due = None
        if self._taken:
            for pair, last in list(self._taken.items()):
                if now - last >= UNASKED:
                    del self._taken[pair]
                else:
                    self._dueBy(last + UNASKED)
        if self._flows:
            for (source, destination), port in list(self._flows.items()):
                last = self._in[port][1].get(destination, now)
                if now - last < UNASKED:
                    self._dueBy(last + UNASKED)
                    continue
                del self._flows[(source, destination)]
                del self._in[port][1][destination]
                if self.kind in (SEQUENTIAL, RANDOM) and self._out.get(
                        (source, destination)) == port:
                    # A mapping per destination is its entry: the
                    # pair's next datagram is given a port anew.
                    del self._out[(source, destination)]
                    if not self._in[port][1]:
                        del self._in[port]

    def _draw(self, destination):
        """A random port no mapping holds, nor an unasked pair with
        destination."""
        port = self.rng.randrange(*PORTS)
        while port in self._in or (self._taken and (port, destination) in self._taken):
            port = self.rng.randrange(*PORTS)
        return port

    def _allocate(self, local_port, destination):
        taken = self._in
        if self.kind == RANDOM:
            return self._draw(destination)
        if self.kind == SEQUENTIAL:
            if self._next is None:
                self._next = self.rng.randrange(PORTS[0], PORTS[1] // 2)
            if self.other and self.rng.random() < self.other:
                self._next += self.rng.randint(1, 3)
            port, self._next = self._next, self._next + 1
            return port
        port = local_port
        while port in taken:
            port = self.rng.randrange(*PORTS)
        return port

    def inbound(self, port, source, now=0.0):
        """The local (host, port) a datagram from (host, port) ``source``
        to public ``port`` at time ``now`` goes to, or None (dropped)."""
        self._forget(now)
        entry = None if self._in is None else self._in.get(port)
        if entry is not None and (self.kind == FULL_CONE or source in entry[1]):
            if source in entry[1]:
                entry[1][source] = now
            return entry[0]
        if self.conntrack:
            if self._taken is None:
                self._taken = {}
            self._taken[(port, source)] = now
            self._dueBy(now + UNASKED)
        return None


class UdpNetwork:
    """
    Datagrams between hosts, some behind L{UdpRouter}s: each arrives
    ``latency`` seconds after it is sent, on ``clock``, at the socket
    bound to where the destination's router (or the public host) takes
    it, or nowhere; ``between`` routers forward it on the way from one
    home's router (or public host) to another.
    """

    def __init__(self, clock, latency=0.03, between=1):
        self.clock = clock
        self.latency = latency
        self.between = between
        #: host -> its router (hosts at home only).
        self.routers = {}
        #: public address -> its router.
        self._publics = {}
        #: (host, port) -> receiver(local port, from host, from port, data).
        self._sockets = {}
        self.sent = 0
        self.delivered = 0

    def place(self, host, router):
        """Put host behind router."""
        self.routers[host] = router
        self._publics[router.public] = router

    def bind(self, host, port, receiver):
        """Datagrams to host:port go to receiver(port, from_host, from_port,
        data)."""
        self._sockets[(host, port)] = receiver

    def unbind(self, host, port):
        self._sockets.pop((host, port), None)

    def seenFrom(self, host, port, destination):
        """Where a datagram from host:port to ``destination`` is seen to
        come from (it passes the router, making its mapping)."""
        router = self.routers.get(host)
        if router is None:
            return host, port
        return router.public, router.outbound((host, port), destination,
                                              self.clock.seconds())

    def send(self, host, port, to_host, to_port, data, ttl=0):
        """Send a datagram from host:port; delivered after the latency,
        unless its ``ttl`` (0: the host's own, which reaches) ends before
        it arrives: each router on the way forwards it only with more
        than 1 left, and it makes its sender's router's mapping only if
        that router forwards it."""
        self.sent += 1
        home = host in self.routers
        if ttl and ttl <= home:
            self.routers[host].refresh((host, port), (to_host, to_port),
                                       self.clock.seconds())
            return
        source = self.seenFrom(host, port, (to_host, to_port))
        if ttl and ttl - home - self.between < 1:
            return
        self.clock.callLater(self.latency, self._arrive, source, to_host, to_port, data)

    def _arrive(self, source, to_host, to_port, data):
        router = self._publics.get(to_host)
        local = ((to_host, to_port) if router is None
                 else router.inbound(to_port, source, self.clock.seconds()))
        receiver = None if local is None else self._sockets.get(local)
        if receiver is not None:
            self.delivered += 1
            receiver(local[1], source[0], source[1], data)


#: The tracker's two UDP ports its reach check sees a node's datagrams at.
TRACKER_PORTS = (3479, 3480)
#: A side's first local socket's port; socket i is at BASE_PORT + i.
BASE_PORT = 40000


def trackerSeen(network, host, tracker):
    """What the tracker at host ``tracker`` sees of host's two datagrams
    from its socket 0 to its two ports: a
    L{twisted_bazaar.reach.punch.udp.plan.UdpMapping}."""
    seen = [network.seenFrom(host, BASE_PORT, (tracker, port)) for port in TRACKER_PORTS]
    return udppunch.mappingOf(seen[0][0], seen[0][1], seen[1][1])


def punchPair(network, a, b, tracker, rng, nonce, budgets=(None, None),
              direct=(False, False), lag=0.0, replan=None, patient=False, near=None):
    """
    Punch between hosts a and b of network, as the tracker at host
    ``tracker`` saw them: each side's L{UdpPunch
    <twisted_bazaar.reach.punch.udp.plan.UdpPunch>} started (its sockets
    bound at L{BASE_PORT} on), and both returned with their Deferreds:
    ((punch a, Deferred a), (punch b, Deferred b)).  ``direct``: whether
    a, and b, reach the other directly (its plan L{DIRECT
    <twisted_bazaar.reach.punch.udp.plan.DIRECT>}: the other is public).
    ``lag``: b starts that many seconds after a (the tracker's go reached
    it later).  ``replan``: each plan made into replan(plan) (a test's
    variant of the plans).  ``patient``: the plans are patient ones.
    ``near``: (seconds, seconds) or None: the plans are sounded ones, and
    each side learns that the other's router is on its segment
    (L{UdpPunch.nearPeer <twisted_bazaar.reach.punch.udp.plan.UdpPunch.nearPeer>})
    that many seconds after its start (None: never), as its sounding's
    answer or the peer's word tells it.
    """
    seen = {host: trackerSeen(network, host, tracker) for host in (a, b)}
    sides = []
    for host, peer, budget, reaches in ((a, b, budgets[0], direct[0]),
                                        (b, a, budgets[1], direct[1])):
        plan = udppunch.plan(seen[host], seen[peer], rng, direct=reaches, patient=patient,
                             sound=near is not None)
        if replan is not None:
            plan = replan(plan)

        def send(socket, to_host, to_port, data, ttl=0, host=host):
            network.send(host, BASE_PORT + socket, to_host, to_port, data, ttl)

        punch = udppunch.UdpPunch(network.clock, plan, nonce, send, budget=budget)
        for socket in range(plan.sockets):
            network.bind(host, BASE_PORT + socket,
                         lambda port, h, p, data, punch=punch: punch.datagramReceived(
                             port - BASE_PORT, h, p, data))
        told = None if near is None else near[host != a]
        if told is not None:
            network.clock.callLater((lag if host == b else 0) + told, punch.nearPeer)
        if host == b and lag:
            started = defer.Deferred()
            network.clock.callLater(lag, lambda punch=punch, started=started:
                                    punch.start().chainDeferred(started))
        else:
            started = punch.start()
        sides.append((punch, started))
    return tuple(sides)
