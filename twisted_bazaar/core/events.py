"""
What a node tells the components plugged into it.

Components (roles, schemes, probes) implement L{INodeEvents}, usually by
subclassing L{NodeObserver} and overriding the events they care about.
The node holds an L{EventBus}, which is itself an L{INodeEvents}: calling
one of its methods tells every observer, each shielded from the others, so
one observer that raises is logged and the rest are still told.
"""

from twisted.logger import Logger
from zope.interface import Interface, implementer


class INodeEvents(Interface):
    """The events of one node, in the order they usually happen."""

    def nodeReady():
        """The node has its id and can talk to peers."""

    def trackerRegistered():
        """A (new) tracker session registered this node."""

    def trackerLost():
        """The tracker session's link closed: what this node held through
        it (a reservation, a relay offered) is gone with it."""

    def reachChanged(reach, local_port):
        """The tracker's check of this node's address told it whether it
        can be dialled from outside (``reach``, a L{Reachability}, now
        L{Node.reach}), on each check, changed or not; ``local_port``:
        the port its tracker connection left from (what its router keeps
        of it tells hole punching whether a punch can work)."""

    def relayChanged():
        """The relay this node is reached through changed (a reservation
        granted, or lost with its tracker connection): what advertises
        the node's address should say so again (L{Node.relay})."""

    def linkAdded(peer_id):
        """A link to a peer finished its handshake."""

    def discoveryReady():
        """The discovery scheme can find now, for a reason no other event
        tells (a chord node took its place on the ring): whatever waits
        for C{canFind} may start."""

    def linkRemoved(peer_id):
        """A link to a peer closed."""

    def delivered(message):
        """A path-routed message ended its path at this node."""

    def findStarted(item):
        """The discovery scheme began looking for offers of item."""

    def offerArrived(item, offer):
        """One offer for item reached this node (an L{Offer})."""

    def offersFound(item, offers):
        """A find for item ended with these offers, best first."""

    def refusedToSell(seller_id):
        """A seller read this node's buys and asks and answered none of
        them (L{twisted_bazaar.roles.probe}): it will not sell, whatever
        its records say."""

    def soldNothing(seller_id):
        """A seller this node's buyer tried sold it nothing: it answered a
        buy ``soldout`` (or another never-sold answer) or ``notyet``, or
        the buyer gave up on it (silent, or nothing listening)."""

    def nodeStopping():
        """The node is shutting down: stop starting new work."""


@implementer(INodeEvents)
class NodeObserver:
    """Does nothing on every event: subclass and override what you need."""

    def nodeReady(self):
        pass

    def trackerRegistered(self):
        pass

    def trackerLost(self):
        pass

    def reachChanged(self, reach, local_port):
        pass

    def relayChanged(self):
        pass

    def linkAdded(self, peer_id):
        pass

    def discoveryReady(self):
        pass

    def linkRemoved(self, peer_id):
        pass

    def delivered(self, message):
        pass

    def findStarted(self, item):
        pass

    def offerArrived(self, item, offer):
        pass

    def offersFound(self, item, offers):
        pass

    def refusedToSell(self, seller_id):
        pass

    def soldNothing(self, seller_id):
        pass

    def nodeStopping(self):
        pass


def _broadcast(name):
    def broadcast(self, *args):
        for observer in tuple(self.observers):
            try:
                getattr(observer, name)(*args)
            except Exception:
                self.log.failure("{observer!r} failed on {event}", observer=observer,
                                 event=name)

    broadcast.__name__ = name
    broadcast.__doc__ = INodeEvents[name].getDoc()
    return broadcast


@implementer(INodeEvents)
class EventBus:
    """
    Tells every observer of a node, in the order they were added.

    @ivar observers: the L{INodeEvents} providers told of each event.
    """

    log = Logger()

    def __init__(self):
        self.observers = []

    def addObserver(self, observer):
        """
        Tell observer of every event from now on.

        @raise TypeError: if it does not provide L{INodeEvents}.
        """
        if not INodeEvents.providedBy(observer):
            raise TypeError(f"{observer!r} does not provide INodeEvents "
                            "(subclass NodeObserver)")
        self.observers.append(observer)

    def removeObserver(self, observer):
        if observer in self.observers:
            self.observers.remove(observer)

    for _name in INodeEvents.names():
        locals()[_name] = _broadcast(_name)
    del _name
