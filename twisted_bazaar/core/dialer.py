"""
The one place that decides how a node reaches a peer.

A part of the node (a role, a scheme, the topology) hands the L{Dialer} a
L{Peer} (its id, the address it listens on, the relay it is reached
through, the key it must prove) and a purpose, and, for a connection of
its own (a buyer's transfer client), its protocol; it gets back a
Deferred of the peer's id (a link of the overlay) or of its protocol,
connected.  It never sees a relay or a punch.

The dialer tries its L{candidates} in order, each a way to the peer that
applies to it or not: L{Lan} (a peer at home whose local addresses the
tracker named: it is on this node's own network, docs/protocol.md §5,
"Local addresses"), L{Direct} (the peer names no relay), L{Punched} (a
connection punched over the direct link held with a peer at home) and
L{Relayed} (a circuit through the relay the peer names, whose link a
punch then replaces).  A candidate that fails in a way that leaves the
next one worth trying (a punch that failed) hands over to it; any other
failure is the dial's.  A connection's key is checked by its channel
(L{Peer.key}); a link's by its handshake, which proves the id dialled.

A link to a peer linked through a relay while a punch with it is under
way (L{twisted_bazaar.core.punching.Punching.waitsFor}) is handed over
once the punched link is up, the punch failed, or L{PUNCH_WAIT} seconds
passed, so that what its asker sends (a buy) goes on the direct link
when there is one: the dialer owns that wait.
"""

import attr

from twisted.internet import defer
from twisted.internet.error import ConnectError
from twisted.logger import Logger
from twisted.python.failure import Failure

from twisted_bazaar.base.lan import isLocal
from twisted_bazaar.base.peerhost import scopeOf
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.core.lanpaths import LOWEST_PORT, LanPaths
from twisted_bazaar.core.peerhosts import HostRefused, PeerHosts
from twisted_bazaar.core.questions import TrackerGone
from twisted_bazaar.core.reach import PUBLIC
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.net.connector import connectAny
from twisted_bazaar.traversal.connector import RelayedConnector
from twisted_bazaar.traversal.messages import FILES
from twisted_bazaar.traversal.punch import PunchFailed
from twisted_bazaar.wire.core import joinRelay
from twisted_bazaar.wire.ids import isKeyed, shortId

__all__ = ["Dialer", "Peer", "CANDIDATES", "FILES", "PUNCH_WAIT", "LanFailed"]

#: Seconds a dial through a relay waits for its link's punch before it
#: goes on over the relay (the punch goes on; a link it punches later
#: replaces the relayed one all the same).
PUNCH_WAIT = 10.0


@attr.s(frozen=True, slots=True)
class Peer:
    """
    Whom a dial is for.

    @ivar id: its node id (None: whoever answers at the address, for a
        link's handshake to name).
    @ivar host: the host it listens on ("" when unknown).
    @ivar port: the port the purpose is served on (its links' or its
        transfer port).
    @ivar relay: the relay (``HOST:PORT``) it is reached through, or None.
    @ivar key: the key (its text) it must prove on a connection of the
        dialler's own protocol, or None.
    @ivar vouched: whether its host is the word of this node's operator
        (a configured address) or of its tracker (a local address it
        named), not a peer's: dialled without the check of a host a peer
        names (L{PeerHosts}).
    @ivar namedBy: the address group of the peer whose word named host
        (the link a reply came over), which the log line of its refusal
        is charged to; None when that word is no longer at hand
        (L{twisted_bazaar.core.peerhosts.NAMER_UNKNOWN}).
    """

    id = attr.ib()
    host = attr.ib(default="")
    port = attr.ib(default=0)
    relay = attr.ib(default=None)
    key = attr.ib(default=None)
    vouched = attr.ib(default=False)
    namedBy = attr.ib(default=None, eq=False)


class LanFailed(Exception):
    """No local address of the peer answered as the peer (or none was
    to be tried): the next candidate is tried."""


