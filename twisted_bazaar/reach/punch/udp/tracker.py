"""
A node's exchange with its tracker for UDP punches (L{TrackerAsks}, a
part of L{twisted_bazaar.reach.punch.udp.service.UdpPunching}): its
``udpcheck`` and the two probe datagrams it sends for one, the
``udpreach`` that tells its mapping (L{MappingCheck
<twisted_bazaar.reach.punch.udp.mapping.MappingCheck>}), its
``udppunch`` asks once that mapping is fresh, the tracker's
``udppunchgo`` (kept a moment for a link not yet come:
L{twisted_bazaar.reach.punch.udp.earlygo}), and its ``error{noudp}``,
which answers the oldest request not yet answered
(L{twisted_bazaar.reach.punch.udp.requests}); and ``udppunchnear`` both
ways (a punch's sounding answered from its peer's host: both go
patient).
"""

from twisted_bazaar.reach.punch.udp.requests import CHECK, TrackerRequests
from twisted_bazaar.reach.punch.udp.run import write
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.wire.udpreach import (
    UdpProbe,
    UdpPunchAsk,
    UdpPunchGo,
    UdpPunchNear,
    UdpReached,
    probeDatagram,
)

__all__ = ["TrackerAsks"]


class TrackerAsks:
    """
    The tracker's side of a node's punches over UDP: see the module's
    docstring.

    @ivar requests: the requests the tracker has not answered yet
        (L{TrackerRequests}).
    """

    def __init__(self, membership, check, earlyGoes, sockets, table, wanted, overlay,
                 followUps, sources, take, log, near=None, noUdp=None):
        """
        @param membership: the node's tracker session: it sends, and takes
            the tracker's messages for its parts.
        @param check: this node's UDP mapping as the tracker sees it
            (L{MappingCheck
            <twisted_bazaar.reach.punch.udp.mapping.MappingCheck>}), which
            its ``udpcheck`` and ``udpreach`` keep.
        @param earlyGoes: the tracker's goes that came before their links
            (L{EarlyGoes <twisted_bazaar.reach.punch.udp.earlygo.EarlyGoes>}),
            where a go waits for its link.
        @param sockets: the node's QUIC sockets, whose ``main`` sends the
            probe datagrams.
        @param table: the runs (L{RunTable
            <twisted_bazaar.reach.punch.udp.run.RunTable>}, read only).
        @param wanted: the punches wanted of the tracker (L{WantedPunches
            <twisted_bazaar.reach.punch.udp.wanted.WantedPunches>}).
        @param overlay: the node's link table, asked its link to a peer
            (L{twisted_bazaar.net.overlay.Overlay.linkTo}).
        @param followUps: what waits for the punches wanted, given up
            when the tracker cannot start them (L{FollowUps
            <twisted_bazaar.reach.punch.udp.follow.FollowUps>}).
        @param sources: the node's dialer's sources of paths
            (L{twisted_bazaar.reach.sources.Sources}), told a punch changed.
        @param take: C{take(go)}: run this side of the punch a tracker's
            go starts.
        @param log: the logger of the node's punching.
        @param near: C{near(peer_id, nonce)}: the peer says the punch
            ``nonce`` with it goes patient (its sounding was answered
            from this node's host).
        @param noUdp: C{noUdp(peer_id)}: whether the peer said no UDP
            punch can work with it (L{Punching.saidNoUdp
            <twisted_bazaar.reach.punch.tcp.service.Punching.saidNoUdp>});
            None: none said so.
        """
        self._membership = membership
        self._check = check
        self._earlyGoes = earlyGoes
        self._sockets = sockets
        self._table = table
        self._wanted = wanted
        self._overlay = overlay
        self._followUps = followUps
        self._sources = sources
        self._take = take
        self.log = log
        self._near = near
        self._noUdp = noUdp
        self.requests = TrackerRequests()

    def registered(self):
        """The tracker named the node: its messages are taken here."""
        parts = self._membership.parts
        parts.takeFrom(self)
        parts.handleError("noudp", self._refused, routine=self._asksAgain)

    def lost(self):
        """The tracker connection was lost: nothing it was asked is
        answered, and the punches wanted are given up."""
        self.requests.lost()
        self._check.lost()
        self._followUps.giveUpAll("the tracker connection was lost")

    def stop(self):
        """The node stops: no check or request waits, nor is asked."""
        self._check.stop()
        self.requests.lost()

    def freshen(self):
        """L{MappingCheck.freshen
        <twisted_bazaar.reach.punch.udp.mapping.MappingCheck.freshen>}, its
        ``udpcheck`` the oldest request; None, nothing asked, from a node
        that reaches its tracker by a transport plugin's way (L{wayOnly})."""
        if self.wayOnly():
            return None
        return self._check.freshen(lambda: self.requests.sendCheck(self._membership))

    def wayOnly(self):
        """Whether this node reaches its tracker by a transport plugin's
        way (the one way out known to get through, an HTTP-only network):
        its datagrams do not leave, so it asks the tracker no check and no
        punch; each asked was refused at info, again and again (issue 96,
        s57-user2's HTTP-only home)."""
        membership = self._membership
        return membership is not None and membership.trackerWay is not None

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
            write(self._sockets.main, datagram, host, port)

    def _reached(self, link, reach):
        if not self._check.underWay():
            # No check of this node's waits for it: a tracker's word at
            # will is not this node's mapping (nor a line in its log).
            return
        if not self._check.reached(reach):
            self._followUps.giveUpAll("the tracker saw none of this node's datagrams")
            return
        for peer_id in self._wanted.peers():
            self.ask(peer_id)

    def _asksAgain(self, error):
        """Whether an ``error{noudp}`` refuses what this node asks again by
        itself in a moment: a check, for the tracker's rate
        (L{MappingCheck.refused
        <twisted_bazaar.reach.punch.udp.mapping.MappingCheck.refused>}),
        or a punch not yet asked its last time (L{WantedPunches.refused
        <twisted_bazaar.reach.punch.udp.wanted.WantedPunches.refused>}):
        nodes of one address group starting together met the first at
        info, a fault to a reader, and their checks were taken 2 s later."""
        pending = self.requests.pending
        if not pending:
            return False
        if pending[0] == CHECK:
            return self._check.asksAgain(error.info)
        return self._wanted.asksAgain(pending[0])

    def _refused(self, error):
        """An ``error{noudp}``: the oldest request is refused."""
        request = self.requests.refused()
        if request is None:
            return
        if request == CHECK:
            if self._check.refused(error.info):
                # The tracker's rate: asked again in a moment.
                return
            self._followUps.giveUpAll(f"the tracker refused a check: {error.info}")
            return
        self._followUps.refused(request, error.info)
        self._sources.changed(request)

    def ask(self, peer_id):
        """Ask the tracker to start a punch with peer_id, once this node's
        mapping is fresh."""
        link = self._wanted.links.get(peer_id)
        if link is None or peer_id in self._table or self._wanted.waitsToAsk(peer_id):
            return
        if self.wayOnly() or (self._noUdp is not None and self._noUdp(peer_id)):
            # Its TCP punch, refused for the same reason (this node's, or
            # the peer's), says why.
            self._followUps.giveUp(peer_id, None)
            return
        if self._overlay.linkTo(peer_id) is not link:
            self._followUps.giveUp(peer_id, "its relayed link is gone")
            return
        fresh = self.freshen()
        if fresh is None:
            self._followUps.giveUp(
                peer_id, "this node's UDP mapping is not known: the tracker did not see "
                "its datagrams, or refused its check, in the last "
                f"{self._check.pause:g} s")
            return
        if not fresh:
            return
        if not self._membership.send(UdpPunchAsk(peer_id)):
            self._followUps.giveUp(peer_id, "this node has no tracker")
            return
        self._wanted.asked(peer_id)
        self.requests.asked(peer_id)
        self._sources.changed(peer_id)

    def _go(self, link, go):
        """The tracker says: punch with node ``go.id`` now; with no link to
        it yet, once its relayed link comes (L{EarlyGoes
        <twisted_bazaar.reach.punch.udp.earlygo.EarlyGoes>})."""
        self.requests.answered(go.id)
        if (go.id not in self._table and self._overlay.linkTo(go.id) is None
                and self._earlyGoes.keep(go)):
            self.log.debug("the tracker's go {nonce} for a UDP punch with node {peer} "
                           "came before its link: kept for it", nonce=go.nonce,
                           peer=shortId(go.id))
            return
        self._take(go)

    def tellNear(self, peer_id, nonce):
        """Tell the peer, through the tracker, that the punch ``nonce``
        with it goes patient: this node's sounding was answered from its
        host."""
        self._membership.send(UdpPunchNear(peer_id, nonce))

    def _nearTold(self, link, near):
        if self._near is not None:
            self._near(near.id, near.nonce)

    #: What it takes from the tracker once registered
    #: (L{twisted_bazaar.core.sessionhandlers.SessionParts.takeFrom}).
    fromTracker = {UdpProbe: _probe, UdpReached: _reached, UdpPunchGo: _go,
                   UdpPunchNear: _nearTold}
