"""
An in-memory network on a fake clock: hosts, listening ports and
connections, with optional faults.  Nothing here opens a socket or reads
the wall clock: L{MemoryNetwork} connects real protocols through in-memory
transports that deliver each write after a (possibly zero) delay on the
shared clock, so runs are deterministic.
"""

import random

from twisted.internet import defer, error, task
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import (
    IListeningPort,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
    ITransport,
)
from twisted.python.failure import Failure
from zope.interface import implementedBy, implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.lan import isLocal
from twisted_bazaar.net.standin import StandIn
from twisted_bazaar.net.timers import letGo, wokenAt
from twisted_bazaar.transports.connector import IConnector


#: A L{MemoryTransport}'s state, in bits: it is connected; it was told
#: to hang up (C{disconnecting}, which stays set once it is closed).
_CONNECTED = 1
_DISCONNECTING = 2

#: The port a host's first port taken (L{MemoryNetwork.listen} on port 0,
#: or its first connection's local end) is; the next are the ports after.
FIRST_PORT = 40000
#: Seconds after a step within which a timer is due by a rounding only
#: (L{MemoryNetwork.run}): above a float clock's last place at any date.
ROUNDING = 1e-6


@implementer(ITransport)
class MemoryTransport:
    """
    One end of an in-memory connection.  Writes reach the other end's
    ``dataReceived`` after the network's latency, in order.

    @ivar host: this end's address; its peer's is the other end's.
    """

    # A simulation holds two of these per link, hundreds of thousands: five
    # slots, not ten (the peer's address is the other end's own, the two
    # flags are bits of one small int, the rare pull producer is kept by
    # the network, and the network is the class's: each network has a
    # subclass of its own).
    __slots__ = ("protocol", "host", "other", "_state", "_last_delivery")

    #: The L{MemoryNetwork} of this end (set on each network's subclass).
    network = None
    #: Whether a punch's simultaneous open made this connection
    #: (L{twisted_bazaar.testing.punchdial}).
    punched = False
    #: Whether this connection joins two hosts of one home, over its LAN
    #: (L{twisted_bazaar.testing.nat}).
    lan = False

    def __init__(self, protocol, host):
        self.protocol = protocol
        self.host = host
        self.other = None
        self._state = _CONNECTED
        self._last_delivery = 0.0

    @property
    def connected(self):
        """Whether the connection is still open at this end."""
        return bool(self._state & _CONNECTED)

    @property
    def disconnecting(self):
        """Whether this end was told to hang up (loseConnection)."""
        return bool(self._state & _DISCONNECTING)

    @property
    def peer(self):
        """The address of the other end, as this end sees it."""
        return self.other.outside

    @property
    def outside(self):
        """This end's address as the other end sees it: its own, but
        through a home's router (see L{_SeenThroughRouter})."""
        return self.host

    @property
    def producer(self):
        """The pull producer registered on this end, or None."""
        return self.network._producers.get(self)

    def getHost(self):
        """This end's address; at its local address for a host on a home's
        LAN, as a socket behind a router names its own."""
        homes = self.network.homes
        if homes is None or not homes.lans:
            return self.host
        lan = homes.lanOf(self.host.host)
        return self.host if lan is None else IPv4Address("TCP", lan, self.host.port)

    def getPeer(self):
        return self.other.outside

    def write(self, data):
        if self._state == _CONNECTED and data:
            if self.network._producers:
                self._pull()
            self.network.bytes_written += len(data)
            faults = self.network.faults
            if faults is None:
                self._schedule(self.other.dataArrived, data)
            else:
                faults.deliver(self, data)

    def writeSequence(self, data):
        self.write(b"".join(data))

    def registerProducer(self, producer, streaming):
        """
        Memory links never fill up: a streaming producer is never paused,
        and a pull producer (C{FileSender}'s kind) is asked for more on
        the next turn of the clock after each write, until it unregisters.
        """
        if streaming:
            self.unregisterProducer()
        else:
            self.network._producers[self] = producer
            self._pull()

    def unregisterProducer(self):
        self.network._producers.pop(self, None)

    def _pull(self):
        """Ask the pull producer for more on the next turn (once)."""
        network = self.network
        if (self in network._producers and self not in network._pulling
                and self._state == _CONNECTED):
            network._pulling.add(self)
            network.clock.callLater(0, self._resume)

    def _resume(self):
        network = self.network
        network._pulling.discard(self)
        producer = network._producers.get(self)
        if producer is not None and self._state == _CONNECTED:
            # The network's count, not one of this end's own (an int less
            # on each of a simulation's ends): deliveries wait for the
            # clock, so what it carries meanwhile is the producer's.
            before = network.bytes_written
            producer.resumeProducing()
            # A producer that wrote nothing (waiting on a timer of its
            # own) is asked again only after its next write.
            if network.bytes_written != before:
                self._pull()

    def loseConnection(self):
        if self.hangUp():
            self._schedule(self.network._close, self, error.ConnectionDone())

    def abortConnection(self):
        if self._state & _CONNECTED:
            self.network._close(self, error.ConnectionAborted())

    def _schedule(self, function, *args, extra=0.0):
        """Deliver after the latency, never before what was sent earlier
        (unless ``extra`` delay is asked for, which lets later writes pass)."""
        clock = self.network.clock
        now = clock.seconds()
        when = now + self.network.delay()
        if extra:
            when += extra
        else:
            when = max(when, self._last_delivery)
            self._last_delivery = when
        schedule = getattr(clock, "schedule", clock.callLater)
        schedule(when - now, function, *args)

    def dataArrived(self, data):
        if self._state & _CONNECTED:
            self.protocol.dataReceived(data)

    # What a network of another kind (a shard's, L{twisted_bazaar.sim.shardnet})
    # does with an end, which keeps its own state.

    def sending(self, data):
        """Whether a write of data goes out: this end is open and not
        hanging up, and data is not empty.  If so, the network counts it,
        and a pull producer is asked for more on the next turn."""
        if self._state != _CONNECTED or not data:
            return False
        if self.network._producers:
            self._pull()
        self.network.bytes_written += len(data)
        return True

    def inOrder(self, when):
        """The time of this end's next delivery due at when: never before
        what it sent earlier (remembered, for the next)."""
        if when < self._last_delivery:
            when = self._last_delivery
        self._last_delivery = when
        return when

    def hangUp(self):
        """This end is told to hang up; whether it was open and not hanging
        up already."""
        if self._state != _CONNECTED:
            return False
        self._state = _CONNECTED | _DISCONNECTING
        return True

    def closed(self, reason):
        """This end is closed: its protocol is told the exception reason,
        once (an end closed before is left as it is)."""
        if self._state & _CONNECTED:
            self._state &= ~_CONNECTED
            self.protocol.connectionLost(Failure(reason))

    def pauseProducing(self):
        """
        A protocol that stops reading (a seller refusing a buyer, a buyer
        whose disk lags) asks its transport to pause: a memory connection
        holds nothing back, and keeps delivering what was written.
        """

    def resumeProducing(self):
        """See L{pauseProducing}."""


