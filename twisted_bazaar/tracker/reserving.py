"""
The tracker's side of reservations (docs/protocol.md §5a): which relay
holds each node the tracker cannot dial.  A public node's relay with room
is named first (L{RelayPool}); the tracker's own relay is the relay of
last resort; a node that moves from it to a public node's keeps its
reservation there a while (L{MOVED_GRACE}) for diallers that still know it.

Nothing a stranger says is taken as fact here: a relay is offered only by
a node whose address check passed (a reservation is no check), and a
node introduced through a relay is named at the host the tracker saw its
connection come from, not the host it registered.
"""

import attr
from twisted.logger import LogLevel

from twisted_bazaar import wire
from twisted_bazaar.base.lan import oneSpelling, peerHost
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.limits import GroupRates
from twisted_bazaar.tracker.registry import familyOf
from twisted_bazaar.tracker.relays import NAME_TIMEOUT, RelayPool
from twisted_bazaar.transports.relay.messages import RelayAt, RelayReserved
from twisted_bazaar.transports.relay.relay import Refused
from twisted_bazaar.wire.core import joinRelay, splitRelay
from twisted_bazaar.wire.ids import shortId

#: Seconds the tracker's relay keeps the reservation of a node that moved
#: to a public node's relay: circuits from diallers that still know the
#: tracker's relay reach it until then.
MOVED_GRACE = 30.0
#: ``relayReserve`` acted on a second for the nodes of one address group,
#: all their connections together, in bursts of twice that; past it, each
#: is answered ``noslots`` and nothing is looked up.  Each has the tracker
#: look for a relay (L{RelayPool.pick}), and an honest node asks a few
#: times a minute at most: one stranger's registered key that asked in a
#: loop had the tracker answer every one (a relayAt naming a new relay
#: group each, then the whole pool searched for each).
ASK_RATE = 10.0
ASKS_LIMIT = declare(
    "tracker.relay-asks", ASK_RATE, "messages/s",
    "relayReserve acted on for the nodes of one address group (past it: noslots)",
    group=ASK_RATE, owner=__name__)
#: ``relayReserved`` and ``relayOffer`` taken a second from the nodes of
#: one address group, all their connections together, in bursts of twice
#: that; past it, each is dropped unanswered (but for a node's first
#: offer on a connection, and its confirmation of the relay named to it).  Each costs the tracker an
#: answer (``error{norelay}``) and a line, or a change to its relay pool:
#: an honest node confirms once a name (``relayAt``, at most ASK_RATE a
#: second) and offers once a connection, and one that sent either in a
#: loop was answered every one.
REPORT_RATE = 10.0
REPORTS_LIMIT = declare(
    "tracker.relay-reports", REPORT_RATE, "messages/s",
    "relayReserved and relayOffer taken from the nodes of one address group, "
    "together (past it: dropped)", group=REPORT_RATE, owner=__name__)
#: How a node's ``error{wtf}`` refusing the tracker's own relay begins
#: (L{twisted_bazaar.reach.reachable.reserving}: named at another host
#: than the one its connection reached).
OWN_RELAY_REFUSED = "relayReserved names "
#: What a refusal of a reservation adds for a LAN-only node
#: (L{Reservations._lanOnly}), which is introduced to more than nobody.
LAN_ONLY_SAID = ("; until a relay has room, this tracker introduces you only to "
                 "the nodes behind your router on your LAN")
#: Address groups whose rate of asks is remembered, newest kept.
_ASK_GROUPS = 10_000


