"""
A node's hole punches over its relayed links (docs/protocol.md, "Hole
punching"): when a link this node opened through a relay comes up, it
punches a direct connection to the peer, and the link handshake on that
connection makes a link of the same direction and purpose, which the
overlay's duplicate rule keeps in place of the relayed one
(L{twisted_bazaar.net.admission.Admission.replaces}); a punch that fails
leaves the node on the relayed link.

A punch aims only at the host the tracker names for the peer's id
(L{twisted_bazaar.reach.punch.witness}; the host kept in the node's
book of paths, the one table of them), asked once the relayed
link's handshake named the peer, and only when the relay's word (where
it saw the peer come from) and the peer's own agree with it: a relay or
a peer that names a victim's address gets no dial there.

Whoever asks for a link to a peer linked through a relay while a punch
with it is under way, this node's or the peer's, waits until the punched
link is up or the punch failed: the node's dialer owns that wait
(L{twisted_bazaar.reach.dialer.Dialer.settle}); this is one of its
sources of paths (L{twisted_bazaar.reach.sources}), which tells it
whether a link waits (L{Punching.waitsFor}) and when it no longer does,
and announces the paths its punches find, which the dialer dials.  It is
built with what it uses (the node's clock, its link table, its
whereabouts, its events, the dialer's sources), not the node.
"""

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar import wire
from twisted_bazaar.base.lan import oneSpelling
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.capabilities import IRelayedTransport
from twisted_bazaar.net.dispatch import unhandled
from twisted_bazaar.transports.relay.messages import FILES
from twisted_bazaar.reach.punch.tcp.exchange import PunchFailed, Puncher, directPeer
from twisted_bazaar.reach.punch.tcp.mapping import UNKNOWN, PunchMapping, mappingOf
from twisted_bazaar.reach.punch.tcp.messages import PunchConnect
from twisted_bazaar.reach.punch.witness import TrackerWitness, whyNot
from twisted_bazaar.reach.sources import IPathSource

#: What a node that punches none says, to itself and to a peer's punch
#: (nor over UDP: its QUIC service plugs no UDP punching then).
OFF = PunchMapping("", "hole punching is off on this node", udp=False)


def isRelayed(link):
    """Whether link runs through a relay's circuit, whatever its relay
    said of the other end (a lying one may say nothing)."""
    return IRelayedTransport(link.transport, None) is not None


def relayedFrom(link):
    """Where the relay of link's circuit saw the peer's connection come
    from, or "" for a link that is not relayed."""
    relayed = IRelayedTransport(link.transport, None)
    return "" if relayed is None else relayed.relayedFrom or ""


#: The punch messages the node's puncher takes as they come: all but
#: punchConnect, which L{Punching} takes first.
PUNCHER_TAKES = {kind: take for kind, take in Puncher.takes.items()
                  if kind is not PunchConnect}


