"""
What a node's tracker session knows of its tracker's own relay, on the
tracker connection it is on: the relay at the tracker's host the tracker
named (in a ``nodereply``), and the one where the tracker holds this
node's reservation (as the reservation service says).  A node dials its
tracker's relay as it dials its tracker; any other relay a peer names at
the tracker's host is a stranger's word.  A base of L{Membership
<twisted_bazaar.core.membership.Membership>}, which holds the tracker
link (C{link}) and forgets both with it (L{relaysGone}).
"""

from twisted_bazaar.base.lan import sameHost
from twisted_bazaar.wire.core import splitRelay


class TrackersRelay:
    """The tracker's own relay, as its session knows it (see the module)."""

    #: The relay at its own host the tracker named (a nodereply's, on
    #: this tracker connection), or None: its own relay (L{isTrackerRelay}).
    _trackersRelay = None
    #: The tracker's relay where it holds this node's reservation, on this
    #: tracker connection, as the reservation service says
    #: (L{reservedAtTracker}), or None.
    _reservedRelay = None

    def relayNamed(self, relay):
        """A ``nodereply`` named relay (or None): kept as the tracker's own
        if it is at the tracker's host."""
        if relay is not None and self.atTrackersHost(relay):
            self._trackersRelay = relay

    def relaysGone(self):
        """The tracker connection closed: what it said of its relays goes
        with it."""
        self._trackersRelay = self._reservedRelay = None

    def reservedAtTracker(self, relay):
        """The tracker holds this node's reservation at its own relay
        (``HOST:PORT``), on this connection: L{isTrackerRelay} says so
        until the connection goes."""
        self._reservedRelay = relay

    def isTrackerRelay(self, relay):
        """Whether relay (``HOST:PORT``) is the tracker's own: where the
        tracker holds this node's reservation, or the relay at its own
        host it named in a nodereply.  Not any port of the host this
        node's tracker connection reaches: a stranger naming that host at
        a port of its choosing as its relay made every node that dialled
        it connect to that port of the tracker's machine."""
        return relay == self._trackersRelay or (
            relay is not None and relay == self._reservedRelay)

    def atTrackersHost(self, relay):
        """Whether relay (``HOST:PORT``) is at the host this node's tracker
        connection reaches: the tracker's own machine, which this node
        chose to connect to (an IPv4 address as an IPv6 socket names it,
        ``::ffff:192.0.2.1``, is that address)."""
        if self.link is None:
            return False
        host = getattr(self.link.transport.getPeer(), "host", None)
        return host is not None and sameHost(splitRelay(relay)[0], host)
