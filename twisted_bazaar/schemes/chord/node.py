"""
The node's side of the Chord scheme: L{ChordDiscovery}, one node's
discovery service.  Decisions are made by the plain objects of L{state},
L{records} and L{routing}; the I/O is split by concern into the mixins
it is made of:

 - L{joining}: finding a place on the ring, and merging rings;
 - L{holding}: the records held, requests served, replicas;
 - L{leaving}: quitting with a handover, and a neighbour's quit;
 - L{lookups}: this node's own lookups, and a buyer's finds;

and the parts it holds: the upkeep of its place (L{upkeep}: stabilization,
pings and repair, fingers, ring links), which reaches the scheme through
L{IRingHost} only, and a seller's records, published by L{adverts}.
This module owns the state the mixins share and every timer
(L{ChordDiscovery.later}).
"""

from types import MethodType

from twisted.application.service import Service
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.base.logthrottle import LogThrottle
from twisted_bazaar.core.events import NodeObserver
from twisted_bazaar.core.market import IDiscovery
from twisted_bazaar.schemes.chord.adverts import Publisher
from twisted_bazaar.schemes.chord.holding import Holding
from twisted_bazaar.schemes.chord.joining import Joining
from twisted_bazaar.schemes.chord.leaving import Leaving
from twisted_bazaar.schemes.chord.lookups import Lookups
from twisted_bazaar.schemes.chord.namers import Naming
from twisted_bazaar.schemes.chord.messages import (
    ChordNext,
    ChordNextIs,
    ChordTransfer,
)
from twisted_bazaar.schemes.chord.records import RecordStore
from twisted_bazaar.schemes.chord.routing import KeyRouter
from twisted_bazaar.schemes.chord.settings import CHORD, FINGER, ChordSettings
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.schemes.chord.upkeep import IRingHost, Upkeep


@implementer(IDiscovery, IRingHost)
class ChordDiscovery(Joining, Holding, Lookups, Service, NodeObserver):
    """
    A Chord node: the state its mixins share, its timers, its upkeep,
    and its life as a service.

    @ivar ring: its L{Neighbourhood} once the node has an id.
    @ivar records: the L{RecordStore} of the records it holds, as their
        holder or as a replica.
    @ivar joined: True once it has a place on the ring.
    """

    name = "chord"
    superpeer = None
    log = Logger()

    def __init__(self, node, settings=None):
        self.node = node
        self.settings = settings or ChordSettings()
        self.ring = None
        self.records = RecordStore(self.settings.max_records)
        #: Who named each ring entry and record (L{Naming}).
        self.naming = Naming(node, self.records)
        self.router = KeyRouter(node, self, self.settings.lookup_timeout,
                                self.settings.holders)
        self.publisher = Publisher(node, self.router, self.settings, self)
        self.joined = False
        self.stopped = False
        self._timers = {}
        #: Stabilization, pings, fingers and the ring links (L{Upkeep}).
        self.upkeep = Upkeep(self)
        self._joining = None
        self._join_delay = self.settings.stabilize
        #: The chordNear asked of the tracker, a L{Question} (L{_joining} is
        #: its Deferred), or None.
        self._near = None
        #: nonce -> the L{Question} of a detour's step (L{Lookups._askNext}):
        #: made when first needed (a large simulated ring would hold an
        #: empty dict a node).
        self._nexts = None
        #: Sellers a buyer on this node found to refuse to sell
        #: (L{refusedToSell}): made when first needed.
        self._refusing = None
        self._probe_delay = self.settings.probe
        #: Has this node reason to doubt its ring is the only one (it
        #: started one, or was alone)?  Then it probes soon (L{_probe}).
        self._doubt = False
        #: Are this node's fingers still guesses that the tracker's answers
        #: improve?  Then its probes ask for fingers too (L{Joining.join}).
        self._guessing = True
        self._nonce = 0
        #: Records refused, logged a few at a time (see L{Holding._take});
        #: made at the first refusal.
        self._refusals = None
        upkeep = self.upkeep
        node.setSlots(CHORD, self.settings.links)
        node.addPurpose(FINGER, self.settings.finger_links, self.settings.finger_idle,
                        recycle=True)
        #: Quitting with a handover, and a neighbour's quit (L{Leaving}).
        self.leaving = Leaving(self, upkeep)
        for part in (self, upkeep, upkeep.fingers, self.router, self.leaving):
            for kind, function in part.handles.items():
                node.handle(kind, MethodType(function, part))
        node.addObserver(self)

    # -- small helpers --------------------------------------------------------------

    def me(self):
        """This node as a ring peer (its id and listening address)."""
        node = self.node
        return Peer(node.id, node.host, node.port)

    def later(self, name, delay, function, *args):
        """Run function after delay, replacing what was due under name.  A
        call that ran stays under its name until the next (see L{due}):
        no wrapper to take it out, which would cost a large simulated ring
        two more objects a timer."""
        self._cancel(name)
        self._timers[name] = self.node.clock.callLater(delay, function, *args)

    def due(self, name):
        """The call still to come under name, or None."""
        call = self._timers.get(name)
        return call if call is not None and call.active() else None

    def _cancel(self, name):
        call = self._timers.pop(name, None)
        if call is not None and call.active():
            call.cancel()

    @property
    def refusals(self):
        """The L{LogThrottle} of refused records, made when first needed (a
        simulated ring of 100,000 nodes would hold one a node)."""
        if self._refusals is None:
            self._refusals = LogThrottle(self.node.clock, self._refusalsSummed)
        return self._refusals

    def every(self, period):
        """A period with +-25% jitter, so that nodes do not tick together."""
        return period * (0.75 + 0.5 * self.node.rng.random())

    def newNonce(self):
        self._nonce += 1
        return self._nonce

    def namerOf(self, peer):
        """The address group of the link that named peer (L{Naming})."""
        return self.naming.namerOf(peer)

    # -- the messages the scheme takes itself ----------------------------------------
    # Those that name peers have who named them noted (L{Naming.note})
    # first; the upkeep, its finger repair and the router take theirs
    # (their own C{handles}).

    def _nextNamed(self, link, message):
        self.naming.note(link, message)
        self._nextTold(link, message)

    #: The messages this object takes, declared once for every node (as
    #: L{twisted_bazaar.core.events.INodeEvents.delivers}): message class
    #: -> function(scheme, link, message).  Functions of the class, so
    #: every node's handler table shares them: a closure each node
    #: wrapping six handlers was 2.4 kB of a warm simulated node.
    handles = {ChordTransfer: Holding._transferred, ChordNext: Lookups._nextAsked,
               ChordNextIs: _nextNamed}

    # -- selling ------------------------------------------------------------------------

    def advertise(self, shop):
        self.publisher.advertise(shop)

    def relayChanged(self):
        """The node is reached another way: its records say so again."""
        self.publisher.republish()

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
        for name in list(self._timers):
            self._cancel(name)
        if self._refusals is not None:
            self._refusals.close()
        self.publisher.stop()
        if self._joining is not None:
            self._joining.cancel()
        self.upkeep.stop()
        self.router.stop()
        nexts, self._nexts = self._nexts or {}, None
        for question in nexts.values():
            question.end().callback(None)
        ring = self.ring
        if not self.joined or ring.alone or self.node.stopping:
            return None
        return self.leaving.quit()
