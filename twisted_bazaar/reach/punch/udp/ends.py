"""
How a UDP punch ends (L{PunchEnds}, a mixin of
L{twisted_bazaar.reach.punch.udp.service.UdpPunching}): met (its path
booked and routed, and the QUIC link over it dialled by the side that
opened the relayed link standing), missed or refused (said, and asked
again when it may), its path lost, or over (its sockets closed, its
path forgotten).  A mixin, so that a node's punching is still one
object with one table of runs.
"""

from twisted.logger import LogLevel

from twisted_bazaar.identity.keys import decode
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.tcp.service import isRelayed
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import SEEN, UDP, Path
from twisted_bazaar.transports.quic.transport import isQuic
from twisted_bazaar.wire.ids import shortId

__all__ = ["PunchEnds", "LINGER", "NONE"]

#: Seconds a punched path is kept with no link to its peer: the relayed
#: link may close before the QUIC link over the path has replaced it at
#: this end (the other end retired it first), and a link may come again.
LINGER = 30.0
#: The line of a punch that did not meet, or was not tried.
NONE = "no UDP path punched to {peer}: {why}"


class PunchEnds:
    """How a punch of L{UdpPunching
    <twisted_bazaar.reach.punch.udp.service.UdpPunching>} ends: see the
    module's docstring."""

    def _met(self, met, run):
        self._followed.discard(run.peer_id)
        self.retries.met(run.peer_id)
        self.keptFresh.done(run.peer_id)
        self.budget.met(run.punch.plan.host)
        kept = run.endpoints[met.socket]
        run.closeExtra(self.sockets, self.opened, kept)
        run.path = Path(UDP, met.host, met.port, word=SEEN, via=kept, lost=self._pathLost)
        self.node.whereabouts.book.add(run.peer_id, run.path)
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
        linked = self.node.links.get(run.peer_id) is not None
        if not run.why and failure.check(udppunch.BudgetRefused, udppunch.LimitsRefused):
            # The other side's probes met silence: both sides' next punch
            # is patient, and the other side may ask it first (the tracker
            # must still see this side then).  Asked again once the budget
            # and the count of attempts have room (a TCP punch's attempts
            # and a first UDP punch fill the count for a peer).
            self.retries.silent(run.peer_id)
            if linked:
                self.keptFresh.keep(run.peer_id)
            after = (self.limits.roomIn(run.punch.key)
                     if failure.check(udppunch.LimitsRefused) else 0.0)
            why = self.retries.saying(why, run.peer_id, plan, after)
        elif not run.why and failure.check(udppunch.Missed) and linked:
            # The peer may have been refused by its bounds, and ask again
            # within a window: the tracker must still see this side then.
            self.keptFresh.keep(run.peer_id)
            # Its host has room for one more punch now (once in ten
            # windows), on both sides: the other side missed too.
            self.budget.missed(plan.host)
            # The next is patient, on both sides: the silence may be the
            # order of arrival at two routers on one segment.
            self.retries.silent(run.peer_id)
            if run.opened and (udppunch.BIRTHDAY in plan.strategy
                               or plan.strategy == udppunch.SIMULTANEOUS):
                # Once the routers forgot what its datagrams left there.
                why = self.retries.saying(why, run.peer_id, plan,
                                          udppunch.forgotten(plan))
        self._failed(why, run)

    def _failed(self, why, run):
        run.link.peerLine(LogLevel.info, NONE, self.log, why=why)
        self._end(run)
        self._giveUp(run.peer_id, None)
        self._followUp(run.peer_id)

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
        self.changed(run.peer_id)

    def _lingered(self, run):
        if self.node.links.get(run.peer_id) is None:
            self._end(run)


def _dropOver(link, path):
    """Abort link if it is a QUIC link over path (which carries nothing
    now)."""
    if link is None or not isQuic(link):
        return
    address = link.transport.getPeer()
    if (address.host, address.port) == (path.host, path.port):
        link.drop("its UDP path carries nothing now")
