"""
Which UDP punches a node wants and what waits for them (L{FollowUps}, a
part of L{twisted_bazaar.reach.punch.udp.service.UdpPunching}): one
after a TCP punch that failed over a relayed link this node opened, one
wanted at once on a link that came before the tracker's address check
(early), the follow-up of an early punch whose TCP punch failed
meanwhile, a punch given up (whoever waited for it goes on), and
whether a punch holds a relayed download (L{FollowUps.holds}) or the
dialer's wait (L{FollowUps.waitsFor}).
"""

from twisted.logger import LogLevel

from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.tcp.service import isRelayed
from twisted_bazaar.reach.punch.udp.go import reachedWhy
from twisted_bazaar.reach.punch.udp.runs import NONE

__all__ = ["FollowUps"]


class FollowUps:
    """The punches a node wants, and what waits for them: see the
    module's docstring."""

    def __init__(self, overlay, whereabouts, table, wanted, retries, sources, ask, log):
        """
        @param overlay: the node's link table, asked its link to a peer
            (L{twisted_bazaar.net.overlay.Overlay.linkTo}).
        @param whereabouts: the node's word on where its peers are: is a
            peer reached with no punch (L{directPath
            <twisted_bazaar.reach.whereabouts.Whereabouts.directPath>})?
        @param table: the runs (L{RunTable
            <twisted_bazaar.reach.punch.udp.run.RunTable>}, read only).
        @param wanted: the punches wanted of the tracker (L{WantedPunches
            <twisted_bazaar.reach.punch.udp.wanted.WantedPunches>}).
        @param retries: the punches asked again (L{PunchRetries
            <twisted_bazaar.reach.punch.udp.again.PunchRetries>}).
        @param sources: the node's dialer's sources of paths
            (L{twisted_bazaar.reach.sources.Sources}): told a punch
            changed, and when one no longer holds a peer's links back.
        @param ask: C{ask(peer_id)}: ask the tracker for a punch wanted
            (L{TrackerAsks.ask
            <twisted_bazaar.reach.punch.udp.tracker.TrackerAsks.ask>}).
        @param log: the logger of the node's punching.
        """
        self._overlay = overlay
        self._whereabouts = whereabouts
        self._table = table
        self._wanted = wanted
        self._retries = retries
        self._sources = sources
        self._ask = ask
        self.log = log
        #: The peers whose punch was wanted at once, before the tracker's
        #: address check (L{wantEarly}): asked, they hold a relayed
        #: download (L{holds}).
        self._early = set()
        #: Of those, the peers whose TCP punch failed while their early one
        #: ran or was asked (L{punchEnded}): followed up if it fails.
        self._followed = set()

    def punchEnded(self, link, host, why):
        """A TCP punch over a link this node opened failed: punch over UDP,
        unless this node reaches the peer directly (then the relayed link
        is a way it did not need, and a punch would spend probes on a
        peer it can dial).  One that fails while an early punch runs or
        is asked leaves that punch a follow-up (L{followUp})."""
        if (why is None or link.inbound or not isRelayed(link)
                or self._overlay.linkTo(link.peer_id) is not link):
            return
        direct = self._whereabouts.directPath(link.peer_id)
        if direct is not None:
            link.peerLine(LogLevel.info, NONE, self.log, why=reachedWhy(direct))
            return
        if link.peer_id in self._early:
            self._followed.add(link.peer_id)
        self._want(link.peer_id, link)

    def wantEarly(self, peer_id, link):
        """A relayed link this node opened came before the tracker's
        address check told it what its router does: its TCP punch waits
        for that check, and the file bought meanwhile would come through
        the relay, so it is punched over UDP at once."""
        self._early.add(peer_id)
        self._want(peer_id, link)

    def _want(self, peer_id, link):
        """Punch over UDP with peer_id over its relayed link: the tracker
        is asked, unless a punch with it runs or is asked already."""
        if peer_id in self._table or peer_id in self._wanted:
            return
        self._wanted.want(peer_id, link)
        self._ask(peer_id)
        self._sources.changed(peer_id)

    def followUp(self, peer_id):
        """An early punch with peer_id ended unmet after its TCP punch had
        failed too: the punch that failure would have asked is asked now
        (unless it is asked again anyway, L{PunchRetries
        <twisted_bazaar.reach.punch.udp.again.PunchRetries>}), once.  Its
        other side may not have run (a go that came before its link, kept
        only L{WAIT <twisted_bazaar.reach.punch.udp.earlygo.WAIT>} s), or
        the tracker not yet had its datagrams; a `bazaar buy` otherwise
        stays on the relay."""
        if peer_id not in self._followed:
            return
        self._followed.discard(peer_id)
        link = self._overlay.linkTo(peer_id)
        if (link is not None and isRelayed(link) and not link.inbound
                and not self._retries.waiting(peer_id)):
            self._want(peer_id, link)

    def followed(self, peer_id):
        """Whether an early punch with peer_id is to be followed up."""
        return peer_id in self._followed

    def met(self, peer_id):
        """A punch with peer_id met: nothing to follow up."""
        self._followed.discard(peer_id)

    def ended(self, peer_id):
        """A punch with peer_id is over: no longer an early one."""
        self._early.discard(peer_id)

    def giveUp(self, peer_id, why):
        """No punch is wanted with peer_id now (its link stays on the relay,
        ``why`` said if not None; or the QUIC link replaced it): whoever
        waits for it goes on."""
        self._early.discard(peer_id)
        link = self._wanted.drop(peer_id)
        if link is None:
            self._sources.changed(peer_id)
            return
        if why is not None:
            link.peerLine(LogLevel.info, NONE, self.log, why=why)
        self._sources.settled(peer_id)
        self._sources.changed(peer_id)

    def giveUpAll(self, why):
        """L{giveUp} every punch wanted, for why (None: said of none)."""
        for peer_id in self._wanted.peers():
            self.giveUp(peer_id, why)

    def refused(self, peer_id, info):
        """The tracker refused the ask of peer_id's punch (``info``, its
        why): given up and followed up unless it is asked again."""
        if peer_id in self._wanted and not self._wanted.refused(peer_id):
            self.giveUp(peer_id, f"the tracker refused it: {info}")
            self.followUp(peer_id)

    def linkGone(self, peer_id):
        """No link to peer_id: its punch is wanted no more, nor followed up."""
        self.giveUp(peer_id, None)
        self._followed.discard(peer_id)

    def stop(self):
        """The node stops: nothing followed up, every punch given up."""
        self._followed.clear()
        self.giveUpAll(None)

    def waitsFor(self, peer_id):
        """Whether a link to peer_id is a relayed one a UDP punch under
        way, or to follow, may replace."""
        link = self._overlay.linkTo(peer_id)
        if link is None or not isRelayed(link):
            return False
        run = self._table.get(peer_id)
        return peer_id in self._wanted or (run is not None and run.path is None)

    def holds(self, peer_id):
        """Whether a punch with peer_id holds a relayed download: its probes
        are out (the tracker said go and this side had a plan), or it was
        wanted at once on a link that came before the tracker's address
        check (L{wantEarly}) and its check or ask is out, the tracker's
        answer due within a round trip or two: a one-shot `bazaar buy`
        fetches as its link comes up, and the relay carried 0.28 MB
        (natbed) before the go; or it met and this side dials the QUIC
        link over its path, the relayed link not yet replaced (a loaded
        relay carried 262 kB in that gap).  Not a patient punch (32 s and
        more), not one to follow a TCP punch,
        nor one waiting to be asked again after a refusal or a miss (the
        routers' entries of a missed punch are forgotten first, some 35 s:
        L{forgotten <twisted_bazaar.reach.punch.udp.plan.forgotten>})."""
        run = self._table.get(peer_id)
        if run is not None:
            if run.path is not None:
                link = self._overlay.linkTo(peer_id)
                return (self._table.linking(peer_id) and link is not None
                        and isRelayed(link))
            # A patient punch meets 32 s in at the soonest: the relay
            # carries the download meanwhile.
            return (run.punch is not None
                    and not run.punch.plan.strategy.startswith(udppunch.PATIENT))
        return (peer_id in self._early and peer_id in self._wanted
                and not self._wanted.waitsToAsk(peer_id))
