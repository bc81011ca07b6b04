"""
A node's UDP punches as they run (L{Runs}): one started on the
tracker's go with its plan (its sockets opened, its datagrams fed), and
how it ends: met (its path booked and routed, and the QUIC link over it
dialled by the side that opened the relayed link standing), missed or
refused (said, and asked again when it may), its path lost, or over
(its sockets closed, its path forgotten).  A part of
L{twisted_bazaar.reach.punch.udp.service.UdpPunching} that alone writes
its L{RunTable <twisted_bazaar.reach.punch.udp.run.RunTable>}; what
waits for a punch it tells the node's follow-ups
(L{twisted_bazaar.reach.punch.udp.follow.FollowUps}).
"""

from twisted.logger import LogLevel

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.tcp.service import isRelayed
from twisted_bazaar.reach.punch.udp.sounding import Sounding
from twisted_bazaar.reach.sources import Found
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import SEEN, UDP, Path
from twisted_bazaar.transports.quic.transport import isQuic
from twisted_bazaar.wire.ids import shortId

__all__ = ["Runs", "LINGER", "NONE"]

#: Seconds a punched path is kept with no link to its peer: the relayed
#: link may close before the QUIC link over the path has replaced it at
#: this end (the other end retired it first), and a link may come again.
LINGER = 30.0
#: The line of a punch that did not meet, or was not tried.
NONE = "no UDP path punched to {peer}: {why}"
#: Seconds a patient punch not met runs on with no link to its peer:
#: long enough for the link of two nodes that linked each other at once
#: to come in its place, not the 42 s a node gone (a buyer daemon that
#: exited when done) would hold 255 sockets, its home's group's share.
UNLINKED = 2.0


