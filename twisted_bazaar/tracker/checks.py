"""
The tracker's connect-back checks of the addresses its nodes register
(docs/protocol.md §5, "The address check"), run a few at a time: each is
charged to its node's address group, a failed one is tried again later,
and a node that asked (``thisisme.reach``) is told what each one found.
"""

from twisted.internet import defer
from twisted.logger import LogLevel

from twisted_bazaar import wire
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.peerhost import firstDialled, isName, whyNotChecked
from twisted_bazaar.reach.peerhosts import HostRefused
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.tracker.check import AddressCheck
from twisted_bazaar.wire.ids import shortId

#: Seconds before a failed address check is tried again: doubling from
#: the first to the last.
RECHECK_FIRST = 5.0
RECHECK_MAX = 60.0
#: Address checks the daemon runs at once, in all and for the nodes of
#: one address group: each holds a descriptor until it ends (within the
#: handshake timeout).  Past these a check waits RECHECK_FIRST seconds,
#: unless the newest check of a group holding more gives way (and waits).
CHECK_LIMIT = 32
CHECK_GROUP_LIMIT = 8
CHECKME_LIMIT = declare(
    "tracker.checkme", RECHECK_FIRST, "s",
    "least seconds between two checkme a node has taken (each has the tracker dial "
    "it at once): asking makes it dial no more often than failing does",
    owner=__name__)
CHECKS_LIMIT = declare(
    "tracker.checks", None, "checks",
    "address checks in flight at once (each holds a descriptor); the daemon's "
    "bound is CHECK_LIMIT", group=CHECK_GROUP_LIMIT, owner=__name__)


