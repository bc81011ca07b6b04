"""
A daemon's node whose key another process holds: a copy of its
``--data-dir`` run as a second node (the lock of a data dir is the
directory's, so a copy takes its own).  Both prove the one key, and the
tracker gives the id to the newest proof (docs/protocol.md §5: a key's
owner back on a new connection takes its registration from the old
one), so the two took each other's registration in turns, a second
apart, for ever: each logged `tracker says wtf: ...` and `lost the
tracker ...: it closed the connection (it stopped, restarted or
crashed)`, and neither stayed listed long enough to sell.

A node's own new connection never meets its old one here: it dials the
tracker again only once it let its old link go.  So a live node told
that its key was proved on another connection has a twin: it ends
(L{TwinWatch}), saying why, and the other keeps the id.
"""

from twisted_bazaar.wire.ids import shortId, wireId


class TwinWatch:
    """
    Ends the daemon, with one line, when its tracker says another
    connection proved this node's key.

    @ivar onFailure: told the line (the daemon's exit status: exit 1).
    """

    def __init__(self, node, membership, onFailure):
        self.node = node
        self.onFailure = onFailure
        membership.parts.handleError("wtf", self._wtf)

    def _wtf(self, error):
        node_id = self.node.id
        if node_id is None or error.info != (f"node {wireId(node_id)} proved its key "
                                             "on another connection"):
            return
        self.onFailure(
            f"another process holds this node's key (node {shortId(node_id)}): the "
            "tracker gave it this node's registration (a copy of this node's "
            "--data-dir, run as a second node?); two nodes of one key take each "
            "other's registration in turns, so this one stops: give each node its "
            "own --data-dir (an empty one makes a new key)")
