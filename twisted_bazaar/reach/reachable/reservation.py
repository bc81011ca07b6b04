"""
A node's side of a relay reservation (docs/protocol.md §5a): a node its
tracker found it cannot dial asks the tracker for a reservation over its
tracker connection.  The tracker holds it at its own relay, the relay of
last resort, or names a public node's relay (``relayAt``), where the node
reserves on a connection it keeps open (L{PeerHold}), and tells the
tracker once it holds it; it then probes that relay now and then, by
dialling itself through it (L{RelayProbing}), and leaves it when a probe
fails; when that connection closes, it asks the tracker again.  A node
at the tracker's relay asks again now and then (L{RETRY_FIRST}), and
moves to a public node's relay once one has room.
Once held, it announces the relay's path through its node's dialer's
sources of paths (L{twisted_bazaar.reach.sources}), which pass it on to
the node, which advertises it; and it accepts each circuit the relay
announces (L{CircuitAccepting}).
"""

import attr
from twisted.logger import Logger, LogLevel

from twisted_bazaar import wire
from twisted_bazaar.base.address import hostPort
from twisted_bazaar.identity.keys import keyId
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.net.framed import FramedProtocol
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.net.tcpkeepalive import keepAlive
from twisted_bazaar.net.handshake import PLAIN, channelKey
from twisted_bazaar.reach.reachable.accepting import CircuitAccepting, provenKey
from twisted_bazaar.transports.relay.messages import (
    FRAME_LIMIT,
    RELAY,
    RelayIncoming,
    RelayReserve,
    RelayReserved,
)
from twisted_bazaar.reach.reachable.relayprobe import RelayProbing
from twisted_bazaar.reach.sources import OwnPathSource
from twisted_bazaar.transports.path import RELAYED, Path
from twisted_bazaar.wire.core import splitRelay
from twisted_bazaar.wire.ids import isKeyed, wireId

#: Seconds a node holding a reservation at its tracker's relay waits
#: before it asks the tracker again, for a public node's relay (the
#: relay of last resort is for when none has room), doubling each time
#: the tracker answers with its own again, up to RETRY_MAX.
RETRY_FIRST = 5.0
RETRY_MAX = 960.0
#: Seconds a public node's relay has to answer ``relayReserve`` once its
#: connection is up: the tracker's own wait for the node to confirm
#: (L{twisted_bazaar.tracker.relays.NAME_TIMEOUT}), past which the
#: tracker would refuse the confirmation anyway.
RESERVE_TIMEOUT = 10.0
#: Public nodes' relays named in a row that fail this node (none passing
#: its probe since) after which it waits before it asks its tracker for
#: another: RETRY_FIRST after the next, doubling up to RETRY_MAX.  Each
#: ``relayAt`` is a dial to the address it names, and a tracker that
#: names one failing relay after another (a lying one among several) had
#: the node dial them as fast as each dial failed.
FAILURES_AT_ONCE = 1
#: Circuits announced at the relay held for which this node could not
#: reach the relay, none opened there, after which the node tells its
#: parts that none seems to open
#: (L{twisted_bazaar.events.INodeEvents.relayCircuits}): a seller then
#: sells no file it could not deliver.  Only its own dials count: a
#: circuit its dialler gave up on (another way won its race) says nothing
#: of the way to the relay.  More than one: one dial may fail by chance.
UNOPENED_AFTER = 3