class AddressChecks:
    """
    The checks of one tracker: in flight, or waiting to be tried again.

    @ivar checking: node ids whose check is in flight, by address group.
    """

    def __init__(self, tracker, check_limit=None):
        """
        @param tracker: the L{twisted_bazaar.tracker.service.Tracker} whose
            nodes are checked: its clock, connector, identity, settings,
            peer log, links and registry, its ``proofs`` (the key a node
            proved, L{twisted_bazaar.tracker.keyproofs.KeyProofs.keyOf}) and
            ``memberLine`` (its bounded lines of members).
        """
        self.tracker = tracker
        self.checking = Account.of(CHECKS_LIMIT, check_limit)
        #: node id -> its address check in flight, or the timer of the next.
        self._checks = {}
        #: node id -> the IP address its last check that passed reached it
        #: at (L{AddressCheck.reached}).
        self.reached = {}
        #: Ids of the nodes that asked to be told what their checks find.
        self.telling = set()
        #: node id -> when its last ``checkme`` was taken (L{again}).
        self._asked = {}

    def check(self, node_id, retry=RECHECK_FIRST):
        """Check the address node_id advertised; if it fails, try again
        after retry seconds (doubling up to RECHECK_MAX).  With no room in
        L{checking} it waits RECHECK_FIRST seconds; the checks that give
        way for it wait as long."""
        tracker = self.tracker
        clock = tracker.clock
        victims = self.checking.take(node_id, groupOf(tracker.links[node_id]))
        if victims is None:
            self._checks[node_id] = clock.callLater(RECHECK_FIRST, self.check, node_id,
                                                    retry)
            return
        for victim in victims:
            self.stop(victim)
            self._checks[victim] = clock.callLater(RECHECK_FIRST, self.check, victim,
                                                   RECHECK_FIRST)
        host, port = tracker.registry.nodes[node_id]
        key = tracker.proofs.keyOf(node_id)
        check = self._checks[node_id] = AddressCheck(node_id, key,
                                                     tracker.identity, clock,
                                                     tracker.settings, tracker.peer_log)
        seen = (peerHost(tracker.links[node_id].transport) if tracker.connector.addressed
                else None)
        # A failure at a neighbour's address is told at the handshake
        # timeout alone: how soon a port fails tells of what is there.
        check.start(tracker.transports.dial, host, port,
                    hosts=self._hostsOf(host, port, seen), seen=seen,
                    holdFailure=tracker.settings.handshake_timeout).addCallback(
            self._checked, node_id, check, retry)

    def again(self, node_id):
        """
        node_id asks to be checked again now (``checkme``: its router maps
        its port to it since).  Not a node whose check passed, that
        registered port 0, or whose check is in flight (that one's outcome
        is told); another is checked at once, its retries starting over,
        held or not at a relay (a reservation stopped its checks).  At
        most one ``checkme`` a node each L{CHECKME_LIMIT} seconds is
        taken: asking makes the tracker dial no more often than failing
        does.
        """
        tracker = self.tracker
        registry = tracker.registry
        if (tracker.connector is None or node_id in registry.checked
                or not registry.nodes[node_id][1]
                or isinstance(self._checks.get(node_id), AddressCheck)):
            return
        now = tracker.clock.seconds()
        last = self._asked.get(node_id)
        if last is not None and now < last + CHECKME_LIMIT.default:
            return
        self._asked[node_id] = now
        self.stop(node_id)
        self.check(node_id)

    def _hostsOf(self, host, port, seen):
        """
        Where to dial a node registered at host:port: a Deferred firing
        with the addresses, or failing with L{HostRefused}.  host, or the
        addresses its name resolves to now, that L{whyNotChecked} allows
        for a node whose connection comes from IP address seen; None
        (host as it is) on a connector of labels (a memory network's).

        A lookup takes at most the check's handshake timeout, then is
        cancelled and the check fails (a registrant's slow name server
        held one of its group's check slots as long as it took to answer).
        """
        tracker = self.tracker
        connector = tracker.connector
        if not connector.addressed:
            return None
        if not isName(host):
            why = whyNotChecked(host, port, seen)
            return defer.succeed([host]) if why is None else defer.fail(HostRefused(why))
        timeout = tracker.settings.handshake_timeout
        lookup = connector.resolve(host, port)
        lookup.addTimeout(timeout, tracker.clock)
        return lookup.addCallbacks(_allowed, _unresolved, callbackArgs=(host, port, seen),
                                   errbackArgs=(host, timeout))

    def _checked(self, passed, node_id, check, retry):
        if self._checks.get(node_id) is not check:
            return
        tracker = self.tracker
        self.checking.release(node_id)
        host, port = tracker.registry.nodes[node_id]
        self._tell(node_id, host, port, passed)
        group = groupOf(tracker.links[node_id])
        if passed:
            del self._checks[node_id]
            if check.reached is not None:
                self.reached[node_id] = check.reached
            tracker.registry.verify(node_id)
            # Held at a relay until now (it asked again: ``checkme``), it
            # is named at its address from now on.
            tracker.reservations.reachedDirectly(node_id)
            tracker.memberLine(group, LogLevel.info,
                               "node {id} listens at {where} as it said: "
                               "introducing it", id=shortId(node_id), host=host, port=port,
                               where=(host, port))
            return
        if check.refused is not None:
            tracker.memberLine(group, LogLevel.warn,
                               "node {id}: not dialling {where} to check it: "
                               "{why}; not introducing it (checking again in {retry:g} s)",
                               id=shortId(node_id), host=host, port=port,
                               where=(host, port),
                               why=check.refused, retry=retry)
        else:
            tracker.memberLine(group, LogLevel.warn,
                               "node {id}: nothing at {where} answers as that "
                               "node; not introducing it (checking again in {retry:g} s)",
                               id=shortId(node_id), host=host, port=port,
                               where=(host, port), retry=retry)
        self._checks[node_id] = tracker.clock.callLater(
            retry, self.check, node_id, min(retry * 2, RECHECK_MAX))

    def _tell(self, node_id, host, port, passed):
        """Tell a node that asked what the check of its address host:port
        found, and where the tracker sees its connection come from
        (``reach``: behind a NAT router, the router's public address)."""
        if node_id not in self.telling:
            return
        link = self.tracker.links[node_id]
        seen = link.transport.getPeer()
        link.send(wire.Reach(host, port, passed, peerHost(link.transport),
                             getattr(seen, "port", 0) or 0))

    def stop(self, node_id):
        """Stop checking node_id: the check in flight or the next one."""
        self.checking.release(node_id)
        pending = self._checks.pop(node_id, None)
        if isinstance(pending, AddressCheck):
            pending.cancel()
        elif pending is not None and pending.active():
            pending.cancel()

    def forget(self, node_id):
        """node_id left: no check of it, nothing to tell it."""
        self.stop(node_id)
        self.telling.discard(node_id)
        self.reached.pop(node_id, None)
        self._asked.pop(node_id, None)

    def stopAll(self):
        """Cancel every check in flight or scheduled."""
        for node_id in list(self._checks):
            self.stop(node_id)


def _allowed(addresses, name, port, seen):
    """The addresses name resolved to that a check at port dials
    (L{whyNotChecked}), the first L{firstDialled} takes; else why none."""
    whys = [(address, whyNotChecked(address, port, seen)) for address in addresses]
    allowed = [address for address, why in whys if why is None]
    if allowed:
        return firstDialled(allowed)
    if not whys:
        raise HostRefused(f"{name} resolves to no address")
    address, why = whys[0]
    raise HostRefused(f"{name} resolves to {address}: {why}")


def _unresolved(reason, name, timeout):
    if reason.check(defer.TimeoutError):
        raise HostRefused(f"{name} did not resolve within {timeout:g} s")
    raise HostRefused(f"{name} does not resolve: {reason.getErrorMessage()}")