class Runs:
    """The runs of a node's punches over UDP: see the module's docstring."""

    def __init__(self, clock, table, sockets, opened, budget, limits, retries, keptFresh,
                 book, sources, overlay, followUps, log, sounder=Sounding,
                 tell=None):
        """
        @param table: the runs (L{RunTable
            <twisted_bazaar.reach.punch.udp.run.RunTable>}), written here.
        @param sockets: the node's QUIC sockets (L{UdpPunching
            <twisted_bazaar.reach.punch.udp.service.UdpPunching>}'s).
        @param opened: the sockets the runs hold beyond the node's own
            (L{PunchSockets <twisted_bazaar.reach.punch.udp.sockets.PunchSockets>}).
        @param budget: the node's probe budget (L{ProbeBudget
            <twisted_bazaar.reach.punch.budgets.probes.ProbeBudget>}).
        @param limits: the TCP punch's count of attempts (L{PunchLimits
            <twisted_bazaar.reach.punch.budgets.dials.PunchLimits>}), or None.
        @param retries: the punches asked again (L{PunchRetries
            <twisted_bazaar.reach.punch.udp.again.PunchRetries>}).
        @param keptFresh: the mapping kept fresh for a peer's ask again
            (L{KeptFresh <twisted_bazaar.reach.punch.udp.fresh.KeptFresh>}).
        @param book: the node's book of paths, where a met path is written.
        @param sources: the node's dialer's sources of paths
            (L{twisted_bazaar.reach.sources.Sources}): told the path met,
            which the dialer dials the QUIC link over, and that a punch
            changed.
        @param overlay: the node's link table: its link to a peer, and
            the punched link that dial makes.
        @param followUps: told a run met or ended, and what waited for it
            is given up or followed up (L{FollowUps
            <twisted_bazaar.reach.punch.udp.follow.FollowUps>}).
        @param log: the logger of the node's punching, whose lines these are.
        @param sounder: makes a sounded plan's sounding (L{Sounding
            <twisted_bazaar.reach.punch.udp.sounding.Sounding>}'s
            signature; a fake's in tests).
        @param tell: C{tell(peer_id, nonce)}: tells the peer (through the
            tracker) that the punch ``nonce`` goes patient.
        """
        self._clock = clock
        self._table = table
        self._sockets = sockets
        self._opened = opened
        self._budget = budget
        self._limits = limits
        self._retries = retries
        self._keptFresh = keptFresh
        self._book = book
        self._sources = sources
        self._overlay = overlay
        self._followUps = followUps
        self.log = log
        self._sounder = sounder
        self._tell = tell

    def start(self, run, plan, key):
        """Run this side of a punch by plan with the peer of key (its
        probes go from the next reactor turn on), before its sockets open:
        a punch the budgets refuse opens none."""
        self._table.add(run)
        started = run.start(self._clock, plan, self._sockets.main, self._budget,
                            self._limits, key, self._near, self._sounder)
        started.addCallbacks(self._met, self._punchFailed, (run,), None, (run,))
        if self._table.get(run.peer_id) is run:
            if run.openSockets(self._sockets, self._opened, plan.sockets):
                started.cancel()
        self._sources.changed(run.peer_id)

    def _near(self, run):
        """run's sounding was answered from its peer's host: the two
        routers are on one segment, and it goes patient now, and tells the
        peer (whose own sounding may have met a router that drops it)."""
        if self._table.get(run.peer_id) is not run or not run.punch.nearPeer():
            return
        answer = run.sounding.answer
        if self._tell is not None:
            self._tell(run.peer_id, run.nonce)
        self._patient(run, f"its router answered this node's sounding (ICMP "
                      f"{answer.type}/{answer.code} from {answer.offender})")

    def told(self, peer_id, nonce):
        """The peer says the punch ``nonce`` with it goes patient (its
        sounding was answered from this node's host, or it was told so
        by this node): so it does here, if it runs and has not met, and
        says so back (an opener's word: its datagrams have left, and a
        waiting side tries from then); a waiting side already patient
        tries now."""
        run = self._table.get(peer_id)
        if run is None or run.nonce != nonce:
            return
        if run.punch.nearPeer(word=True):
            if self._tell is not None:
                self._tell(run.peer_id, run.nonce)
            self._patient(run, "it says so")
        elif run.punch.word():
            self.log.debug("the patient UDP punch with node {peer} tries now: the "
                           "peer's word came ({seconds:.2f} s)", peer=shortId(peer_id),
                           seconds=self._clock.seconds() - run.started)

    def _patient(self, run, why):
        """Said; and the dialer told, whose hold on a transfer ends: a
        patient punch meets 32 s in at the soonest."""
        run.link.peerLine(
            LogLevel.info, "the UDP punch with {peer} goes patient, the two routers "
            "on one segment: {why} ({strategy}, {seconds:.2f} s)", self.log, why=why,
            strategy=run.punch.plan.strategy, seconds=self._clock.seconds() - run.started)
        self._sources.changed(run.peer_id)

    def datagram(self, endpoint, data, addr):
        """A datagram too short for QUIC came to one of the node's QUIC
        sockets: to the run whose nonce it carries, if any."""
        parsed = udppunch.parse(data)
        run = None if parsed is None else self._table.byNonce(parsed[1])
        if run is None or endpoint is None or endpoint not in run.endpoints:
            return
        run.punch.datagramReceived(run.endpoints.index(endpoint), addr[0], addr[1], data)

    def linkCame(self, peer_id):
        """A link to peer_id: a punched path lingering for one has it."""
        run = self._table.get(peer_id)
        if run is not None and run.linger is not None and run.linger.active():
            run.linger.cancel()

    def linkGone(self, peer_id):
        """No link to peer_id: a run under way runs on to its end (met, or
        missed within its L{TIMEOUT
        <twisted_bazaar.reach.punch.udp.plan.TIMEOUT>} s, its probes
        counted already), since the other side's runs on too, but a
        patient one, which ends L{UNLINKED} s later unless a link came; a
        punched path is kept L{LINGER} seconds for a link to come (over
        it, most often)."""
        run = self._table.get(peer_id)
        if run is None:
            return
        lingers = run.linger is not None and run.linger.active()
        if run.path is None and run.punch.plan.strategy.startswith(udppunch.PATIENT):
            if not lingers:
                self.log.debug("the link a patient UDP punch with node {peer} was taken "
                               "on closed: it ends in {seconds:g} s unless a link comes",
                               peer=shortId(peer_id), seconds=UNLINKED)
                run.linger = self._clock.callLater(UNLINKED, self._lingered, run)
        elif run.path is None:
            self.log.debug("the link a UDP punch with node {peer} was taken on closed: "
                           "the punch runs on", peer=shortId(peer_id))
        elif not lingers:
            run.linger = self._clock.callLater(LINGER, self._lingered, run)

    def stop(self):
        """The node stops: every run ends."""
        for run in self._table.runs():
            self.end(run)

    def _met(self, met, run):
        self._followUps.met(run.peer_id)
        self._retries.met(run.peer_id)
        self._keptFresh.done(run.peer_id)
        self._budget.met(run.punch.plan.host)
        kept = run.endpoints[met.socket]
        run.closeExtra(self._sockets, self._opened, kept)
        run.path = Path(UDP, met.host, met.port, word=SEEN, via=kept, lost=self._pathLost)
        self._book.add(run.peer_id, run.path)
        shared = self._overlay.linkTo(run.peer_id)
        # The side that opened the relayed link standing now dials: where
        # the two had linked each other at once, both kept the link of the
        # lower id's opener, maybe not the one the punch was asked on
        # (then neither dialled, and a `bazaar buy` came through the relay
        # until its circuit ran out: natbed, issue 85).
        dials = shared is not None and isRelayed(shared) and not shared.inbound
        if shared is None:
            # Its link closed while it ran (L{linkRemoved}): the path
            # waits for one as a met path does.
            run.linger = self._clock.callLater(LINGER, self._lingered, run)
        run.link.peerLine(
            LogLevel.info, "punched a UDP path to {peer}, met at {where} "
            "({strategy}, {seconds:.2f} s){dials}", self.log, host=met.host,
            port=met.port, where=hostPort(met.host, met.port), strategy=run.punch.plan.strategy,
            seconds=self._clock.seconds() - run.started,
            dials=": linking over QUIC" if dials else "")
        if not dials:
            return
        self._table.dialling(run.peer_id)
        # The link over the path met, announced to the dialer, which dials
        # it from the socket the punch met on (only its 5-tuple passes the
        # routers).
        link = self._overlay.punchedLink(shared)
        dialing = self._sources.found(Found(run.peer_id, run.path, decode(shared.key),
                                            lambda: link, DialOptions(via=kept)))
        dialing.addErrback(self._linkFailed, run)

    def _pathLost(self, peer_id, path, why):
        """Nothing answered a dial over the punched path: the routers forgot
        its 5-tuple (or the peer is gone).  It is dropped, and the QUIC
        link over it aborted, so the peer is reached the ways left (its
        relay) now, not once the link has been silent for 30 s."""
        run = self._table.get(peer_id)
        if run is None or run.path != path:
            return
        self.log.info("the UDP path to node {peer} at {where} carries nothing now "
                      "({why}): dropped", peer=shortId(peer_id), host=path.host,
                      port=path.port, where=hostPort(path.host, path.port), why=why)
        self.end(run)
        _dropOver(self._overlay.linkTo(peer_id), path)

    def _linkFailed(self, failure, run):
        if self._table.get(run.peer_id) is run:
            self._table.dialFailed(run.peer_id)
            self._followUps.giveUp(run.peer_id, "no QUIC link over the punched path: "
                                   f"{failure.getErrorMessage()}")

    def _punchFailed(self, failure, run):
        why = run.why or failure.getErrorMessage()
        plan = run.punch.plan
        linked = self._overlay.linkTo(run.peer_id) is not None
        if not run.why and failure.check(udppunch.BudgetRefused, udppunch.LimitsRefused):
            # The other side's probes met silence: both sides' next punch
            # is patient, and the other side may ask it first (the tracker
            # must still see this side then).  Asked again once the budget
            # and the count of attempts have room (a TCP punch's attempts
            # and a first UDP punch fill the count for a peer).
            self._retries.silent(run.peer_id)
            if linked:
                self._keptFresh.keep(run.peer_id)
            after = (self._limits.roomIn(run.punch.key)
                     if failure.check(udppunch.LimitsRefused) else 0.0)
            why = self._retries.saying(why, run.peer_id, plan, after)
        elif not run.why and failure.check(udppunch.Missed) and linked:
            # The peer may have been refused by its bounds, and ask again
            # within a window: the tracker must still see this side then.
            self._keptFresh.keep(run.peer_id)
            # Its host has room for one more punch now (once in ten
            # windows), on both sides: the other side missed too.
            self._budget.missed(plan.host)
            # The next is patient, on both sides: the silence may be the
            # order of arrival at two routers on one segment.
            self._retries.silent(run.peer_id)
            if run.opened and (udppunch.BIRTHDAY in plan.strategy
                               or plan.strategy == udppunch.SIMULTANEOUS):
                # Once the routers forgot what its datagrams left there.
                why = self._retries.saying(why, run.peer_id, plan,
                                          udppunch.forgotten(plan))
        self.failed(why, run)

    def failed(self, why, run):
        """run did not meet, or was not tried, for why (said): over, and
        what waited for it given up or followed up."""
        run.link.peerLine(LogLevel.info, NONE, self.log, why=why)
        self.end(run)
        self._followUps.giveUp(run.peer_id, None)
        self._followUps.followUp(run.peer_id)

    def end(self, run):
        """run is over: its punch stopped, its sockets closed, its path
        forgotten."""
        self._followUps.ended(run.peer_id)
        self._table.remove(run)
        if run.punch is not None:
            run.punch.stop()
        if run.linger is not None and run.linger.active():
            run.linger.cancel()
        run.closeExtra(self._sockets, self._opened, None)
        if run.path is not None:
            self._book.drop(run.peer_id, run.path)
        self._sources.changed(run.peer_id)

    def _lingered(self, run):
        if self._overlay.linkTo(run.peer_id) is None:
            if run.path is None:
                run.link.peerLine(LogLevel.info, NONE, self.log, why=(
                    f"its link closed, and no other came within {UNLINKED:g} s: the "
                    f"patient punch ends, its sockets closed"))
            self.end(run)


def _dropOver(link, path):
    """Abort link if it is a QUIC link over path (which carries nothing
    now)."""
    if link is None or not isQuic(link):
        return
    address = link.transport.getPeer()
    if (address.host, address.port) == (path.host, path.port):
        link.drop("its UDP path carries nothing now")
