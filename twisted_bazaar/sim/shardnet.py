"""
One shard's in-memory network: a L{MemoryNetwork} whose connections may
end on another shard, where what crosses is a message (L{Message}) handed
over between windows (L{twisted_bazaar.sim.windows}).

What a shard's network does must not depend on which nodes share its
process, so that a run gives the same metrics on 1, 2 or 4 shards:

 - a message's delay is drawn from its key (L{ShardClock.key}: its
   sender's context and count), not from one generator every write of the
   process draws from in turn;
 - a connection opened during the run is two messages, a SYN to the
   listener's host and its answer back (L{ACCEPT}), each after a delay,
   even between two nodes of one shard; the listener's end exists from
   the SYN, the dialler's from the answer;
 - a closed connection closes the other end by a message too (at the
   same time for C{loseConnection}, a delay later for
   C{abortConnection}), never by reaching into it.

A connection between two nodes of one shard made by a warm start
(L{pair}) joins its two ends directly, as L{MemoryNetwork} does: a write
is a delivery on the clock, in the receiver's context.

A warm start's link end of a purpose that does not close when idle is a
quiet end (L{twisted_bazaar.testing.memory.QuietEnd}) until a part takes
it: between two nodes of one shard a pair made full together (L{quietHere},
L{_QuietShardEnd}), and an end whose other end is on another shard made
full alone, when a part takes it or at its first message
(L{quietHalf}, L{_QuietCross}).
"""

from twisted.internet import defer, error
from twisted.internet.address import IPv4Address
from twisted.python.failure import Failure

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.testing.memory import (
    FullEnd,
    MemoryNetwork,
    MemoryTransport,
    QuietEnd,
    QuietIn,
    ofNetwork,
)

#: What a L{Message} asks of the shard it reaches.
DATA, CLOSE, SYN, ACCEPT = range(4)
#: Why a connection closed, as a L{CLOSE} says it.
_REASONS = (error.ConnectionDone, error.ConnectionLost, error.ConnectionAborted)
DONE, LOST, ABORTED = range(3)

_MASK = (1 << 64) - 1


