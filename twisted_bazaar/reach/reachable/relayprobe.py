"""
A node's probe of the public node's relay that holds its reservation
(docs/protocol.md §5a, "Probing the relay"): the node dials itself
through that relay, as any dialler would (``relayConnect`` to its own
id), accepts the circuit the relay announces, and runs the inner
channel's handshake with itself.  The probe passes once that channel
proves the node's own key: the relay carried a circuit both ways.  A
relay that keeps the reservation and drops circuits fails it, and the
node leaves it (L{twisted_bazaar.reach.reachable.reservation}); the tracker
never names it the same relay group again while it stays registered.

What it cannot see: a relay that carries the circuits that come from the
node's own address (the probe's) and drops the rest.

L{RelayProbe} is one probe; L{RelayProbing}, the probes of the relay
held, one after another, and what a failed one means.
"""

from twisted.internet.protocol import Protocol
from twisted.logger import Logger, LogLevel

from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.wire.core import splitRelay

#: Seconds between two probes of the relay that holds the reservation,
#: the first once it holds it.
PROBE_INTERVAL = 300.0
#: Seconds to the next probe after one whose failure was excused (the
#: node declined circuits the relay announced meanwhile): soon, and that
#: one is excused no more.
PROBE_AGAIN = 30.0


class _OwnKey:
    """The key the probe's inner channel must prove: the node's own (the
    channel's pin interface, L{twisted_bazaar.net.pin.KeyPin}'s)."""

    def __init__(self, key, proved):
        self.key = key
        self._proved = proved

    def refused(self, proven):
        return "the circuit reached another key than this node's own"

    def proved(self, proven):
        self._proved()


class RelayProbe(Protocol):
    """
    One probe: ``done(None)`` once the circuit to the node itself opened
    and its inner channel proved the node's key, ``done(why)`` if not;
    once, either way.  L{cancel} ends it with no word.
    """

    def __init__(self, home, relay, done, way=None):
        """
        @param home: what it uses of the node (L{RelayHome
            <twisted_bazaar.reach.reachable.home.RelayHome>}: its dialer,
            its id and its key pair).
        @param way: the path the reservation is held by (a port of
            another transport's that serves the relay: L{PeerHold.way
            <twisted_bazaar.reach.reachable.reservation.PeerHold.way>}),
            the relay dialled there; None: at ``relay``, its own port.
        """
        self.relay = relay
        self._done = done
        # A circuit to itself, through the node's dialer (by its relay
        # transport, as any dialler's, or by the way the reservation is
        # held), to its own key.
        #: Without a channel (an in-memory network's nodes), the circuit
        #: opening is the proof.
        dialer, identity = home.dialer, home.identity
        self._plain = dialer.connector.channel is None
        self._d = dialer.toRelay(
            relay, lambda: self, way, target=home.ownId(),
            pin=_OwnKey(decode(identity.key), self._passed))
        self._d.addErrback(lambda reason: self._end(inWords(reason)))

    def connectionMade(self):
        if self._plain:
            self._passed()

    def _passed(self):
        if self._end(None):
            self.transport.loseConnection()

    def connectionLost(self, reason):
        self._end(f"the circuit closed before it proved this node's key: "
                  f"{inWords(reason)}")

    def _end(self, why):
        """Report, once: whether this was the first word."""
        done, self._done = self._done, None
        if done is None:
            return False
        done(why)
        return True

    def cancel(self):
        """Stop the probe, reporting nothing."""
        self._done = None
        if not self._d.called:
            self._d.cancel()
        elif self.transport is not None:
            self.transport.abortConnection()


class RelayProbing:
    """
    The probes of the public node's relay that holds the reservation, one
    after another while it holds it (the first at once, then every
    L{PROBE_INTERVAL}), and what one that fails means: the node lets that
    relay go (L{PeerHold.letGo
    <twisted_bazaar.reach.reachable.reservation.PeerHold.letGo>}), unless
    the failure is excused (L{declined}).  Apart from the reservation,
    which starts and stops it and hears of each probe passed: when and
    how a relay is judged changes on its own.
    """

    log = Logger()

    def __init__(self, home, passed):
        """
        @param home: what its probes use of the node (L{RelayHome
            <twisted_bazaar.reach.reachable.home.RelayHome>}).
        @param passed: called with no argument each time a probe passes.
        """
        self._home = home
        self._passed = passed
        #: The hold whose relay is probed, the probe under way, and the
        #: timer of the next.
        self._hold = None
        self._probe = None
        self._timer = None
        #: Whether this node declined a circuit the relay announced while
        #: the probe under way waited for its own (L{declined}), and
        #: whether the last probe's failure was excused so.
        self._declined = False
        self._excused = False

    def start(self, hold):
        """The public node's relay holds the reservation (a
        L{PeerHold}): probe it now, and from now on; no failure of an
        earlier hold's probe is excused any more."""
        self.stop()
        self._hold = hold
        self._excused = False
        self._next()

    def _next(self):
        """Dial this node through the relay the hold holds it at."""
        hold = self._hold
        self._timer = None
        self._declined = False
        self._probe = RelayProbe(self._home, hold.named.relay,
                                 lambda why: self._probed(hold, why), hold.way)

    def declined(self, relay):
        """This node declined a circuit the relay at ``relay`` announced
        (its own bounds, L{IncomingAccepts
        <twisted_bazaar.reach.reachable.incoming.IncomingAccepts>}, full):
        if that is the relay probed and a probe is under way, the probe's
        own circuit may have been it."""
        if (self._probe is not None and self._hold is not None
                and relay == self._hold.named.relay):
            self._declined = True

    def _probed(self, hold, why):
        """A probe ended: passed (why None), probe again later; failed,
        leave the relay (and ask the tracker for another), unless this node
        declined circuits the relay announced meanwhile (its own bounds
        full: its probe's circuit may have been one of them): then it is
        no word on the relay, and it probes again L{PROBE_AGAIN} later.
        Otherwise a stranger opening circuits to this node through an
        honest relay, past those bounds, at probe time made it leave that
        relay, and the next.  Excused once in a row only: a relay that
        dropped every circuit, its probes' too, and announced circuits
        enough at each probe that the node declined some, held its node at
        home out of reach for good."""
        self._probe = None
        if hold is not self._hold:
            return
        if why is not None and self._declined and not self._excused:
            self._excused = True
            host, _ = splitRelay(hold.named.relay)
            self._home.peerLog.emit(
                self.log, LogLevel.info, addressGroup(host),
                "kept the relay at {relay}: its probe failed ({why}), but this node "
                "declined circuits it announced meanwhile; probing it again in "
                "{wait:g} s", relay=hold.named.relay, why=why, wait=PROBE_AGAIN)
            self._timer = self._home.clock.callLater(PROBE_AGAIN, self._next)
            return
        if why is None:
            self._excused = False
            self._passed()
            self._timer = self._home.clock.callLater(PROBE_INTERVAL, self._next)
        else:
            if self._excused:
                why = f"{why} (and the probe before failed too)"
            hold.letGo(f"a circuit to this node through it did not open: {why}")

    def stop(self):
        """No probe under way or to come."""
        self._hold = None
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.cancel()
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()
