"""
The node's side of the Chord scheme: L{ChordDiscovery}, one node's
discovery service.  Decisions are made by the plain objects of L{state},
L{records} and L{routing}; the I/O is done by the parts it holds, each
an object with its own state and its own table of the messages it takes:

 - L{joining}: finding a place on the ring, and merging rings;
 - L{holding}: the records held, requests served, replicas;
 - L{leaving}: quitting with a handover, and a neighbour's quit;
 - L{lookups}: this node's own lookups, a buyer's finds;
 - L{detouring}: detours round nodes that drop or lie, and their steps;
 - L{upkeep}: stabilization, pings and repair, fingers, ring links;
 - L{namers}: who named each ring entry and record;
 - L{adverts}: a seller's records, published; L{routing}: key routing.

The parts reach the scheme through L{IRingHost} only.  This module owns
the state they share (the ring, the records, whether the node is
placed) and every timer (L{ChordDiscovery.later}).
"""

from operator import attrgetter

from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.base.slotservice import SlotService
from twisted_bazaar.base.timetable import timetableFor
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.core.market import IDiscovery
from twisted_bazaar.schemes.chord.adverts import Publisher
from twisted_bazaar.schemes.chord.detouring import Detouring
from twisted_bazaar.schemes.chord.holding import Holding
from twisted_bazaar.schemes.chord.joining import Joining
from twisted_bazaar.schemes.chord.leaving import Leaving
from twisted_bazaar.schemes.chord.lookups import Lookups
from twisted_bazaar.schemes.chord.namers import Naming
from twisted_bazaar.schemes.chord.records import RecordStore
from twisted_bazaar.schemes.chord.routing import KeyRouter
from twisted_bazaar.schemes.chord.settings import CHORD, FINGER, ChordSettings
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.schemes.chord.upkeep import IRingHost, Upkeep

#: The names of a node's timed calls (L{ChordDiscovery.later}): its
#: upkeep's (L{Upkeep}, L{FingerRepair}), its records' purge
#: (L{Holding}), its joining's (L{Joining}).
TIMERS = ("stabilize", "ping", "fingers", "purge", "probe", "seed", "join")


def _handedTo(name, table):
    """A part's table of delivered messages (function(part, link,
    message)) as the scheme's, the node's observer: each function called
    on the scheme's part ``name``.  Made once, for every node."""
    part = attrgetter(name)

    def handOn(function):
        return lambda scheme, link, message: function(part(scheme), link, message)

    return {kind: handOn(function) for kind, function in table.items()}


