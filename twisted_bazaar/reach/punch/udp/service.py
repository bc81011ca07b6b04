"""
A node's hole punches over UDP (docs/protocol.md, "Hole punching", "Over
UDP"): when a TCP punch over a relayed link this node opened fails (one
of the two routers maps each destination to a port of its own), or at
once when the link came before the tracker's address check told the
node what its router does (its TCP punch waits for that check), the two
nodes punch a UDP 5-tuple through both routers, coordinated by the
tracker, and this node asks its dialer for a QUIC link over it (from
the socket that met: the QUIC transport's option C{via}), which takes
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

L{UdpPunching} holds the runs and takes the node's link events; its
mixins, each one responsibility of the same object: the exchange with
the tracker (L{twisted_bazaar.reach.punch.udp.tracker}), how a punch ends
(L{twisted_bazaar.reach.punch.udp.ends}), and which punches are wanted
and what waits for them (L{twisted_bazaar.reach.punch.udp.follow}); one
run is a L{Run <twisted_bazaar.reach.punch.udp.run.Run>}.
"""

from twisted.application.service import Service
from twisted.logger import Logger, LogLevel

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.eviction import groupOf, namedGroupOf
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.budgets.probes import ProbeBudget
from twisted_bazaar.reach.punch.tcp.service import isRelayed, relayedFrom
from twisted_bazaar.reach.punch.udp.again import PunchRetries
from twisted_bazaar.reach.punch.udp.earlygo import EarlyGoes
from twisted_bazaar.reach.punch.udp.ends import LINGER, NONE, PunchEnds
from twisted_bazaar.reach.punch.udp.follow import FollowUps
from twisted_bazaar.reach.punch.udp.fresh import KeptFresh
from twisted_bazaar.reach.punch.udp.go import planFor
from twisted_bazaar.reach.punch.udp.mapping import MappingCheck
from twisted_bazaar.reach.punch.udp.requests import TrackerRequests
from twisted_bazaar.reach.punch.udp.run import Run, write
from twisted_bazaar.reach.punch.udp.sockets import PunchSockets
from twisted_bazaar.reach.punch.udp.tracker import TrackerAsks
from twisted_bazaar.reach.punch.udp.wanted import WantedPunches
from twisted_bazaar.wire.ids import shortId

__all__ = ["UdpPunching", "LINGER"]

#: Why the tracker's go for a punch is not taken (L{UdpPunching._take}).
_RUNS = "a punch with it runs already"
_NO_LINK = "this node holds no relayed link to it now"