class _SeenThroughRouter(MemoryTransport):
    """The end of a connection opened from a home (L{MemoryNetwork.homes}):
    the other end sees it at the router's public address, not its own."""

    __slots__ = ("outside",)


class _Punched(_SeenThroughRouter):
    """The end of a connection both ends opened at once (a punch's
    simultaneous open): the other end sees it where its SYN came from."""

    __slots__ = ()
    punched = True


@implementer(IListeningPort)
class FullEnd(MemoryTransport):
    """
    A quiet end made full (L{QuietEnd}): a memory transport which, among
    its clock's deadlines, stands for its link's keepalive check (the
    link's C{_due}, which it reads and lets go of) until the link is
    checked or let go.
    """

    __slots__ = ()

    @property
    def _due(self):
        return self.protocol.nextCheck

    @_due.setter
    def _due(self, when):
        if when is None:
            letGo(self.protocol)
        else:
            wokenAt(self.protocol, when)

    def _expire(self):
        self.protocol._expire()


class QuietEnd(MemoryTransport, StandIn):
    """
    One end of a memory connection a simulation built
    (L{twisted_bazaar.sim.warm}) before it carries a frame, standing in
    its overlay's table for the link it will be
    (L{twisted_bazaar.net.standin}), and made that link and its transport
    when a part is handed either end, either end's keepalive check comes,
    or the connection is cut.

    It is the memory transport it will be, of another class: the same
    five slots (72 bytes), read as its overlay (C{protocol}), its address
    (C{host}), its far end (C{other}), its purpose (C{_state}) and when
    its keepalive check is due (C{_last_delivery}, as C{_due}), where a
    link end held a L{Link<twisted_bazaar.net.link.Link>} of 168 bytes
    more.  Made full, it takes its transport's class in place (the slots
    the same), so that it keeps its places: the network's open
    connections (a cut closes them in the order made), and its clock's
    deadlines, where it stands for its link's keepalive check
    (L{FullEnd}).  A connection's two ends are made full together:
    neither carries a frame alone.
    """

    __slots__ = ()

    #: Whether the far end opened the connection (a subclass says).
    inbound = False
    #: What a link not closing says, for the table's counts.
    closing = False
    connected = True
    disconnecting = False

    def __init__(self, overlay, host, purpose):
        MemoryTransport.__init__(self, overlay, host)
        self._state = purpose
        self._last_delivery = None

    def meet(self, other):
        """other is this end's far end."""
        self.other = other

    @property
    def purpose(self):
        return self._state

    @property
    def transport(self):
        """Itself, for what reads a link's transport's peer."""
        return self

    @property
    def address(self):
        """Where the far end's node listens, as its link would say."""
        node = self.other.protocol.node
        return self.network.where(node.host, node.port)

    @property
    def _due(self):
        return self._last_delivery

    @_due.setter
    def _due(self, when):
        self._last_delivery = when

    def full(self):
        """Both ends made full; this end's link."""
        far = self.other
        mine, theirs = self.protocol, far.protocol
        self._fill(mine, theirs.node)
        far._fill(theirs, mine.node)
        return self.protocol

    def _fill(self, overlay, peer):
        """This end made full, overlay's link to peer (a node) on it."""
        network = self.network
        proven = overlay.node.identity is not None and peer.identity is not None
        link = overlay.linkFor(self, peer.id, network.where(peer.host, peer.port),
                               peer.identity.key if proven else None, self)
        self.madeFull(link, network.fullClass, self.other)

    def madeFull(self, link, fullClass, far):
        """This end made the transport of link, of fullClass (its slots
        the same), its far end far, and link woken when this end's
        keepalive check was due."""
        due = self._last_delivery
        self.__class__ = fullClass
        MemoryTransport.__init__(self, link, self.host)
        self.other = far
        if due is not None:
            wokenAt(link, due)

    def _expire(self):
        self.full()
        self.protocol._expire()

    def closed(self, reason):
        """Cut (L{MemoryNetwork.cut}): made full, then closed as a
        transport is."""
        self.full()
        self.closed(reason)


