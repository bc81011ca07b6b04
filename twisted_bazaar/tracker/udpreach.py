"""
The tracker's UDP reach check and UDP punch (docs/protocol.md, "Hole
punching over UDP"): a part of the L{Tracker
<twisted_bazaar.tracker.service.Tracker>}, sans-IO: the daemon hands it
the datagrams its two UDP ports take (L{UdpReach.datagramReceived}, from
L{TrackerDatagrams}).

What keeps it from being turned on others: it never sends a datagram
(its answers go over the node's tracker connection), so a spoofed one
makes it send nothing anywhere; it takes a datagram only with a token it
gave a node in the last L{TOKEN_TIMEOUT} seconds, and only from the host
that node's connection comes from (a node cannot have its datagrams
"seen" at a victim's address, which its peers would then probe); and
each address group may ask a check or a punch only so often
(L{CHECKS_LIMIT}, L{PUNCHES_LIMIT}).
"""

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.base.lan import peerHost, sameHost
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.limits import GroupRates
from twisted_bazaar.wire.udpreach import (
    NO_UDP_PORTS,
    UdpCheck,
    UdpProbe,
    UdpPunchAsk,
    UdpPunchGo,
    UdpPunchNear,
    UdpReached,
    tokenOf,
)
from twisted_bazaar.wire.ids import wireId

#: Seconds a token waits for its datagrams; and after the first came, the
#: most the tracker waits for the second before it answers without it.
TOKEN_TIMEOUT = 10.0
SECOND_WAIT = 2.0
#: Seconds a seen UDP address is good for a punch: a router forgets an
#: idle mapping in about 30 s.
SEEN_FOR = 30.0
#: Checks and punches one address group may ask a second (in bursts of
#: twice that).
CHECK_RATE = 1.0
PUNCH_RATE = 1.0
#: Ids drawn below this.
TOKEN_LIMIT = 2**62
#: Seconds a punch's ``udppunchnear`` is passed on after its go: its
#: sounding is answered within a quarter of a second.
NEAR_FOR = 10.0
CHECKS_LIMIT = declare(
    "tracker.udp-checks", CHECK_RATE, "messages/s",
    "udpcheck asked by the nodes of one address group (each holds a token and a "
    "timer for 10 s)", group=CHECK_RATE, owner=__name__)
PUNCHES_LIMIT = declare(
    "tracker.udp-punches", PUNCH_RATE, "messages/s",
    "udppunch asked by the nodes of one address group (each sends two udppunchgo)",
    group=PUNCH_RATE, owner=__name__)


def hostOf(link):
    """The host link's connection comes from, or ""."""
    return peerHost(link.transport)


class _Check:
    """One node's check under way: its token, the ports seen, its timer."""

    __slots__ = ("link", "token", "seen", "timer")

    def __init__(self, link, token):
        self.link = link
        self.token = token
        self.seen = [0, 0]
        self.timer = None


