"""
Where a source of paths announces what it found (issue 92 item 2: the
punchers, the relays and port mapping are sources of paths behind one
interface).  A source is given an L{IPathsFound} when it is built and
tells it each path it found and each that went; it asks nothing of who
listens, and holds nothing of theirs.

Sources now: the relay reservation (a L{RELAYED} path: this node is
reached through the relay that holds it,
L{twisted_bazaar.reach.reachable.reservation}) and port mapping (a
L{MAPPED} path: the router forwards that port to this node,
L{twisted_bazaar.reach.reachable.portmapping}); both paths are this
node's own (``peer_id`` None).  A punch's path to a peer is announced
with that peer's id.  The node listens to its own
(L{twisted_bazaar.core.node.Node.pathFound}).
"""

from zope.interface import Interface

__all__ = ["IPathsFound"]


class IPathsFound(Interface):
    """Who hears the paths a source found."""

    def pathFound(path, peer_id=None):
        """
        A source found path (a L{twisted_bazaar.transports.path.Path}):
        one to this node itself (``peer_id`` None) or to peer_id.

        @return: whether it was news to the listener (a path it already
            held is not).
        """

    def pathGone(path, peer_id=None):
        """path, found before, reaches this node (``peer_id`` None) or
        peer_id no more."""
