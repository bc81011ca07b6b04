"""
A node's hole punches over UDP (docs/protocol.md, "Hole punching", "Over
UDP"): when a TCP punch over a relayed link this node opened fails (one
of the two routers maps each destination to a port of its own), or at
once when the link came before the tracker's address check told the
node what its router does (its TCP punch waits for that check), the two
nodes punch a UDP 5-tuple through both routers, coordinated by the
tracker, and this node announces the path met to its dialer, which
dials a QUIC link over it (from the socket that met: the QUIC
transport's option C{via}: L{twisted_bazaar.reach.sources}), which takes
the relayed link's place as a TCP punch's link does; the punched path is
written in the node's book (kind ``udp``, the tracker's word ``seen``),
so the buyer's transfers go over QUIC on it too.  A punch that fails
leaves the node on the relayed link; one this side's bounds refused, or
a birthday punch that missed, is asked again when it may
(L{twisted_bazaar.reach.punch.udp.again}), and after a punch that got
nothing back this node's mapping is kept fresh at the tracker for the
other side's ask again (L{twisted_bazaar.reach.punch.udp.fresh}).

The steps, each a message to the tracker over its connection:
``udpcheck`` (the tracker answers ``udpprobe``; the node sends the two
probe datagrams from its QUIC socket; the tracker answers ``udpreach``:
what its router does), asked when a relayed link comes up and the node's
last check is older than L{FRESH} seconds, on both sides of the link;
then ``udppunch`` by the side that opened the link, and ``udppunchgo`` to
both, each of which runs its side of the punch
(L{twisted_bazaar.reach.punch.udp.plan}) from its QUIC socket, and for the
random side of a birthday punch from 255 more, each a QUIC socket too
(the one that meets is kept, the others closed).  What keeps it from
being turned on others is the planner's (the tracker's host only, the
probe budget) and the TCP punch's count of attempts, which these count in.

Each request's answer comes in order on the tracker's connection, so an
``error{noudp}`` answers the oldest request not yet answered
(L{twisted_bazaar.reach.punch.udp.requests}).

L{UdpPunching} takes the node's events and the tracker's go, is one of
the dialer's sources of paths (built with the dialer's L{Sources
<twisted_bazaar.reach.sources.Sources>}, not the node), and is built of
parts, each holding its own state and given what it uses: the
runs (L{twisted_bazaar.reach.punch.udp.runs}: started, fed their
datagrams, ended; their table, L{RunTable
<twisted_bazaar.reach.punch.udp.run.RunTable>}), the punches wanted and
what waits for them (L{twisted_bazaar.reach.punch.udp.follow}), and the
exchange with the tracker (L{twisted_bazaar.reach.punch.udp.tracker}).
"""

from twisted.application.service import Service
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.eviction import groupOf, namedGroupOf
from twisted_bazaar.reach.punch.budgets.probes import ProbeBudget
from twisted_bazaar.reach.punch.tcp.service import isRelayed, relayedFrom
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.udp.again import PunchRetries
from twisted_bazaar.reach.punch.udp.earlygo import EarlyGoes
from twisted_bazaar.reach.punch.udp.follow import FollowUps
from twisted_bazaar.reach.punch.udp.fresh import KeptFresh
from twisted_bazaar.reach.punch.udp.go import planFor
from twisted_bazaar.reach.punch.udp.mapping import CHECK_TIMEOUT, MappingCheck
from twisted_bazaar.reach.punch.udp.run import Run, RunTable
from twisted_bazaar.reach.punch.udp.runs import LINGER, Runs
from twisted_bazaar.reach.punch.udp.sockets import PunchSockets
from twisted_bazaar.reach.punch.udp.sounding import Sounding
from twisted_bazaar.reach.punch.udp.tracker import TrackerAsks
from twisted_bazaar.reach.punch.udp.wanted import WantedPunches
from twisted_bazaar.reach.reachable.reachability import PUBLIC
from twisted_bazaar.reach.sources import IPathSource
from twisted_bazaar.wire.ids import shortId

__all__ = ["UdpPunching", "LINGER"]

#: Why the tracker's go for a punch is not taken (L{UdpPunching.take}).
_RUNS = "a punch with it runs already"
_NO_LINK = "this node holds no relayed link to it now"


