"""
The node's relay offering service (docs/protocol.md §5a), as go-libp2p's
relay service is started on a reachability event: a node with a relay of
its own (L{twisted_bazaar.transports.relay.relay.Relay}, ``--relay``) offers it
to its tracker (``relayOffer``) once the tracker's check finds the node
can be dialled (C{reachChanged}, public), once per tracker connection
(C{trackerLost} forgets it): the tracker may then name it to the nodes it
cannot dial.  The relay's port is served by a child of this service
(whoever runs the node adds it: a daemon's listening port, a test
market's memory port), so it listens and stops with it.

Built by L{twisted_bazaar.daemon.build} for a node that relays.
"""

from twisted.application.service import MultiService

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.reachable.reachability import PUBLIC
from twisted_bazaar.transports.relay.messages import RelayOffer


class RelayOffering(MultiService, NodeObserver):
    """
    The node's own relay, and its offer to the tracker.

    @ivar relay: the L{Relay}.
    """

    def __init__(self, tracker, relay):
        """
        @param tracker: C{tracker()}, the node's tracker session now (the
            offer is sent on it).
        """
        super().__init__()
        self._tracker = tracker
        self.relay = relay
        #: Whether this tracker connection was told of the relay.
        self._offered = False

    def reachChanged(self, reach, local_port):
        """Found public, with the relay listening and taking
        reservations, the node offers it (once per tracker
        connection)."""
        relay = self.relay
        if (reach.state != PUBLIC or self._offered or not relay.enabled
                or not relay.port):
            return
        self._offered = True
        self._tracker().send(RelayOffer(relay.port, relay.limits.reservations))

    def trackerLost(self):
        """A new tracker connection is told of the relay anew."""
        self._offered = False
