"""
A node's exchange with its tracker for UDP punches (L{TrackerAsks}, a
mixin of L{twisted_bazaar.reach.punch.udp.service.UdpPunching}): its
``udpcheck`` and the two probe datagrams it sends for one, the
``udpreach`` that tells its mapping, its ``udppunch`` asks once that
mapping is fresh, the tracker's ``udppunchgo`` (kept a moment for a
link not yet come: L{twisted_bazaar.reach.punch.udp.earlygo}), and its
``error{noudp}``, which answers the oldest request not yet answered
(L{twisted_bazaar.reach.punch.udp.requests}).  A mixin, so that a node's
punching is still one object with one table of runs.
"""

from twisted_bazaar.reach.punch.udp.mapping import CHECK_TIMEOUT
from twisted_bazaar.wire.udpreach import (
    UdpProbe,
    UdpPunchAsk,
    UdpPunchGo,
    UdpReached,
    probeDatagram,
)
from twisted_bazaar.reach.punch.udp.requests import CHECK
from twisted_bazaar.reach.punch.udp.run import write
from twisted_bazaar.reach.reachable.reachability import PUBLIC
from twisted_bazaar.wire.ids import shortId

__all__ = ["TrackerAsks"]


class TrackerAsks:
    """The tracker's side of the punches of L{UdpPunching
    <twisted_bazaar.reach.punch.udp.service.UdpPunching>}: see the
    module's docstring."""

    def trackerRegistered(self):
        parts = self.node.membership.parts
        parts.takeFrom(self)
        parts.handleError("noudp", self._refused)

    def reachChanged(self, reach, local_port):
        """The tracker dialled this node: a check of its UDP mapping lets
        the tracker name its QUIC port to peers (docs/protocol.md, "Over
        UDP", "What a node does")."""
        self._routerKnown = True
        if reach.state == PUBLIC and self.node.udpPort:
            self._freshen()

    def trackerLost(self):
        self.requests.lost()
        self.check.lost()
        for peer_id in self._wanted.peers():
            self._giveUp(peer_id, "the tracker connection was lost")

    def _freshen(self):
        """L{MappingCheck.freshen
        <twisted_bazaar.reach.punch.udp.mapping.MappingCheck.freshen>}, its
        ``udpcheck`` the oldest request."""
        return self.check.freshen(lambda: self.requests.sendCheck(self.node.membership))

    def _unchecked(self):
        """The check had no answer: the punches waiting for it are given
        up."""
        for peer_id in self._wanted.peers():
            self._giveUp(peer_id, f"the tracker did not answer its check within "
                         f"{CHECK_TIMEOUT:g} s")

    def _probe(self, link, probe):
        """Send the check's two datagrams from the node's QUIC socket to
        the tracker's host: for a check this node asked, the oldest
        request not yet answered (else none: a tracker is not to make it
        send datagrams at will)."""
        if not self.requests.probeAsked():
            return
        host = link.transport.getPeer().host
        datagram = probeDatagram(probe.token)
        for port in (probe.port, probe.second):
            write(self.sockets.main, datagram, host, port)

    def _reached(self, link, reach):
        if not self.check.underWay():
            # No check of this node's waits for it: a tracker's word at
            # will is not this node's mapping (nor a line in its log).
            return
        if not self.check.reached(reach):
            for peer_id in self._wanted.peers():
                self._giveUp(peer_id, "the tracker saw none of this node's datagrams")
            return
        for peer_id in self._wanted.peers():
            self._ask(peer_id)

    def _refused(self, error):
        """An ``error{noudp}``: the oldest request is refused."""
        request = self.requests.refused()
        if request is None:
            return
        if request == CHECK:
            if self.check.refused(error.info):
                # The tracker's rate: asked again in a moment.
                return
            for peer_id in self._wanted.peers():
                self._giveUp(peer_id, f"the tracker refused a check: {error.info}")
            return
        if request in self._wanted and not self._wanted.refused(request):
            self._giveUp(request, f"the tracker refused it: {error.info}")
            self._followUp(request)
        self.changed(request)

    def _ask(self, peer_id):
        """Ask the tracker to start a punch with peer_id, once this node's
        mapping is fresh."""
        link = self._wanted.links.get(peer_id)
        if link is None or peer_id in self._runs or self._wanted.waitsToAsk(peer_id):
            return
        if self.node.links.get(peer_id) is not link:
            self._giveUp(peer_id, "its relayed link is gone")
            return
        fresh = self._freshen()
        if fresh is None:
            self._giveUp(peer_id, "this node's UDP mapping is not known: the tracker "
                         "did not see its datagrams, or refused its check, in the "
                         f"last {self.check.pause:g} s")
            return
        if not fresh:
            return
        if not self.node.membership.send(UdpPunchAsk(peer_id)):
            self._giveUp(peer_id, "this node has no tracker")
            return
        self._wanted.asked(peer_id)
        self.requests.asked(peer_id)
        self.changed(peer_id)

    def _go(self, link, go):
        """The tracker says: punch with node ``go.id`` now; with no link to
        it yet, once its relayed link comes (L{EarlyGoes
        <twisted_bazaar.reach.punch.udp.earlygo.EarlyGoes>})."""
        self.requests.answered(go.id)
        if (go.id not in self._runs and self.node.links.get(go.id) is None
                and self.earlyGoes.keep(go)):
            self.log.debug("the tracker's go {nonce} for a UDP punch with node {peer} "
                           "came before its link: kept for it", nonce=go.nonce,
                           peer=shortId(go.id))
            return
        self._take(go)

    #: What it takes from the tracker once registered
    #: (L{twisted_bazaar.core.sessionhandlers.SessionParts.takeFrom}).
    fromTracker = {UdpProbe: _probe, UdpReached: _reached, UdpPunchGo: _go}