@implementer(IPathSource)
class Punching(Service, NodeObserver):
    """
    The node's hole-punching service, as go-libp2p's is started on a
    reachability event: its L{Puncher} and what ties it to the node: the
    punch messages' handlers (the builder has the node hand it them:
    L{PUNCHER_TAKES}, L{takes}), the ``error{nopunch}`` its peers send,
    the links that come, go and are replaced (L{linkReplaced}), the
    tracker's address check (L{reachChanged}), and which links wait for a
    punch (L{waitsFor}, L{arrived}; the dialer's sources told when none
    does).  A child of the node's runner (C{NodeParts.services}); stopping
    it, or the node, ends every punch and releases every waiter.
    """

    log = Logger()
    #: It finds paths to peers (L{IPathSource.toPeers
    #: <twisted_bazaar.reach.sources.IPathSource.toPeers>}).
    toPeers = True
    #: The peers linked now whose refusal said no UDP punch can work with
    #: them (L{saidNoUdp}): None, or a set of the node's own made on the
    #: first (no slot in a simulated node, which meets none).
    _noUdp = None

    def __init__(self, clock, rng, overlay, whereabouts, events, sources, transfers,
                 unnamed, labels=False, limits=None, enabled=True, udp=True):
        """
        Its punches' paths are announced to the dialer's sources and
        dialled by the dialer (L{Sources.found
        <twisted_bazaar.reach.sources.Sources.found>}), from a port (its
        TCP transport's option C{fromPort}): the punch produces the path,
        and dials nothing itself.

        @param overlay: the node's link table
            (L{twisted_bazaar.net.overlay.Overlay}): its links, the
            punched link it makes, and the errors no part takes.
        @param whereabouts: what the node knows of where its peers are
            (L{twisted_bazaar.reach.whereabouts.Whereabouts}): the book of
            paths the tracker's word is written in, its direct paths, and
            its tracker session.
        @param events: the node's events (its C{EventBus}), told of each
            punch (C{punchStarted}, C{punchEnded}).
        @param sources: the node's dialer's sources of paths
            (L{twisted_bazaar.reach.sources.Sources}), which this is
            added to: told what it finds and when no link waits.
        @param transfers: C{transfers()}, the factory of the node's
            transfer port, or None (L{Puncher}'s).
        @param unnamed: C{unnamed()}, whether the tracker names this node
            nowhere yet, but will: its check found it private, and it has
            a key but no reservation yet (until it holds one, a peer
            asking the tracker where it is would be told nothing, and
            refuse its punch).

        @param labels: whether the hosts punched are labels (a memory
            network's), not IP addresses: then a host the tracker names is
            punched as named (L{twisted_bazaar.reach.punch.witness.whyNot}).
        @param enabled: False: the node punches none, and refuses its
            peers' punches saying so (L{OFF}); nothing waits for a punch.
        @param udp: False: the node serves no UDP (no QUIC socket), and
            its refusals say no UDP punch can work with it (L{Puncher.udp
            <twisted_bazaar.reach.punch.tcp.exchange.Puncher.udp>}).
        """
        self.enabled = enabled
        self.labels = labels
        self._overlay = overlay
        self._whereabouts = whereabouts
        self._events = events
        self._sources = sources
        #: Told ``settled(peer_id)`` once no punch holds peer_id's link
        #: back (L{waitsFor} says False now; None: no link does, the node
        #: stops): the dialer, through its sources, holds the diallers
        #: waiting.
        self._settled = sources.settled
        self._unnamed = unnamed
        self.seen = TrackerWitness(self._whereIs, self._namedHost, self._told)
        self.puncher = Puncher(clock, rng, sources.found, overlay.punchedLink,
                               self._witness, limits, transfers,
                               direct=_direct, unwitnessed=self._unwitnessed,
                               answers=self._changed, udp=udp)
        if not enabled:
            self.puncher.setMapping(OFF)
        #: peer id -> the relayed link it is linked by, as it came up.
        self._shared = {}
        #: peer id -> the punch this node started with it, under way.
        self._punches = {}
        #: peer id -> (its relayed link, the punchConnect it sent), held
        #: until the tracker says where the peer is.
        self._held = {}

    def _changed(self, peer_id=None, linkUp=False):
        """A punch with peer_id (None: anyone) may have started or ended,
        or (linkUp) a link to peer_id came up or replaced the one there
        was: the dialer's news tells whoever listens
        (L{twisted_bazaar.reach.punchnews})."""
        if linkUp:
            self._sources.linkUp(peer_id)
        else:
            self._sources.changed(peer_id)

    def follows(self, peer_id):
        """A TCP punch follows none: the first to try."""
        return False

    def _error(self, link, error):
        """An ``error{nopunch}`` ends this node's punch (one that says the
        peer cannot punch over UDP either is noted first: L{saidNoUdp});
        any other error is handled as the node handles those no part
        takes."""
        if error.code == "nopunch" and error.udp is False:
            if self._noUdp is None:
                self._noUdp = set()
            self._noUdp.add(link.peer_id)
        if error.code != "nopunch" or not self.puncher.refused(link, error):
            unhandled(self._overlay, link, error)

    def saidNoUdp(self, peer_id):
        """Whether peer_id, linked now, refused a punch saying none over UDP
        can work with it either (its datagrams do not leave): the punches
        over UDP ask the tracker for none with it, which would refuse each
        (it saw none of the peer's datagrams) again and again, at info
        (issue 96, s58-left's HTTP-only home)."""
        return self._noUdp is not None and peer_id in self._noUdp

    def reachChanged(self, reach, local_port):
        """The tracker's address check saw the node's connection, sent
        from ``local_port``, come from ``reach.seen_host``:``seen_port``:
        whether its router keeps ports (a punch can work) or not; none
        can from a node that reaches its tracker by a transport plugin's
        way (L{mappingOf}).  The
        first check that tells starts the punches that waited for it."""
        if not self.enabled:
            return
        puncher = self.puncher
        was = puncher.mapping
        membership = self._whereabouts.tracker()
        way = None if membership is None else membership.trackerWay
        puncher.setMapping(mappingOf(reach.seen_host, reach.seen_port, local_port, way))
        if was is not UNKNOWN or puncher.mapping is UNKNOWN:
            return
        self._startWaiting()

    def _startWaiting(self):
        """Start the punches that waited (for the tracker's check, or for
        this node's reservation); a dialler waiting on a link that none
        will replace goes on."""
        for peer_id, link in list(self._shared.items()):
            if self._overlay.linkTo(peer_id) is link:
                self._start(peer_id, link)
            if not self.waitsFor(peer_id):
                self._settled(peer_id)

    # -- where the peer is -----------------------------------------------------------

    def _whereIs(self, peer_id):
        """Ask the tracker where peer_id is, its answer written in the
        node's book of paths (L{_namedHost} reads it); failing with its
        question's failure (L{TrackerGone}: it did not answer), which a
        refusal says rather than that it names no address."""
        if not self._whereabouts.tracked():
            return defer.succeed(None)
        return self._whereabouts.book.ask(peer_id)

    def _namedHost(self, peer_id):
        """The host the tracker last named for peer_id (the book's), or
        None."""
        return self._whereabouts.book.namedHost(peer_id)

    def _witness(self, link):
        """The host a punch with link's peer dials: the one the tracker
        names for it, when the relay of the link's circuit saw the peer
        there too; "" otherwise (and for a direct link: a punch for a
        link is none of its business, one for files dials L{_direct})."""
        relayed = relayedFrom(link)
        named = self.seen.named(link.peer_id)
        if (not relayed or named is None
                or whyNot(link.peer_id, named, relayed, self.labels)):
            return ""
        return oneSpelling(named)

    def _unwitnessed(self, link):
        """Why L{_witness} names no host for link's peer, or None."""
        if not isRelayed(link):
            return None
        relayed = relayedFrom(link)
        if not relayed:
            return ("the relay of this link's circuit did not say where your "
                    "connection comes from: a punch dials only a host it and the "
                    "tracker saw")
        named = self.seen.named(link.peer_id)
        if named is None:
            return "the tracker has not said where this node's peer is"
        return whyNot(link.peer_id, named, relayed, self.labels,
                      self.seen.unanswered(link.peer_id))

    def _connectReceived(self, link, connect):
        """The peer's punchConnect, over a relayed link whose peer the
        tracker has not yet placed, waits for its answer (the last one
        the link sent: a retry replaces it)."""
        peer_id = link.peer_id
        if (self.enabled and self.puncher.mapping.punchable and relayedFrom(link)
                and self._overlay.linkTo(peer_id) is link
                and not self.seen.named(peer_id)):
            # Asked again if the tracker named none: a peer at home is
            # named once its reservation is held, which it waits for
            # before it punches (L{_unnamed}); not past the witness's
            # bound (then refused as named nowhere).
            self.seen.ask(peer_id, again=True)
            if self.seen.asking(peer_id):
                self._held[peer_id] = (link, connect)
                return
        self.puncher.connectReceived(link, connect)


    #: What it takes itself (the node's C{takeFrom}): a peer's
    #: punchConnect, which waits for the tracker's word first, and the
    #: errors no other part takes (L{_error}).
    takes = {PunchConnect: _connectReceived, wire.Error: _error}

    def relayChanged(self):
        """The node holds a reservation now: the punches that waited for
        the tracker to name it start."""
        if not self._unnamed():
            self._startWaiting()

    def _told(self, peer_id):
        """The tracker said where peer_id is: the punchConnect held for
        it is answered, and this node's punch started."""
        link = self._overlay.linkTo(peer_id)
        held = self._held.pop(peer_id, None)
        if held is not None and held[0] is link:
            self.puncher.connectReceived(link, held[1])
        if link is not None and self._shared.get(peer_id) is link:
            self._start(peer_id, link)
        if not self.waitsFor(peer_id):
            self._settled(peer_id)

    # -- links ----------------------------------------------------------------------

    def linkAdded(self, peer_id):
        self.arrived(peer_id)
        self._changed(peer_id, linkUp=True)

    def arrived(self, peer_id):
        """A link to peer_id is up (told by whichever comes first: the
        link's dialler, through the dialer, or the node): a relayed one
        whose relay said where the peer is, seen the first time, is
        punched."""
        link = self._overlay.linkTo(peer_id)
        if link is not None and relayedFrom(link) and self._shared.get(peer_id) is not link:
            self._shared[peer_id] = link
            if self.enabled and (self.puncher.mapping.punchable
                                 or self.puncher.mapping is UNKNOWN):
                self.seen.ask(peer_id)
            self._start(peer_id, link)

    def linkReplaced(self, peer_id):
        """A newer link to peer_id took the place of the one it had: a
        punch over the old one (retired, closing) ends, a newer relayed
        link is punched in its turn, and a dialler waiting goes on unless
        that punch is under way (the punched link replaced the relayed
        one: it goes on)."""
        old = self._shared.get(peer_id)
        if old is not None and self._overlay.linkTo(peer_id) is not old:
            del self._shared[peer_id]
            self._held.pop(peer_id, None)
            self.puncher.linkLost(old)
        self.arrived(peer_id)
        if not self.waitsFor(peer_id):
            self._settled(peer_id)
        self._changed(peer_id, linkUp=True)

    def linkRemoved(self, peer_id):
        link = self._shared.pop(peer_id, None)
        if link is not None:
            self.puncher.linkLost(link)
        self._held.pop(peer_id, None)
        if self._noUdp is not None:
            self._noUdp.discard(peer_id)
        self.seen.forget(peer_id)
        self._settled(peer_id)
        self._changed(peer_id)

    def stopService(self):
        super().stopService()
        self.nodeStopping()

    def nodeStopping(self):
        self.puncher.stop()
        self.seen.stop()
        self._held.clear()
        self._settled(None)
        self._changed(None)

    def _start(self, peer_id, link):
        """Punch to link's peer, if this node opened the link (the dialler
        starts: the other side answers), no punch is under way, the
        tracker's check told this node what its router does (until then,
        L{reachChanged} starts it), the tracker said where the peer is
        (until then, L{_told} starts it), and it names this node too
        (until then, L{relayChanged} starts it)."""
        if (link.inbound or not self.enabled or peer_id in self._punches
                or self.puncher.mapping is UNKNOWN):
            return
        if self.puncher.mapping.punchable:
            if self.seen.named(peer_id) is None:
                self.seen.ask(peer_id)
                return
            if self._unnamed():
                return
        direct = self._whereabouts.directPath(peer_id)
        if direct is not None:
            # Its relayed link is a way the dialer did not need (a relay a
            # peer claimed): no SYN is spent on a peer it can dial.
            link.peerLine(LogLevel.info, "no hole punched to {peer}: this node reaches "
                          "it by its {kind} path at {where}", self.log, kind=direct.kind,
                          where=hostPort(direct.host, direct.port))
            return
        host = self._witness(link)
        punch = self.puncher.punch(link, host)
        events = self._events
        events.punchStarted(link, host)
        punch.addBoth(_told, events, link, host)
        if punch.called:
            # Refused at once (this node cannot punch): said why.
            punch.addErrback(lambda failure: failure.trap(PunchFailed))
            return
        self._punches[peer_id] = punch
        punch.addBoth(self._ended, peer_id)
        self._changed(peer_id)

    def _ended(self, result, peer_id):
        """The punch ended: a dialler waiting for it goes on now if it
        failed, once the punched link replaced the relayed one if not."""
        self._punches.pop(peer_id, None)
        if isinstance(result, Failure):
            # Met, the punched link's taking the relayed one's place
            # tells (L{linkReplaced}).
            self._changed(peer_id)
            self._settled(peer_id)
            result.trap(PunchFailed, defer.CancelledError)
        return None

    # -- transfers ------------------------------------------------------------------

    def transfer(self, peer_id, key, protocol):
        """
        Punch a connection to peer_id's transfer port for protocol (a
        buyer's transfer client), over the direct link this node has with
        it (a punched one, most often: the two routers let a punch
        through), when the peer proved ``key`` (the key of its signed
        record) on it; the connection's channel must prove it too.

        @return: a Deferred firing with protocol once connected, or
            failing with L{PunchFailed}; None when no such punch is tried
            (no direct link to the peer with that key, or this node cannot
            punch), said nowhere: the caller goes through the relay.
        """
        link = self._overlay.linkTo(peer_id)
        if (link is None or isRelayed(link) or link.key != key
                or not self.puncher.mapping.punchable):
            return None
        return self.puncher.punch(link, directPeer(link), FILES, protocol)

    # -- diallers -----------------------------------------------------------------

    def waitsFor(self, peer_id):
        """Whether the link to peer_id is a relayed one that a punch under
        way (this node's or the peer's) may replace, or that waits for the
        tracker's check to start this node's."""
        link = self._overlay.linkTo(peer_id)
        if link is None or not relayedFrom(link):
            return False
        if link.inbound:
            return self.puncher.answering(link) or peer_id in self._held
        return (peer_id in self._punches or self.puncher.mapping is UNKNOWN
                or (self.enabled and self.puncher.mapping.punchable
                    and (self.seen.asking(peer_id) or self._unnamed())))

    def runs(self, peer_id):
        """Whether a punch with peer_id's relayed link is under way: this
        node's (it has an address to dial and asked the peer), or the
        peer's it answers; not one that waits for the tracker."""
        link = self._overlay.linkTo(peer_id)
        if link is None or not relayedFrom(link):
            return False
        if link.inbound:
            return self.puncher.answering(link)
        return peer_id in self._punches


def _direct(link):
    """Where a direct link's own connection comes from (what a punch for
    files over it dials), or "" for a relayed link, whose transport's
    peer is only what its relay said, or (a relay that named no host)
    the address the dialler was told for the node: any stranger's word."""
    return "" if isRelayed(link) else directPeer(link)


def _told(result, events, link, host):
    """Tell the node's observers how a punch over link ended (why it
    failed, from a failure), passing the result on."""
    why = inWords(result) if isinstance(result, Failure) else None
    events.punchEnded(link, host, why)
    return result
