"""
A relay (docs/protocol.md §5a): reservations for nodes that cannot be
dialled, and circuits to them, by id only, within the limits of
L{twisted_bazaar.transports.relay.limits}, charged to address groups as the
rest of a process's resources are (L{twisted_bazaar.net.account}).

The tracker's relay takes reservations over its tracker connections; a
public node's relay (``here``) takes them on its own port too, each over a
connection the node keeps open to it (``relayReserve{id}``), which
carries the node's ``relayIncoming``.

A circuit joins two connections to the relay's port, the dialler's
(``relayConnect``) and the node's (``relayAccept``): once both are there
the relay says ``relayOpen`` on each and copies what it reads from one
channel into the other, counting it.  What it copies is the inner
channel's ciphertext between the two ends: the relay reads none of it.
"""

import secrets

import attr

from twisted.internet.protocol import Factory
from twisted.logger import Logger, LogLevel

from twisted_bazaar import wire
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.connections import CONNECTIONS_LIMIT, RateLimit, admitted
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import oneSpelling, peerHost
from twisted_bazaar.net.framed import FramedProtocol
from twisted_bazaar.identity.keys import keyId
from twisted_bazaar.net.handshake import PLAIN, channelKey
from twisted_bazaar.transports.path import NAMED
from twisted_bazaar.transports.relay.limits import (
    CIRCUITS_LIMIT, DRAIN_TIMEOUT, NODE_CIRCUITS_LIMIT, ORIGIN_OPENS_LIMIT,
    PENDING_LIMIT, RESERVATIONS_LIMIT, RelayLimits)
from twisted_bazaar.transports.relay.messages import (
    FRAME_LIMIT,
    RelayAccept,
    RelayConnect,
    RelayIncoming,
    RelayOpen,
    RelayReserve,
    RelayReserved,
)
from twisted_bazaar.transports.relay.readgate import ReadGate
from twisted_bazaar.transports.relay.throttle import Throttle
from twisted_bazaar.wire.core import joinRelay
from twisted_bazaar.wire.ids import shortId, wireId



class Refused(Exception):
    """The relay will not do it: the ``error`` code and its info."""

    def __init__(self, code, info, counted=False):
        super().__init__(info)
        self.code = code
        self.info = info
        #: Whether the relay counted it already (L{Relay.refused}).
        self.counted = counted


class _Reservation:
    """A node's reservation: how to tell it of circuits (its tracker
    connection's send, or its reservation connection's), the key it
    proved (wire text), its circuits (an account of their own, charged
    to their diallers' groups: one group's circuits never shut out
    another's diallers)."""

    def __init__(self, node_id, group, tell, key, limits):
        self.node_id = node_id
        #: The address group it is charged to: that of the connection it
        #: was last asked on.
        self.group = group
        self.tell = tell
        self.key = key
        self.circuits = Account.of(NODE_CIRCUITS_LIMIT, limits.node_circuits,
                                   limits.node_group_circuits,
                                   limits.node_origin_circuits)
        #: The connection it is held on, for one held on the relay's port.
        self.end = None


