"""
Which UDP punches a node wants and what waits for them (L{FollowUps}, a
mixin of L{twisted_bazaar.reach.punch.udp.service.UdpPunching}): one
after a TCP punch that failed over a relayed link this node opened, the
follow-up of an early punch (asked at once on a link that came before
the tracker's address check) whose TCP punch failed meanwhile, and
whether a punch holds a relayed download (L{FollowUps.runs}) or the
dialer's wait (L{FollowUps.waitsFor}).  A mixin, so that a node's
punching is still one object with one table of runs.
"""

from twisted.logger import LogLevel

from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.tcp.service import isRelayed
from twisted_bazaar.reach.punch.udp.ends import NONE
from twisted_bazaar.reach.punch.udp.go import reachedWhy

__all__ = ["FollowUps"]


class FollowUps:
    """The punches L{UdpPunching
    <twisted_bazaar.reach.punch.udp.service.UdpPunching>} wants, and what
    waits for them: see the module's docstring."""

    def punchEnded(self, link, host, why):
        """A TCP punch over a link this node opened failed: punch over UDP,
        unless this node reaches the peer directly (then the relayed link
        is a way it did not need, and a punch would spend probes on a
        peer it can dial).  One that fails while an early punch runs or
        is asked leaves that punch a follow-up (L{_followUp})."""
        if (why is None or link.inbound or not isRelayed(link)
                or self.node.links.get(link.peer_id) is not link):
            return
        direct = self.node.whereabouts.directPath(link.peer_id)
        if direct is not None:
            link.peerLine(LogLevel.info, NONE, self.log, why=reachedWhy(direct))
            return
        if link.peer_id in self._early:
            self._followed.add(link.peer_id)
        self._want(link.peer_id, link)

    def _want(self, peer_id, link):
        """Punch over UDP with peer_id over its relayed link: the tracker
        is asked, unless a punch with it runs or is asked already."""
        if peer_id in self._runs or peer_id in self._wanted:
            return
        self._wanted.want(peer_id, link)
        self._ask(peer_id)
        self.changed(peer_id)

    def _followUp(self, peer_id):
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
        link = self.node.links.get(peer_id)
        if (link is not None and isRelayed(link) and not link.inbound
                and not self.retries.waiting(peer_id)):
            self._want(peer_id, link)

    def waitsFor(self, peer_id):
        """Whether a link to peer_id is a relayed one a UDP punch under
        way, or to follow, may replace."""
        link = self.node.links.get(peer_id)
        if link is None or not isRelayed(link):
            return False
        run = self._runs.get(peer_id)
        return peer_id in self._wanted or (run is not None and run.path is None)

    def runs(self, peer_id):
        """Whether a punch with peer_id holds a relayed download: its probes
        are out (the tracker said go and this side had a plan), or it was
        wanted at once on a link that came before the tracker's address
        check (L{UdpPunching.linkAdded
        <twisted_bazaar.reach.punch.udp.service.UdpPunching.linkAdded>}) and
        its check or ask is out, the tracker's answer due within a round
        trip or two: a one-shot `bazaar buy`
        fetches as its link comes up, and the relay carried 0.28 MB
        (natbed) before the go; or it met and this side dials the QUIC
        link over its path, the relayed link not yet replaced (a loaded
        relay carried 262 kB in that gap).  Not a patient punch (32 s and
        more), not one to follow a TCP punch,
        nor one waiting to be asked again after a refusal or a miss (the
        routers' entries of a missed punch are forgotten first, some 35 s:
        L{forgotten <twisted_bazaar.reach.punch.udp.plan.forgotten>})."""
        run = self._runs.get(peer_id)
        if run is not None:
            if run.path is not None:
                link = self.node.links.get(peer_id)
                return (peer_id in self._linking and link is not None
                        and isRelayed(link))
            # A patient punch meets 32 s in at the soonest: the relay
            # carries the download meanwhile.
            return (run.punch is not None
                    and not run.punch.plan.strategy.startswith(udppunch.PATIENT))
        return (peer_id in self._early and peer_id in self._wanted
                and not self._wanted.waitsToAsk(peer_id))