class Lan:
    """
    At a local address of a peer at home (it names a relay) that the
    tracker named to this node, on its own network (behind the same
    public address: L{twisted_bazaar.core.lanpaths.LanPaths.targets}),
    each in turn: a link's handshake must prove the peer's keyed id, a
    connection's channel the peer's key (L{Peer.key}), before anything
    is said on it.  This node, if it has a local address of its own and
    the tracker did not find it public, asks the tracker (``whereis``)
    first when it has no fresh word on the peer.  Whatever fails hands
    over to the next candidate (the punch, the relay).
    """

    handsOver = (LanFailed,)
    log = Logger()

    def attempt(self, dialer, peer, purpose, protocol):
        lan = dialer.lan
        if (peer.relay is None or not isKeyed(peer.id) or peer.port < LOWEST_PORT
                or (protocol is not None
                    and (peer.key is None or dialer.punching is None))):
            return None
        if protocol is None and peer.id in dialer.node.links:
            # The link is up: the next way hands it over, nothing dialled.
            return None
        if lan.known(peer.id):
            return self._first(dialer, peer, purpose, protocol)
        tracker = dialer.node.membership
        if tracker is None or not lan.own or dialer.node.reach.state == PUBLIC:
            # A node that has no local address, or that the tracker
            # dialled, is behind no router of a home: nobody is on its LAN.
            return None
        asking = tracker.whereRelay(peer.id).addErrback(
            lambda reason: reason.trap(TrackerGone) and None)

        def answered(reply):
            if reply is not None and reply.port:
                lan.named(peer.id, reply.host, reply.lan)
            return self._first(dialer, peer, purpose, protocol)

        return asking.addCallback(answered)

    def _first(self, dialer, peer, purpose, protocol):
        seen = dialer.node.reach.seen_host or ""
        hosts = dialer.lan.targets(peer.id, seen)
        if not hosts:
            return defer.fail(LanFailed(f"no local address of node {shortId(peer.id)} "
                                        "to try"))
        return self._try(dialer, peer, purpose, protocol, hosts, [])

    def _try(self, dialer, peer, purpose, protocol, hosts, whys):
        if not hosts:
            return defer.fail(LanFailed("; ".join(whys)))
        host, rest = hosts[0], hosts[1:]
        where = joinRelay(host, peer.port)
        if not dialer.lan.mayDial(peer.id, host):
            whys.append(f"{where}: too many dials to that network lately")
            return self._try(dialer, peer, purpose, protocol, rest, whys)
        if protocol is None:
            d = dialer.connect(attr.evolve(peer, host=host, relay=None, vouched=True),
                               purpose, None)
        else:
            d = dialer.punching.dialDirect(host, peer.port, peer.key, protocol())

        def reached(result):
            dialer.lan.reached(peer.id, host)
            self.log.info("reached node {id} at its local address {where} ({purpose}), "
                          "not through its relay", id=shortId(peer.id), where=where,
                          purpose=purpose)
            return result

        def failed(reason):
            if reason.check(defer.CancelledError):
                return reason
            dialer.lan.failed(peer.id, host)
            why = _why(reason).removeprefix(f"{where}: ")
            whys.append(f"{where}: {why}")
            self.log.info("no local path to node {id} at {where}: {why}",
                          id=shortId(peer.id), where=where, why=why)
            return self._try(dialer, peer, purpose, protocol, rest, whys)

        return d.addCallbacks(reached, failed)


def _why(reason):
    """What a failed dial says, without the failure a connection error
    may wrap (its text is the repr of a traceback)."""
    value = reason.value
    if isinstance(value, ConnectError) and isinstance(value.osError, Failure):
        return _why(value.osError)
    return reason.getErrorMessage()


class Direct:
    """At the address the peer listens on: for a peer that names no
    relay."""

    #: Failures after which the next candidate is tried: none.
    handsOver = ()

    def attempt(self, dialer, peer, purpose, protocol):
        if peer.relay is not None:
            return None
        return dialer.connect(peer, purpose, protocol)


class Punched:
    """A connection of the dialler's protocol punched to a peer at home,
    over the direct (punched) link held with it
    (L{twisted_bazaar.core.punching.Punching.transfer}); a link is never
    punched to first: a relayed link's punch replaces it (L{Relayed})."""

    handsOver = (PunchFailed,)

    def attempt(self, dialer, peer, purpose, protocol):
        punching = dialer.punching
        if protocol is None or peer.relay is None or punching is None:
            return None
        return punching.transfer(peer.id, peer.key, protocol())


class Relayed:
    """Through the relay the peer names (as the tracker names it: see
    L{RelayedConnector}); a link made so is punched, and waited for."""

    handsOver = ()

    def attempt(self, dialer, peer, purpose, protocol):
        if peer.relay is None:
            return None
        return dialer.connect(peer, purpose, protocol, peer.relay)


#: The ways to a peer, best first.
CANDIDATES = (Lan(), Direct(), Punched(), Relayed())