@implementer(IPathSource)
class UdpPunching(Service, NodeObserver):
    """
    The node's punches over UDP: see the module's docstring.

    @ivar table: the runs, under way or met (L{RunTable}).
    @ivar punches: what starts and ends the runs (L{Runs}).
    @ivar followUps: the punches wanted, and what waits for them
        (L{FollowUps}).
    @ivar tracker: the exchange with the tracker (L{TrackerAsks}).
    @ivar check: this node's UDP mapping as the tracker sees it
        (L{MappingCheck}).
    @ivar earlyGoes: the tracker's goes that came before their links.
    """

    log = Logger()
    #: It finds paths to peers (L{IPathSource.toPeers
    #: <twisted_bazaar.reach.sources.IPathSource.toPeers>}).
    toPeers = True

    def __init__(self, clock, rng, overlay, whereabouts, sources, sockets, udpPort,
                 limits=None, sounder=Sounding, noUdp=None):
        """
        @param overlay: the node's link table
            (L{twisted_bazaar.net.overlay.Overlay}): its links, and the
            punched link a met path's dial makes.
        @param whereabouts: what the node knows of where its peers are
            (L{twisted_bazaar.reach.whereabouts.Whereabouts}): its book of
            paths, its direct paths, and its tracker session (whose sender
            the exchange with the tracker uses).
        @param sources: the node's dialer's sources of paths
            (L{twisted_bazaar.reach.sources.Sources}), which this is added
            to: told the paths met and what changed.
        @param sockets: the node's QUIC sockets: ``main`` (its
            L{QuicEndpoint <twisted_bazaar.transports.quic.endpoint.QuicEndpoint>}),
            ``open()`` one more serving the node (raising C{OSError} if it
            cannot), ``close(endpoint)``:
            L{twisted_bazaar.daemon.quic.QuicService}, which gives each
            socket's datagrams too short for QUIC to L{foreignDatagram}.
        @param udpPort: C{udpPort()}, the node's QUIC port while it
            listens (told to the tracker), else None.
        @param limits: the TCP punch's L{PunchLimits
            <twisted_bazaar.reach.punch.budgets.dials.PunchLimits>}, which each
            punch counts in.
        @param sounder: makes a punch's sounding (L{Sounding}; a fake's in
            tests).
        @param noUdp: C{noUdp(peer_id)}: whether the peer refused a TCP
            punch saying no UDP punch can work with it either
            (L{Punching.saidNoUdp
            <twisted_bazaar.reach.punch.tcp.service.Punching.saidNoUdp>}):
            none is asked; None: none said so.
        """
        log = self.log
        self._clock = clock
        self._rng = rng
        self._overlay = overlay
        self._whereabouts = whereabouts
        self._udpPort = udpPort
        self.budget = ProbeBudget(clock)
        #: The sockets the punches hold beyond the node's own.
        self.opened = PunchSockets()
        self.table = RunTable()
        #: The punches wanted of the tracker, and its refusals asked again.
        wanted = WantedPunches(clock, self.ask)
        #: The punches refused by this side's bounds, or missed, asked
        #: again when they may.
        self.retries = PunchRetries(clock, self.budget, overlay, self.table, wanted,
                                    self.ask)
        self.followUps = FollowUps(overlay, self._whereabouts, self.table, wanted,
                                   self.retries, sources, self.ask, log)
        self.check = MappingCheck(clock, self._unchecked, self.freshen)
        self.earlyGoes = EarlyGoes(clock, self.take)
        self.tracker = TrackerAsks(whereabouts.tracker(), self.check, self.earlyGoes,
                                   sockets, self.table, wanted, overlay, self.followUps,
                                   sources, self.take, log,
                                   lambda *near: self.punches.told(*near), noUdp)
        #: The peers whose punch got nothing back: this node's mapping is
        #: kept fresh at the tracker for their sides' asks again.
        self.keptFresh = KeptFresh(clock, self.freshen, self.retries.mayPunch)
        self.punches = Runs(clock, self.table, sockets, self.opened, self.budget, limits,
                            self.retries, self.keptFresh, self._whereabouts.book,
                            sources, overlay, self.followUps, log, sounder,
                            self.tracker.tellNear)
        #: Whether the tracker's address check told this node what its
        #: router does (until then its TCP punches wait: L{linkAdded}).
        self._routerKnown = False

    def ask(self, peer_id):
        """Ask the tracker for the punch wanted with peer_id
        (L{TrackerAsks.ask})."""
        self.tracker.ask(peer_id)

    def freshen(self):
        """L{TrackerAsks.freshen}."""
        return self.tracker.freshen()

    def _unchecked(self):
        """The check had no answer: the punches waiting for it are given
        up."""
        self.followUps.giveUpAll(f"the tracker did not answer its check within "
                                 f"{CHECK_TIMEOUT:g} s")

    # -- what the dialer asks ------------------------------------------------------------

    def waitsFor(self, peer_id):
        """L{FollowUps.waitsFor}."""
        return self.followUps.waitsFor(peer_id)

    def runs(self, peer_id):
        """L{FollowUps.holds}."""
        return self.followUps.holds(peer_id)

    def follows(self, peer_id):
        """A punch over UDP follows a TCP punch that failed: while one is
        under way or follows (L{waitsFor}), it says when the links waiting
        go on."""
        return self.waitsFor(peer_id)

    def arrived(self, peer_id):
        """Nothing to do: the node's C{linkAdded} starts what a link needs
        (L{linkAdded})."""

    def transfer(self, peer_id, key, protocol):
        """None: a transfer goes over a punched UDP path as the dialer's
        QUIC way dials it from the book, where the path met is written."""
        return None

    # -- the tracker's go -------------------------------------------------------------

    def take(self, go):
        """Run this side of the punch go starts, or say why not."""
        peer_id = go.id
        shared = self._overlay.linkTo(peer_id)
        why = (_RUNS if peer_id in self.table
               else _NO_LINK if shared is None or not isRelayed(shared) else None)
        if why is not None:
            # Said, as each other end of a punch is: a go this side drops
            # leaves the other side's probes unanswered, and its log alone
            # says why.
            self.log.info("the tracker's go for a UDP punch with node {peer} "
                          "is not taken: {why}", peer=shortId(peer_id), why=why)
            return
        run = Run(peer_id, shared, not shared.inbound, go.nonce, self._clock.seconds())
        plan, why = planFor(go, relayedFrom(shared), self.check,
                            self._whereabouts.directPath(peer_id), self._rng,
                            self.retries.patient(peer_id))
        if plan is None:
            self.punches.failed(why, run)
            return
        why = self.opened.whyNot(run, addressGroup(plan.host), max(0, plan.sockets - 1))
        if why:
            # The punches under way hold their sockets TIMEOUT s at most
            # (a patient one longer: it is asked again then).  The other
            # side's probes meet silence: both sides' next punch is patient.
            self.retries.silent(peer_id)
            self.punches.failed(self.retries.saying(why, peer_id, plan, udppunch.TIMEOUT), run)
            return
        self.log.debug("the tracker's go {nonce} for a UDP punch with node {peer} "
                       "taken: {strategy}, {probes} probes from {sockets} sockets",
                       nonce=go.nonce, peer=shortId(peer_id), strategy=plan.strategy,
                       probes=len(plan.probes), sockets=plan.sockets)
        self.punches.start(run, plan, shared.key)

    def foreignDatagram(self, endpoint, data, addr):
        """A datagram too short for QUIC came to one of the node's QUIC
        sockets (their owner tells: L{QuicService
        <twisted_bazaar.daemon.quic.QuicService>}): to the punch whose
        nonce it carries, if any (L{Runs.datagram})."""
        self.punches.datagram(endpoint, data, addr)

    # -- the tracker ------------------------------------------------------------------

    def trackerRegistered(self):
        self.tracker.registered()

    def reachChanged(self, reach, local_port):
        """The tracker dialled this node: a check of its UDP mapping lets
        the tracker name its QUIC port to peers (docs/protocol.md, "Over
        UDP", "What a node does")."""
        self._routerKnown = True
        if reach.state == PUBLIC and self._udpPort():
            self.freshen()

    def trackerLost(self):
        self.tracker.lost()

    # -- links --------------------------------------------------------------------------

    def punchEnded(self, link, host, why):
        """L{FollowUps.punchEnded}."""
        self.followUps.punchEnded(link, host, why)

    def linkAdded(self, peer_id):
        """A relayed link: this node's mapping is checked now if stale (on
        both sides: the tracker needs both for a punch); one this node
        opened before the tracker's address check told it what its router
        does is punched over UDP at once; the tracker's go that came
        before it (L{EarlyGoes
        <twisted_bazaar.reach.punch.udp.earlygo.EarlyGoes>}) is taken now.
        A punched path lingering for a link has one."""
        link = self._overlay.linkTo(peer_id)
        self.punches.linkCame(peer_id)
        go = self.earlyGoes.take(peer_id)
        relayed = link is not None and isRelayed(link)
        if relayed:
            self.freshen()
            # A punch's go then finds in the book whether this node
            # reaches the peer directly.
            self._whereabouts.learnWhere(peer_id, namedGroupOf(link) or groupOf(link))
        if go is not None:
            self.take(go)
        if relayed and not link.inbound and not self._routerKnown \
                and not self.tracker.wayOnly():
            # Its TCP punch waits for that check (at home, the tracker's
            # dial of it times out after 5 s), and the file bought
            # meanwhile would come through the relay.
            self.followUps.wantEarly(peer_id, link)

    def linkReplaced(self, peer_id):
        """The QUIC link took the relayed one's place: whoever waited goes on."""
        link = self._overlay.linkTo(peer_id)
        if link is not None and not isRelayed(link):
            self.followUps.giveUp(peer_id, None)

    def linkRemoved(self, peer_id):
        """No link to peer_id: a punch under way runs on to its end, a
        punched path kept L{LINGER} seconds for a link to come
        (L{Runs.linkGone}).  Two nodes that linked each other at once may
        each keep the other's link, and close the one this side's punch
        was taken on: ended here, silently, its side sent one round of
        probes, the other's missed, and a `bazaar buy` came through the
        relay whole (natbed, issue 85: 268 s)."""
        self.followUps.linkGone(peer_id)
        self.retries.cancel(peer_id)
        self.keptFresh.done(peer_id)
        self.punches.linkGone(peer_id)

    def stopService(self):
        super().stopService()
        self.nodeStopping()

    def nodeStopping(self):
        self.earlyGoes.stop()
        self.tracker.stop()
        self.retries.stop()
        self.keptFresh.stop()
        self.followUps.stop()
        self.punches.stop()
