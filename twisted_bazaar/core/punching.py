"""
A node's hole punches over its relayed links (docs/protocol.md, "Hole
punching"): when a link this node opened through a relay comes up, it
punches a direct connection to the peer, and the link handshake on that
connection makes a link of the same direction and purpose, which the
overlay's duplicate rule keeps in place of the relayed one
(L{twisted_bazaar.net.admission.Admission.replaces}); a punch that fails
leaves the node on the relayed link.

Whoever asks for a link to a peer (L{twisted_bazaar.core.node.Node.connectTo})
linked through a relay while a punch with it is under way, this node's
or the peer's, waits until the punched link is up or the punch failed, at
most L{PUNCH_WAIT} seconds, so that what it sends (a buy) goes on the
direct link when there is one.
"""

from twisted.internet import defer
from twisted.python.failure import Failure

from twisted_bazaar import wire
from twisted_bazaar.core.events import NodeObserver
from twisted_bazaar.net.dispatch import unhandled
from twisted_bazaar.traversal.messages import FILES
from twisted_bazaar.traversal.punch import PunchFailed, Puncher, directPeer
from twisted_bazaar.traversal.punchmapping import UNKNOWN, PunchMapping, mappingOf

#: What a node that punches none says, to itself and to a peer's punch.
OFF = PunchMapping("", "hole punching is off on this node")
#: Seconds a dial through a relay waits for its link's punch before it
#: goes on over the relay (the punch goes on; a link it punches later
#: replaces the relayed one all the same).
PUNCH_WAIT = 10.0


def relayedFrom(link):
    """Where the relay of link's circuit saw the peer's connection come
    from, or "" for a link that is not relayed."""
    return getattr(link.transport, "relayedFrom", "") or ""


