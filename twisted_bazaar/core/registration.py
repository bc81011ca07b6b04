"""
A node's registration: whether a tracker holds it registered, with its id
on disk, and the one time it says it is ready.

A node is ready (its roles start, its operator is told
``bazaar_node_ready``) only once both are true: the tracker showed it
holds the node (a tracker may yet refuse the node's proof after naming
it), and the id the tracker gave is stored (a node killed just after
saying its id comes back with it; one that could not record it never
says it is ready).  L{Registration} is mixed into L{Node
<twisted_bazaar.core.node.Node>}, so that a simulated million hold no
object more for it: it uses what the node shows (its id, store, paths,
log, events) and sets its ``id`` and ``ready``; its own state (whether a
tracker holds the node, the id stored) is set up and written here only.
"""

from twisted.internet import defer

from twisted_bazaar.wire.ids import shortId, wireId


def storedId(store, identity):
    """
    The id a node asks its tracker for again: the one its store
    remembers, unless that is not the id of its key (None then).  The
    tracker takes a keyed node's id only as its key's, so a data dir's id
    of another key (the key replaced, as docs/running.md bids a key
    others read) or of a version whose ids were not their keys' (31 bits)
    was refused at every attempt, and the node never registered.
    """
    stored = store.nodeId()
    return stored if identity is None or stored == identity.id else None


class Registration:
    """The node's side of being registered with a tracker: named
    (L{setId}), shown held (L{trackerAccepted}, until L{trackerLeft}),
    its id stored, and ready once (C{nodeReady})."""

    def __init__(self):
        """Not registered: called by the node as it is made."""
        #: Whether the tracker holds this node registered, as far as it
        #: has shown (L{trackerAccepted}, until L{trackerLeft}).
        self._accepted = False
        #: The id on disk, once stored, else None.
        self._stored = None

    def setId(self, node_id, accepted=True):
        """The tracker named this node; ``accepted``: and it holds the
        node registered (a simulation's word; a tracker session says so
        once the tracker shows it, L{trackerAccepted})."""
        if self.id is not None and node_id != self.id:
            self.log.warn("tracker gave this node a new id {new} (was {old})",
                          new=node_id, old=self.id)
            # Every path this node learned starts with its old id.
            self.paths.clear()
        self.id = node_id
        self._accepted = accepted
        stored = (self.store.setNodeId(node_id) if self.store.nodeId() != node_id
                  else defer.succeed(None))
        # Announced once the id is on disk (at once with an inline store):
        # a node killed after saying its id comes back with it; one that
        # could not record it never says it is ready.
        stored.addCallbacks(self._idStored, self._idNotStored,
                            callbackArgs=(node_id,), errbackArgs=(node_id,))

    def trackerAccepted(self):
        """The tracker showed it holds this node registered: once its id is
        on disk too, the node says it is ready (the first time)."""
        self._accepted = True
        self._announceReady()

    def trackerLeft(self):
        """The tracker session ended: no tracker holds this node now."""
        self._accepted = False

    @property
    def registered(self):
        """Whether a tracker holds this node registered now, as it has
        shown, with the node's id on disk, and the node is not stopping:
        what it must be to say it is ready, and what its operator is told
        (``bazaar_node_ready``)."""
        return (self._accepted and self.id is not None and self._stored == self.id
                and not self.stopping)

    @property
    def wasRegistered(self):
        """Whether it was registered at some time in this run (as
        L{registered} says), and so said it was ready."""
        return self.ready

    def _idNotStored(self, reason, node_id):
        self.log.warn("could not store node id {id}: {why}", id=wireId(node_id),
                      why=reason.getErrorMessage())

    def _idStored(self, _, node_id):
        self._stored = node_id
        self._announceReady()

    def _announceReady(self):
        if self.ready or not self.registered:
            return
        self.ready = True
        # The whole id once, for a user to copy (bazaar node takes it).
        self.log.info("node {short} ready, listening on port {port} (id {id})",
                      short=shortId(self.id), port=self.port, id=wireId(self.id))
        self.events.nodeReady()