class UdpReach:
    """
    Answers ``udpcheck`` and ``udppunch``; takes the probe datagrams.

    @ivar ports: the tracker's two UDP ports, or None: it has none, and
        answers both with ``error{noudp}``.
    """

    log = Logger()

    def __init__(self, tracker, ports=None):
        self.tracker = tracker
        self.ports = ports
        self._checkRates = GroupRates(CHECKS_LIMIT)
        self._punchRates = GroupRates(PUNCHES_LIMIT)
        #: token -> its L{_Check}; node id -> its token.
        self._checks = {}
        self._tokens = {}
        #: node id -> (when, the udpreach it was told).
        self.seen = {}
        #: nonce -> (when its go was sent, {node id: the other end}) of the
        #: goes of the last L{NEAR_FOR} s (those the punches' rates let).
        self._goes = {}

    def _now(self):
        return self.tracker.clock.seconds()

    def _refuse(self, link, why):
        link.send(wire.Error("noudp", why))

    def _whyNot(self, link, rates, rate, what):
        """Why the tracker takes no ``what`` of link now (it has no UDP
        port, or the link's group is past its ``rates``), or None."""
        if self.ports is None:
            return NO_UDP_PORTS
        if not rates.take(groupOf(link), self._now()):
            return f"your address group asked more than {rate:g} {what} a second"
        return None

    def _checkAsked(self, link, request):
        why = self._whyNot(link, self._checkRates, CHECK_RATE, "udpcheck")
        if why is not None:
            self._refuse(link, why)
            return
        under_way = self._tokens.get(link.peer_id)
        if under_way is not None:
            self._end(self._checks[under_way])
        token = self.tracker.rng.randrange(1, TOKEN_LIMIT)
        check = self._checks[token] = _Check(link, token)
        self._tokens[link.peer_id] = token
        check.timer = self.tracker.clock.callLater(TOKEN_TIMEOUT, self._answer, check)
        link.send(UdpProbe(token, *self.ports))

    def datagramReceived(self, index, data, address):
        """
        A datagram came to the tracker's UDP port number ``index`` (0 or 1)
        from (host, port) ``address``: noted if it carries a token under
        way and comes from its node's host; else dropped, unanswered.

        @return: whether it was taken.
        """
        token = tokenOf(data)
        check = None if token is None else self._checks.get(token)
        if check is None or not sameHost(address[0], hostOf(check.link)):
            return False
        if check.seen[index]:
            return True
        check.seen[index] = address[1]
        if all(check.seen):
            self._answer(check)
        elif check.timer.getTime() - self._now() > SECOND_WAIT:
            check.timer.reset(SECOND_WAIT)
        return True

    def _answer(self, check):
        """Tell the node what came (0 for a port nothing came to)."""
        self._end(check)
        host = hostOf(check.link) if any(check.seen) else ""
        reach = UdpReached(host, *check.seen)
        if check.seen[0]:
            self.seen[check.link.peer_id] = (self._now(), reach)
        if check.seen[0] == check.seen[1]:
            # From one port to both of the tracker's: the node's QUIC
            # port, if it said that one, is seen (Registry.udpSeen).
            self.tracker.registry.udpSeen(check.link.peer_id, host, check.seen[0])
        check.link.send(reach)

    def _end(self, check):
        self._checks.pop(check.token, None)
        if self._tokens.get(check.link.peer_id) == check.token:
            del self._tokens[check.link.peer_id]
        if check.timer.active():
            check.timer.cancel()

    def _seenOf(self, node_id):
        """The node's udpreach of the last L{SEEN_FOR} s, or None."""
        seen = self.seen.get(node_id)
        if seen is None or seen[0] < self._now() - SEEN_FOR:
            return None
        return seen[1]

    def _punchAsked(self, link, request):
        why = self._whyNot(link, self._punchRates, PUNCH_RATE, "udppunch")
        if why is not None:
            self._refuse(link, why)
            return
        peer = self.tracker.links.get(request.id)
        mine, theirs = self._seenOf(link.peer_id), self._seenOf(request.id)
        why = None
        if request.id == link.peer_id:
            why = "a UDP punch is with another node"
        elif peer is None:
            why = f"node {wireId(request.id)} is not registered here"
        elif mine is None:
            why = (f"this tracker saw no datagram of yours in the last {SEEN_FOR:g} s: "
                   "send udpcheck first")
        elif theirs is None and request.id not in self.tracker.registry.udps:
            # Not a matter of time: a node that serves no QUIC (--no-quic)
            # sends none.
            why = (f"node {wireId(request.id)} named no UDP port of its own (it serves "
                   "no QUIC): no UDP punch can work with it")
        elif theirs is None:
            why = (f"this tracker saw no datagram of node {wireId(request.id)} "
                   f"in the last {SEEN_FOR:g} s")
        if why is not None:
            self._refuse(link, why)
            return
        nonce = self.tracker.rng.randrange(1, TOKEN_LIMIT)
        self._forgetGoes()
        self._goes[nonce] = (self._now(), {link.peer_id: request.id,
                                           request.id: link.peer_id})
        link.send(UdpPunchGo(request.id, theirs.seen_host, theirs.seen_port,
                             theirs.seen_second, nonce))
        peer.send(UdpPunchGo(link.peer_id, mine.seen_host, mine.seen_port,
                             mine.seen_second, nonce))
        # Which run each side was told of: a side whose log has no line
        # of a punch (natbed, issue 85) is told apart from a go never sent.
        self.log.debug("udppunchgo {nonce} sent to node {asker} (asked) and node {peer}",
                       nonce=nonce, asker=wireId(link.peer_id), peer=wireId(request.id))

    def _forgetGoes(self):
        """Forget the goes older than L{NEAR_FOR} s (oldest first)."""
        now = self._now()
        for nonce, (when, _) in list(self._goes.items()):
            if when >= now - NEAR_FOR:
                break
            del self._goes[nonce]

    def _nearTold(self, link, near):
        """An end of a punch this tracker started in the last L{NEAR_FOR}
        s says its routers are on one segment: passed once to the other
        end, named by the go (else dropped, unanswered: a node makes the
        tracker send nothing to a node it is not punching)."""
        self._forgetGoes()
        go = self._goes.get(near.nonce)
        ends = None if go is None else go[1]
        if ends is None or ends.get(link.peer_id) != near.id:
            return
        del ends[link.peer_id]
        peer = self.tracker.links.get(near.id)
        if peer is not None:
            peer.send(UdpPunchNear(link.peer_id, near.nonce))

    def forget(self, node_id):
        """The node left: its check under way ends, what was seen of it is
        forgotten."""
        token = self._tokens.get(node_id)
        if token is not None:
            self._end(self._checks[token])
        self.seen.pop(node_id, None)

    def stop(self):
        """End every check under way."""
        for check in list(self._checks.values()):
            self._end(check)

    takes = {UdpCheck: _checkAsked, UdpPunchAsk: _punchAsked, UdpPunchNear: _nearTold}


class TrackerDatagrams(DatagramProtocol):
    """One of the tracker's UDP ports: hands each datagram to the
    L{UdpReach}, answering none."""

    #: The longest datagram read whole (a probe is 12 bytes).
    MAX = 64
    noisy = False

    def __init__(self, reach, index):
        self.reach = reach
        self.index = index

    def datagramReceived(self, data, address):
        if len(data) <= self.MAX:
            self.reach.datagramReceived(self.index, data, address)