class Punching(NodeObserver):
    """
    The node's L{Puncher} and what ties it to the node: the punch
    messages' handlers, the ``error{nopunch}`` its peers send, the links
    that come and go, the tracker's address check (L{reached}), and the
    diallers that wait for a punch (L{settled}).
    """

    def __init__(self, node, dialer, wait=PUNCH_WAIT, limits=None, enabled=True):
        """
        @param dialer: dials for a punch
            (L{twisted_bazaar.traversal.punchdial.PunchDialer}).
        @param enabled: False: the node punches none, and refuses its
            peers' punches saying so (L{OFF}); nothing waits for a punch.
        """
        self.node = node
        self.wait = wait
        self.enabled = enabled
        self.puncher = Puncher(node.clock, node.rng, dialer, node.overlay.punchedLink,
                               relayedFrom, limits, lambda: node.transferFactory)
        if not enabled:
            self.puncher.setMapping(OFF)
        #: peer id -> the relayed link it is linked by, as it came up.
        self._shared = {}
        #: peer id -> the punch this node started with it, under way.
        self._punches = {}
        #: peer id -> the Deferreds of the diallers waiting for its punch.
        self._waiting = {}

    def plug(self):
        """Register the handlers and observe the node's events."""
        node = self.node
        for kind, handler in self.puncher.handlers.items():
            node.handle(kind, handler)
        node.handle(wire.Error, self._error)
        node.addObserver(self)
        node.overlay.whenReplaced = self._release

    def _error(self, link, error):
        """An ``error{nopunch}`` ends this node's punch; any other error
        is handled as the node handles those no part takes."""
        if error.code != "nopunch" or not self.puncher.refused(link, error):
            unhandled(self.node.overlay, link, error)

    def reached(self, reach, local_port):
        """The tracker's address check saw the node's connection, sent
        from ``local_port``, come from ``reach.seen_host``:``seen_port``:
        whether its router keeps ports (a punch can work) or not.  The
        first check that tells starts the punches that waited for it."""
        if not self.enabled:
            return
        puncher = self.puncher
        was = puncher.mapping
        puncher.setMapping(mappingOf(reach.seen_host, reach.seen_port, local_port))
        if was is not UNKNOWN or puncher.mapping is UNKNOWN:
            return
        for peer_id, link in list(self._shared.items()):
            if self.node.links.get(peer_id) is link:
                self._start(peer_id, link)
            if peer_id not in self._punches:
                self._release(peer_id)

    # -- links ----------------------------------------------------------------------

    def linkAdded(self, peer_id):
        self._arrived(peer_id)

    def _arrived(self, peer_id):
        """A link to peer_id is up (told by whichever comes first: the
        link's dialler, L{settled}, or the node): a relayed one, seen the
        first time, is punched."""
        link = self.node.links.get(peer_id)
        if link is not None and relayedFrom(link) and self._shared.get(peer_id) is not link:
            self._shared[peer_id] = link
            self._start(peer_id, link)

    def linkRemoved(self, peer_id):
        link = self._shared.pop(peer_id, None)
        if link is not None:
            self.puncher.linkLost(link)
        self._release(peer_id)

    def nodeStopping(self):
        self.puncher.stop()
        for peer_id in list(self._waiting):
            self._release(peer_id)

    def _start(self, peer_id, link):
        """Punch to link's peer, if this node opened the link (the dialler
        starts: the other side answers), no punch is under way, and the
        tracker's check told this node what its router does (until then,
        L{reached} starts it)."""
        if (link.inbound or not self.enabled or peer_id in self._punches
                or self.puncher.mapping is UNKNOWN):
            return
        punch = self.puncher.punch(link, relayedFrom(link))
        if punch.called:
            # Refused at once (this node cannot punch): said why.
            punch.addErrback(lambda failure: failure.trap(PunchFailed))
            return
        self._punches[peer_id] = punch
        punch.addBoth(self._ended, peer_id)

    def _ended(self, result, peer_id):
        """The punch ended: a dialler waiting for it goes on now if it
        failed, once the punched link replaced the relayed one if not."""
        self._punches.pop(peer_id, None)
        if isinstance(result, Failure):
            self._release(peer_id)
            result.trap(PunchFailed, defer.CancelledError)
        return None

    # -- transfers ------------------------------------------------------------------

    def transfer(self, peer_id, key, protocol):
        """
        Punch a connection to peer_id's transfer port for protocol (a
        buyer's transfer client), over the direct link this node has with
        it (a punched one, most often: the two routers let a punch
        through), when the peer proved ``key`` (the key of its signed
        record) on it; the connection's channel must prove it too.

        @return: a Deferred firing with protocol once connected, or
            failing with L{PunchFailed}; None when no such punch is tried
            (no direct link to the peer with that key, or this node cannot
            punch), said nowhere: the caller goes through the relay.
        """
        link = self.node.links.get(peer_id)
        if (link is None or relayedFrom(link) or link.key != key
                or not self.puncher.mapping.punchable):
            return None
        return self.puncher.punch(link, directPeer(link), FILES, protocol)

    # -- diallers -----------------------------------------------------------------

    def settled(self, peer_id):
        """
        For whoever asked for a link to peer_id, once it is up: peer_id at
        once if the link is not relayed or no punch with the peer is under
        way (nor this node's waiting for the tracker's check), else a
        Deferred firing with it when the punched link has replaced the
        relayed one, the punch failed, or L{wait} seconds passed.
        """
        self._arrived(peer_id)
        if not self.waitsFor(peer_id):
            return peer_id
        waiting = self._waiting.setdefault(peer_id, [])

        def cancel(d):
            self._forget(peer_id, d)

        d = defer.Deferred(cancel)
        timer = self.node.clock.callLater(self.wait, self._expire, peer_id, d)
        d.addBoth(self._stopTimer, timer)
        waiting.append(d)
        return d

    def waitsFor(self, peer_id):
        """Whether the link to peer_id is a relayed one that a punch under
        way (this node's or the peer's) may replace, or that waits for the
        tracker's check to start this node's."""
        link = self.node.links.get(peer_id)
        if link is None or not relayedFrom(link):
            return False
        if link.inbound:
            return self.puncher.answering(link)
        return peer_id in self._punches or self.puncher.mapping is UNKNOWN

    def _expire(self, peer_id, d):
        if self._forget(peer_id, d):
            d.callback(peer_id)

    def _forget(self, peer_id, d):
        """Take d off peer_id's waiting list: whether it was on it."""
        waiting = self._waiting.get(peer_id, ())
        if d not in waiting:
            return False
        waiting.remove(d)
        if not waiting:
            del self._waiting[peer_id]
        return True

    def _release(self, peer_id):
        for d in self._waiting.pop(peer_id, ()):
            d.callback(peer_id)

    @staticmethod
    def _stopTimer(result, timer):
        if timer.active():
            timer.cancel()
        return result