def mix(value):
    """64 well-mixed bits of an int (SplitMix64's finaliser)."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


class ShardEnd(MemoryTransport):
    """
    A L{MemoryTransport} of a shard: it knows its context (C{ctx}, its
    node's), and its other end is a local one (or, a L{CrossEnd}, a
    message away).
    """

    __slots__ = ("ctx",)

    #: Whether the other end is a message away (L{CrossEnd}).
    remote = False

    def write(self, data):
        if self.sending(data):
            network = self.network
            when, key = self._next()
            if self.remote:
                network.send(self.peer_ctx, self.end_id ^ 1, when, key, DATA, data)
            else:
                other = self.other
                network.clock.deliver(when, key, other.ctx, other.dataArrived, (data,))

    def _next(self):
        """(when, key) of this end's next delivery: its delay drawn from its
        key, never before what it sent earlier."""
        network = self.network
        clock = network.clock
        key = clock.key()
        return self.inOrder(clock.now + network.delayOf(key)), key

    def loseConnection(self):
        if self.hangUp():
            when, key = self._next()
            network = self.network
            network.clock.deliver(when, key, self.ctx, network.closeEnd, (self, DONE))
            network.closeOther(self, when, DONE)

    def abortConnection(self):
        if self.connected:
            network = self.network
            network.closeEnd(self, ABORTED)
            when = network.clock.now + network.delayOf(network.clock.key())
            network.closeOther(self, when, ABORTED)


class CrossEnd(ShardEnd):
    """
    An end whose other end is a message away: on another shard, or made
    during the run (see the module).  What it knows of that end is kept
    in its own slots, not in an object of its own (a shard at a million
    nodes holds more than a million of these): its id, C{end_id} ^ 1 (this
    end's is C{end_id}, by which the shard's table of ends,
    L{ShardNetwork._ends}, finds it), its context C{peer_ctx} (its shard
    is that context's), and its address, in C{other}.
    """

    __slots__ = ("end_id", "peer_ctx")

    remote = True

    @property
    def peer(self):
        """The other end's address (no NAT in a sharded run)."""
        return self.other

    def getPeer(self):
        return self.other


class _FullShardEnd(FullEnd, ShardEnd):
    """A same-shard quiet end made full: a L{ShardEnd} that stands for its
    link's keepalive check among the deadlines (L{FullEnd})."""

    __slots__ = ()


class _QuietShardEnd(QuietEnd, ShardEnd):
    """A quiet end (L{QuietEnd}) whose other end is on its shard: the
    slots of the L{ShardEnd} it is made (its context's one more, 80
    bytes), both ends of the pair made full together."""

    __slots__ = ()


class _QuietShardIn(QuietIn, _QuietShardEnd):
    """The end of a same-shard quiet connection that its far end opened."""

    __slots__ = ()


class _FullCross(FullEnd, CrossEnd):
    """A crossing quiet end made full (L{_FullShardEnd}'s kind)."""

    __slots__ = ()


class _QuietCross(QuietEnd, CrossEnd):
    """
    A quiet end whose other end is on another shard: the slots of the
    L{CrossEnd} it is made (96 bytes, where a crossing end held a link of
    168 more), its far end's L{Stub<twisted_bazaar.sim.shardbuild.Stub>}
    in C{other} until then (its id, key and address, what its link is
    made with).  The other shard makes its own end full when it will, so
    this one is made full alone: when a part is handed it, its keepalive
    check comes, a message reaches it (the far end's link spoke first) or
    its connection closes.  No table is asked at a message: the class
    changes once made full (L{_FullCross}).
    """

    __slots__ = ()

    @property
    def address(self):
        return self.other.where

    @property
    def peer(self):
        return self.other.address

    def getPeer(self):
        return self.other.address

    def full(self):
        """This end made full (not the far one, another shard's); its link."""
        stub = self.other
        link = self.protocol.linkFor(self, stub.id, stub.where, stub.key, self)
        self.madeFull(link, self.network.fullCross, stub.address)
        return link

    def dataArrived(self, data):
        """A message for it: made full, its link is handed the message."""
        self.full()
        self.dataArrived(data)


class _QuietCrossIn(QuietIn, _QuietCross):
    """A crossing quiet end that its far end opened."""

    __slots__ = ()


class ShardNetwork(MemoryNetwork):
    """
    The network of one shard (see the module).

    @ivar shard: this shard's number.
    @ivar placement: context -> the shard that holds it (a bytes-like).
    @ivar outbox: shard -> the L{Message}s for it since the last window.
    @ivar crossing: (messages, bytes) sent to other shards.
    """

    endClass = ShardEnd
    quietClasses = (_QuietShardEnd, _QuietShardIn, _FullShardEnd)

    def __init__(self, clock, seed, latency, shard, placement, contextOf):
        """
        @param seed: the run's seed: with a message's key, its delay.
        @param contextOf: host label -> the context of the node on it.
        """
        super().__init__(clock, None, latency)
        self._Cross = ofNetwork("MemoryTransport", CrossEnd, self)
        self._QuietCrossOut = ofNetwork("QuietEnd", _QuietCross, self)
        self._QuietCrossIn = ofNetwork("QuietEnd", _QuietCrossIn, self)
        self.fullCross = ofNetwork("MemoryTransport", _FullCross, self)
        self.shard = shard
        self.placement = placement
        self.contextOf = contextOf
        self._salt = mix(seed)
        self.outbox = {}
        self.crossing = [0, 0]
        #: end id -> the L{CrossEnd} here of that id: what an arriving
        #: message names.
        self._ends = {}
        #: connection -> (protocol, Deferred, its address, "host:port") of
        #: a connect waiting for its L{ACCEPT}.
        self._dialling = {}

    def delayOf(self, key):
        """The delay of the entry of that key: drawn from the key alone."""
        low, high = self.latency
        if low == high:
            return low
        return low + (high - low) * ((mix(key ^ self._salt) >> 11) * (1.0 / (1 << 53)))

    # -- messages -------------------------------------------------------------------

    def send(self, ctx, end, when, key, kind, payload):
        """A message for the end of that id of the context ctx (here, or
        on its shard): in the clock if here, else in the outbox of its
        shard."""
        shard = self.placement[ctx]
        if shard == self.shard:
            self.clock.deliver(when, key, ctx, self.arrive, (kind, end, payload))
            return
        self.outbox.setdefault(shard, []).append((when, key, ctx, kind, end, payload))
        self.crossing[0] += 1
        if kind == DATA:
            self.crossing[1] += len(payload)

    def takeOutbox(self):
        """shard -> the messages for it since the last call (emptied)."""
        out, self.outbox = self.outbox, {}
        return out

    def receive(self, messages):
        """Messages from other shards, each into the clock at its time, in
        its receiver's context, by its sender's key."""
        clock, arrive = self.clock, self.arrive
        for when, key, ctx, kind, end, payload in messages:
            if when < clock.now:
                raise RuntimeError(f"a message due at {when!r} reached a shard at "
                                   f"{clock.now!r}: the window was longer than the "
                                   "lookahead")
            clock.deliver(when, key, ctx, arrive, (kind, end, payload))

    def arrive(self, kind, end_id, payload):
        """What a message does as it arrives (see L{send})."""
        if kind == DATA:
            end = self._ends.get(end_id)
            if end is not None:
                end.dataArrived(payload)
        elif kind == CLOSE:
            end = self._ends.get(end_id)
            if end is not None:
                self.closeEnd(end, payload)
        elif kind == SYN:
            self._answer(end_id, payload)
        else:
            self._accepted(end_id, payload)

    # -- connections made during the run ------------------------------------------------

    def connect(self, host, port, protocol, from_host="client"):
        """A SYN to host:port; the Deferred fires with protocol once its
        answer comes back (see the module)."""
        d = defer.Deferred()
        clock = self.clock
        key = clock.key()
        address = self.nextAddress(from_host)
        self._dialling[key] = (protocol, d, address, hostPort(host, port))
        self.send(self.contextOf(host), key << 1 | 1, clock.now + self.delayOf(key), key,
                  SYN, (address.host, address.port, host, port, clock.context))
        return d

    def _answer(self, server_id, payload):
        """A SYN: the listener's end made (its protocol connected) and
        the answer sent; or a refusal, if nothing listens there."""
        dial_host, dial_port, host, port, ctx = payload
        clock = self.clock
        key = clock.key()
        when = clock.now + self.delayOf(key)
        dialler = IPv4Address("TCP", dial_host, dial_port)
        listening = self.listenerAt(host, port)
        server = None
        if listening is not None and dial_host not in self.dead_hosts:
            server = listening.factory.buildProtocol(dialler)
        if server is None:
            self.send(ctx, server_id ^ 1, when, key, ACCEPT, None)
            return
        end = self._cross(server, listening.address, clock.context, server_id, ctx, dialler,
                          when)
        self.send(ctx, server_id ^ 1, when, key, ACCEPT, (clock.context, host, port))
        server.makeConnection(end)

    def _accepted(self, client_id, payload):
        """The answer to a SYN: the dialler's end made and connected, or
        the connect refused."""
        protocol, d, address, target = self._dialling.pop(client_id >> 1)
        if payload is None:
            d.errback(Failure(error.ConnectionRefusedError(target)))
            return
        ctx, host, port = payload
        end = self._cross(protocol, address, self.clock.context, client_id, ctx,
                          IPv4Address("TCP", host, port))
        protocol.makeConnection(end)
        d.callback(protocol)

    # -- a warm start's connections -------------------------------------------------------

    def pairHere(self, client, client_ctx, from_host, from_port, server, server_ctx,
                 host, port):
        """Two ends of a connection between two nodes of this shard, joined
        directly (L{MemoryNetwork.pair}), each knowing its context."""
        ends = self.pair(client, from_host, server, host, port, from_port=from_port)
        ends[0].ctx, ends[1].ctx = client_ctx, server_ctx
        return ends

    def quietHere(self, opener, ctx_a, acceptor, ctx_b, purpose):
        """Two quiet ends (L{_QuietShardEnd}) of a link of purpose from
        opener's node to acceptor's, both overlays of this shard, standing
        in their tables (as L{pairHere}'s ends of two links would)."""
        ends = self.quietEnds(opener, acceptor, purpose)
        ends[0].ctx, ends[1].ctx = ctx_a, ctx_b
        return ends

    def quietHalf(self, overlay, ctx, address, end_id, peer_ctx, stub, purpose, inbound):
        """
        As L{half}, a quiet end (L{_QuietCross}) standing in overlay's
        table for its link of purpose to the node stub stands for.
        """
        if end_id in self._ends:
            raise ValueError(f"two connections of one id, {end_id}")
        if inbound:
            end = self._QuietCrossIn(overlay, address, purpose)
        else:
            end = self._QuietCrossOut(overlay, address, purpose)
        end.meet(stub)
        end.ctx = ctx
        end.end_id = end_id
        end.peer_ctx = peer_ctx
        self._ends[end_id] = end
        return end

    def half(self, protocol, ctx, address, end_id, peer_ctx, peer_address):
        """
        This shard's end (of id end_id) of a connection whose other end
        (end_id ^ 1) another shard makes.

        @param address: this end's L{IPv4Address}; peer_address the other's.
        """
        if end_id in self._ends:
            raise ValueError(f"two connections of one id, {end_id}")
        return self._cross(protocol, address, ctx, end_id, peer_ctx, peer_address)

    def _cross(self, protocol, address, ctx, end_id, peer_ctx, peer_address, sent=0.0):
        """A L{CrossEnd} of this shard, in its table of ends (C{sent}: when
        what it sent before is due)."""
        end = self._Cross(protocol, address)
        end.inOrder(sent)
        end.ctx = ctx
        end.end_id = end_id
        end.peer_ctx = peer_ctx
        end.other = peer_address
        self._ends[end_id] = end
        return end

    # -- closing --------------------------------------------------------------------------------

    def closeOther(self, end, when, why):
        """The other end of end closes at ``when`` (a message, keyed now)."""
        key = self.clock.key()
        if end.remote:
            self.send(end.peer_ctx, end.end_id ^ 1, when, key, CLOSE, why)
        else:
            other = end.other
            self.clock.deliver(when, key, other.ctx, self.closeEnd, (other, why))

    def closeEnd(self, end, why):
        """end closes (its protocol told why, once) and is forgotten."""
        end.closed(_REASONS[why]())
        self.forget(end)
        if end.remote:
            self._ends.pop(end.end_id, None)
