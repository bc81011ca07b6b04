"""
Whether a node reaches a peer without a relay or a punch
(L{directPath}): what the punch services ask the dialer
(L{twisted_bazaar.reach.whereabouts.Whereabouts.directPath}) before they punch,
so that no probe and no punch's count is spent on a peer the node can
dial (docs/protocol.md, "Hole punching", "A peer dialled, not
punched").

Read from the node's book of paths (L{twisted_bazaar.reach.book.PathBook})
and its LAN paths' record (L{twisted_bazaar.reach.lanpaths.LanPaths}),
nothing written: the tracker's fresh word that names the peer at a host
with no relay (its check dialled it there), a port its router mapped,
a UDP address this node's operator configured, or a local address the
tracker named for a peer behind this node's own router that has not
failed lately.  A peer's own claims (its ``thisisme``, an address an
offer or a ring entry gave) are none of these.
"""

from twisted_bazaar.transports.path import CONFIGURED, DIRECT, LAN, MAPPED, SEEN, UDP

__all__ = ["directPath"]


def directPath(book, lan, peer_id, seen_host=""):
    """
    The first path by which this node reaches peer_id directly, or None.

    @param book: the node's L{PathBook}.
    @param lan: the node's L{LanPaths}, or None (it never dialled a local
        address, and has none of its own to dial from).
    @param seen_host: where the tracker sees this node ("" before it
        said): a local address is tried only behind the same public one.
    """
    if book.known(peer_id):
        for path in book.pathsOf(peer_id, DIRECT):
            if path.word == SEEN and path.host and path.port:
                return path
    for path in book.paths(peer_id):
        if path.kind == MAPPED or (path.kind == UDP and path.word == CONFIGURED):
            return path
    if lan is not None and book.known(peer_id):
        tried = lan.targets(peer_id, seen_host)
        for path in book.pathsOf(peer_id, LAN):
            if path.host in tried:
                return path
    return None