@implementer(IDiscovery, IRingHost)
class ChordDiscovery(SlotService, NodeObserver):
    """
    A Chord node: the state its parts share, its timers, its parts, and
    its life as a service.

    @ivar ring: its L{Neighbourhood} once the node has an id.
    @ivar records: the L{RecordStore} of the records it holds, as their
        holder or as a replica.
    @ivar joined: True once it has a place on the ring.
    """

    name = "chord"
    superpeer = None
    log = Logger()

    # Slots, not a dict: a simulated chord node holds one (40 bytes less).
    __slots__ = ("node", "settings", "ring", "records", "naming", "router", "detouring",
                 "lookups", "publisher", "joined", "stopped", "_timers", "_nonce",
                 "upkeep", "holding", "joining", "leaving")

    def __init__(self, node, settings=None):
        SlotService.__init__(self)
        self.node = node
        self.settings = settings or ChordSettings()
        self.ring = None
        self.records = RecordStore(self.settings.max_records)
        #: Who named each ring entry and record (L{Naming}).
        self.naming = Naming(node, self.records)
        self.router = KeyRouter(node, self, self.settings.lookup_timeout,
                                self.settings.holders)
        #: This node's detours and their steps (L{Detouring}).
        self.detouring = Detouring(self)
        #: This node's lookups and finds (L{Lookups}).
        self.lookups = Lookups(self, self.detouring)
        self.publisher = Publisher(node, self.router, self.settings, self.detouring)
        self.joined = False
        self.stopped = False
        #: Its upkeep's calls, one under each of L{TIMERS}: on the
        #: simulator's clock one entry of its heap for all (0.3 kB a node).
        self._timers = timetableFor(node.clock, TIMERS)
        self._nonce = 0
        #: Stabilization, pings, fingers and the ring links (L{Upkeep}).
        self.upkeep = upkeep = Upkeep(self)
        #: The records held, served and copied (L{Holding}).
        self.holding = Holding(self)
        #: Finding a place on the ring, and probes (L{Joining}).
        self.joining = Joining(self, upkeep)
        #: Quitting with a handover, and a neighbour's quit (L{Leaving}).
        self.leaving = Leaving(self, upkeep)
        node.setSlots(CHORD, self.settings.links)
        node.addPurpose(FINGER, self.settings.finger_links, self.settings.finger_idle,
                        recycle=True)
        for part in (upkeep, upkeep.fingers, self.router, self.leaving, self.holding,
                     self.detouring):
            node.takeFrom(part)
        node.addObserver(self)

    # -- what the parts share (IRingHost) ---------------------------------------------

    def me(self):
        """This node as a ring peer (its id and listening address)."""
        node = self.node
        return Peer(node.id, node.host, node.port)

    def useRing(self, ring):
        """ring (a L{Neighbourhood}) is this node's from now on, and its
        router's."""
        self.ring = ring
        self.router.useRing(ring)

    def placed(self, settled):
        """The node has a place on the ring: keep it, hold records,
        probe, route the requests held, and publish.  ``settled``: the
        ring was placed whole, settled (L{Joining.place})."""
        self.joined = True
        self.upkeep.start(settled)
        self.holding.start()
        self.joining.placed(settled)
        self.router.placed()
        self.publisher.start()
        # A buyer whose last link came before this place waits for no other
        # event to start its finds.
        self.node.events.discoveryReady()

    def later(self, name, delay, function):
        """Run function after delay, replacing what was due under name (one
        of L{TIMERS})."""
        self._timers.later(name, delay, function)

    def due(self, name):
        """The call still to come under name, or None."""
        return self._timers.due(name)

    def cancel(self, name):
        """Cancel what is due under name, if anything."""
        self._timers.cancel(name)

    def every(self, period):
        """A period with +-25% jitter, so that nodes do not tick together."""
        return period * (0.75 + 0.5 * self.node.rng.random())

    def newNonce(self):
        self._nonce += 1
        return self._nonce

    def namerOf(self, peer):
        """The address group of the link that named peer (L{Naming})."""
        return self.naming.namerOf(peer)

    def join(self):
        self.joining.join()

    def refusedForPuzzle(self, successor, mine, least):
        self.joining.refusedForPuzzle(successor, mine, least)

    def unplaced(self):
        """A request came before this node found its place (the router's
        question): L{Joining.unplaced}."""
        return self.joining.unplaced()

    def serve(self, request, path, hops):
        """The answer to a request whose key this node holds (the router's
        question): L{Holding.serve}."""
        return self.holding.serve(request, path, hops)

    def replicate(self, peers):
        self.holding.replicate(peers)

    def ensureLink(self, peer):
        """Open a ring link to peer unless there is one (L{Upkeep.ensureLink})."""
        self.upkeep.ensureLink(peer)

    def sendRecords(self, peer, records, confirm=False):
        return self.holding.sendRecords(peer, records, confirm)

    #: The answers to this node's lookups, which end their path here,
    #: handed to its L{Lookups} (the node tells its observers, and the
    #: scheme is the one).  The messages that come on links go to each
    #: part through the node's handler table (C{takes}, L{__init__}).
    delivers = _handedTo("lookups", Lookups.delivers)

    # -- finding ------------------------------------------------------------------------

    def canFind(self):
        return self.lookups.canFind()

    def find(self, item, wait):
        return self.lookups.find(item, wait)

    def locate(self, key, timeout=None):
        return self.lookups.locate(key, timeout)

    def request(self, item, timeout=None):
        return self.lookups.request(item, timeout)

    def refusedToSell(self, seller_id):
        self.lookups.refusedToSell(seller_id)

    def trackerRegistered(self):
        self.joining.trackerRegistered()

    # -- selling ------------------------------------------------------------------------

    def advertise(self, shop):
        self.publisher.advertise(shop)

    def relayChanged(self):
        """The node is reached another way: its records say so again."""
        self.publisher.republish()

    def reachChanged(self, reach, local_port):
        """The tracker's check told the node whether it can be dialled: a
        LAN-only node's records say so (L{Publisher.reachChanged})."""
        self.publisher.reachChanged()

    def stockChanged(self, item, units):
        self.publisher.stockChanged(item, units)

    def linkRemoved(self, peer_id):
        self.upkeep.linkRemoved(peer_id)

    # -- IService -----------------------------------------------------------------------

    def stopService(self):
        """
        Stop keeping the ring and end every lookup; a node on a ring with
        others then quits: it withdraws its own items, hands the records it
        holds to its successor and tells its predecessor and successor to
        close the ring over it.  The Deferred fires once the successor has
        confirmed the handover, or after the quit timeout.
        """
        super().stopService()
        self.stopped = True
        self._timers.cancelAll()
        self.holding.stop()
        self.publisher.stop()
        self.joining.stop()
        self.upkeep.stop()
        self.router.stop()
        self.detouring.stop()
        ring = self.ring
        if not self.joined or ring.alone or self.node.stopping:
            return None
        return self.leaving.quit()