class UdpPunching(TrackerAsks, PunchEnds, FollowUps, Service, NodeObserver):
    """
    The node's punches over UDP: see the module's docstring.

    @ivar check: this node's UDP mapping as the tracker sees it
        (L{MappingCheck}).
    """

    log = Logger()
    #: The node's dialer, once plugged (L{plug}).
    _dialer = None

    def __init__(self, node, sockets, limits=None):
        """
        @param sockets: the node's QUIC sockets: ``main`` (its
            L{QuicEndpoint <twisted_bazaar.transports.quic.endpoint.QuicEndpoint>}),
            ``open()`` one more serving the node (raising C{OSError} if it
            cannot), ``close(endpoint)``:
            L{twisted_bazaar.daemon.quic.QuicService}, which gives each
            socket's datagrams too short for QUIC to L{foreignDatagram}.
        @param limits: the TCP punch's L{PunchLimits
            <twisted_bazaar.reach.punch.budgets.dials.PunchLimits>}, which each
            punch counts in.
        """
        self.node = node
        self.sockets = sockets
        #: The tracker's goes that came before their links.
        self.earlyGoes = EarlyGoes(node.clock, self._take)
        self.limits = limits
        self.budget = ProbeBudget(node.clock)
        #: The sockets the punches hold beyond the node's own.
        self.opened = PunchSockets()
        self.check = MappingCheck(node.clock, self._unchecked, self._freshen)
        #: The requests the tracker has not answered yet.
        self.requests = TrackerRequests()
        #: The punches wanted of the tracker, and its refusals asked again.
        self._wanted = WantedPunches(node.clock, self._ask)
        #: peer id -> its L{Run} (under way, or met).
        self._runs = {}
        #: The punches refused by this side's bounds, or missed, asked
        #: again when they may.
        self.retries = PunchRetries(node.clock, self.budget, node.links, self._runs,
                                    self._wanted, self._ask)
        #: The peers whose punch got nothing back: this node's mapping is
        #: kept fresh at the tracker for their sides' asks again.
        self.keptFresh = KeptFresh(node.clock, self._freshen, self.retries.mayPunch)
        #: punch nonce -> its L{Run}.
        self._byNonce = {}
        #: Whether the tracker's address check told this node what its
        #: router does (until then its TCP punches wait: L{linkAdded}).
        self._routerKnown = False
        #: The peers whose punch was wanted at once, before that check
        #: (L{linkAdded}): asked, they hold a relayed download (L{runs}).
        self._early = set()
        #: Of those, the peers whose TCP punch failed while their early one
        #: ran or was asked (L{punchEnded}): followed up if it fails.
        self._followed = set()
        #: The peers a met punch's QUIC link is dialled to by this side,
        #: that dial not failed (L{runs}).
        self._linking = set()

    def changed(self, peer_id=None):
        """A punch with peer_id (None: anyone) may have started or ended
        (L{runs} may say otherwise now): the dialer's news tells whoever
        listens (L{twisted_bazaar.reach.punchnews})."""
        if self._dialer is not None:
            self._dialer.punchChanged(peer_id)

    def plug(self):
        """Observe the node's events; its dialer waits for these punches."""
        dialer = self._dialer = self.node.dialer
        self.node.addObserver(self)
        dialer.punchOverUdpWith(self)

    # -- the tracker's go -------------------------------------------------------------

    def _take(self, go):
        """Run this side of the punch go starts, or say why not."""
        peer_id = go.id
        shared = self.node.links.get(peer_id)
        why = (_RUNS if peer_id in self._runs
               else _NO_LINK if shared is None or not isRelayed(shared) else None)
        if why is not None:
            # Said, as each other end of a punch is: a go this side drops
            # leaves the other side's probes unanswered, and its log alone
            # says why.
            self.log.info("the tracker's go for a UDP punch with node {peer} "
                          "is not taken: {why}", peer=shortId(peer_id), why=why)
            return
        run = Run(peer_id, shared, not shared.inbound, go.nonce,
                   self.node.clock.seconds())
        plan, why = planFor(go, relayedFrom(shared), self.check,
                            self.node.whereabouts.directPath(peer_id), self.node.rng,
                            self.retries.patient(peer_id))
        if plan is None:
            self._failed(why, run)
            return
        why = self.opened.whyNot(run, addressGroup(plan.host), max(0, plan.sockets - 1))
        if why:
            # The punches under way hold their sockets TIMEOUT s at most
            # (a patient one longer: it is asked again then).  The other
            # side's probes meet silence: both sides' next punch is patient.
            self.retries.silent(peer_id)
            self._failed(self.retries.saying(why, peer_id, plan, udppunch.TIMEOUT), run)
            return
        self.log.debug("the tracker's go {nonce} for a UDP punch with node {peer} "
                       "taken: {strategy}, {probes} probes from {sockets} sockets",
                       nonce=go.nonce, peer=shortId(peer_id), strategy=plan.strategy,
                       probes=len(plan.probes), sockets=plan.sockets)
        self._runs[peer_id] = run
        self._byNonce[go.nonce] = run
        run.endpoints = [self.sockets.main]
        run.punch = udppunch.UdpPunch(
            self.node.clock, plan, go.nonce,
            lambda socket, host, port, data, ttl=0: write(run.endpoints[socket], data,
                                                          host, port, ttl),
            self.budget, self.limits, shared.key)
        # Started (its probes go from the next reactor turn on) before its
        # sockets open: a punch the budgets refuse opens none.
        started = run.punch.start()
        started.addCallbacks(self._met, self._punchFailed, (run,), None, (run,))
        if self._runs.get(peer_id) is run:
            run.why = self._open(run, plan.sockets)
            if run.why:
                started.cancel()
        self.changed(peer_id)

    def _open(self, run, count):
        """Give run ``count`` sockets, the node's own first: "" or why not."""
        try:
            while len(run.endpoints) < count:
                endpoint = self.sockets.open()
                run.endpoints.append(endpoint)
        except OSError as e:
            run.closeExtra(self.sockets, self.opened, None)
            return f"cannot open {count} UDP sockets: {e.strerror or e}"
        run.charge(self.sockets, self.opened)
        return ""

    # -- datagrams ---------------------------------------------------------------------

    def foreignDatagram(self, endpoint, data, addr):
        """A datagram too short for QUIC came to one of the node's QUIC
        sockets (their owner tells: L{QuicService
        <twisted_bazaar.daemon.quic.QuicService>}): to the punch whose
        nonce it carries, if any."""
        parsed = udppunch.parse(data)
        run = None if parsed is None else self._byNonce.get(parsed[1])
        if run is None or endpoint is None or endpoint not in run.endpoints:
            return
        run.punch.datagramReceived(run.endpoints.index(endpoint), addr[0], addr[1], data)

    # -- what waits ---------------------------------------------------------------------

    def _giveUp(self, peer_id, why):
        """No punch is wanted with peer_id now (its link stays on the relay,
        ``why`` said if not None; or the QUIC link replaced it): whoever
        waits for it goes on."""
        self._early.discard(peer_id)
        link = self._wanted.drop(peer_id)
        if link is None:
            self.changed(peer_id)
            return
        if why is not None:
            link.peerLine(LogLevel.info, NONE, self.log, why=why)
        self._dialer.release(peer_id)
        self.changed(peer_id)

    # -- links --------------------------------------------------------------------------

    def linkAdded(self, peer_id):
        """A relayed link: this node's mapping is checked now if stale (on
        both sides: the tracker needs both for a punch); one this node
        opened before the tracker's address check told it what its router
        does is punched over UDP at once; the tracker's go that came
        before it (L{EarlyGoes}) is taken now.  A punched path lingering
        for a link has one."""
        link = self.node.links.get(peer_id)
        run = self._runs.get(peer_id)
        if run is not None and run.linger is not None and run.linger.active():
            run.linger.cancel()
        go = self.earlyGoes.take(peer_id)
        relayed = link is not None and isRelayed(link)
        if relayed:
            self._freshen()
            # A punch's go then finds in the book whether this node
            # reaches the peer directly.
            self.node.whereabouts.learnWhere(peer_id, namedGroupOf(link) or groupOf(link))
        if go is not None:
            self._take(go)
        if relayed and not link.inbound and not self._routerKnown:
            # Its TCP punch waits for that check (at home, the tracker's
            # dial of it times out after 5 s), and the file bought
            # meanwhile would come through the relay.
            self._early.add(peer_id)
            self._want(peer_id, link)

    def linkReplaced(self, peer_id):
        """The QUIC link took the relayed one's place: whoever waited goes on."""
        link = self.node.links.get(peer_id)
        if link is not None and not isRelayed(link):
            self._giveUp(peer_id, None)

    def linkRemoved(self, peer_id):
        """No link to peer_id: a punch under way runs on to its end (met,
        or missed within its
        L{TIMEOUT <twisted_bazaar.reach.punch.udp.plan.TIMEOUT>} s, its probes
        counted already), since the other side's runs on too; a punched
        path is kept L{LINGER} seconds for a link to come (over it, most
        often).  Two nodes that linked each other at once may each keep
        the other's link, and close the one this side's punch was taken
        on: ended here, silently, its side sent one round of probes, the
        other's missed, and a `bazaar buy` came through the relay whole
        (natbed, issue 85: 268 s)."""
        self._giveUp(peer_id, None)
        self._followed.discard(peer_id)
        self.retries.cancel(peer_id)
        self.keptFresh.done(peer_id)
        run = self._runs.get(peer_id)
        if run is None:
            return
        if run.path is None:
            self.log.debug("the link a UDP punch with node {peer} was taken on closed: "
                           "the punch runs on", peer=shortId(peer_id))
        elif run.linger is None or not run.linger.active():
            run.linger = self.node.clock.callLater(LINGER, self._lingered, run)

    def stopService(self):
        super().stopService()
        self.nodeStopping()

    def nodeStopping(self):
        self.earlyGoes.stop()
        self._followed.clear()
        self.retries.stop()
        self.keptFresh.stop()
        self.check.answered()
        for peer_id in self._wanted.peers():
            self._giveUp(peer_id, None)
        for run in list(self._runs.values()):
            self._end(run)
        self.requests.lost()