class Relay:
    """
    The reservations and circuits of one relay.

    @ivar port: the port its factory listens on, once it does (0 before:
        no reservation is granted until then).
    @ivar relayed: bytes copied, in all.
    @ivar refused: reservations and connections refused, in all (a
        circuit closed before it opened counts as its dialler's refusal).
    """

    log = Logger()

    def __init__(self, clock, peer_log, limits=RelayLimits(), connection_rate=0,
                 here=False, name="tracker"):
        """
        @param here: whether nodes reserve on the relay's own port (a
            public node's relay), not only through L{reserve} (the
            tracker's, over its tracker connections).
        @param name: what relays, as refusals say it ("tracker", "node").
        """
        self.clock = clock
        self.here = here
        self.name = name
        self.peer_log = peer_log
        self.limits = limits
        self.port = 0
        self.relayed = 0
        self.refused = 0
        self.rates = RateLimit(clock, CONNECTIONS_LIMIT, connection_rate)
        self.reservations = Account.of(RESERVATIONS_LIMIT, limits.reservations,
                                       limits.group_reservations)
        self._reserved = {}
        self.circuits = Account.of(CIRCUITS_LIMIT, limits.circuits, limits.group_circuits,
                                   limits.origin_circuits)
        #: Circuits a second each origin may ask for.
        self.opens = RateLimit(clock, ORIGIN_OPENS_LIMIT, limits.origin_opens)
        self.pending = Account.of(PENDING_LIMIT, limits.pending, limits.group_pending,
                                  oldest_first=True)
        #: token -> circuit waiting for its node's relayAccept.
        self._waiting = {}
        #: Its bytes a second, all circuits together (limits.rate), shared
        #: among the diallers' groups, and a group's among its origins.
        self.throttle = Throttle(clock, limits.rate, self._pauseOrigin, self._resumeOrigin)
        #: What names each other port it is served at (L{servedAt}).
        self._servedAt = []

    @property
    def enabled(self):
        return self.limits.reservations > 0

    def factory(self):
        """The factory of the relay's port (under the channel)."""
        return RelayFactory(self)

    def servedAt(self, advertised):
        """The relay is served at another port too (a transport plugin's
        port of the tracker's): C{advertised()} names it, a
        L{Path <twisted_bazaar.transports.path.Path>}, once it listens,
        else None."""
        self._servedAt.append(advertised)

    def ways(self, host):
        """The ways to this relay besides its port (L{servedAt}), each at
        ``host`` (the relay's, as a reservation names it) and the word of
        whoever serves it (the tracker's: L{NAMED}): what a node held here
        is named with, so that a dialler whose firewall lets only HTTP(S)
        out opens its circuits there (docs/protocol.md §5a); a tuple."""
        named = (advertised() for advertised in self._servedAt)
        return tuple(attr.evolve(path, host=host, word=NAMED) for path in named
                     if path is not None)

    def stop(self):
        """The relay stops: every connection to its port closes (its
        circuits, the reservations held on it, the connections still to
        say what they want), and nothing waits on the throttle."""
        self.throttle.stop()
        for circuit in list(self.circuits):
            circuit.close("the relay stopped")
        for reservation in list(self._reserved.values()):
            if reservation.end is not None:
                reservation.end.transport.loseConnection()
        for end in list(self.pending):
            end.refuse("noslots", "the relay stopped", log=False)

    def _pauseOrigin(self, group, origin):
        for circuit in self.circuits.holders(group):
            if circuit.origin == origin:
                circuit.pause()

    def _resumeOrigin(self, group, origin):
        for circuit in self.circuits.holders(group):
            if circuit.origin == origin:
                circuit.resume()

    def line(self, group, format, level=LogLevel.info, **fields):
        """One line a peer caused, through the peer log."""
        self.peer_log.emit(self.log, level, group, format, **fields)

    # -- reservations ------------------------------------------------------------

    def reserve(self, node_id, group, tell, key, host):
        """
        Hold a reservation for node_id (registered from ``group``, its
        ``key`` proven on the connection ``tell`` sends on), reached at
        this relay's ``host`` (the address the node dialled): the relay's
        ``HOST:PORT``.  A node holding one already keeps it.

        @raise Refused: the relay is off or not listening, the key is not
            proven, or the limits leave no room.
        """
        if not self.enabled or not self.port:
            raise self._refusal("noslots", f"this {self.name} relays for nobody")
        if key is None:
            raise self._refusal("norelay", "a reservation needs a key proven on this "
                          "connection; this node proved none")
        reservation = self._reserved.get(node_id)
        # Asked again from another address group (on a new connection):
        # charged to that group from now on, as a new one is, not left on
        # the group it was first held from.
        if reservation is None or reservation.group != group:
            account = self.reservations
            held = account.held(group)
            if held >= account.group_limit:
                raise self._refusal("noslots", f"your address group holds {held} "
                              "reservations already")
            victims = self._roomFor(group, node_id)
            if victims is None:
                raise self._refusal("noslots", f"{account.used} of this relay's "
                              f"{account.capacity} reservations are taken: your "
                              "address group may hold no more now")
            for victim in victims:
                self._evict(victim)
            account.hold(node_id, group)
        if reservation is None:
            self._reserved[node_id] = _Reservation(node_id, group, tell, key, self.limits)
        else:
            # Asked again (on a new connection, at a node's relay): the
            # circuits are told on this one from now on.
            reservation.tell, reservation.group = tell, group
        return joinRelay(host, self.port)

    def _roomFor(self, group, node_id):
        """
        The reservations that give way for node_id's, one more of
        ``group``'s (an empty list: room enough), or None: none may be
        held now.

        At the tracker's relay nothing gives way (what it promised stays
        held: a node there hears of its reservation's end from nobody),
        and a group gets one while it holds less than the room left.  At
        a public node's relay, on whose own port anyone may reserve, the
        newest of the group holding the most gives way to a group that
        would then hold less (its node hears it on its reservation
        connection, and asks its tracker again): else six strangers'
        groups filled every public relay, whatever their number, and no
        node at home the tracker named there got a place.
        """
        account = self.reservations
        if self.here:
            return account.makeRoom(group, holder=node_id)
        # A reservation moving here from another group frees its place.
        return [] if account.admits(group, 1 - account.units(node_id)) else None

    def _evict(self, node_id):
        """node_id's reservation gives way: released, and the connection
        it is held on told why and closed."""
        end = self._reserved[node_id].end
        self.release(node_id)
        if end is not None:
            end.refuse("noslots", "your reservation gave way to a node of another "
                       "address group: this relay's reservations are full")

    def _refusal(self, code, info):
        """A reservation refused: counted, and why."""
        self.refused += 1
        return Refused(code, info, counted=True)

    def reserveHere(self, end, request):
        """
        A node asks, on the relay's own port, for a reservation held as
        long as this connection (``end``) lasts: the key its channel with
        the relay proved is the one it holds it with, and ``request.id``
        must be that key's id (on a connection without the channel, the
        in-memory network's, the id is taken as it is).

        @raise Refused: not a relay that takes them here, no key proven,
            an id that is not the key's, or no room.
        """
        if not self.here:
            raise Refused("wtf", "a relay takes relayConnect or relayAccept, not "
                          "relayReserve")
        key = channelKey(end.transport)
        if key is None:
            raise Refused("norelay", "a reservation needs a key proven on this "
                          "connection; this node proved none")
        node_id = request.id if key is PLAIN else keyId(key)
        if node_id is None or (request.id is not None and request.id != node_id):
            raise Refused("norelay", "relayReserve's id must be the id of the key "
                          "this connection's channel proved")
        host = oneSpelling(getattr(end.transport.getHost(), "host", "") or "")
        held = self._reserved.get(node_id)
        old = None if held is None else held.end
        relay = self.reserve(node_id, end.group, end.tell, key, host)
        self._reserved[node_id].end = end
        end.reserved = node_id
        if old is not None and old is not end:
            # One connection holds a node's reservation: the one it held on
            # before closes.  Else each relayReserve of one key kept one
            # more connection open, counted in no pool, and one stranger
            # took every descriptor of the relay's node.
            old.reserved = None
            old.refuse("noslots", "your reservation moved to a newer connection "
                       "of your node", counted=True)
        return relay

    def release(self, node_id, tell=None):
        """The node's reservation ends (its connection closed; with
        ``tell``, only if circuits are still told that way); its open
        circuits run on, within their own limits."""
        reservation = self._reserved.get(node_id)
        if reservation is None or (tell is not None and reservation.tell != tell):
            return
        self.reservations.release(node_id)
        del self._reserved[node_id]

    def holds(self, node_id):
        return node_id in self._reserved

    # -- circuits ----------------------------------------------------------------

    def connect(self, end, request):
        """A dialler asks for a circuit to request.to."""
        reservation = self._reserved.get(request.to)
        if reservation is None:
            raise Refused("norelay", f"this relay holds no reservation for node "
                          f"{wireId(request.to)}")
        group, circuits, origin = end.group, self.circuits, originOf(end)
        if not self.opens.admit(origin):
            raise Refused("noslots", f"your key asked for more than "
                          f"{self.limits.origin_opens:g} circuits a second")
        # Room among the node's circuits and among all, both found before
        # anything gives way: a circuit to the node that gives way makes
        # room among all too.
        mine = reservation.circuits.makeRoom(group, key=origin)
        if mine is None:
            raise Refused("noslots", self._nodeRefusal(reservation, group, origin))
        if mine and circuits.held(group) < circuits.group_limit \
                and circuits.heldBy(origin) < circuits.key_limit:
            victims = []
        else:
            victims = circuits.makeRoom(group, key=origin)
            if victims is None:
                raise Refused("noslots", circuits.refusal(group, "circuits", origin))
        for victim in mine + victims:
            victim.close("it gave way to a circuit of another address group")
        circuit = _Circuit(self, end, reservation, secrets.token_urlsafe(16), origin)
        circuits.hold(circuit, group, key=origin)
        reservation.circuits.hold(circuit, group, key=origin)
        self._waiting[circuit.token] = circuit
        peer = end.transport.getPeer()
        reservation.tell(RelayIncoming(circuit.token, request.purpose,
                                       peerHost(end.transport),
                                       getattr(peer, "port", 0) or 0))
        circuit.waitForAccept(self.limits.accept_timeout)
        return circuit

    def _nodeRefusal(self, reservation, group, origin):
        """Why a circuit to the reservation's node was refused."""
        target, account = shortId(reservation.node_id), reservation.circuits
        held = account.heldBy(origin)
        if held >= account.key_limit:
            return f"your key holds {held} circuits to node {target} already"
        held = account.held(group)
        if held >= account.group_limit:
            return (f"your address group holds {held} circuits to node {target} "
                    "already")
        return (f"node {target} has {account.capacity} circuits through this relay "
                "already, and no other address group holds more of them than "
                "yours would")

    def accept(self, end, request):
        """A node takes the circuit it was told of."""
        circuit = self._waiting.get(request.circuit)
        if circuit is None:
            raise Refused("norelay", "no circuit waits with that token")
        key = channelKey(end.transport)
        if key is not PLAIN and key != circuit.reservation.key:
            raise Refused("norelay", "that circuit is for another node's key")
        del self._waiting[request.circuit]
        circuit.open(end)
        return circuit

    def forget(self, circuit):
        """A circuit ended: its accounts let go of it."""
        self._waiting.pop(circuit.token, None)
        circuits = self.circuits
        group = circuit.dialler.group
        circuits.release(circuit)
        circuit.reservation.circuits.release(circuit)
        if not circuits.held(group):
            self.throttle.forget(group)
        elif not any(other.origin == circuit.origin
                     for other in circuits.holders(group)):
            self.throttle.forgetOrigin(group, circuit.origin)


