"""
One TCP port kept mapped at the home router: asked of each protocol in
turn (UPnP, PCP, NAT-PMP: the first that maps it keeps it), renewed at
half its lease, asked again from the start when a renewal fails, and
deleted when the node stops.  The port is asked at the same external
port: the node advertises its own listening port, and the tracker checks
it there (a router that maps it at another port gives it back).
"""

from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed

#: Seconds of lease asked (renewed at half), and the least wait before a
#: renewal whatever lease a router grants (a router granting 2 s leases
#: would have the node ask every second).
LEASE = 3600
LEAST_RENEWAL = 30.0
#: Seconds before every protocol is tried again after all failed,
#: doubling from the first to the last.
RETRY_FIRST = 60.0
RETRY_MAX = 3600.0


class PortMapper:
    """
    Keeps ``port`` mapped at the router through the first of
    ``protocols`` (each with ``name``, ``map(internal, external,
    lifetime)`` and ``unmap(mapped)``, returning Deferreds) that maps it.

    @ivar mapping: the L{Mapped} the router holds, or None.
    @ivar holder: the protocol that holds it, or None.
    """

    log = Logger()

    def __init__(self, clock, protocols, port, onMapped=lambda mapped: None,
                 lease=LEASE, what="listening port"):
        """
        @param what: which of the node's ports it is, for the log lines
            (C{"listening port"}, C{"transfer port"}, C{"relay port"}).
        """
        self.clock = clock
        self.protocols = list(protocols)
        self.port = port
        self.what = what
        self.onMapped = onMapped
        self.lease = lease
        self.mapping = None
        self.holder = None
        self.stopped = False
        self._retry = RETRY_FIRST
        #: The request in flight, or the timer of the next: what L{stop}
        #: cancels.
        self._pending = None
        self._timer = None
        #: Mappings at another port being given back: L{stop} waits for
        #: them.
        self._givingBack = set()

    def start(self):
        """Ask each protocol in turn."""
        self._try(0, [])

    def _try(self, index, whys):
        self._timer = None
        if index == len(self.protocols):
            self._allFailed(whys)
            return
        protocol = self.protocols[index]
        d = self._pending = defer.maybeDeferred(protocol.map, self.port, self.port,
                                                self.lease)
        d.addCallbacks(self._mapped, self._notMapped, callbackArgs=(protocol, index, whys),
                       errbackArgs=(protocol, index, whys))

    def _allFailed(self, whys):
        wait, self._retry = self._retry, min(self._retry * 2, RETRY_MAX)
        self.log.warn("no router maps TCP port {port} ({what}) to this node: {whys}; "
                      "asking again in {wait:g} s", port=self.port, what=self.what,
                      whys="; ".join(whys), wait=wait)
        self._timer = self.clock.callLater(wait, self._try, 0, [])

    def _notMapped(self, reason, protocol, index, whys):
        self._pending = None
        if reason.check(defer.CancelledError) and self.stopped:
            return
        self._try(index + 1, whys + [_why(reason, protocol)])

    def _mapped(self, mapped, protocol, index, whys):
        self._pending = None
        if mapped.external != self.port:
            why = (f"{protocol.name}: the router mapped it at external port "
                   f"{mapped.external}, and this node is advertised at its own port")
            self.log.info("{why}; giving the mapping back", why=why)
            self._giveBack(protocol, mapped)
            self._try(index + 1, whys + [why])
            return
        first = self.holder is not protocol
        self.mapping, self.holder, self._retry = mapped, protocol, RETRY_FIRST
        if first:
            self.log.info("the router maps TCP port {port} ({what}) to this node "
                          "({protocol}, lease {lease} s)", port=self.port,
                          what=self.what, protocol=protocol.name,
                          lease=mapped.lifetime or "without end")
            self.onMapped(mapped)
        if mapped.lifetime:
            self._timer = self.clock.callLater(
                max(mapped.lifetime / 2, LEAST_RENEWAL), self._renew)

    def _giveBack(self, protocol, mapped):
        """Delete a mapping the node does not use; its failure is a line."""
        d = defer.maybeDeferred(protocol.unmap, mapped)
        self._givingBack.add(d)

        def failed(reason):
            self.log.info("{protocol}: giving a mapping back failed: {why}",
                          protocol=protocol.name, why=_why(reason, protocol))

        def done(_):
            self._givingBack.discard(d)
        d.addErrback(failed).addBoth(done)

    def _renew(self):
        self._timer = None
        holder = self.holder
        d = self._pending = defer.maybeDeferred(holder.map, self.port, self.port,
                                                self.lease)
        d.addCallbacks(self._mapped, self._notRenewed, callbackArgs=(holder, 0, []),
                       errbackArgs=(holder,))

    def _notRenewed(self, reason, holder):
        self._pending = None
        if reason.check(defer.CancelledError) and self.stopped:
            return
        self.log.warn("renewing the mapping of TCP port {port} ({what}) failed: {why}; "
                      "asking the router again", port=self.port, what=self.what,
                      why=_why(reason, holder))
        self.mapping = self.holder = None
        self._try(0, [])

    def stop(self):
        """Cancel what is under way, and delete the mapping: a Deferred
        that fires (never fails) once the router answered or its
        protocol's timeout passed."""
        self.stopped = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
        mapping, holder, self.mapping, self.holder = self.mapping, self.holder, None, None
        givenBack = defer.gatherResults(list(self._givingBack))
        if mapping is None:
            return givenBack
        d = defer.maybeDeferred(holder.unmap, mapping)

        def removed(_):
            self.log.info("the router no longer maps TCP port {port} ({what}, "
                          "{protocol})", port=self.port, what=self.what,
                          protocol=holder.name)

        def notRemoved(reason):
            self.log.warn("could not remove the mapping of TCP port {port} ({what}): "
                          "{why} (the router drops it when its lease ends)",
                          port=self.port, what=self.what, why=_why(reason, holder))
        d.addCallbacks(removed, notRemoved)
        return defer.gatherResults([d, givenBack])


def _why(reason, protocol):
    """What went wrong, in a line: a L{MappingFailed}'s message says the
    protocol already; anything else is named with it."""
    if reason.check(MappingFailed):
        return str(reason.value)
    return f"{protocol.name}: {reason.type.__name__}: {reason.getErrorMessage()}"