class QuietIn(QuietEnd):
    """The end of a quiet connection that its far end opened."""

    __slots__ = ()
    inbound = True


class _MemoryPort:
    """A port listening on a L{MemoryNetwork}: slots, as a simulation holds
    one a node (40 bytes less each than a dict of attributes), and its
    network its class's, as a transport's (each network has a subclass of
    its own).

    @ivar where: its (host, port), the network's key for it: one tuple for
        the table and whoever names the port by it (L{MemoryNetwork.where}).
    """

    __slots__ = ("address", "factory", "where")

    #: The L{MemoryNetwork} of this port (set on each network's subclass).
    network = None
    #: Whether it took its port as the first its host took (port 0, on a
    #: host that had taken none): then it stands for its host's count of
    #: ports taken while it listens (L{MemoryNetwork._takePort}), and the
    #: network keeps none (set on a subclass of each network's).
    first = False

    def __init__(self, address, factory, where):
        self.address = address
        self.factory = factory
        self.where = where

    def getHost(self):
        return self.address

    def startListening(self):
        pass

    def stopListening(self):
        self.network._unlisten(self.where)
        return defer.succeed(None)


@implementer(IStreamServerEndpoint)
class MemoryServerEndpoint:
    def __init__(self, network, host, port=0):
        self.network = network
        self.host = host
        self.port = port

    def listen(self, factory):
        return defer.maybeDeferred(self.network.listen, factory, self.host,
                                   self.port)