def originOf(end):
    """
    The origin a dialler's circuits are charged to besides its address
    group: the key its channel with the relay proved (wire text), or,
    on a connection that proved none (the in-memory network's), its
    address.
    """
    key = channelKey(end.transport)
    return ("host", end.host) if key is None or key is PLAIN else key


class _Circuit:
    """Two connections joined by a relay, and what they carried: its
    dialler's end and, once the reserving node accepted, its accepter's
    (the node's end)."""

    def __init__(self, relay, dialler, reservation, token, origin):
        self.relay = relay
        self.dialler = dialler
        #: What it is charged to besides its dialler's group (L{originOf}).
        self.origin = origin
        self.accepter = None
        self.reservation = reservation
        self.token = token
        self.carried = 0
        self._timer = None
        self.closed = False

    def waitForAccept(self, timeout):
        self._timer = self.relay.clock.callLater(
            timeout, self.close, f"node {shortId(self.reservation.node_id)} did not "
            f"accept the circuit within {timeout:g} s", "norelay")

    def open(self, accepter):
        """The node accepted on its end, accepter: both ends hear
        relayOpen, each becomes the other's producer, and the circuit's
        time starts."""
        self._cancelTimer()
        self.accepter = accepter
        limits = self.relay.limits
        self._timer = self.relay.clock.callLater(
            limits.circuit_seconds, self.close,
            f"its time ran out ({limits.circuit_seconds:g} s a circuit)")
        for end, other in ((self.dialler, accepter), (accepter, self.dialler)):
            end.sendString(wire.encode(RelayOpen(other.host or None)))
            end.other = other
            # Flow control and the throttle each stop the end's reading,
            # and neither lifts the other's stop (L{ReadGate}).
            end.gate = ReadGate(end.transport)
            other.transport.registerProducer(end.gate, True)
        if self.relay.throttle.holds(self.dialler.group, self.origin):
            self.pause()
        for end in (self.dialler, accepter):
            early, end.early = end.early, b""
            if early:
                self.carry(end, early)

    def pause(self):
        """Both ends stop reading until the throttle's debt is paid (the
        relay's throttle ran dry, and the dialler's group is past its
        share, and its origin past its own): flow control lifts no such
        stop."""
        if self.accepter is not None and not self.closed:
            for end in (self.dialler, self.accepter):
                end.gate.hold()

    def resume(self):
        """The throttle's debt is paid: both ends read again, unless flow
        control stops them."""
        if self.accepter is not None and not self.closed:
            for end in (self.dialler, self.accepter):
                end.gate.release()

    def carry(self, end, data):
        """Copy what one end sent to the other, within the byte limit."""
        if self.closed:
            return
        self.carried += len(data)
        self.relay.relayed += len(data)
        limit = self.relay.limits.circuit_bytes
        if self.carried > limit:
            self.close(f"it carried more than its {limit} bytes")
            return
        end.other.transport.write(data)
        if self.relay.throttle.spend(self.dialler.group, len(data), self.origin):
            # Past its share of its group's, past the group's own, while the
            # throttle is in debt: it stops reading until the debt is paid
            # (flow control lifts no such stop: L{ReadGate}), so the debt
            # is a read's worth, paid in a fraction of a second.
            self.pause()

    def close(self, why, code="noslots"):
        """End the circuit: a circuit still waiting tells its dialler why
        (``error``); an open one closes both ends once what they were sent
        is out.  One line through the peer log."""
        if self.closed:
            return
        self.closed = True
        self._cancelTimer()
        self.relay.forget(self)
        dialler = self.dialler
        self.relay.line(dialler.group, "closed the relay circuit from {host} to node "
                        "{node}: {why}", host=dialler.host,
                        node=shortId(self.reservation.node_id), why=why)
        if self.accepter is None:
            dialler.refuse(code, f"the circuit closed: {why}", log=False)
            return
        for end in (dialler, self.accepter):
            end.closeAfterSent()

    def endLost(self, end):
        """One end's connection closed: the other closes after it."""
        if self.closed:
            return
        self.closed = True
        self._cancelTimer()
        self.relay.forget(self)
        other = self.accepter if end is self.dialler else self.dialler
        if other is not None:
            other.closeAfterSent()

    def _cancelTimer(self):
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()