class RelayReservation(OwnPathSource):
    """
    One node's reservation, at its tracker's relay or at the public
    node's relay the tracker named: a source of the node's dialer's, of a
    path to the node itself (the relay held), which it punches none to
    (L{OwnPathSource}).

    @ivar relay: the relay's ``HOST:PORT`` while the reservation is held,
        else None.
    @ivar home: what it uses of the node (L{RelayHome
        <twisted_bazaar.reach.reachable.home.RelayHome>}).
    """

    log = Logger()

    def __init__(self, home, accepts=None):
        """
        @param home: what it uses of the node (L{RelayHome
            <twisted_bazaar.reach.reachable.home.RelayHome>}); the relay
            held is announced through its C{sources} (a L{RELAYED} path).
        @param accepts: the L{IncomingAccepts
            <twisted_bazaar.reach.reachable.incoming.IncomingAccepts>} that
            bounds the circuits it accepts at once (L{CircuitAccepting});
            None: one with the declared limits.
        """
        self.home = home
        #: Its accepts of the circuits its relays announce.
        self.circuits = CircuitAccepting(home, accepts, self._circuitOpened,
                                         self._circuitFailed)
        self.relay = None
        #: The relay held through which a circuit opened (the node is
        #: reachable there, not only reserved), else None.
        self._proven = None
        #: The relay held that the node has said it holds (advertised, in
        #: the pace's round), else None: "reachable" is said after it.
        self._told = None
        #: Circuits announced at the relay held for which this node could
        #: not reach it, none opened there.
        self._unopened = 0
        self.asked = False
        #: Sends to the tracker (its link's send), once asked.
        self._send = None
        #: The L{PeerHold} at a public node's relay, connecting or held.
        self._peer = None
        #: Its connection attempt while it is under way.
        self._connecting = None
        #: Whether the reservation advertised is at the tracker's relay.
        self._atTracker = False
        #: The tracker's relay, once it held a reservation for this node on
        #: this tracker connection (it announces circuits there until it
        #: lets go of it), else None.
        self.trackerRelay = None
        #: The next time it asks the tracker for a public node's relay
        #: while at the tracker's, and how long it waits after that.
        self._retry = None
        self._retryWait = RETRY_FIRST
        #: The probes of the public node's relay held.
        self.probing = RelayProbing(home, self._probePassed)
        #: Whether a relayReserve sent waits for its answer: a relayAt is
        #: taken only as one.
        self._awaiting = False
        #: Public nodes' relays named that failed in a row (none passed
        #: its probe since), and the timer of the ask that waits after
        #: them (L{FAILURES_AT_ONCE}).
        self._failures = 0
        self._askCall = None
        #: The tracker's refusals of this node's asks in a row (none held
        #: since), which the wait before the next ask doubles with.
        self._refusals = 0

    def ask(self, send):
        """Ask the tracker for a reservation (once per tracker
        connection)."""
        if not self.asked:
            self.asked = True
            self._send = send
            self._ask()

    def _ask(self):
        """Send relayReserve, whose answer (relayAt or relayReserved) is
        awaited."""
        self._awaiting = True
        self._send(RelayReserve())

    def answers(self, message):
        """Whether a ``relayReserved`` from the tracker answers a
        relayReserve of this node's that awaits one: one nobody asked for
        had the node drop the public node's relay it held, probed and
        working, for the tracker's (never probed), and sign every record
        anew.  One unasked is dropped, saying so."""
        if self._awaiting:
            return True
        self._sayOfTracker("not taking the tracker's relay at {relay}: this node "
                           "asked for none", message.relay)
        return False

    def _sayOfTracker(self, text, relay):
        """Say text of a relay its tracker named unasked, through the peer
        log: charged to the tracker (it named it), not to the relay's
        group."""
        self.home.peerLog.emit(self.log, LogLevel.info,
                               groupOf(self.home.tracker().link), text, relay=relay)

    def reserved(self, message):
        """The tracker holds the reservation at its own relay, as it
        answers this node's relayReserve (L{answers}): the node advertises
        it, and asks again later for a public node's."""
        self._awaiting = False
        self._refusals = 0
        self.trackerRelay = message.relay
        self._atTracker = True
        self._setRelay(message.relay)
        if self._retry is None:
            self._retry = self.home.clock.callLater(self._retryWait, self._askAgain)
            self._retryWait = min(RETRY_MAX, self._retryWait * 2)

    def _askAgain(self):
        # Not while a public node's relay is being tried: its outcome
        # settles it (held there, or asked again).
        self._retry = None
        if (self.asked and self._send is not None and self._atTracker
                and self._peer is None):
            self._ask()

    def at(self, message):
        """The tracker names a public node's relay (``relayAt``): reserve
        there, on a connection of this node's own (one at a time; a
        reservation at the tracker's relay holds until then), unless the
        node's dialer does not dial that address (a service of its own
        machine or network: the dialer's C{whyNotRelay}); then it asks
        the tracker for another.  Only as the answer to a relayReserve
        of this node's that awaits one: each is a dial to the address it
        names, and a tracker naming relays unasked had the node dial as
        many as it named."""
        if (not self.asked or self._peer is not None
                or (self.relay is not None and not self._atTracker)):
            return
        if not self._awaiting:
            self._sayOfTracker("not dialling the relay at {relay} its tracker named: "
                               "this node asked for none", message.relay)
            return
        self._awaiting = False
        why = self.home.dialer.whyNotRelay(message.relay)
        if why is not None:
            self._peer = PeerHold(self, message)
            self.peerLost(self._peer, why, dialled=False)
            return
        self._hold(message, self._waysTo(message), [])

    def _waysTo(self, named):
        """The ways to the relay named (a ``relayAt``), in the order they
        are tried: its ``paths`` of the kind this node reaches its tracker
        by (L{Membership.trackerWay}: where a firewall lets only that
        out), the relay's own port, then its other ``paths``; each of its
        paths at the relay's host, whatever host it names (the host
        vetted, L{Dialer.whyNotRelay}), and only one this node's
        transports dial, never a relayed one (a relay is reached at its
        own ways).  A path is None for the relay's own port."""
        host, _ = splitRelay(named.relay)
        dialer = self.home.dialer
        paths = [attr.evolve(path, host=host) for path in named.paths or ()
                 if path.relay is None]
        paths = [path for path in paths if dialer.transports.canDial(path)]
        way = self.home.tracker().trackerWay
        first = [path for path in paths if way is not None and path.kind == way.kind]
        return first + [None] + [path for path in paths if path not in first]

    def _hold(self, named, ways, whys):
        """Reserve at the relay named, on a connection by the first of
        ways (L{_waysTo}) that connects: the rest tried in turn after one
        that does not (``whys``: why each before did not)."""
        way, more = ways[0], ways[1:]
        hold = self._peer = PeerHold(self, named, way)
        # Through the node's dialer, as every dial of the node, by the way
        # (None: the relay's own port); a key of the node named expected
        # in the channel's handshake, so that an impostor at its address
        # hears nothing of this node's.
        expected = named.id if isKeyed(named.id) else None
        d = self._connecting = self.home.dialer.toRelay(named.relay, lambda: hold, way,
                                                        expected)
        d.addCallbacks(self._connected, self._notConnected, callbackArgs=(hold,),
                       errbackArgs=(hold, more, whys))

    def _connected(self, _, hold):
        self._connecting = None
        if hold.way is not None:
            self._sayOf(hold.named.relay, "reached node {id}'s relay at {relay} over "
                        "{kind} at {where}", id=wireId(hold.named.id),
                        kind=hold.way.kind, host=hold.way.host, port=hold.way.port,
                        where=hostPort(hold.way.host, hold.way.port))

    def _notConnected(self, reason, hold, more, whys):
        self._connecting = None
        if hold is not self._peer:
            return
        whys = whys + [inWords(reason) if hold.way is None else
                       f"over {hold.way.kind} at {hostPort(hold.way.host, hold.way.port)}: "
                       f"{inWords(reason)}"]
        if more:
            self._hold(hold.named, more, whys)
            return
        self.peerLost(hold, f"cannot connect: {'; '.join(whys)}")

    def heldAt(self, hold):
        """The public node's relay holds the reservation: the node
        advertises it, and tells the tracker."""
        if hold is not self._peer:
            return
        relay = hold.named.relay
        self._atTracker = False
        self._refusals = 0
        self._setRelay(relay)
        if self._send is not None:
            self._send(RelayReserved(relay))
        self.probing.start(hold)

    def _probePassed(self):
        """A probe of the relay held passed: the relays that failed before
        it are no reason to wait any more (L{_askAfterFailure})."""
        self._failures = 0

    def _circuitOpened(self, relay):
        """A circuit accepted at relay opened: if it is the relay held,
        the node is reachable through it, said once per relay held (a
        reservation alone says only that circuits may come: from a home
        whose firewall drops the way to the relay none opens), and only
        after it said it holds the reservation (L{_advertise})."""
        if relay != self.relay or self._proven == relay:
            return
        self._proven = relay
        self._unopenedNoMore()
        if self._told == relay:
            self._sayReachable(relay)

    def _sayReachable(self, relay):
        self._sayOf(relay, "reachable through the relay at {relay}: a circuit through "
                    "it opened")

    def _circuitFailed(self, relay):
        """This node could not reach relay to accept a circuit: the
        UNOPENED_AFTER-th time at the relay held, none opened there, has
        the node tell its parts (once per relay held, until one opens)."""
        if relay != self.relay or self._proven == relay:
            return
        self._unopened += 1
        if self._unopened != UNOPENED_AFTER:
            return
        why = (f"this node could not reach it for the {self._unopened} circuits "
               "announced there, none opened")
        # The way out is this node's own words (its transport plugins'),
        # not a peer's field: in the line, whole.
        ways = "; ".join(self.home.wayOut()).replace("{", "{{").replace("}", "}}")
        self._sayOf(relay, "no circuit through the relay at {relay} opens ({why}): "
                    "a shared file bought here could not be delivered, so none is "
                    "sold until one opens" + (f": {ways}" if ways else ""), why=why)
        self._tell(relay, why)

    def _unopenedNoMore(self):
        """The word that no circuit opens at the relay held, if said, is
        taken back (one opened, or that relay was let go)."""
        unopened, self._unopened = self._unopened, 0
        if unopened >= UNOPENED_AFTER:
            self._tell(self.relay, None)

    def _tell(self, relay, why):
        self.home.events.relayCircuits(relay, why)

    def _sayOf(self, relay, text, **fields):
        """Say text of relay, through the peer log (charged to the relay's
        address group: a relay says it)."""
        host, _ = splitRelay(relay)
        self.home.peerLog.emit(self.log, LogLevel.info, addressGroup(host), text,
                               relay=relay, **fields)

    def declined(self, message):
        """The tracker answered ``error{noslots}`` (or ``norelay``): a
        relayReserve of this node's that awaited its answer has it, so a
        ``relayReserved`` or ``relayAt`` coming later is one nobody asked
        for (L{answers}, L{at}); the node waited on, and took the next
        one sent as its answer.  It asks again RETRY_FIRST later, doubling
        up to RETRY_MAX while the tracker refuses: it never asked again,
        so a stranger that held its address group's reservations at the
        tracker's relay for the moment of its ask left it out of reach
        for as long as its tracker connection lasted."""
        if not self._awaiting:
            return
        self._awaiting = False
        if self._askCall is None and self._retry is None and self._send is not None:
            wait = min(RETRY_MAX, RETRY_FIRST * 2 ** min(self._refusals, 16))
            self._refusals += 1
            self._askCall = self.home.clock.callLater(wait, self._askDue)

    def refused(self, message):
        """The tracker answered ``error{norelay}``: its answer to a
        relayReserve awaiting one (L{declined}); and if it is to the
        ``relayReserved`` of the public node's relay this node holds (the
        tracker no longer names that relay: its node left the tracker
        between naming it and now), the node lets that reservation go
        (L{peerLost}), so that it asks again rather than go on
        advertising a relay its tracker does not name it with."""
        self.declined(message)
        hold = self._peer
        if hold is None or not hold.held or self._atTracker:
            return
        hold.letGo(f"the tracker does not name it: {message.info}")

    def peerLost(self, hold, why, dialled=True):
        """The reservation at a public node's relay did not come, or
        ended: the node advertises no relay, and asks the tracker for
        another (it names another relay, or holds one itself): at once
        for one it did not dial (``dialled`` false: its address refused),
        else as L{_askAfterFailure} says."""
        if hold is not self._peer:
            return
        self._peer = None
        self.probing.stop()
        host, _ = splitRelay(hold.named.relay)
        self.home.peerLog.emit(
            self.log, LogLevel.info, addressGroup(host),
            "no reservation at node {id}'s relay at {relay}: {why}; asking the "
            "tracker for another", id=wireId(hold.named.id), relay=hold.named.relay,
            why=why)
        if not self._atTracker:
            self._setRelay(None)
        if self.asked and self._send is not None:
            if dialled:
                self._askAfterFailure()
            else:
                self._ask()

    def _askAfterFailure(self):
        """Ask the tracker for another relay: at once after the first
        that failed in a row (L{FAILURES_AT_ONCE}), then RETRY_FIRST
        later, doubling with each more up to RETRY_MAX."""
        self._failures += 1
        if self._failures <= FAILURES_AT_ONCE:
            self._ask()
        elif self._askCall is None:
            more = min(self._failures - FAILURES_AT_ONCE - 1, 16)
            self._askCall = self.home.clock.callLater(
                min(RETRY_MAX, RETRY_FIRST * 2 ** more), self._askDue)

    def _askDue(self):
        self._askCall = None
        if self.asked and self._send is not None and self._peer is None:
            self._ask()

    def _setRelay(self, relay):
        """Hold relay (None: none) from now on, and announce it (its
        relayed path, through the dialer's sources, L{RelayHome.sources}:
        the node advertises it): a relay
        lost at once, a new one as the node's pace of advertising says
        (L{twisted_bazaar.reach.reachable.advertising}: the first at once, any
        other no sooner than the wait after its last round, a new host's
        too)."""
        if self.relay == relay:
            return
        was = self.relay
        self._unopenedNoMore()
        self.relay = relay
        self._proven = self._told = None
        pace = self.home.pace()
        if relay is not None:
            pace.change("relay", self._advertise)
            return
        pace.withdraw("relay")
        self.home.sources.ownGone(Path(RELAYED, relay=was))

    def _advertise(self):
        """The relay held is announced, in the pace's round (which tells
        the node's parts), unless its path is no news: one line (through
        the peer log: a relay says it), then the "reachable" one of a
        circuit that opened there meanwhile; whether it was news."""
        relay = self.relay
        if relay is None:
            return False
        news = self.home.sources.own(Path(RELAYED, relay=relay))
        if news:
            self._sayOf(relay, "holds a reservation at the relay at {relay}: nodes that "
                        "cannot dial this node open circuits to it there (reachable "
                        "through it once one opens)")
        self._told = relay
        if self._proven == relay:
            self._sayReachable(relay)
        return news

    def lost(self):
        """The tracker connection is gone, and every reservation with it
        (a public node's relay's too: the tracker names none now)."""
        hold, self._peer = self._peer, None
        self.probing.stop()
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            connecting.cancel()
        for call in (self._retry, self._askCall):
            if call is not None and call.active():
                call.cancel()
        self._retry = self._askCall = None
        self._retryWait = RETRY_FIRST
        self._failures = 0
        self._refusals = 0
        self._awaiting = False
        self._atTracker = False
        self.trackerRelay = None
        self.circuits.stop()
        if hold is not None and hold.transport is not None:
            hold.transport.abortConnection()
        self.asked = False
        self._send = None
        self._setRelay(None)

    def incoming(self, message, relay, way=None, key=None):
        """The relay at ``relay`` (the one that holds the reservation it
        came by) announces a circuit: accepted there (L{circuits}), dialled
        by ``way`` if given, else as the dialer picks, the relay proving
        ``key`` (L{CircuitAccepting.accept}).  One
        declined while this node's probe of that relay is under way is
        noted: the probe's own circuit may have been it
        (L{RelayProbing.declined})."""
        if self.circuits.accept(message, relay, way, key) is not None:
            self.probing.declined(relay)


