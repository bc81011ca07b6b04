"""
The one place that decides how a node reaches a peer.

A part of the node (a role, a scheme, the topology) asks the L{Dialer}
for a link to a peer by its id and a purpose (L{Dialer.link}): where the
peer's links are is the book of paths' word
(L{twisted_bazaar.reach.book.PathBook.linkAddress}), which the part fed
with what it learned (L{Whereabouts.heard
<twisted_bazaar.reach.whereabouts.Whereabouts.heard>}) or the tracker's
``nodereply`` wrote: what the node knows of where its peers are is its
L{Whereabouts <twisted_bazaar.reach.whereabouts.Whereabouts>}, which
dials nothing; the dialer reads it.  A buyer's transfer client is asked
for by the seller's id too, the key it must prove and the protocol
(L{Dialer.transfer}), its transfer port heard into the book from the
offer first; a part with no id to name hands the dialer a L{Peer} (the
port of the purpose, the key it must prove) and its protocol
(L{Dialer.dial}).  It gets back a Deferred of
the peer's id (a link of the overlay) or of its protocol, connected.  It
never sees a relay or a punch.

The dialer is the only caller of the node's transports (the
L{twisted_bazaar.transports.table.Transports} it is built with, one a
kind of path): its sources of paths (L{twisted_bazaar.reach.sources}:
the node's punches, its relay reservation, its port mapping) announce
the paths they find through it; it dials a path to a peer
(L{Dialer._dialFound}, with a transport's options: from a port, from the
socket a UDP punch met on), and passes a path to the node itself on to
the listener it was built with, which advertises it; a reservation at a relay, the accepts of the circuits announced
there and the relay probe name the relay and it picks the path, checked
(L{Dialer.toRelay}); and a client without a node (``bazaar node``, the web view's
watcher) dials by L{twisted_bazaar.reach.race.FirstProven}, on the same
race.  It ranks its ways that apply to the peer (its policy,
L{twisted_bazaar.reach.ways}: over the LAN, direct, punched, relayed,
over QUIC), each choosing a path and dialling it by the transport of
that path's kind, and races them (L{twisted_bazaar.reach.race}), as
go-libp2p's dial ranker does: the LAN and direct ones at once, a punch
after L{PUNCH_DELAY}, a relay after L{RELAY_DELAY} (while a punch runs,
the relay waits for it to fail), each only if nothing connected yet, or
at once when every way running failed.  The first to connect wins; the
others are cancelled.  A connection's key is checked by its channel
(L{Peer.key}); a link's by its handshake, which proves the id dialled.

A link to a peer linked through a relay while a punch with it is under
way (L{IPathSource.waitsFor
<twisted_bazaar.reach.sources.IPathSource.waitsFor>}) is handed over
once the punched link is up, the punch failed, or L{PUNCH_WAIT} seconds
passed, so that what its asker sends (a buy) goes on the direct link
when there is one: the dialer owns that wait.

Where a dial may go is checked first, by its checks
(L{twisted_bazaar.reach.vetting}): a peer's host as a
host a peer names, a relay only as the tracker names it.
"""

import attr

from twisted.internet import defer
from twisted.internet.error import ConnectError

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.reach.linkwaits import LinkWaits
from twisted_bazaar.reach.race import Race, Way
from twisted_bazaar.reach.sources import Sources
from twisted_bazaar.reach import vetting
from twisted_bazaar.reach.ways import (
    PUNCH_DELAY, RELAY_DELAY, WAYS, LanFailed, asksFirst, relayWays)
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.net.capabilities import IRelayedTransport
from twisted_bazaar.net.opening import NoRoute, NotConnected, Unreachable
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import (
    CLAIMED, CONFIGURED, DIRECT, NAMED, RELAYED, SEEN, Path)
from twisted_bazaar.transports.relay.messages import FILES, NODE, RELAY
from twisted_bazaar.transports.relay.transport import inTurn, openCircuit
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.wire.core import splitRelay
from twisted_bazaar.wire.ids import shortId

