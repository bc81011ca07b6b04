"""
Where a source of this node's own paths announces what it found: the
relay reservation (a L{RELAYED} path: this node is reached through the
relay that holds it, L{twisted_bazaar.reach.reachable.reservation}) and
port mapping (a L{MAPPED} path: the router forwards that port to this
node, L{twisted_bazaar.reach.reachable.portmapping}).  A source is given
an L{IPathsFound} when it is built and tells it each path it found and
each that went; it asks nothing of who listens, and holds nothing of
theirs.  The node listens (L{twisted_bazaar.core.node.Node.pathFound})
and advertises them.

Paths to a peer that a punch finds go the other way, to the dialer, which
dials them: L{twisted_bazaar.reach.sources} (its L{Found
<twisted_bazaar.reach.sources.Found>} carries the key the dial expects).
The two are not yet one interface (issue 92 item 2).
"""

from zope.interface import Interface

__all__ = ["IPathsFound"]


class IPathsFound(Interface):
    """Who hears the paths a source found."""

    def pathFound(path, peer_id=None):
        """
        A source found path (a L{twisted_bazaar.transports.path.Path}):
        one to this node itself (``peer_id`` None, the only kind told now)
        or to peer_id.

        @return: whether it was news to the listener (a path it already
            held is not).
        """

    def pathGone(path, peer_id=None):
        """path, found before, reaches this node (``peer_id`` None) or
        peer_id no more."""
