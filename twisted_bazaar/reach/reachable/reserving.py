"""
The node's reservation service (docs/protocol.md §5a), as go-libp2p's
autorelay is started on a reachability event: once the tracker's check
finds the node cannot be dialled (C{reachChanged}, private), it asks its
tracker for a reservation at a relay
(L{twisted_bazaar.reach.reachable.reservation.RelayReservation}: the tracker's,
or a public node's the tracker names), and takes the tracker's relay
messages from then on, registered with the tracker session
(its class table C{fromTracker}, L{SessionParts.takeFrom
<twisted_bazaar.core.sessionhandlers.SessionParts.takeFrom>}):
until the node asked, the tracker has no reason to send them, and they
are refused as the session refuses any message nobody takes.  The
reservation is added to the node's dialer's sources of paths
(L{twisted_bazaar.reach.sources}) once made, and announces the relay it
holds through them.  The reservation goes with the tracker connection (C{trackerLost}) and with
the service (L{ReservationService.stopService}).

Built for every node by L{twisted_bazaar.daemon.build}; a node without a
key (some tests) reserves nowhere, as no relay would hold it.
"""


from twisted_bazaar.base.slotservice import SlotService
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC
from twisted_bazaar.transports.relay.messages import RelayAt, RelayIncoming, RelayReserved
from twisted_bazaar.reach.reachable.accepting import provenKey
from twisted_bazaar.reach.reachable.reservation import RelayReservation


class ReservationService(SlotService, NodeObserver):
    """
    A node's reservation at a relay, asked for each time its tracker finds
    it private.

    @ivar reservation: the L{RelayReservation} once the node first asked,
        else None.
    """

    # Slots, not a dict: every simulated node holds one.
    __slots__ = ("_of", "reservation")

    def __init__(self, of):
        """
        @param of: what L{makeHome} makes the node's home of, when the node
            is first found private: most simulated nodes never are.
        """
        SlotService.__init__(self)
        self._of = of
        self.reservation = None

    def makeHome(self, of):
        """What the service and its reservation use of the node (a
        L{RelayHome <twisted_bazaar.reach.reachable.home.RelayHome>}),
        made of C{of}: here C{of()}.  A method of the class, so that a
        subclass makes it of the node itself and no node holds a bound
        method for it (64 bytes each simulated node)."""
        return of()

    @property
    def relay(self):
        """The relay (``HOST:PORT``) the reservation is held at, or None."""
        reservation = self.reservation
        return None if reservation is None else reservation.relay

    def reachChanged(self, reach, local_port):
        """Found private, the node asks its tracker for a reservation
        (once per tracker connection: L{RelayReservation.ask}).  Found
        public after it asked (its router maps its port since, and the
        tracker checked it there: L{twisted_bazaar.reach.reachable.portmapping}), it
        lets go of the reservation: the tracker names it at its address
        now, and nobody needs a relay to reach it."""
        reservation = self.reservation
        if reach.state == PUBLIC and reservation is not None and reservation.asked:
            reservation.lost()
            return
        if reach.state != PRIVATE:
            return
        home = self.makeHome(self._of) if reservation is None else reservation.home
        membership = home.tracker()
        if home.identity is None or membership is None:
            return
        if reservation is None:
            reservation = self.reservation = RelayReservation(home)
            home.sources.add(reservation)
            parts = membership.parts
            parts.takeFrom(self)
            parts.handleError("norelay", reservation.refused)
            parts.handleError("noslots", reservation.declined)
        reservation.ask(membership.send)

    def _reserved(self, link, message):
        """The tracker holds the reservation at its own relay: its session
        vouches for that relay from now on, before the node's parts hear
        of it (C{relayChanged}).  Only at the host the node's tracker
        connection reaches (the tracker's relay is its own machine's):
        one naming another host (a lying tracker among several) would
        have the node dial there at each circuit announced, and advertise
        it; refused (``error{wtf}``), and no reservation taken.  Only as
        the answer to this node's relayReserve (L{RelayReservation.answers}):
        one unasked is dropped."""
        membership = self.reservation.home.tracker()
        if not self.reservation.answers(message):
            return
        if not membership.atTrackersHost(message.relay):
            membership.link.protocolError(
                "wtf", f"relayReserved names {message.relay}: this tracker's own "
                "relay is at the host this node connected to")
            return
        membership.trackersRelay.trackerReserved(message.relay)
        self.reservation.reserved(message)

    def _incoming(self, link, message):
        """The tracker's relay announces a circuit: accepted there, if it
        holds this node's reservation, the way this node reaches its
        tracker (the dialer picks L{Membership.trackerWay}: the reservation
        was kept over that connection); refused as unexpected otherwise."""
        reservation = self.reservation
        membership = reservation.home.tracker()
        if reservation.trackerRelay is None:
            membership.unexpected(message)
            return
        # The tracker's relay is sealed by the tracker's key: the one its
        # channel proved is expected of each accept.
        reservation.incoming(message, reservation.trackerRelay,
                             key=provenKey(membership.link.transport))

    def _relayAt(self, link, message):
        self.reservation.at(message)

    #: What it takes from the tracker once found private
    #: (L{Membership.takeFrom}).
    fromTracker = {RelayReserved: _reserved, RelayAt: _relayAt,
                   RelayIncoming: _incoming}

    def trackerLost(self):
        """Every reservation goes with the tracker connection (a public
        node's relay's too: the tracker names none now)."""
        if self.reservation is not None:
            self.reservation.lost()

    def stopService(self):
        """The node stops: its reservation, its timers and its connection
        to a relay go."""
        super().stopService()
        self.trackerLost()