class Dialer:
    """
    A node's way to its peers: see the module's docstring.

    @ivar connector: the node's L{RelayedConnector}, over the connector it
        was given (what it asks the tracker of relays is this one's).
    @ivar punching: the node's hole punches
        (L{twisted_bazaar.core.punching.Punching}), or None.
    @ivar wait: seconds a link waits for its punch.
    @ivar candidates: the ways to a peer, in the order they are tried.
    @ivar lan: the local addresses of this node and its peers
        (L{LanPaths}).
    """

    def __init__(self, node, connector, candidates=CANDIDATES):
        self.node = node
        self.connector = RelayedConnector(connector, node.clock)
        if connector is not None and connector.addressed:
            # Not on a memory network's labels (a million simulated nodes
            # would each hold the bound method for nothing).
            self.connector.vetDirect = self.vetDirect
            self.connector.vetRelay = self.whyNotRelay
        self.candidates = candidates
        self._lan = None
        self._hosts = None
        self.punching = None
        self.wait = PUNCH_WAIT
        #: peer id -> the Deferreds of the links waiting for its punch
        #: (the shared empty table until one waits: L{own}).
        self._waiting = NOTHING

    @property
    def lan(self):
        """The node's L{LanPaths}, made when first needed: most simulated
        nodes never dial, nor hear their tracker name a peer's local
        address (80 bytes of each)."""
        lan = self._lan
        if lan is None:
            lan = self._lan = LanPaths(self.node.clock)
        return lan

    @property
    def hosts(self):
        """The check of a host a peer is dialled at (L{PeerHosts}), made
        when first needed: a simulated node, on a connector whose hosts
        are labels, never needs it."""
        hosts = self._hosts
        if hosts is None:
            hosts = self._hosts = PeerHosts(self.node, self.lan)
        return hosts

    def punchWith(self, punching, wait=PUNCH_WAIT):
        """Punch over relayed links with punching, a link waiting up to
        ``wait`` seconds for its punch; punching tells L{release} when a
        peer's punch no longer holds its links back."""
        self.punching = punching
        self.wait = wait
        punching.settledWith(self.release)

    def announce(self, tracker_link):
        """The local addresses to tell the tracker in the thisisme on
        tracker_link (None: none): where that connection leaves from, if
        it is a local address (L{LanPaths.announce}); none for a link not
        connected (a simulation's, made up whole).  Where it leaves from
        says which scopes this node is in, with where it goes to
        (L{PeerHosts.leftFrom})."""
        transport = tracker_link.transport
        local = None if transport is None else transport.getHost()
        host = getattr(local, "host", "")
        if scopeOf(host) is not None:
            self.hosts.leftFrom(host, getattr(transport.getPeer(), "host", ""))
        if self._lan is None and not isLocal(host):
            return None
        return self.lan.announce(host)

    def trackerNamed(self, reply):
        """The tracker named a node (a ``nodereply`` with a port): its
        relay and its local addresses, for the dials to it."""
        self.connector.trackerNamed(reply.id, reply.relay)
        self.lan.named(reply.id, reply.host, reply.lan)

    def trackerChanged(self):
        """The node registered with another tracker than the one before
        (a node of several): what that one named of peers (their relays,
        their local addresses, the names they are at) is forgotten, and
        the new tracker asked.  Else a tracker the node left, lying or
        stale, went on choosing the relay of every peer it had named,
        for good, over the word of the tracker the node is with."""
        self.connector.forgetNamed()
        if self._lan is not None:
            self._lan.forgetNamed()

    # -- dialling ------------------------------------------------------------------

    def dial(self, peer, purpose, protocol=None):
        """
        Reach peer (a L{Peer}) for purpose.

        @param protocol: None for a link of the overlay (an existing link
            to the peer is reused); else a callable that makes the
            protocol to connect (a fresh one for each candidate tried).
        @return: a Deferred firing with the peer's id (a link) or the
            protocol connected, or failing with why not: for a link,
            L{twisted_bazaar.net.overlay.NotConnected} (L{Unreachable}
            when nothing listens).
        """
        d = self._tryFrom(0, peer, purpose, protocol)
        if protocol is None and self.punching is not None:
            d.addCallback(self.settle)
        return d

    def _tryFrom(self, index, peer, purpose, protocol):
        candidates = self.candidates
        for at in range(index, len(candidates)):
            candidate = candidates[at]
            d = candidate.attempt(self, peer, purpose, protocol)
            if d is None:
                continue
            if candidate.handsOver:
                d.addErrback(self._handOver, candidate.handsOver, at + 1, peer, purpose,
                             protocol)
            return d
        return defer.fail(ValueError(f"no way to reach {peer!r} for {purpose}"))

    def _handOver(self, reason, kinds, index, peer, purpose, protocol):
        reason.trap(*kinds)
        return self._tryFrom(index, peer, purpose, protocol)

    def connect(self, peer, purpose, protocol, relay=None):
        """A dial at peer's address, or through ``relay``: a link of the
        overlay (protocol None: its circuit is for the peer's links) or
        protocol's own connection; the channel (the inner one, through a
        relay) must prove L{Peer.key} when given.  peer's host is checked
        first (L{PeerHosts.vet}) unless L{Peer.vouched}."""
        connector = self.connector
        expected = None if peer.key is None else decode(peer.key)
        why = None if relay is not None else _whyNoHost(peer.host)
        if protocol is None:
            through = ({} if relay is None or peer.id is None
                       else dict(relay=relay, target=peer.id))

            def dial(link):
                if why is not None:
                    return defer.fail(ConnectError(string=why))
                return self._vetted(peer, purpose, relay).addCallback(
                    connectAny, lambda host: connector.connect(
                        host, peer.port, link, expected=expected, **through))

            return self.node.overlay.connectTo(peer.host, peer.port, peer.id, purpose, dial)
        if why is not None:
            return defer.fail(ConnectError(string=f"{peer.host}:{peer.port}: {why}"))
        through = {} if relay is None else dict(relay=relay, target=peer.id,
                                                purpose=purpose)
        vetted = self._vetted(peer, purpose, relay).addErrback(_placed, peer)
        return vetted.addCallback(connectAny, lambda host: connector.connect(
            host, peer.port, protocol(), expected=expected, **through))

    def _vetted(self, peer, purpose, relay):
        """A Deferred firing with the hosts to dial peer at, in order (its
        host, or the addresses its name resolves to: L{PeerHosts.vet}), or
        failing with why not; its host alone when dialled through a
        relay, vouched for (L{Peer.vouched}), or on a connector whose
        hosts are labels (a memory network's)."""
        if relay is not None or peer.vouched or not self.connector.addressed:
            return defer.succeed([peer.host])
        return self.hosts.vet(peer, purpose, self.connector.resolve)

    def vetDirect(self, target, host, port, purpose):
        """Where to dial node target at host, which the tracker names it
        at without a relay (L{RelayedConnector.vetDirect}), or a leaf
        registered at a super-peer that checks it: checked as a host a
        peer names is (a Deferred, as L{PeerHosts.vet} gives)."""
        return self._vetted(Peer(target, host, port), purpose, None)

    def whyNotRelay(self, relay):
        """Why the relay a tracker named is not dialled, or None
        (L{RelayedConnector.vetRelay}, L{PeerHosts.whyNotRelay})."""
        return self.hosts.whyNotRelay(relay)

    # -- the wait for a punch --------------------------------------------------------

    def ready(self, peer_id):
        """Whether a link to peer_id is up and no punch under way may
        replace it (what is sent to the peer can go at once)."""
        return peer_id in self.node.links and not self.waitsFor(peer_id)

    def waitsFor(self, peer_id):
        """Whether a link to peer_id waits for a punch that may replace it."""
        punching = self.punching
        return punching is not None and punching.waitsFor(peer_id)

    def settle(self, peer_id):
        """
        For whoever asked for a link to peer_id, once it is up: peer_id at
        once if no punch may replace it, else a Deferred firing with it
        when the punched link has replaced the relayed one, the punch
        failed, or L{wait} seconds passed.
        """
        self.punching.arrived(peer_id)
        if not self.waitsFor(peer_id):
            return peer_id
        waiting = own(self, "_waiting").setdefault(peer_id, [])

        def cancel(d):
            self._forget(peer_id, d)

        d = defer.Deferred(cancel)
        timer = self.node.clock.callLater(self.wait, self._expire, peer_id, d)
        d.addBoth(_stopTimer, timer)
        waiting.append(d)
        return d

    def release(self, peer_id=None):
        """The links waiting for peer_id's punch (every peer's: None) go
        on."""
        peers = list(self._waiting) if peer_id is None else [peer_id]
        for peer in peers:
            for d in self._waiting.pop(peer, ()):
                d.callback(peer)

    def _expire(self, peer_id, d):
        if self._forget(peer_id, d):
            d.callback(peer_id)

    def _forget(self, peer_id, d):
        """Take d off peer_id's waiting list: whether it was on it."""
        waiting = self._waiting.get(peer_id, ())
        if d not in waiting:
            return False
        waiting.remove(d)
        if not waiting:
            del self._waiting[peer_id]
        return True


def _whyNoHost(host):
    """Why a peer's host is no address to dial, or None: "" (a node at
    home before the tracker told it where it is seen names none, §11a)
    and the unspecified address (0.0.0.0, ::, however spelt) reach this
    machine itself."""
    if not host.strip("0.:"):
        return f"no address to dial ({host!r} names none: it would reach this machine)"
    return None


def _placed(reason, peer):
    """A refusal of peer's host, saying where (as a failed connection
    does)."""
    reason.trap(HostRefused)
    raise HostRefused(f"{peer.host}:{peer.port}: {reason.value}")


def _stopTimer(result, timer):
    if timer.active():
        timer.cancel()
    return result