class Reservations:
    """
    A tracker's reservations: the public nodes' relays it may name
    (L{pool}), and the nodes moving off its own relay.

    @ivar tracker: the L{twisted_bazaar.tracker.service.Tracker}: its
        relay (None: it relays for nobody), registry, keys, checks, links
        and logs.
    """

    def __init__(self, tracker, rng, name_timeout=NAME_TIMEOUT, host=None):
        """
        @param name_timeout: seconds a relay named to a node at home holds
            its place there before the node confirms it
            (L{twisted_bazaar.tracker.relays.NAME_TIMEOUT}).
        @param host: the address the tracker's relay is named at (the
            tracker's ``--host``), or None: the tracker's own address on
            the node's connection, which behind a port forward is a
            private one that no node outside reaches.
        """
        self.tracker = tracker
        #: Where its relay is named (see above), or None.
        self.host = host
        #: Whether a node's refusal of the relay's host was said
        #: (L{refusedHere}: once).
        self._refusalSaid = False
        #: The relays of public nodes, named before the tracker's own.
        self.pool = RelayPool(rng, tracker.clock, name_timeout=name_timeout)
        #: node id -> when the tracker's relay lets go of the reservation of
        #: a node that moved to a public node's relay (L{MOVED_GRACE}).
        self._moved = {}
        self._asks = GroupRates(ASKS_LIMIT, remembered=_ASK_GROUPS)
        self._reports = GroupRates(REPORTS_LIMIT, remembered=_ASK_GROUPS)
        #: Nodes whose connection offered its relay already: only a
        #: repeat is held to the group's rate (L{offered}).
        self._offeredOnce = set()

    def leave(self, node_id):
        """node_id left: whatever it held, or offered, goes."""
        if self.tracker.relay is not None:
            self.tracker.relay.release(node_id)
        self._keepAtRelay(node_id)
        self.pool.leave(node_id)
        self._offeredOnce.discard(node_id)

    def stop(self):
        """Cancel every grace timer, and the pool's."""
        for node_id in list(self._moved):
            self._keepAtRelay(node_id)
        self.pool.stop()

    def reserve(self, link):
        """
        A registered node asks for a reservation.  A public node's relay
        with room is named to it first (``relayAt``; one it holds at the
        tracker's relay holds until it holds that one); else, the relay of
        last resort, the tracker's relay holds it.  Granted (only to a key
        proven on this connection), the node is reached through the relay:
        that passes its address check (its key was proved on this very
        connection), and it is introduced, and named, with the relay.
        Refused, it is told why (``error``).
        """
        tracker = self.tracker
        node_id = link.peer_id
        group = groupOf(link)
        if not self._asks.take(group, tracker.clock.seconds()):
            link.peerLine(LogLevel.info, "refused {peer} a relay reservation: its "
                          "address group asks faster than {rate:g} a second",
                          tracker.log, rate=self._asks.rate)
            link.send(wire.Error("noslots", f"your address group asks for relay "
                                 f"reservations faster than {self._asks.rate:g} a "
                                 "second: ask again later"))
            return
        # Whatever it held at a public node's relay is gone: it asks again.
        self.pool.release(node_id)
        self._keepAtRelay(node_id)
        if tracker.relay is None or not tracker.relay.holds(node_id):
            tracker.registry.setRelay(node_id, None)
        key = tracker.proofs.keyOf(node_id)
        if key is not None:
            # A relay it can dial: of the family its connection came by.
            host = peerHost(link.transport)
            named = self.pool.pick(node_id, group, self._relaying,
                                   familyOf(host) if host else None)
            if named is not None:
                link.send(RelayAt(*named, self._waysTo(*named)))
                return
        try:
            if tracker.relay is None:
                raise Refused("noslots", "this tracker relays for nobody")
            relay = tracker.relay.reserve(node_id, group, link.send, key,
                                          self.host or oneSpelling(getattr(
                                              link.transport.getHost(), "host", "") or ""))
        except Refused as e:
            link.peerLine(LogLevel.info, "refused {peer} a relay reservation: {info}",
                          tracker.log, info=e.info)
            link.send(wire.Error(e.code, e.info + (LAN_ONLY_SAID if self._lanOnly(link, key)
                                                   else "")))
            return
        link.send(RelayReserved(relay))
        self._reachedThrough(link, relay, "this tracker's relay",
                             tracker.relay.ways(splitRelay(relay)[0]))

    def _lanOnly(self, link, key):
        """
        link's node, refused a reservation, is reached over its LAN alone
        (L{Registry.lanOnly
        <twisted_bazaar.tracker.registry.Registry.lanOnly>}) if it proved
        a key (its neighbours' dials must prove it) and named local
        addresses: many machines behind one router (a class) past the
        relays' places for their address group, each introduced to its
        neighbours behind that router, never to anyone else.  Whether it
        is LAN-only (now or since an earlier refusal): its refusal says so
        (L{LAN_ONLY_SAID}).
        """
        tracker = self.tracker
        node_id = link.peer_id
        seen = peerHost(link.transport)
        made = None if key is None else tracker.registry.lanOnly(node_id, seen)
        if not made:
            return made is not None
        tracker.memberLine(groupOf(link), LogLevel.info, "node {id} holds no "
                           "reservation: introducing it only to nodes behind its "
                           "router's address {host}, on its LAN",
                           id=shortId(node_id), host=seen)
        return True

    def refusedHere(self, link, info):
        """
        A node answered this tracker's ``relayReserved`` with
        ``error{wtf}`` (``info``, which starts with L{OWN_RELAY_REFUSED}):
        the relay is named at another host than the one its connection
        reached, so it holds no reservation here.  Behind a port forward
        without ``--host`` every node at home does so, and the market has
        no relay of last resort: said once, as a warning, with the way
        out (each refusal's own line stays at info).
        """
        if self._refusalSaid:
            return
        self._refusalSaid = True
        link.peerLine(LogLevel.warn, "{peer} refused this tracker's relay ({info}): it "
                      "reached the tracker at another address, so it holds no "
                      "reservation here; nodes reaching this tracker through a port "
                      "forward take its relay only with --host and the address they "
                      "reach (said once)", self.tracker.log, info=info)

    def _waysTo(self, relaying, relay):
        """The relaying node's ways to its relay besides the relay's port
        (its paths of a transport plugin's kind: a node that relays serves
        its relay on each of their ports too, docs/protocol.md §5a), at
        the relay's host, each its claim (L{Registry.claimsOf}); None:
        none."""
        host, _ = splitRelay(relay)
        ways = tuple(attr.evolve(path, host=host)
                     for path in self.tracker.registry.claimsOf(relaying))
        return ways or None

    def _reachedThrough(self, link, relay, where, ways=()):
        """The node holds a reservation at relay: it is named with it, and
        introduced (its address check stops: see L{reserve}), at the host
        its tracker connection comes from: its check did not pass, so the
        host it registered is one nobody vouched for.  It is named with
        the relay's ``ways`` besides its port (a public node's relay's,
        L{_waysTo}; the tracker's own, the ports of its transport plugins
        that serve it, L{Relay.ways
        <twisted_bazaar.transports.relay.relay.Relay.ways>})."""
        tracker = self.tracker
        node_id = link.peer_id
        tracker.registry.setRelay(node_id, relay, ways)
        if node_id in tracker.registry.verified:
            return
        tracker.checks.stop(node_id)
        tracker.registry.verify(node_id, seen=peerHost(link.transport))
        tracker.memberLine(groupOf(link), LogLevel.info, "node {id} holds a reservation "
                           "at {where}: introducing it through {relay}",
                           id=shortId(node_id), where=where, relay=relay)

    def reachedDirectly(self, node_id):
        """node_id's address check passed while it was held at a relay (it
        asked to be checked again, ``checkme``: its router maps its port
        now): it is named at its address from now on, through no relay,
        and the relays of this tracker let go of its place (the node lets
        go of its reservation when its ``reach`` tells it)."""
        tracker = self.tracker
        if tracker.registry.relays.get(node_id) is None:
            return
        tracker.registry.setRelay(node_id, None)
        self._keepAtRelay(node_id)
        self.pool.release(node_id)
        if tracker.relay is not None:
            tracker.relay.release(node_id)

    def _relaying(self, node_id):
        """Whether node_id's offer to relay still stands: it is
        registered with a port (a node of port 0 is taken without a
        check of its address), its address check passed (a reservation,
        which introduces a node without one, is no check), and it is
        reached directly."""
        registry = self.tracker.registry
        return (node_id in self.tracker.links and node_id in registry.checked
                and registry.nodes[node_id][1] != 0 and registry.relayOf(node_id) is None)

    def _mayReport(self, link, message):
        """Whether a ``relayReserved`` or ``relayOffer`` of link's is taken
        (its address group's rate, L{REPORT_RATE}); dropped if not."""
        if self._reports.take(groupOf(link), self.tracker.clock.seconds()):
            return True
        link.dropOverRate(message.TYPE, REPORT_RATE)
        return False

    def heldAtPeer(self, link, message):
        """A node says it holds a reservation at the public node's relay
        this tracker named it last: it is named, and introduced, with that
        relay.  That confirmation is always heard, outside the group's
        rate: the node sends it once a name (names are held to
        L{ASK_RATE}), and one dropped was never sent again, the node
        never named with its relay.  Any other relay (held to the rate)
        is refused (``error``): the tracker names only the relays it
        named."""
        named = self.pool.named(link.peer_id)
        if named != message.relay and not self._mayReport(link, message):
            return
        if named is None or named != message.relay:
            link.peerLine(LogLevel.info, "refused {peer} its relay {relay}: not the "
                          "one named to it", self.tracker.log, relay=message.relay)
            link.send(wire.Error("norelay", f"this tracker named you no relay at "
                                 f"{message.relay}"))
            return
        relaying = self.pool.hold(link.peer_id)
        node_id = link.peer_id
        relay = self.tracker.relay
        if relay is not None and relay.holds(node_id) and node_id not in self._moved:
            # Diallers that still know the tracker's relay reach the node
            # there a while longer.
            self._moved[node_id] = self.tracker.clock.callLater(MOVED_GRACE, self._letGo,
                                                                node_id)
        self._reachedThrough(link, named, f"node {shortId(relaying)}'s relay",
                             self._waysTo(relaying, named) or ())

    def _letGo(self, node_id):
        """The grace of a node that moved to a public node's relay is over:
        the tracker's relay lets go of its reservation."""
        del self._moved[node_id]
        self.tracker.relay.release(node_id)

    def _keepAtRelay(self, node_id):
        """No letting go of node_id's reservation at the tracker's relay
        (it holds it again, or left)."""
        timer = self._moved.pop(node_id, None)
        if timer is not None and timer.active():
            timer.cancel()

    def offered(self, link, message):
        """
        A node offers its relay: taken from a node that proved a key and
        is reached directly at the address the tracker checked (the host
        of the relay it names); refused (``error``) otherwise.  The pool
        names its relay group to at most
        L{twisted_bazaar.tracker.relays.MOST_NAMED} nodes.  The first of a
        connection is always heard (a node offers once a connection and
        never again: a public node of a campus's address group, dropped
        past the group's rate, was never a relay); only a repeat is held
        to the rate.
        """
        node_id = link.peer_id
        if node_id in self._offeredOnce:
            if not self._mayReport(link, message):
                return
        else:
            self._offeredOnce.add(node_id)
        if self.tracker.proofs.keyOf(node_id) is None or not self._relaying(node_id):
            link.peerLine(LogLevel.info, "refused {peer}'s offer to relay: its address "
                          "check has not passed", self.tracker.log)
            link.send(wire.Error("norelay", "this tracker names as relays only nodes "
                                 "it dialled and that proved a key"))
            return
        # Named, and grouped, at the address the check reached it at, not
        # at a name it registered: DNS could answer the nodes sent there
        # otherwise, and a thousand names of one machine would be a
        # thousand address groups.
        host = self.tracker.checks.reached.get(node_id)
        if host is None:
            host, _ = self.tracker.registry.address(node_id)
        self.pool.offer(node_id, joinRelay(host, message.port), message.slots)