@implementer(IStreamClientEndpoint)
class MemoryClientEndpoint:
    def __init__(self, network, from_host, host, port):
        self.network = network
        self.from_host = from_host
        self.host = host
        self.port = port

    def connect(self, factory):
        protocol = factory.buildProtocol(IPv4Address("TCP", self.host, self.port))
        return self.network.connect(self.host, self.port, protocol,
                                    from_host=self.from_host)


@implementer(IConnector)
class MemoryConnector:
    """A node's connector on the memory network (see EndpointConnector):
    plain, without a channel."""

    channel = None
    peerLog = None
    #: Its hosts are labels (a simulation's ``n5``): no address, no DNS.
    addressed = False

    # Slots: a simulation holds one a node.
    __slots__ = ("network", "from_host")

    def __init__(self, network, from_host):
        self.network = network
        self.from_host = from_host

    def connect(self, host, port, protocol, expected=None):
        """Connect protocol to host:port.  The memory network has no
        channel: the key a peer must prove (C{expected}) is not checked."""
        return self.network.connect(host, port, protocol, from_host=self.from_host)

    def listen(self, factory, port=0):
        """Listen with factory on this host (port 0: the next free one)."""
        return defer.maybeDeferred(self.network.listen, factory, self.from_host, port)

    def resolve(self, name, port):
        """A label is its own address: the memory network has no DNS."""
        return defer.succeed([name])


class Faults:
    """
    Message-level faults for a MemoryNetwork: each write (one netstring, as
    the links write whole frames) may be dropped, duplicated or delayed past
    later writes, each with its own probability.
    """

    def __init__(self, rng, drop=0.0, dup=0.0, reorder=0.0, reorder_delay=0.05):
        self.rng = rng
        self.drop = drop
        self.dup = dup
        self.reorder = reorder
        self.reorder_delay = reorder_delay
        self.counts = {"dropped": 0, "duplicated": 0, "reordered": 0}

    def deliver(self, transport, data):
        rng = self.rng
        if self.drop and rng.random() < self.drop:
            self.counts["dropped"] += 1
            return
        copies = 1
        if self.dup and rng.random() < self.dup:
            self.counts["duplicated"] += 1
            copies = 2
        for _ in range(copies):
            extra = 0.0
            if self.reorder and rng.random() < self.reorder:
                self.counts["reordered"] += 1
                extra = self.reorder_delay * (1 + rng.random())
            transport._schedule(transport.other.dataArrived, data, extra=extra)


def ofNetwork(name, base, network, **fields):
    """
    A subclass of base, named name, whose instances know network (and
    fields) without a slot for it on each, declaring what base declares.

    It shares base's own interface declaration rather than have zope make
    one of its own: zope.interface's adapter registry keeps, for the
    process's life, the declaration of every class an object was adapted
    from (C{IRelayedTransport(transport, None)}), and a declaration of its
    own holds its class, so its network, and every node on it, would
    outlive the run (a shard on a Dask worker that runs again, each test
    of the suite's).
    """
    return type(name, (base,), {"__slots__": (), "__implemented__": implementedBy(base),
                                "network": network, **fields})


