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
(L{twisted_bazaar.reach.punch.udpagain}), and after a punch that got
nothing back this node's mapping is kept fresh at the tracker for the
other side's ask again (L{twisted_bazaar.reach.punch.udpfresh}).

The steps, each a message to the tracker over its connection:
``udpcheck`` (the tracker answers ``udpprobe``; the node sends the two
probe datagrams from its QUIC socket; the tracker answers ``udpreach``:
what its router does), asked when a relayed link comes up and the node's
last check is older than L{FRESH} seconds, on both sides of the link;
then ``udppunch`` by the side that opened the link, and ``udppunchgo`` to
both, each of which runs its side of the punch
(L{twisted_bazaar.reach.punch.udp}) from its QUIC socket, and for the
random side of a birthday punch from 255 more, each a QUIC socket too
(the one that meets is kept, the others closed).  What keeps it from
being turned on others is the planner's (the tracker's host only, the
probe budget) and the TCP punch's count of attempts, which these count in.

Each request's answer comes in order on the tracker's connection, so an
``error{noudp}`` answers the oldest request not yet answered
(L{twisted_bazaar.reach.punch.udprequests}).
"""

from twisted.application.service import Service
from twisted.internet.error import InvalidAddressError
from twisted.logger import Logger, LogLevel

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import SEEN, UDP, Path
from twisted_bazaar.reach.punch.tcpservice import isRelayed, relayedFrom
from twisted_bazaar.transports.quic.transport import isQuic
from twisted_bazaar.reach.punch.udprequests import CHECK, TrackerRequests
from twisted_bazaar.reach.punch.udpmapping import CHECK_TIMEOUT, MappingCheck
from twisted_bazaar.reach.punch.udpsockets import PunchSockets
from twisted_bazaar.reach.punch.probebudget import ProbeBudget
from twisted_bazaar.reach.punch.udpagain import PunchRetries
from twisted_bazaar.reach.punch.udpearlygo import EarlyGoes
from twisted_bazaar.reach.punch.udpfresh import KeptFresh
from twisted_bazaar.reach.punch.udpwanted import WantedPunches
from twisted_bazaar.net.eviction import groupOf, namedGroupOf
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.reach.punch import udp as udppunch
from twisted_bazaar.reach.punch.udpgo import planFor, reachedWhy
from twisted_bazaar.reach.reachable.reachability import PUBLIC
from twisted_bazaar.reach.punch.udpmessages import (
    UdpProbe,
    UdpPunchAsk,
    UdpPunchGo,
    UdpReached,
    probeDatagram,
)
from twisted_bazaar.wire.ids import shortId

__all__ = ["UdpPunching"]

#: Seconds a punched path is kept with no link to its peer: the relayed
#: link may close before the QUIC link over the path has replaced it at
#: this end (the other end retired it first), and a link may come again.
LINGER = 30.0
#: The line of a punch that did not meet, or was not tried.
_NONE = "no UDP path punched to {peer}: {why}"
#: Why the tracker's go for a punch is not taken (L{UdpPunching._go}).
_RUNS = "a punch with it runs already"
_NO_LINK = "this node holds no relayed link to it now"
#: Seconds within which a missed punch asked again holds a relayed
#: download meanwhile (L{UdpPunching.runs}): the budget's room for it at
#: once (L{ProbeBudget.missed}) and the retry's slack.
_SOON = 2.0


class _Run:
    """
    One punch with a peer: its relayed link, whether this node opened
    that link (then it asks its dialer for the link over the punched
    path), the punch, the
    QUIC sockets it sends from (number 0 the node's own), and once met,
    the path and the socket it leaves from (the others closed: None).
    """

    __slots__ = ("peer_id", "link", "opened", "nonce", "punch", "endpoints", "path",
                 "started", "linger", "why")

    def __init__(self, peer_id, link, opened, nonce, started):
        self.peer_id = peer_id
        self.link = link
        self.opened = opened
        self.nonce = nonce
        self.started = started
        self.punch = None
        self.endpoints = []
        self.path = None
        #: The timer that ends a met punch with no link to its peer.
        self.linger = None
        #: Why it failed before its punch could ("": it did not).
        self.why = ""

    def charge(self, sockets, opened):
        """Charge to ``opened`` (L{PunchSockets}) the sockets this run holds
        beyond the node's own (``sockets.main``) while its punch is under
        way: a met punch's one kept socket is its path's, and a later
        punch to the same network is not refused for it."""
        held = sum(1 for endpoint in self.endpoints
                   if endpoint not in (None, sockets.main))
        if held and self.punch.met is None:
            opened.hold(self, addressGroup(self.punch.plan.host), held)
        else:
            opened.release(self)

    def closeExtra(self, sockets, opened, kept):
        """Close this run's sockets but the node's own and ``kept``."""
        for index, endpoint in enumerate(self.endpoints):
            if endpoint not in (None, sockets.main, kept):
                sockets.close(endpoint)
                self.endpoints[index] = None
        self.charge(sockets, opened)


class UdpPunching(Service, NodeObserver):
    """
    The node's punches over UDP: see the module's docstring.

    @ivar check: this node's UDP mapping as the tracker sees it
        (L{MappingCheck}).
    """

    log = Logger()

    def __init__(self, node, sockets, limits=None):
        """
        @param sockets: the node's QUIC sockets: ``main`` (its
            L{QuicEndpoint <twisted_bazaar.transports.quic.endpoint.QuicEndpoint>}),
            ``open()`` one more serving the node (raising C{OSError} if it
            cannot), ``close(endpoint)``:
            L{twisted_bazaar.daemon.quic.QuicService}, which gives each
            socket's datagrams too short for QUIC to L{foreignDatagram}.
        @param limits: the TCP punch's L{PunchLimits
            <twisted_bazaar.reach.punch.budget.PunchLimits>}, which each
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
        #: peer id -> its L{_Run} (under way, or met).
        self._runs = {}
        #: The punches refused by this side's bounds, or missed, asked
        #: again when they may.
        self.retries = PunchRetries(node.clock, self.budget, node.links, self._runs,
                                    self._wanted, self._ask)
        #: The peers whose punch got nothing back: this node's mapping is
        #: kept fresh at the tracker for their sides' asks again.
        self.keptFresh = KeptFresh(node.clock, self._freshen, self.retries.mayPunch)
        #: punch nonce -> its L{_Run}.
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
        #: The peers whose birthday punch met silence and is asked again
        #: within L{_SOON} s: they hold a relayed download meanwhile.
        self._again = set()

    def plug(self):
        """Observe the node's events; its dialer waits for these punches."""
        self.node.addObserver(self)
        self.node.dialer.punchOverUdpWith(self)

    # -- the tracker ------------------------------------------------------------------

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
        """L{MappingCheck.freshen}, its ``udpcheck`` the oldest request."""
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
            _write(self.sockets.main, datagram, host, port)

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

    def _go(self, link, go):
        """The tracker says: punch with node ``go.id`` now; with no link to
        it yet, once its relayed link comes (L{EarlyGoes})."""
        self.requests.answered(go.id)
        if (go.id not in self._runs and self.node.links.get(go.id) is None
                and self.earlyGoes.keep(go)):
            self.log.debug("the tracker's go {nonce} for a UDP punch with node {peer} "
                           "came before its link: kept for it", nonce=go.nonce,
                           peer=shortId(go.id))
            return
        self._take(go)

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
        run = _Run(peer_id, shared, not shared.inbound, go.nonce,
                   self.node.clock.seconds())
        plan, why = planFor(go, relayedFrom(shared), self.check,
                            self.node.whereabouts.directPath(peer_id), self.node.rng)
        if plan is None:
            self._failed(why, run)
            return
        why = self.opened.whyNot(run, addressGroup(plan.host), max(0, plan.sockets - 1))
        if why:
            # The punches under way hold their sockets TIMEOUT s at most.
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
            lambda socket, host, port, data: _write(run.endpoints[socket], data,
                                                    host, port),
            self.budget, self.limits, shared.key)
        # Started (its probes go from the next reactor turn on) before its
        # sockets open: a punch the budgets refuse opens none.
        started = run.punch.start()
        started.addCallbacks(self._met, self._punchFailed, (run,), None, (run,))
        if self._runs.get(peer_id) is run:
            run.why = self._open(run, plan.sockets)
            if run.why:
                started.cancel()

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

    #: What it takes from the tracker once registered
    #: (L{twisted_bazaar.core.sessionhandlers.SessionParts.takeFrom}).
    fromTracker = {UdpProbe: _probe, UdpReached: _reached, UdpPunchGo: _go}

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

    # -- how a punch ends ---------------------------------------------------------------

    def _met(self, met, run):
        self._followed.discard(run.peer_id)
        self._again.discard(run.peer_id)
        self.retries.met(run.peer_id)
        self.keptFresh.done(run.peer_id)
        self.budget.met(run.punch.plan.host)
        kept = run.endpoints[met.socket]
        run.closeExtra(self.sockets, self.opened, kept)
        run.path = Path(UDP, met.host, met.port, word=SEEN)
        self.node.whereabouts.book.add(run.peer_id, run.path)
        self.node.dialer.udpRoutes.route(run.peer_id, run.path, kept, self._pathLost)
        shared = self.node.links.get(run.peer_id)
        # The side that opened the relayed link standing now dials: where
        # the two had linked each other at once, both kept the link of the
        # lower id's opener, maybe not the one the punch was asked on
        # (then neither dialled, and a `bazaar buy` came through the relay
        # until its circuit ran out: natbed, issue 85).
        dials = shared is not None and isRelayed(shared) and not shared.inbound
        if shared is None:
            # Its link closed while it ran (L{linkRemoved}): the path
            # waits for one as a met path does.
            run.linger = self.node.clock.callLater(LINGER, self._lingered, run)
        run.link.peerLine(
            LogLevel.info, "punched a UDP path to {peer}, met at {host}:{port} "
            "({strategy}, {seconds:.2f} s){dials}", self.log, host=met.host,
            port=met.port, strategy=run.punch.plan.strategy,
            seconds=self.node.clock.seconds() - run.started,
            dials=": linking over QUIC" if dials else "")
        if not dials:
            return
        self._linking.add(run.peer_id)
        # The link over the path met, asked of the dialer: from the socket
        # the punch met on (only its 5-tuple passes the routers).
        link = self.node.overlay.punchedLink(shared)
        dialing = self.node.dialer.dialPath(run.path, decode(shared.key), lambda: link,
                                            DialOptions(via=kept))
        dialing.addErrback(self._linkFailed, run)

    def _pathLost(self, peer_id, path, why):
        """Nothing answered a dial over the punched path: the routers forgot
        its 5-tuple (or the peer is gone).  It is dropped, and the QUIC
        link over it aborted, so the peer is reached the ways left (its
        relay) now, not once the link has been silent for 30 s."""
        run = self._runs.get(peer_id)
        if run is None or run.path != path:
            return
        self.log.info("the UDP path to node {peer} at {host}:{port} carries nothing now "
                      "({why}): dropped", peer=shortId(peer_id), host=path.host,
                      port=path.port, why=why)
        self._end(run)
        _dropOver(self.node.links.get(peer_id), path)

    def _linkFailed(self, failure, run):
        if self._runs.get(run.peer_id) is run:
            self._linking.discard(run.peer_id)
            self._giveUp(run.peer_id, "no QUIC link over the punched path: "
                         f"{failure.getErrorMessage()}")

    def _punchFailed(self, failure, run):
        why = run.why or failure.getErrorMessage()
        plan = run.punch.plan
        again = False
        if not run.why and failure.check(udppunch.BudgetRefused):
            why = self.retries.saying(why, run.peer_id, plan)
        elif (not run.why and failure.check(udppunch.Missed)
              and self.node.links.get(run.peer_id) is not None):
            # The peer may have been refused by its bounds, and ask again
            # within a window: the tracker must still see this side then.
            self.keptFresh.keep(run.peer_id)
            # Its host has room for one more punch now (once in ten
            # windows), on both sides: the other side missed too.
            self.budget.missed(plan.host)
            if run.opened and udppunch.BIRTHDAY in plan.strategy:
                why = self.retries.saying(why, run.peer_id, plan)
                due = self.retries.due(run.peer_id)
                again = due is not None and due <= _SOON
        self._failed(why, run)
        if again:
            self._again.add(run.peer_id)

    def _failed(self, why, run):
        run.link.peerLine(LogLevel.info, _NONE, self.log, why=why)
        self._end(run)
        self._giveUp(run.peer_id, None)
        self._followUp(run.peer_id)

    def _followUp(self, peer_id):
        """An early punch with peer_id ended unmet after its TCP punch had
        failed too: the punch that failure would have asked is asked now
        (unless it is asked again anyway, L{PunchRetries}), once.  Its
        other side may not have run (a go that came before its link, kept
        only L{WAIT <twisted_bazaar.reach.punch.udpearlygo.WAIT>} s), or
        the tracker not yet had its datagrams; a `bazaar buy` otherwise
        stays on the relay."""
        if peer_id not in self._followed:
            return
        self._followed.discard(peer_id)
        link = self.node.links.get(peer_id)
        if (link is not None and isRelayed(link) and not link.inbound
                and not self.retries.waiting(peer_id)):
            self._want(peer_id, link)

    def _giveUp(self, peer_id, why):
        """No punch is wanted with peer_id now (its link stays on the relay,
        ``why`` said if not None; or the QUIC link replaced it): whoever
        waits for it goes on."""
        self._early.discard(peer_id)
        self._again.discard(peer_id)
        link = self._wanted.drop(peer_id)
        if link is None:
            return
        if why is not None:
            link.peerLine(LogLevel.info, _NONE, self.log, why=why)
        self.node.dialer.release(peer_id)

    def _end(self, run):
        """run is over: its punch stopped, its sockets closed, its path
        forgotten."""
        self._early.discard(run.peer_id)
        if self._runs.get(run.peer_id) is run:
            del self._runs[run.peer_id]
            self._linking.discard(run.peer_id)
        if self._byNonce.get(run.nonce) is run:
            del self._byNonce[run.nonce]
        if run.punch is not None:
            run.punch.stop()
        if run.linger is not None and run.linger.active():
            run.linger.cancel()
        run.closeExtra(self.sockets, self.opened, None)
        if run.path is not None:
            self.node.whereabouts.book.drop(run.peer_id, run.path)
            self.node.dialer.udpRoutes.unroute(run.peer_id, run.path)

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
            link.peerLine(LogLevel.info, _NONE, self.log, why=reachedWhy(direct))
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

    def linkReplaced(self, peer_id):
        """The QUIC link took the relayed one's place: whoever waited goes on."""
        link = self.node.links.get(peer_id)
        if link is not None and not isRelayed(link):
            self._giveUp(peer_id, None)

    def linkRemoved(self, peer_id):
        """No link to peer_id: a punch under way runs on to its end (met,
        or missed within its L{TIMEOUT <twisted_bazaar.reach.punch.udp.TIMEOUT>} s, its probes
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

    def _lingered(self, run):
        if self.node.links.get(run.peer_id) is None:
            self._end(run)

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
        check (L{linkAdded}) and its check or ask is out, the tracker's
        answer due within a round trip or two: a one-shot `bazaar buy`
        fetches as its link comes up, and the relay carried 0.28 MB
        (natbed) before the go; or it met and this side dials the QUIC
        link over its path, the relayed link not yet replaced (a loaded
        relay carried 262 kB in that gap); or a birthday punch that met
        silence is asked again within L{_SOON} s (its host's room for one
        more, L{ProbeBudget.missed
        <twisted_bazaar.reach.punch.probebudget.ProbeBudget.missed>}),
        waiting for that or its ask out.  Not one to follow a TCP punch,
        nor one waiting to be asked again after a refusal."""
        run = self._runs.get(peer_id)
        if run is not None:
            if run.path is not None:
                link = self.node.links.get(peer_id)
                return (peer_id in self._linking and link is not None
                        and isRelayed(link))
            return run.punch is not None
        if peer_id in self._again and self.retries.waiting(peer_id):
            return True
        return ((peer_id in self._early or peer_id in self._again)
                and peer_id in self._wanted and not self._wanted.waitsToAsk(peer_id))

    def stopService(self):
        super().stopService()
        self.nodeStopping()

    def nodeStopping(self):
        self.earlyGoes.stop()
        self._followed.clear()
        self._again.clear()
        self.retries.stop()
        self.keptFresh.stop()
        self.check.answered()
        for peer_id in self._wanted.peers():
            self._giveUp(peer_id, None)
        for run in list(self._runs.values()):
            self._end(run)
        self.requests.lost()


def _dropOver(link, path):
    """Abort link if it is a QUIC link over path (which carries nothing
    now)."""
    if link is None or not isQuic(link):
        return
    address = link.transport.getPeer()
    if (address.host, address.port) == (path.host, path.port):
        link.drop("its UDP path carries nothing now")


def _write(endpoint, data, host, port):
    """A datagram of a punch or a check, from one of the node's QUIC
    sockets (None: one the punch closed, as it met on another)."""
    if endpoint is None:
        return
    try:
        endpoint.transport.write(data, (host, port))
    except OSError:
        # A datagram lost (a full buffer, no route): the punch resends.
        pass
    except InvalidAddressError:
        # A host of the other family than the socket's (a node listening
        # on IPv6 alone, its tracker at an IPv4 address): no datagram can
        # go, so the tracker's check sees none, as behind a router that
        # drops them.
        pass

