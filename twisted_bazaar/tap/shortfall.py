"""
Why a buyer has not got what it wants, in a user's words, and the
daemon's ``--give-up-after S``: a buyer that has not got every want
within S seconds stops its node in order and exits with L{GAVE_UP}, saying
why.  ``bazaar buy`` (L{twisted_bazaar.cli.buy}) says the same at its
deadline.
"""

from twisted.application.service import Service
from twisted.internet import defer

from twisted_bazaar import wire
from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.lan import ipAddress
from twisted_bazaar.base.words import plural
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.roles.want import (
    BACKOFF,
    BUYING,
    COMMITTING,
    DOUBTING,
    RESUMING,
    RETRY_SAVE,
    SAVING,
    SEARCHING,
    WAITING,
    countedHint,
)

#: The exit status of a daemon that gave up (``--give-up-after``).
GAVE_UP = 3

#: What a want still in a state was doing when time ran out.
_WHY = {
    WAITING: "the node could not search yet: no link to another node (none was "
             "named to it, or none it dialled answered{ways})",
    SEARCHING: "its search was still out",
    BACKOFF: "no seller offered it",
    SAVING: "a buy was being made",
    RETRY_SAVE: "a buy was being made",
    RESUMING: "a buy was being made",
    BUYING: "the seller did not answer the buy",
    COMMITTING: "a purchase was being recorded",
    DOUBTING: "the sellers of buys given up on had not answered yet",
}


def wayOut(plugins):
    """The ways out of the transport plugins that say one (their optional
    C{wayOut}), in order."""
    return tuple(way for way in (getattr(plugin, "wayOut", None) for plugin in plugins)
                 if way)


class EmptySearches(NodeObserver):
    """Counts, per item, the searches that found nothing, and keeps the
    last link the topology could not make (``unlinked``: peer id, host,
    port, why; None once that peer links): a buyer that found no seller
    says it."""

    def __init__(self):
        self.empty = {}
        self.unlinked = None

    def offersFound(self, item, offers):
        if not offers:
            self.empty[item] = self.empty.get(item, 0) + 1

    def linkFailed(self, peer_id, host, port, why):
        self.unlinked = (peer_id, host, port, why)

    def linkAdded(self, peer_id):
        if self.unlinked is not None and self.unlinked[0] == peer_id:
            self.unlinked = None


def _family(host):
    """The IP version of host (an IPv4-mapped address is IPv4's), or None
    for a name."""
    try:
        return ipAddress(host).version
    except ValueError:
        return None


def otherFamily(node, host):
    """Words for a peer at host of the address family other than the one
    this node reached its tracker by (a dual-stack tracker introduces
    both, and a node with no address of the peer's family cannot dial
    it), or ""."""
    link = node.membership.link
    if link is None or link.transport is None:
        return ""
    theirs, ours = _family(host), _family(link.transport.getHost().host)
    if theirs is None or ours is None or theirs == ours:
        return ""
    return (f" (an IPv{theirs} address, and this node reached its tracker over "
            f"IPv{ours}: the tracker names nodes of both families, and a node with no "
            f"IPv{theirs} reaches none that is on IPv{theirs} alone)")


def unlinkedWords(node, searches):
    """The last link the node could not make, in words, or None."""
    if searches.unlinked is None:
        return None
    peer_id, host, port, why = searches.unlinked
    return f"node {shortId(peer_id)} at {hostPort(host, port)}{otherFamily(node, host)}: {why}"


def _whyUnmet(want, searches, hints, discovery=None, unlinked=None):
    empty = searches.empty.get(want.item, 0)
    why = _WHY.get(want.state, want.state)
    if want.state == WAITING:
        # The scheme's own reason, when it knows one (a superpeer leaf
        # the tracker named no super-peer); else no link at all: every
        # dial it made failed (the last said), or it was named no one; a
        # network that drops all but one way out is one reason.
        known = getattr(discovery, "whyCannotFind", lambda: None)()
        details = ([f"the last, {unlinked}"] if unlinked else []) + list(hints)
        why = (f"the node could not search yet: {known}" if known
               else why.format(ways=f": {'; '.join(details)}" if details else ""))
    if want.clockApart is not None and want.state in (SEARCHING, BACKOFF, BUYING):
        # Not "its search was still out": every buy was refused.
        why = (f"seller {shortId(want.clockApart)} answered its buy expired before it "
               "expired by this node's clock: one of the two clocks is wrong by more "
               "than 5 minutes")
    elif want.clockBehind is not None and want.state in (SEARCHING, BACKOFF, BUYING,
                                                         DOUBTING):
        # Not "the sellers ... had not answered yet": one said when.
        seller, seconds = want.clockBehind
        why = (f"the clocks are apart: seller {shortId(seller)}'s clock is behind this "
               f"node's by about {seconds:.0f} s, and it takes no buy that expires more "
               "than 600 s ahead of its clock")
    elif want.state in (SEARCHING, BACKOFF) and empty:
        # A seller the node could not link to (of the other address
        # family, say) is one its searches could not reach.
        also = f"; this node could not link to {unlinked}" if unlinked else ""
        why = (f"no seller offered it "
               f"({plural(empty, 'search', 'searches')} found nothing{also})")
    if not want.bought and why.startswith("no seller offered it"):
        why += countedHint(want.item)
    if want.item != want.item.strip() and why.startswith("no seller offered it"):
        # Only a shared file's name may have a blank at an end (--sell
        # refuses one): the counted item was most likely meant.
        why += (f" (a name that begins or ends with a blank is only a shared file's: "
                f"for the item {want.item.strip()}, name it {want.item.strip()!r})")
    if want.bought and why.startswith("no seller offered it"):
        # Some were bought: the searches since found no more.
        why = "no seller offered more" + why[len("no seller offered it"):]
    return why


