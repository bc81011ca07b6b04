"""
What a node's tracker session knows of its tracker's own relay, on the
tracker connection it is on: the relay at the tracker's host the tracker
named (in a ``nodereply``), and the one where the tracker holds this
node's reservation (as the reservation service says).  A node dials its
tracker's relay as it dials its tracker; any other relay a peer names at
the tracker's host is a stranger's word.  A part of L{Membership
<twisted_bazaar.core.membership.Membership>}, made when the tracker first
names one and dropped with the tracker link: most simulated nodes never
hear of one.
"""

from twisted_bazaar.base.lan import sameHost
from twisted_bazaar.wire.core import splitRelay


def atHostOf(link, relay):
    """Whether relay (``HOST:PORT``) is at the host the tracker ``link``
    (or None) reaches: the tracker's own machine, which this node chose to
    connect to (an IPv4 address as an IPv6 socket names it,
    ``::ffff:192.0.2.1``, is that address)."""
    if link is None:
        return False
    host = getattr(link.transport.getPeer(), "host", None)
    return host is not None and sameHost(splitRelay(relay)[0], host)


class TrackersRelay:
    """The tracker's own relay, as its session knows it (see the module)."""

    __slots__ = ("named", "reserved")

    def __init__(self):
        #: The relay at its own host the tracker named (a nodereply's, on
        #: this tracker connection), or None.
        self.named = None
        #: The tracker's relay where it holds this node's reservation, on
        #: this tracker connection, or None.
        self.reserved = None

    def trackerNamed(self, relay):
        """The tracker named relay, at its own host, in a nodereply (its
        session's word, L{twisted_bazaar.core.membership.Membership})."""
        self.named = relay

    def trackerReserved(self, relay):
        """The tracker holds this node's reservation at relay, its own (the
        reservation service's word,
        L{twisted_bazaar.reach.reachable.reserving})."""
        self.reserved = relay

    def holds(self, relay):
        """Whether relay (``HOST:PORT``) is the tracker's own: where the
        tracker holds this node's reservation, or the relay at its own
        host it named in a nodereply.  Not any port of the host this
        node's tracker connection reaches: a stranger naming that host at
        a port of its choosing as its relay made every node that dialled
        it connect to that port of the tracker's machine."""
        return relay is not None and relay in (self.named, self.reserved)