class PeerHold(FramedProtocol):
    """
    A node's reservation connection to a public node's relay: it asks
    ``relayReserve{id}``, checks that the relay proved the key of the
    node the tracker named before it takes anything from it, and then
    hears the relay's ``relayReserved`` and each ``relayIncoming``; it
    closes on anything else, and on a relay that has not answered within
    L{RESERVE_TIMEOUT}: a relay that says nothing once connected held its
    node at home with no relay, asking nobody for another, for as long as
    it kept the connection.
    """

    MAX_LENGTH = FRAME_LIMIT

    def __init__(self, reservation, named, way=None):
        """
        @param named: the tracker's L{twisted_bazaar.transports.relay.messages.RelayAt}.
        @param way: the path it is held by, one of the ``relayAt``'s
            ``paths`` (a transport plugin's port that serves the relay),
            dialled for the relay's service; None: the relay's own port.
            The circuits it announces are accepted, and the relay probed,
            the same way.
        """
        self.reservation = reservation
        self.named = named
        self.way = way
        self.held = False
        self._checked = False
        self._why = None
        self._timer = None

    def connectionMade(self):
        # Quiet from this end once held: probed, so that a router that
        # forgot it is found out (L{keepAlive}).
        keepAlive(self.transport)
        self._timer = self.reservation.home.clock.callLater(
            RESERVE_TIMEOUT, self.letGo,
            f"the relay did not answer relayReserve within {RESERVE_TIMEOUT:g} s")
        self.sendString(wire.encode(RelayReserve(self.reservation.home.ownId())))

    def _cancelTimer(self):
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def dataReceived(self, data):
        if not self._checked:
            # The channel's handshake is done by the time anything comes.
            self._checked = True
            key = channelKey(self.transport)
            if key is not PLAIN and (key is None or keyId(key) != self.named.id):
                self.letGo(f"the relay proved the key of another node than "
                           f"{wireId(self.named.id)}")
                return
        super().dataReceived(data)

    def brokenFrame(self, reason):
        self.letGo(f"the relay broke the framing: {reason}")

    def stringReceived(self, payload):
        try:
            message = wire.decode(payload)
        except wire.ProtocolError as e:
            self.letGo(f"the relay sent what does not decode: {e}")
            return
        self._received(message)

    def _received(self, message):
        taken = _TAKES.get(type(message))
        if taken is None or not taken(self, message):
            self.letGo(f"the relay sent {message.TYPE} out of turn")

    def _reserved(self, message):
        """The relay holds the reservation: taken once."""
        if self.held:
            return False
        self.held = True
        self._cancelTimer()
        self.reservation.heldAt(self)
        return True

    def _incoming(self, message):
        """A circuit announced: taken once the reservation is held."""
        if not self.held:
            return False
        self.reservation.incoming(message, self.named.relay, self.way,
                                  key=provenKey(self.transport))
        return True

    def _refused(self, error):
        self.letGo(f"the relay refused: {error.code}: {error.info}")
        return True

    def letGo(self, why):
        """Leave the relay, saying why (which L{RelayReservation.peerLost}
        logs)."""
        self._why = why
        self._cancelTimer()
        self.readNoMore()
        self.transport.abortConnection()

    def connectionLost(self, reason):
        self._cancelTimer()
        self.reservation.peerLost(self, self._why or inWords(reason))


#: What a connection holding a reservation takes from its relay: message
#: class -> function(hold, message), true if taken in turn (else it lets
#: the relay go).
_TAKES = {RelayReserved: PeerHold._reserved, RelayIncoming: PeerHold._incoming,
          wire.Error: PeerHold._refused}