def shortfall(node, buyer, searches, tracker_address, within="", hints=()):
    """
    What a buyer still lacks and why, in one line, one part per want not
    met: ``bought 0 of 1 plum: no seller offered it (3 searches found
    nothing)``.

    @param searches: the node's L{EmptySearches}.
    @param within: words after the counts (`` within 10 s``).
    @param hints: the ways out a node with no link may take (the
        transport plugins' C{wayOut}), said after "no link", and of a
        file bought of which no byte came.
    """
    parts = []
    for want in buyer.wants:
        if want.bought >= want.quantity:
            continue
        # Registered as the tracker showed it, not merely named: a node
        # whose proof the tracker refused searched for nothing.
        why = (_whyUnmet(want, searches, hints, buyer.discovery,
                         unlinkedWords(node, searches))
               if node.wasRegistered
               else f"never registered with the tracker at {tracker_address}")
        parts.append(f"bought {want.bought} of {want.quantity} {want.item}{within}: "
                     f"{why}")
    fetcher = getattr(buyer, "fetcher", None)
    if fetcher is not None:
        parts += fetcher.unfinished(hints)
    return "; ".join(parts)


class GiveUp(Service):
    """
    ``--give-up-after S``: S seconds after the node starts, if its buyer
    still lacks a want, end the daemon with L{GAVE_UP} and the reason
    (through its L{twisted_bazaar.tap.exitstatus.ExitStatus}).  A child
    of the node's service: stopping the node cancels the timer.
    """

    def __init__(self, clock, node, buyer, seconds, fail, tracker_address, hints=(),
                 schemes=(None, ())):
        """
        @param schemes: (the node's scheme, the other installed schemes):
            a give-up names those whose nodes the tracker knows, which
            this node does not ask (a market of mixed schemes).
        """
        self.clock = clock
        self.hints = hints
        self.schemes = schemes
        self._asking = None
        self.node = node
        self.buyer = buyer
        self.seconds = seconds
        self.fail = fail
        self.tracker_address = tracker_address
        self.searches = EmptySearches()
        node.addObserver(self.searches)
        self._timer = None

    def startService(self):
        super().startService()
        self._timer = self.clock.callLater(self.seconds, self._expired)

    def _expired(self):
        self._timer = None
        if self.buyer.satisfied:
            return
        why = shortfall(self.node, self.buyer, self.searches, self.tracker_address,
                        hints=self.hints)
        asking = self._unasked()
        asking.addCallback(self._gaveUp, why)
        asking.addErrback(lambda failure: failure.trap(defer.CancelledError))
        if not asking.called:
            self._asking = asking

    def _gaveUp(self, unasked, why):
        self._asking = None
        if not self.running:
            # Stopped while it asked: its questions were called off.
            return
        self.fail(f"gave up after {self.seconds:g} s: {why}{unasked}", GAVE_UP)

    def _unasked(self):
        """
        What to add of the other schemes the tracker knows nodes of (a
        ``nodereq`` for each, as bazaar buy names them): their sellers
        were not asked, and another --discovery may buy there; "" for
        none, or no tracker to ask.  Each question is bounded (the
        tracker session's own wait).
        """
        mine, others = self.schemes
        membership = self.node.membership
        if not others or membership is None or not membership.isRegistered:
            return defer.succeed("")

        def seen(reply, scheme):
            return scheme if reply.id != -1 else None

        asked = [membership.ask(wire.NodeReq(scheme=scheme)).addCallbacks(
                     seen, lambda _: None, callbackArgs=(scheme,))
                 for scheme in others]
        return defer.gatherResults(asked).addCallback(_unaskedWords, mine)

    def stopService(self):
        super().stopService()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._asking is not None:
            asking, self._asking = self._asking, None
            asking.cancel()


def _unaskedWords(found, mine):
    """The words a give-up adds of the schemes found, as bazaar buy's."""
    found = [scheme for scheme in found if scheme is not None]
    if not found:
        return ""
    return (f"; only the {mine} scheme's nodes were asked, not those of "
            f"{' or '.join(found)}: --discovery SCHEME buys through them")
