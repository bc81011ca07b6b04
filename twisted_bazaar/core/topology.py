"""
Topology: which peers a node links to, and how it keeps them.

A scheme picks its topology: a flooding node wants a few random
neighbours, a Chord node its successors and fingers, a leaf one or two
super-peers.  L{ITopology} is what they share; L{RandomNeighbours} is the
first implementation (N random peers the tracker introduces).
"""

from twisted.logger import Logger
from zope.interface import Interface, implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar import wire
from twisted_bazaar.base.backoff import Backoff
from twisted_bazaar.base.slotservice import SlotService
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.core.market import schemeOf
from twisted_bazaar.reach.asking import TrackerSilent
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.net.overlay import OVERLAY

#: First and largest pause between asks when the tracker has no new peer.
RETRY_MIN = 1.0
RETRY_MAX = 60.0
#: Peers a link to failed lately, left out of the next asks (newest kept).
UNLINKABLE_KEPT = 16


def dialWhy(reason, host, port):
    """Why a dial to host:port failed, for a line that names the address
    itself: without the ``host:port: `` a failed dial's reason starts with
    (L{twisted_bazaar.net.opening.dialFailure})."""
    return reason.getErrorMessage().removeprefix(f"{hostPort(host, port)}: ")


class ITopology(Interface):
    """A node's choice of neighbours: an IService, started and stopped
    with the node; it opens links with ``node.connectTo``."""

    def startService():
        """Begin keeping neighbours."""

    def stopService():
        """Stop: cancel every timer and question; may return a Deferred."""


@implementer(ITopology)
class RandomNeighbours(SlotService, NodeObserver):
    """
    Keep ``wanted`` overlay links to random peers the tracker introduces.

    Whenever the node has fewer overlay links than it wants, it asks the
    tracker for one more peer (``nodereq``, naming the peers it has and its
    scheme), one question at a time, backing off while the tracker has
    nobody new to offer: a link lost meanwhile waits for the retry, so
    that a peer that opens and closes links does not make the node ask
    the tracker once for each.

    A peer the node could not link to is left out of its next asks, so
    that the tracker introduces someone else (a node behind a firewall
    is not offered the same unreachable peer over and over); once the
    tracker has nobody else, those peers are forgotten and, after the
    backoff, may be offered again.
    """

    log = Logger()

    # Slots, not a dict: every node of a simulated flood holds one.
    __slots__ = ("node", "wanted", "_asking", "_backoff", "_connecting", "_nobodyNew",
                 "_unlinkable")

    def __init__(self, node, wanted):
        SlotService.__init__(self)
        self.node = node
        self.wanted = min(wanted, node.config.max_connections)
        self._asking = None
        self._backoff = Backoff(node.clock, node.rng, RETRY_MIN, RETRY_MAX)
        self._connecting = None
        #: The tracker's last answer offered nobody new; a retry waits.
        self._nobodyNew = False
        #: Peers a link to failed since the tracker last had nobody new,
        #: oldest first (at most L{UNLINKABLE_KEPT}): a list from the
        #: first (an empty one was 56 bytes of every simulated node).
        self._unlinkable = ()
        node.addObserver(self)

    def neighbours(self):
        return self.node.peersOf(OVERLAY)

    def _crowd(self):
        """The address group holding most of the node's overlay links when
        the node opened none to another
        (L{twisted_bazaar.net.admission.crowded}), else None: it then asks
        for a peer of its own of another group, since peers that dial it
        must not be all it knows, however many they are."""
        return self.node.crowd(OVERLAY)

    def _groupsOf(self, reply):
        """The address groups a link to the peer the tracker named in reply
        may come from: where it names it, and the groups of the local
        addresses it names for it (L{Whereabouts.lanGroups
        <twisted_bazaar.reach.whereabouts.Whereabouts.lanGroups>}): a
        classmate behind this node's own router, named at the router's
        public address, is dialled at its local address first, and its
        link is one more of the class's LAN, the crowd's group."""
        return {addressGroup(reply.host), *self.node.whereabouts.lanGroups(reply.id)}

    # -- node events -----------------------------------------------------------

    def trackerRegistered(self):
        self.seek()

    def linkRemoved(self, peer_id):
        if not (self._nobodyNew and self._backoff.pending):
            self.seek()

    def nodeStopping(self):
        self.stopService()

    # -- asking ------------------------------------------------------------------

    def seek(self):
        """Ask the tracker for one more peer if the node lacks any."""
        node, membership = self.node, self.node.membership
        if self._asking is not None or self._connecting is not None:
            return
        if not self.running or node.stopping or membership is None:
            return
        if not membership.isRegistered or (len(self.neighbours()) >= self.wanted
                                           and self._crowd() is None):
            return
        self._nobodyNew = False
        # A peer left out may have linked to this node since (a node at
        # home dials out): named once, as the tracker requires.
        exclude = tuple(dict.fromkeys([*self.neighbours(), *self._unlinkable]))
        exclude = exclude[: wire.MAX_EXCLUDE]
        scheme, _ = schemeOf(node.discovery)
        self._asking = membership.ask(wire.NodeReq(exclude, scheme=scheme))
        self._asking.addCallbacks(self._introduced, self._noAnswer)

    def _noAnswer(self, reason):
        self._asking = None
        # TrackerGone: the next registration asks again; a cancel: stopped;
        # no answer in time (TrackerSilent): ask again later.
        if reason.check(TrackerSilent):
            self._retryLater()

    def _introduced(self, reply):
        self._asking = None
        node = self.node
        if reply.id < 0 or reply.id == node.id or reply.id in self.neighbours():
            self._nobodyNew = True
            self._unlinkable = ()
            self._retryLater()
            return
        if (len(self.neighbours()) >= self.wanted
                and self._crowd() in self._groupsOf(reply)):
            # Asked only for a peer of another group: this one is left
            # out of the next ask, whose exclude names its group.
            self._leaveOut(reply.id)
            self._nobodyNew = True
            self._retryLater()
            return
        # The reply is in the book of paths already (the session wrote it).
        self._connecting = node.connectTo(reply.id, OVERLAY)
        self._connecting.addCallbacks(self._connected, self._failed,
                                      errbackArgs=(reply,))

    def _connected(self, peer_id):
        self._connecting = None
        self._backoff.reset()
        self.seek()

    def _failed(self, reason, reply):
        self._connecting = None
        self._leaveOut(reply.id)
        if self.running:
            why = dialWhy(reason, reply.host, reply.port)
            self.log.info("could not link to node {id} at {where}: {why}",
                          id=shortId(reply.id), host=reply.host, port=reply.port,
                          where=hostPort(reply.host, reply.port), why=why)
            self.node.events.linkFailed(reply.id, reply.host, reply.port, why)
            self._retryLater()

    def _leaveOut(self, peer_id):
        """Leave peer_id out of the next asks (the newest
        L{UNLINKABLE_KEPT} are)."""
        if peer_id not in self._unlinkable:
            self._unlinkable = [*self._unlinkable, peer_id][-UNLINKABLE_KEPT:]

    def _retryLater(self):
        """Ask again later, with exponential backoff and jitter."""
        if self.running:
            self._backoff.schedule(self.seek)

    # -- IService ----------------------------------------------------------------

    def startService(self):
        super().startService()
        self.seek()

    def stopService(self):
        if not self.running:
            return None
        super().stopService()
        self._backoff.cancel()
        for pending in (self._asking, self._connecting):
            if pending is not None:
                pending.cancel()
        return None