__all__ = ["Dialer", "Peer", "WAYS", "FILES", "PUNCH_DELAY", "PUNCH_WAIT", "RELAY_DELAY",
           "LanFailed"]

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
        (L{twisted_bazaar.reach.peerhosts.NAMER_UNKNOWN}).
    """

    id = attr.ib()
    host = attr.ib(default="")
    port = attr.ib(default=0)
    relay = attr.ib(default=None)
    key = attr.ib(default=None)
    vouched = attr.ib(default=False)
    namedBy = attr.ib(default=None, eq=False)


class Dialer:
    """
    A node's way to its peers: see the module's docstring.

    @ivar connector: the connector the node was given (an L{IConnector
        <twisted_bazaar.transports.connector.IConnector>}): whether its
        hosts are addresses, and what resolves a name.
    @ivar transports: the transports it dials through, found by kind
        (L{twisted_bazaar.transports.table.Transports}).
    @ivar sources: its sources of paths (L{Sources}: the node's hole
        punches, its relay reservation, its port mapping), which it asks
        and which announce to it.
    @ivar wait: seconds a link waits for its punch.
    @ivar ways: the ways to a peer (L{twisted_bazaar.reach.ways}), each
        ranked by the delay it declares.
    @ivar relayDelay: seconds after a dial starts that a circuit through
        a relay (a way of kind L{RELAYED}) starts, whatever it declares.
    """

    #: Whether the node proves a key (set when it does).
    keyed = False
    #: The links waiting for a punch (L{LinkWaits}), made when one first
    #: waits.
    _linkWaits = None
    #: What the TCP transport of transports made when first dialled
    #: through dials from a port by (L{punchesWith}'s ``fromPort``).
    _fromPort = None
    #: Its sources of paths (L{sources}), made when first added to: a
    #: simulated node that punches none holds none.
    _sources = None
    #: Who hears the paths to the node itself its sources find (an
    #: L{IOwnPaths <twisted_bazaar.reach.sources.IOwnPaths>}), or None.
    _own = None

    #: The ways to a peer, and the delay of a circuit through a relay:
    #: the same for every node (a test's may set its own).
    ways = WAYS
    relayDelay = RELAY_DELAY

    #: The seconds a link waits for its punch (L{punchesWith}).
    wait = PUNCH_WAIT

    def __init__(self, clock, connector, transports, overlay, whereabouts, keyed=False,
                 own=None):
        """
        @param clock: what times its races and waits.
        @param connector: see L{connector}.
        @param transports: see L{transports} (None: made when first
            dialled through).
        @param overlay: the node's link table
            (L{twisted_bazaar.net.overlay.Overlay}): the links up, and
            where a link's dial is made (its C{connectTo}).
        @param whereabouts: what the node knows of where its peers are
            (L{twisted_bazaar.reach.whereabouts.Whereabouts}): the book
            of paths, the LAN paths, the host checks, and the tracker's
            word on where this node itself is.
        @param keyed: whether the node proves a key in a link's
            handshake (a node without one races no link's ways: see
            L{_race}).
        @param own: the L{IOwnPaths <twisted_bazaar.reach.sources.IOwnPaths>}
            its sources tell of the paths to the node itself they find
            (the node, which advertises them); None: nobody (a client's).
        """
        self.clock = clock
        self.connector = connector
        self._transports = transports
        self.overlay = overlay
        self.whereabouts = whereabouts
        if keyed:
            self.keyed = True
        if own is not None:
            self._own = own

    @property
    def transports(self):
        """The transports given, or, if none, TCP and the relay's circuits
        over the connector (L{overConnector}, dialling from a port as
        L{punchesWith} says), made when first dialled through: a simulated
        node that never dials holds none."""
        if self._transports is None:
            self._transports = overConnector(self.connector, self.clock,
                                             self._fromPort)
        return self._transports

    @property
    def sources(self):
        """Its sources of paths (L{Sources}): where the node's punches, its
        reservation and its port mapping are added, and what they announce
        to it; made when first asked."""
        if self._sources is None:
            self._sources = Sources(self._dialFound, self.release, self.direct, self._own)
        return self._sources

    @property
    def punches(self):
        """Whether any source added finds paths to peers (a node that
        punches: L{Sources.toPeers}), asked without making L{sources}."""
        sources = self._sources
        return sources is not None and sources.toPeers

    def linkTo(self, peer_id):
        """The node's established link to peer_id (its link table's), or
        None."""
        return self.overlay.linkTo(peer_id)

    def advertised(self):
        """The paths this node's transports name of themselves
        (L{Transports.advertised
        <twisted_bazaar.transports.table.Transports.advertised>}); ()
        while none was given or made: asking makes none (a simulated
        node's)."""
        return () if self._transports is None else self._transports.advertised()

    def punchesWith(self, wait=PUNCH_WAIT, fromPort=None):
        """Have a link wait up to ``wait`` seconds for its sources' punch
        (L{sources}: each tells L{release}, through them, when a peer's
        punch no longer holds its links back), and dial the paths they
        find from a port by ``fromPort`` (a
        L{twisted_bazaar.transports.tcp.fromport.PunchDialer}: the one it
        was built with, or for a node built before its punching, a
        simulation's, the one it dials from now: its transports made so
        when first dialled through, or made again so,
        L{Transports.dialingFrom
        <twisted_bazaar.transports.table.Transports.dialingFrom>})."""
        self.wait = wait
        if fromPort is not None:
            if self._transports is None:
                self._fromPort = fromPort
            else:
                self._transports = self._transports.dialingFrom(fromPort)

    # -- dialling ------------------------------------------------------------------

    def link(self, peer_id, purpose):
        """
        A link to peer_id for purpose (L{dial}; one already up is
        reused): at the address its links were last written at in the
        book (L{PathBook.linkAddress}: heard, L{Whereabouts.heard}, or the tracker's
        word), through the relay noted for it, if any.  A host is checked
        as a host a peer names (its refusal's log line charged to the
        address group of the peer that named it, the tracker
        connection's for the tracker's word).  A claim heard is taken by
        the dial that reads it (L{PathBook.taken}: the dial carries it
        on, the link then knows the address), and the book's tables go
        with it when they hold nothing else: a simulated node that dials
        a peer holds no table for it, even while the dial runs (the book
        itself stays: a question it asked the tracker writes its answer
        there).  Where this node reaches its tracker by a transport
        plugin's path alone and the book holds no path of that kind to
        peer_id, the tracker is asked first (L{asksFirst}).

        @return: a Deferred as L{dial} gives; failing with
            L{NotConnected} at once when the book knows no way to peer_id
            and no link to it is up.
        """
        if self.linkTo(peer_id) is None and asksFirst(self, peer_id):
            return self._askFirst(peer_id).addCallback(
                lambda _: self._linkAsBooked(peer_id, purpose))
        return self._linkAsBooked(peer_id, purpose)

    def _askFirst(self, peer_id):
        """A Deferred fired once the tracker answered where peer_id is
        (written in the book), or did not: the dial goes on either way."""
        return self.whereabouts.book.ask(peer_id).addErrback(
            lambda reason: reason.trap(TrackerGone) and None)

    def _linkAsBooked(self, peer_id, purpose):
        """L{link}, as the book reads now."""
        where = self.whereabouts
        found = where.linkAddress(peer_id)
        relay = where.relayOf(peer_id)
        if found is None:
            if relay is None and self.linkTo(peer_id) is None:
                return defer.fail(NotConnected(
                    f"no address known for node {shortId(peer_id)}: none was heard "
                    "or named for it"))
            return self.dial(Peer(peer_id, relay=relay), purpose)
        path, namedBy = found
        if path.word == CLAIMED:
            where.book.taken(peer_id)
        else:
            namedBy = where.trackersGroup()
        return self.dial(Peer(peer_id, path.host, path.port, relay, namedBy=namedBy),
                         purpose)

    def linkAt(self, host, port, purpose):
        """
        A link for purpose to whoever answers at host:port, an address
        this node's operator configured (a ``--superpeer-neighbour``):
        with no id, the book holds nothing of it, so it is dialled as
        named (its host the operator's word, not checked as a host a peer
        names), and the handshake says whose it is.

        @return: a Deferred as L{dial} gives.
        """
        return self.dial(Peer(None, host, port, vouched=True), purpose)

    def transfer(self, peer_id, key, protocol):
        """
        A transfer connection (L{FILES}) of protocol's to peer_id, whose
        channel must prove key (the text of the key of its signed record),
        as L{dial} makes it: at the address of its transfer port last
        heard in the book (L{PathBook.transferAddress}: a file's offer,
        fed with L{Whereabouts.heard} just before), through the relay
        noted for it, if any.  The dial takes the claim, as a link's
        does (L{link}).  Where the node reaches its tracker by a
        transport plugin's path alone, the tracker is asked first, as
        for a link (L{asksFirst}): its answer names the seller's port of
        that kind, the way out of a network that lets only it out.

        @return: a Deferred as L{dial} gives; failing with L{NotConnected}
            at once when the book holds no address of its transfer port.
        """
        book = self.whereabouts.book
        found = book.transferAddress(peer_id)
        if found is None:
            return defer.fail(NotConnected(
                f"no transfer address known for node {shortId(peer_id)}: none was heard "
                "for it"))
        path, namedBy = found
        book.taken(peer_id, FILES)

        def dial(_=None):
            return self.dial(Peer(peer_id, path.host, path.port, book.relayOf(peer_id), key,
                                  namedBy=namedBy), FILES, protocol)

        if asksFirst(self, peer_id):
            return self._askFirst(peer_id).addCallback(dial)
        return dial()

    def dial(self, peer, purpose, protocol=None):
        """
        Reach peer (a L{Peer}) for purpose.

        @param protocol: None for a link of the overlay (an existing link
            to the peer is reused); else a callable that makes the
            protocol to connect (a fresh one for each way tried).
        @return: a Deferred firing with the peer's id (a link) or the
            protocol connected, or failing with why not: for a link,
            L{twisted_bazaar.net.opening.NotConnected} (L{Unreachable}
            when nothing listens).
        """
        ways = [way for way in self.ways if way.applies(self, peer, purpose, protocol)]
        if len(ways) == 1:
            # One way: no race (a simulated node's dials nearly all).
            d = ways[0].attempt(self, peer, purpose, protocol)
        elif ways:
            d = self._race(ways, peer, purpose, protocol)
        else:
            d = None
        if d is None:
            return defer.fail(ValueError(f"no way to reach {peer!r} for {purpose}"))
        if protocol is None and peer.id is not None:
            d.addErrback(self._unreached, peer.id)
        if protocol is None and self.punches:
            d.addCallback(self.settle)
        return d

    def _unreached(self, reason, peer_id):
        """A link's dial that failed as L{Unreachable} (nothing listened
        where its last way dialled: L{Race} keeps that way's kind) or
        L{NoRoute} (this machine cannot send there) is a fact of the book (L{PathBook.unreached
        <twisted_bazaar.reach.book.PathBook.unreached>}) until a link to
        the peer comes up."""
        if reason.check(Unreachable, NoRoute):
            self.whereabouts.unreached(peer_id)
        return reason

    def _race(self, ways, peer, purpose, protocol):
        """Race ways (L{Race}, which ranks them by their delays); a connection of the
        caller's own that connects after another won is closed.  A link
        of a node without a key races nothing: its peer, proving nothing
        of it, keeps the newest of two links, which could be the loser."""
        def start(way):
            return lambda: way.attempt(self, peer, purpose, protocol)

        # The race ranks them (race.rank): by delay, of the same delay
        # one that holds the others back first, then as listed.
        together = protocol is not None or self.keyed
        return Race(self.clock,
                    [Way(start(way), self.relayDelay if way.kind == RELAYED else way.delay,
                         way.holds) for way in ways],
                    _lose if protocol is not None else _keep, together).run()

    def connect(self, peer, purpose, protocol, relay=None):
        """A dial at peer's address, or through ``relay``: a link of the
        overlay (protocol None: its circuit is for the peer's links) or
        protocol's own connection; the channel (the inner one, through a
        relay) must prove L{Peer.key} when given.  peer's host is checked
        first (L{PeerHosts.vet}) unless L{Peer.vouched}; a relay is
        dialled as the tracker names it (L{vetting.reach
        <twisted_bazaar.reach.vetting.reach>})."""
        transports = self.transports
        expected = None if peer.key is None else decode(peer.key)
        why = None if relay is not None else _whyNoHost(peer.host)
        word = CONFIGURED if peer.vouched else CLAIMED
        if protocol is None:
            def connectLink(link, host, port, through):
                if through is None or peer.id is None:
                    return transports.dial(Path(DIRECT, host, port, word=word), expected,
                                           lambda: link)
                return self.toRelay(through, lambda: link, target=peer.id,
                                    expected=expected, at=(host, port))

            def dial(link):
                if why is not None:
                    return defer.fail(ConnectError(string=why))
                return vetting.reach(self.connector, self.whereabouts, peer, purpose,
                                     relay, False, lambda *where: connectLink(link, *where))

            return self.overlay.connectTo(peer.host, peer.port, peer.id, purpose, dial)
        if why is not None:
            return defer.fail(ConnectError(string=f"{hostPort(peer.host, peer.port)}: {why}"))

        def connectOwn(host, port, through):
            if through is None:
                return transports.dial(Path(DIRECT, host, port, word=word), expected,
                                       protocol)
            return self.toRelay(through, protocol, target=peer.id, purpose=purpose,
                                expected=expected, at=(host, port))

        return vetting.reach(self.connector, self.whereabouts, peer, purpose, relay, True,
                             connectOwn)

    def toRelay(self, relay, protocol, way=None, key=None, target=None, pin=None,
                purpose=NODE, expected=None, at=("", 0)):
        """
        A connection of protocol's (a callable making it) at the relay at
        ``relay`` (``HOST:PORT``, as the tracker named it), checked first
        as every relay is (L{whyNotRelay}: a refusal fails it at once):
        to the relay's own service, where the node reserves and accepts
        the circuits announced to it; or, given ``target`` (a node id), a
        circuit through the relay to its port for ``purpose``, its inner
        channel checked by ``expected`` (its key, raw) or ``pin`` (the
        relay probe's, to the node itself), ``at`` (HOST, PORT) where the
        tracker saw it (a label).

        @param way: the path to the relay's service the caller's
            reservation picked (one of a public node's relay's ``paths``,
            a transport plugin's port that serves it:
            L{RelayReservation._waysTo
            <twisted_bazaar.reach.reachable.reservation.RelayReservation._waysTo>}).
            None: the dialer picks (L{relayWays}), for the tracker's own
            relay the path the transport the node reaches its tracker by
            serves it at (L{Membership.trackerWay
            <twisted_bazaar.core.membership.Membership.trackerWay>}: a
            node whose network lets only HTTP(S) out reaches no other
            port); for a circuit through a public node's relay, its ways
            the tracker named with the target's relayed path of that kind
            first, then the relay's own port, then the others in turn.
        @param key: the key (raw bytes) the relay must prove in the
            channel's handshake, or None (any): an impostor at its
            address hears nothing of this node's.
        @return: a Deferred as L{ITransport.dial
            <twisted_bazaar.transports.interface.ITransport.dial>} gives.
        """
        why = self.whyNotRelay(relay)
        if why is not None:
            return defer.fail(ConnectError(string=f"{relay}: {why}"))
        transports = self.transports
        if target is not None:
            connector = self.connector

            def circuit(by):
                if by is None:
                    return transports.dial(Path(RELAYED, *at, relay, NAMED), expected,
                                           protocol, DialOptions(target, purpose, pin))
                # The relay's service at the way: what a dialler's circuit
                # meets there, only the way to it differs.
                return openCircuit(
                    lambda host, port, end: transports.dial(by, key, lambda: end,
                                                            DialOptions(purpose=RELAY)),
                    relay, target, purpose, protocol(), self.clock, connector.channel,
                    expected, connector.peerLog, pin=pin)

            return inTurn([way] if way is not None else relayWays(self, relay, target),
                          circuit)
        if way is None:
            [way] = relayWays(self, relay)
        if way is not None:
            return transports.dial(way, key, protocol, DialOptions(purpose=RELAY))
        host, port = splitRelay(relay)
        return transports.dial(Path(DIRECT, host, port, word=NAMED), key, protocol)

    def checkAt(self, peer_id, host, port, relay, protocol):
        """
        A connection of protocol's (a callable making it) to node peer_id
        at the path its word names, a super-peer's check of a leaf's word
        (L{AddressCheck <twisted_bazaar.tracker.check.AddressCheck>}), which
        asks who answers to prove it: a dial for the leaf's links
        (L{dial}, its ways raced as any dial's are), of a L{Peer} that is
        the leaf's claim (host:port, or through ``relay``), with no key
        (the check asks for the proof itself).  So the checks of every
        dial hold: its host is checked as a host a peer names
        (L{HostRefused <twisted_bazaar.reach.peerhosts.HostRefused>},
        dialling nothing, when refused) and dialled at each address allowed
        in turn; the relay it names is dialled only as the tracker names
        it for the leaf (the tracker asked first otherwise, and what it
        names is dialled), reached by the ways L{relayWays} orders.  Of
        the ways, only the direct one and the relay apply: no LAN address
        (a connection proving no key), no punch (a transfer's), no QUIC
        and no plugin's path (a connection of another purpose than
        L{FILES}).  Nothing a check finds is written in the book (the
        dial of a connection of the caller's own writes nothing: the
        outcome is the super-peer's); only the tracker's answer, when it
        was asked, is kept, as any dial's.

        @return: a Deferred as L{dial} gives.
        """
        return self.dial(Peer(peer_id, host, port, relay), NODE, protocol)

    def _dialFound(self, found):
        """
        Dial the path a source found (a L{Found
        <twisted_bazaar.reach.sources.Found>}, announced through
        L{sources}) by the transport of its kind: a dial of one way,
        which runs no race, as every dial of one way.  Only a path where a
        third party saw the peer (L{SEEN}: the tracker's and the relay's
        word, which a punch checks before it aims) is dialled; a source's
        claim fails at once, saying so.

        @return: a Deferred as L{ITransport.dial
            <twisted_bazaar.transports.interface.ITransport.dial>} gives.
        """
        path = found.path
        if path.word != SEEN:
            return defer.fail(ConnectError(string=(
                f"{hostPort(path.host, path.port)}: a path found for node {shortId(found.peer_id)} "
                f"is dialled only where a third party saw it, not as {path.word!r}")))
        return self.transports.dial(path, found.key, found.protocol, found.options)

    def whyNotRelay(self, relay):
        """Why the relay a tracker named is not dialled, or None
        (L{vetting.whyNotRelay
        <twisted_bazaar.reach.vetting.whyNotRelay>})."""
        return vetting.whyNotRelay(self.connector, self.whereabouts, relay)

    def vetDirect(self, target, host, port, purpose):
        """Where to dial node target at host, which a super-peer names a
        leaf at: checked as a host a peer names is (a Deferred, as
        L{PeerHosts.vet} gives)."""
        return vetting.vetted(self.connector, self.whereabouts, Peer(target, host, port),
                              purpose, None)

    # -- the wait for a punch --------------------------------------------------------

    def ready(self, peer_id):
        """Whether a link to peer_id is up and no punch under way may
        replace it (what is sent to the peer can go at once)."""
        return self.linkTo(peer_id) is not None and not self.waitsFor(peer_id)

    def waitsFor(self, peer_id):
        """Whether a link to peer_id waits for a punch that may replace it
        (a source's: L{Sources.waitsFor})."""
        sources = self._sources
        return sources is not None and sources.waitsFor(peer_id)

    def punchRuns(self, peer_id):
        """Whether a punch with peer_id that has a plan runs now: a TCP
        punch under way or answered, or a UDP punch that holds
        (L{Sources.runs}); not one refused or with no plan (two
        random-port routers)."""
        sources = self._sources
        return sources is not None and sources.runs(peer_id)

    @property
    def news(self):
        """The news of this node's punches, by peer (L{Sources.news}): what
        a download listens to rather than asking L{punchRuns} again and
        again."""
        return self.sources.news

    def direct(self, peer_id):
        """Whether the link to peer_id is up and no relay carries it."""
        link = self.linkTo(peer_id)
        return link is not None and IRelayedTransport(link.transport, None) is None

    def settle(self, peer_id):
        """
        For whoever asked for a link to peer_id, once it is up: peer_id at
        once if no punch may replace it, else a Deferred firing with it
        when the punched link has replaced the relayed one, the punch
        failed, or L{wait} seconds passed (L{LinkWaits}).
        """
        self.sources.arrived(peer_id)
        if not self.waitsFor(peer_id):
            return peer_id
        waits = self._linkWaits
        if waits is None:
            waits = self._linkWaits = LinkWaits(self.clock)
        return waits.wait(peer_id, self.wait)

    def release(self, peer_id=None):
        """The links waiting for peer_id's punch (every peer's: None) go
        on (told by its sources, L{Sources.settled}, when no punch of
        theirs holds them any longer)."""
        if self._linkWaits is not None:
            self._linkWaits.release(peer_id)


def _whyNoHost(host):
    """Why a peer's host is no address to dial, or None: "" (a node at
    home before the tracker told it where it is seen names none, §11a)
    and the unspecified address (0.0.0.0, ::, however spelt) reach this
    machine itself."""
    if not host.strip("0.:"):
        return f"no address to dial ({host!r} names none: it would reach this machine)"
    return None


def _lose(protocol):
    """A connection of the caller's own that connected after another won:
    closed."""
    protocol.transport.loseConnection()


def _keep(peer_id):
    """A link that came up after another won: the overlay holds one link
    to a peer (the loser's was closed when it lost), the winner's."""