class RelayEnd(FramedProtocol):
    """One connection to the relay's port, under its channel: its first
    frame says what it wants; then it is raw (L{FramedProtocol.setRawMode}):
    once in an open circuit what it reads goes to the other end."""

    MAX_LENGTH = FRAME_LIMIT

    def __init__(self, relay):
        self.relay = relay
        self.circuit = None
        self.other = None
        #: Its reading, once in an open circuit (L{ReadGate}).
        self.gate = None
        self.early = b""
        self._timer = None
        self.host = ""
        self.group = ""
        #: The node id this connection holds a reservation for, if it does.
        self.reserved = None
        #: Whether its circuit closed and it closes once what it was sent
        #: is out (L{closeAfterSent}).
        self.closing = False

    def tell(self, message):
        """Send the node holding a reservation on this connection a
        message (its ``relayIncoming``)."""
        self.sendString(wire.encode(message))

    def connectionMade(self):
        relay = self.relay
        self.host = peerHost(self.transport)
        self.group = addressGroup(self.host)
        victims = relay.pending.take(self, self.group)
        if victims is None:
            self.refuse("noslots", relay.pending.refusal(
                self.group, "connections still to say what they want"))
            return
        for victim in victims:
            victim.refuse("noslots", "evicted to make room for a connection from "
                          "another address group")
        self._timer = relay.clock.callLater(
            relay.limits.first_message_timeout, self.refuse, "notim",
            f"nothing asked within {relay.limits.first_message_timeout:g} s")

    def rawDataReceived(self, data):
        if self.other is not None:
            self.circuit.carry(self, data)
        elif self.circuit is not None:
            self._keep(data)
        elif self.reserved is not None:
            self.refuse("wtf", "a reservation's connection carries nothing more "
                        "from its node")

    def brokenFrame(self, reason):
        self.refuse("wtf", f"broken framing: {reason}")

    def stringReceived(self, payload):
        try:
            message = wire.decode(payload)
        except wire.ProtocolError as e:
            self.refuse("wtf", str(e))
            return
        self._cancelTimer()
        self.relay.pending.release(self)
        # Its one frame: what follows is a circuit's (kept for it until it
        # opens) or, on a reservation's connection, refused.
        self.setRawMode()
        taken = _FIRST.get(type(message))
        try:
            if taken is None:
                raise Refused("wtf", f"a relay takes relayConnect or relayAccept, not "
                              f"{message.TYPE}")
            taken(self, message)
        except Refused as e:
            self.refuse(e.code, e.info, counted=e.counted)

    def _connect(self, ask):
        self.circuit = self.relay.connect(self, ask)

    def _accept(self, ask):
        self.circuit = self.relay.accept(self, ask)

    def _reserve(self, ask):
        self.tell(RelayReserved(self.relay.reserveHere(self, ask)))

    def _keep(self, data):
        """A dialler's bytes before its circuit opens: kept for it, up to
        FRAME_LIMIT."""
        self.early += data
        if len(self.early) > FRAME_LIMIT:
            self.circuit.close(f"the dialler sent over {FRAME_LIMIT} bytes before the "
                               "circuit opened", "wtf")

    def closeAfterSent(self):
        """
        Its circuit closed: close once what it was sent is out, meanwhile
        one of the relay's connections not in a circuit (its pending
        account, in the descriptor budget; past it, a connection of a
        group holding fewer takes its place), for L{DRAIN_TIMEOUT} s at
        most.  Before, a peer that never read kept the connection, and its
        descriptor, for ever, its circuit out of every account: a stranger
        dialling its own node through the relay and hanging up held one
        descriptor a circuit, without bound (issue 93, the ninth round).
        """
        if self.closing:
            return
        self.closing = True
        self.readNoMore()
        self._cancelTimer()
        relay = self.relay
        victims = relay.pending.take(self, self.group)
        if victims is None:
            self.transport.abortConnection()
            return
        for victim in victims:
            victim.refuse("noslots", "evicted to make room for a connection from "
                          "another address group")
        self._timer = relay.clock.callLater(DRAIN_TIMEOUT, self._undrained)
        self.transport.loseConnection()

    def _undrained(self):
        self._timer = None
        self.relay.line(self.group, "aborted a relay connection from {host}: what its "
                        "closed circuit sent it was not read within {seconds:g} s",
                        host=self.host, seconds=DRAIN_TIMEOUT)
        self.transport.abortConnection()

    def refuse(self, code, info, log=True, counted=False):
        """Say why in an ``error`` and close; one line through the peer
        log.  Counted as a refusal unless ``counted`` already.  A
        connection whose circuit closed (L{closing}) is aborted: what it
        was sent gives way."""
        self._cancelTimer()
        if self.closing:
            self.relay.pending.release(self)
            self.transport.abortConnection()
            return
        self.relay.pending.release(self)
        if not counted:
            self.relay.refused += 1
        if log:
            self.relay.line(self.group, "refused a relay connection from {host}: "
                            "{info}", host=self.host, info=info)
        self.readNoMore()
        self.sendString(wire.encode(wire.Error(code, info)))
        self.transport.loseConnection()

    def connectionLost(self, reason):
        self._cancelTimer()
        self.relay.pending.release(self)
        if self.reserved is not None:
            self.relay.release(self.reserved, self.tell)
        if self.circuit is not None:
            self.circuit.endLost(self)

    def _cancelTimer(self):
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()


class RelayFactory(Factory):
    """The relay port's factory: a L{RelayEnd} per connection, unless its
    address group opens connections too fast."""

    noisy = False
    log = Logger()

    def __init__(self, relay):
        self.relay = relay

    def buildProtocol(self, addr):
        relay = self.relay
        if not admitted(relay.rates, addr, relay.peer_log, self.log,
                        "relay connection"):
            return None
        return RelayEnd(relay)


#: A relay connection's one frame: message class -> function(end,
#: message), which may raise L{Refused}; any other is refused.
_FIRST = {RelayConnect: RelayEnd._connect, RelayAccept: RelayEnd._accept,
          RelayReserve: RelayEnd._reserve}