class MemoryNetwork:
    """
    Hosts, listening ports and connections, all in memory, on one clock.

    @ivar latency: (low, high) one-way delay in seconds, drawn per write.
    @ivar faults: a L{Faults}, or None for a perfect network.
    @ivar homes: the L{twisted_bazaar.testing.nat.Homes} of the hosts
        behind routers, or None when every host is public.
    """

    homes = None
    #: The class of a plain end (made a subclass for each network).
    endClass = MemoryTransport
    #: A quiet end's classes (L{quietEnds}): opener's, acceptor's, made
    #: full.
    quietClasses = (QuietEnd, QuietIn, FullEnd)

    def __init__(self, clock=None, rng=None, latency=(0.0, 0.0), faults=None):
        self.clock = clock if clock is not None else task.Clock()
        self.rng = rng if rng is not None else random.Random(0)
        self.latency = latency
        self.faults = faults
        self.bytes_written = 0
        #: The class of this network's transports: a L{MemoryTransport}
        #: that knows its network without a slot for it on each end.
        self._Transport = ofNetwork("MemoryTransport", self.endClass, self)
        self._Routed = ofNetwork("MemoryTransport", _SeenThroughRouter, self)
        self._Punched = ofNetwork("MemoryTransport", _Punched, self)
        self._OnLan = ofNetwork("MemoryTransport", MemoryTransport, self, lan=True)
        #: A quiet end's classes, before and once made full (L{QuietEnd}).
        out, into, full = self.quietClasses
        self._QuietOut = ofNetwork("QuietEnd", out, self)
        self.QuietIn = ofNetwork("QuietEnd", into, self)
        self.fullClass = ofNetwork("MemoryTransport", full, self)
        self._Port = ofNetwork("_MemoryPort", _MemoryPort, self)
        self._FirstPort = ofNetwork("_MemoryPort", _MemoryPort, self, first=True)
        self.dead_hosts = set()
        self._listeners = {}
        #: host -> how many ports it took (listening, or the local ends
        #: of its connections), when it took any: a small int, one object
        #: for every host, not the next port, an int of its own for each
        #: (32 bytes a simulated node).  None for a host whose one port
        #: taken is the one it listens on (a L{_MemoryPort} whose C{first}
        #: stands for the count: a simulated node, an entry of 46 bytes
        #: less each).
        self._ports_taken = {}
        #: client end -> server end of every open connection, oldest first
        #: (a dict keeps its insertion order): closing one is O(1), and a
        #: closed one is forgotten at once, with its protocols, which
        #: matters when thousands of nodes open and close links.
        self._open = {}
        #: end -> the pull producer registered on it (see
        #: L{MemoryTransport.registerProducer}); the ends whose producer
        #: is to be asked for more on the next turn.
        self._producers = {}
        self._pulling = set()

    @property
    def connections(self):
        """The open connections, as (client end, server end), oldest first."""
        return list(self._open.items())

    def delay(self):
        low, high = self.latency
        # random.uniform's own (documented) formula, without a call more
        # for each of the millions of writes of a simulation.
        return low if low == high else low + (high - low) * self.rng.random()

    def listen(self, factory, host, port=0):
        kind = self._Port
        if not port:
            if self._takenBy(host) or (host, FIRST_PORT) in self._listeners:
                port = self._takePort(host)
            else:
                # Its first port, counted by the port itself while it listens.
                port, kind = FIRST_PORT, self._FirstPort
        where = (host, port)
        if where in self._listeners:
            raise error.CannotListenError(host, port, "address in use")
        listening = kind(IPv4Address("TCP", host, port), factory, where)
        self._listeners[where] = listening
        return listening

    def _unlisten(self, where):
        """The port listening at where (host, port) closes: its host's count
        of ports taken kept, if the port stood for it."""
        listening = self._listeners.pop(where, None)
        if listening is not None and listening.first:
            host = where[0]
            self._ports_taken.setdefault(host, 1)

    def where(self, host, port):
        """
        (host, port) as a tuple: the key of the port listening there, if
        one does, which every holder of it can share (a simulation's peers
        of a node name it so: 56 bytes a node), else a new one.
        """
        listening = self._listeners.get((host, port))
        return (host, port) if listening is None else listening.where

    def listenerAt(self, host, port):
        """The port listening at host:port, or None."""
        return self._listeners.get((host, port))

    def connect(self, host, port, protocol, from_host="client"):
        """Connect protocol to whatever listens on host:port; the Deferred
        fires with the protocol once both ends are connected."""
        d = defer.Deferred()
        self.clock.callLater(self.delay(), self._complete, host, port, protocol,
                             from_host, d)
        return d

    def _complete(self, host, port, protocol, from_host, d):
        homes = self.homes
        if homes is not None and homes.lans and isLocal(host):
            # A local address: a host of the dialler's own LAN, or nobody
            # (another home's LAN is not this one).
            on_lan = homes.onLan(from_host, host)
            if on_lan is None:
                self.clock.callLater(homes.timeout, _timedOut, d, hostPort(host, port),
                                     "no host at that local address on this LAN")
                return
            host = on_lan
        if homes is not None and not homes.admits(from_host, host):
            # A router drops the SYN: the dialler hears nothing, and gives up.
            self.clock.callLater(homes.timeout, _timedOut, d, hostPort(host, port))
            return
        listening = self._listeners.get((host, port))
        if listening is None or from_host in self.dead_hosts:
            d.errback(Failure(error.ConnectionRefusedError(hostPort(host, port))))
            return
        client_address = self.nextAddress(from_host)
        server = listening.factory.buildProtocol(client_address)
        if server is None:
            d.errback(Failure(error.ConnectionRefusedError("refused by factory")))
            return
        client_end, server_end = self._join(protocol, client_address, server,
                                            listening.address)
        server.makeConnection(server_end)
        protocol.makeConnection(client_end)
        d.callback(protocol)

    def nextAddress(self, host):
        """The address of host's next outgoing connection."""
        return IPv4Address("TCP", host, self._takePort(host))

    def _takenBy(self, host):
        """How many ports host took: its count, or 1 while the port that
        stands for it listens (L{_MemoryPort.first}), else 0."""
        taken = self._ports_taken.get(host)
        if taken is None:
            listening = self._listeners.get((host, FIRST_PORT))
            taken = 1 if listening is not None and listening.first else 0
        return taken

    def _takePort(self, host):
        """host's next port: L{FIRST_PORT}, then the ports after it in
        turn."""
        taken = self._takenBy(host)
        self._ports_taken[host] = taken + 1
        # The first port itself, one object, for the most common case (a
        # simulated node's listening port).
        return FIRST_PORT + taken if taken else FIRST_PORT

    def _join(self, client, client_address, server, server_address):
        """Two ends, one for each protocol, joined and counted open: over
        the LAN between two hosts of one home."""
        homes = self.homes
        seen = None
        plain = self._Transport
        if homes is not None:
            router = homes.routerOf(client_address.host)
            if router is not homes.routerOf(server_address.host):
                seen = homes.seenFrom(client_address.host, client_address.port)
            elif router is not None:
                plain = self._OnLan
        if seen is None:
            client_end = plain(client, client_address)
        else:
            client_end = self._Routed(client, client_address)
            client_end.outside = IPv4Address("TCP", *seen)
        server_end = plain(server, server_address)
        client_end.other, server_end.other = server_end, client_end
        self._open[client_end] = server_end
        return client_end, server_end

    def pair(self, client, from_host, server, host, port, from_port=None):
        """
        The two ends of a connection from from_host to host:port, one for
        each protocol, open at once and made known to neither: no
        ``makeConnection``, no delay.  For a simulator that builds the
        links a converged overlay has as they are once established (see
        L{twisted_bazaar.sim.warm}); anyone else wants L{connect}.

        @param from_port: a port from_host listens on: the connection comes
            from that port's address (one object for every connection it
            opens, as with C{SO_REUSEPORT}) rather than from a new port
            and address of its own.
        @return: (client end, server end).
        """
        source, address = self._pairAddresses(from_host, host, port, from_port)
        return self._join(client, source, server, address)

    def _pairAddresses(self, from_host, host, port, from_port):
        """The addresses of L{pair}'s two ends, (client's, server's)."""
        listening = self._listeners.get((host, port))
        # The listening port's own address, as a connection made through
        # it has: one object for all its connections.
        address = (IPv4Address("TCP", host, port) if listening is None
                   else listening.address)
        mine = self._listeners.get((from_host, from_port))
        source = mine.address if mine is not None else self.nextAddress(from_host)
        return source, address

    def quietPair(self, opener, acceptor, purpose):
        """
        As L{pair} from opener's node's listening port to acceptor's, two
        quiet ends (L{QuietEnd}) standing in
        opener's and acceptor's overlays for their links of purpose, open
        and counted; or None, nothing taken, where L{pair} makes ends of
        another kind (a home's, or this network's own).

        @return: (opener's end, acceptor's end), or None.
        """
        near, far = opener.node, acceptor.node
        homes = self.homes
        if self.endClass is not MemoryTransport or (
                homes is not None and (homes.routerOf(near.host) is not None
                                       or homes.routerOf(far.host) is not None)):
            return None
        return self.quietEnds(opener, acceptor, purpose)

    def quietEnds(self, opener, acceptor, purpose):
        """L{quietPair}'s two ends, made whatever this network's ends are
        (a shard's network asks for them only between nodes of its own)."""
        near, far = opener.node, acceptor.node
        source, address = self._pairAddresses(near.host, far.host, far.port, near.port)
        client_end = self._QuietOut(opener, source, purpose)
        server_end = self.QuietIn(acceptor, address, purpose)
        client_end.meet(server_end)
        server_end.meet(client_end)
        self._open[client_end] = server_end
        return client_end, server_end

    def punched(self, first, first_address, first_seen, second, second_address,
                second_seen):
        """
        The two ends of a connection two hosts opened to each other at once
        (a punch's simultaneous open,
        L{twisted_bazaar.testing.punchdial}), one for each protocol, open
        and counted, made known to neither (no ``makeConnection``).

        @param first_address: the L{IPv4Address} first's end has locally.
        @param first_seen: (host, port) the other end sees it at (through
            its router, if it sits behind one).
        @return: (first's end, second's end).
        """
        ends = []
        for protocol, address, seen in ((first, first_address, first_seen),
                                        (second, second_address, second_seen)):
            end = self._Punched(protocol, address)
            end.outside = IPv4Address("TCP", *seen)
            ends.append(end)
        first_end, second_end = ends
        first_end.other, second_end.other = second_end, first_end
        self._open[first_end] = second_end
        return first_end, second_end

    def _close(self, transport, reason):
        for end in (transport, transport.other):
            end.closed(reason)
        for end in (transport, transport.other):
            self.forget(end)

    def forget(self, end):
        """A closed end is forgotten: no open connection, no producer."""
        self._open.pop(end, None)
        if self._producers:
            self._producers.pop(end, None)

    def cut(self, host):
        """Break every connection of host at once, as a crash would."""
        for pair in self.connections:
            for end in pair:
                if end.host.host == host and end.connected:
                    self._close(end, error.ConnectionLost())

    def crash(self, host):
        """The host dies: its ports close, its connections break, and it
        can open no new ones."""
        self.dead_hosts.add(host)
        for key in [key for key in self._listeners if key[0] == host]:
            self._unlisten(key)
        self.cut(host)

    def run(self, seconds, step=0.05):
        """Let virtual time pass, running every timer and delivery due."""
        run_for = getattr(self.clock, "runFor", None)
        if run_for is not None:
            run_for(seconds)
            return
        end = self.clock.seconds() + seconds
        while self.clock.seconds() < end:
            stepClock(self.clock, min(step, end - self.clock.seconds()))
        self.clock.advance(0)


def stepClock(clock, seconds):
    """
    Advance a C{task.Clock} by a step, and to a timer due within a
    rounding after: a step (0.05, no binary fraction) falls short of the
    sum of steps by up to half a unit of the clock's last place (0.12 us
    at an epoch's 1.8e9), and a timer set a whole number of steps ahead
    would wait a whole step more (a paced seller's piece 0.30 s, not
    0.25 s).  A reactor runs it as its time passes.
    """
    clock.advance(seconds)
    calls = clock.getDelayedCalls()
    if calls:
        # task.Clock keeps its calls sorted by their time.
        late = calls[0].getTime() - clock.seconds()
        if 0 < late < ROUNDING:
            clock.advance(late)


def _timedOut(d, address, why="behind a NAT router"):
    """A dial into a home fails, unless its dialler gave up first."""
    if not d.called:
        d.errback(Failure(error.TimeoutError(f"{address}: nothing answered ({why})")))


def cutLink(network, host_a, host_b):
    """Break every connection between two hosts, as a failing route would;
    both stay up and may connect again."""
    for pair in network.connections:
        if {end.host.host for end in pair} == {host_a, host_b} and pair[0].connected:
            network._close(pair[0], error.ConnectionLost())
