"""
What a node tells the components plugged into it.

It sits below the node's packages (docs/architecture.md, "Layers"): the
kernel (L{twisted_bazaar.core}) tells, and the reach services
(L{twisted_bazaar.reach}) hear as roles and schemes do.

Components (roles, schemes, probes) implement L{INodeEvents}, usually by
subclassing L{NodeObserver} and overriding the events they care about.
The node holds an L{EventBus}, which is itself an L{INodeEvents}: calling
one of its methods tells every observer, each shielded from the others, so
one observer that raises is logged and the rest are still told.

A routed message that ends its path at the node is no broadcast: it goes
by its type to the handlers the observers declare (L{INodeEvents.delivers}),
each called with the link it came on, as a message on a link goes to the
handler registered for its type (L{twisted_bazaar.net.handlers}).
"""

import os
import sys

from twisted.logger import Logger, LogLevel
from zope.interface import Attribute, Interface, implementer

from twisted_bazaar.base.blame import moduleOf, why


class INodeEvents(Interface):
    """The events of one node, in the order they usually happen."""

    delivers = Attribute(
        "message class -> function(observer, link, message): what this "
        "observer takes of the path-routed messages that end their path at "
        "the node, each called with the link it came on (whose peer handed "
        "it over: the last relay, or its author).  Read once, when the "
        "observer is added (L{EventBus.addObserver}); a class attribute, "
        "so that nodes of the same observers share one L{DeliveryTable}.")

    def nodeReady():
        """The node is registered for the first time (L{Node.registered}):
        it can talk to peers."""

    def trackerRegistered():
        """A (new) tracker session registered this node, as the tracker
        showed (the pong behind the node's proof), not on its naming."""

    def trackerLost():
        """The tracker session's link closed: what this node held through
        it (a reservation, a relay offered) is gone with it."""

    def reachChanged(reach, local_port):
        """The tracker's check of this node's address told it whether it
        can be dialled from outside (``reach``, a L{Reachability}, now
        L{Node.reach}), on each check, changed or not; ``local_port``:
        the port its tracker connection left from (what its router keeps
        of it tells hole punching whether a punch can work)."""

    def relayChanged():
        """The relay this node is reached through changed (a reservation
        granted, or lost with its tracker connection), or the host it
        advertises (L{Node.host}, from where the tracker sees it): what
        advertises the node's address should say so again (L{Node.relay})."""

    def relayCircuits(relay, why):
        """Whether circuits through the relay this node holds (``relay``,
        ``HOST:PORT``) can open: ``why`` says why none seems to (so many
        accepted there failed, none opened), None once one opened, or the
        relay that had such a word was let go.  A seller sells no shared
        file while it holds: it could not deliver one."""

    def linkAdded(peer_id):
        """A link to a peer finished its handshake."""

    def linkFailed(peer_id, host, port, why):
        """A link the flood topology dialled to a peer the tracker named at
        host, port failed (``why``, the dial's reason): a buyer that gives
        up says the last (a peer of the other address family, say)."""

    def linkReplaced(peer_id):
        """A newer link to a peer took the place of its link (a punched
        link, the relayed one's): hole punching ends a punch over the old
        one and punches over a newer relayed one."""

    def punchStarted(link, host):
        """This node started a hole punch over link (a relayed one it
        opened) to the peer's ``host`` as the tracker saw it ("" when it
        names none): for whoever counts punches (the simulator)."""

    def punchEnded(link, host, why):
        """The punch over link that L{punchStarted} told ended: ``why``
        None if it punched a direct link, else why it failed (refused at
        once included)."""

    def discoveryReady():
        """The discovery scheme can find now, for a reason no other event
        tells (a chord node took its place on the ring): whatever waits
        for C{canFind} may start."""

    def linkRemoved(peer_id):
        """A link to a peer closed."""

    def findStarted(item):
        """The discovery scheme began looking for offers of item."""

    def offerArrived(item, offer):
        """One offer for item reached this node (an L{Offer})."""

    def offersFound(item, offers):
        """A find for item ended with these offers, best first."""

    def refusedToSell(seller_id):
        """A seller read this node's buys and asks and answered none of
        them (L{twisted_bazaar.roles.probe}): it will not sell, whatever
        its records say."""

    def soldNothing(seller_id):
        """A seller this node's buyer tried sold it nothing: it answered a
        buy ``soldout`` (or another never-sold answer) or ``notyet``, or
        the buyer gave up on it (silent, or nothing listening)."""

    def nodeStopping():
        """The node is shutting down: stop starting new work."""


@implementer(INodeEvents)
class NodeObserver:
    """Does nothing on every event, and takes no delivered message:
    subclass and override what you need."""

    # No slots of its own, so that an observer with slots has no dict.
    __slots__ = ()

    delivers = {}

    def nodeReady(self):
        pass

    def trackerRegistered(self):
        pass

    def trackerLost(self):
        pass

    def reachChanged(self, reach, local_port):
        pass

    def relayChanged(self):
        pass

    def relayCircuits(self, relay, why):
        pass

    def linkAdded(self, peer_id):
        pass

    def linkFailed(self, peer_id, host, port, why):
        pass

    def linkReplaced(self, peer_id):
        pass

    def punchStarted(self, link, host):
        pass

    def punchEnded(self, link, host, why):
        pass

    def discoveryReady(self):
        pass

    def linkRemoved(self, peer_id):
        pass

    def findStarted(self, item):
        pass

    def offerArrived(self, item, offer):
        pass

    def offersFound(self, item, offers):
        pass

    def refusedToSell(self, seller_id):
        pass

    def soldNothing(self, seller_id):
        pass

    def nodeStopping(self):
        pass


def _failed(log, observer, event, error):
    """An observer raised on event (a plugin's bug, most likely): one
    error line naming its class and file, with the field ``fault`` that
    the simulator shows once a kind; the traceback a debug line (-v)."""
    log.failure("the traceback of {observer!r} on {event}", observer=observer,
                event=event, level=LogLevel.debug)
    log.error("{fault} failed on {event}: {why}; the other observers are told "
              "(-v logs its traceback)", event=event, why=why(error),
              fault=f"{type(observer).__qualname__} ({moduleOf(observer)})")


def _broadcast(name):
    def broadcast(self, *args):
        for observer in self.observers:
            try:
                getattr(observer, name)(*args)
            except Exception as e:
                _failed(self.log, observer, name, e)

    broadcast.__name__ = name
    broadcast.__doc__ = INodeEvents[name].getDoc()
    return broadcast


class DeliveryTable:
    """
    message class -> ((function, index of the observer it is called on),
    ...), in the order the observers were added.  Never changed once made:
    L{with_} gives the table with one observer's entries more, made once
    for all the nodes that add it (a simulation holds a million nodes of
    the same few observers).
    """

    __slots__ = ("entries", "_next")

    def __init__(self, entries=None):
        self.entries = entries or {}
        #: (index, the observer's entries) -> the table with them added.
        self._next = {}

    def with_(self, delivers, index):
        """This table with the entries of ``delivers`` (an observer's
        L{INodeEvents.delivers}) for the observer at index."""
        if not delivers:
            return self
        key = (index, tuple(delivers.items()))
        table = self._next.get(key)
        if table is None:
            entries = dict(self.entries)
            for kind, function in delivers.items():
                entries[kind] = entries.get(kind, ()) + ((function, index),)
            table = self._next[key] = DeliveryTable(entries)
        return table


class ObsoleteObserver(TypeError):
    """An observer written for the C{delivered(message)} event, which no
    node calls any more: its messages would never reach it."""


def _refuseOldDelivered(observer):
    """
    Refuse an observer whose class defines C{delivered} without naming it
    in its L{INodeEvents.delivers} table: a plugin written before
    delivered messages went by type would otherwise be built, run, and
    silently never hear of a delivered message.

    @raise ObsoleteObserver: saying what to declare instead.
    """
    cls = type(observer)
    method = getattr(cls, "delivered", None)
    if callable(method) and method not in observer.delivers.values():
        raise ObsoleteObserver(
            f"{cls.__module__}.{cls.__qualname__} defines delivered(message), which "
            "no node calls any more: declare the messages it takes as a class "
            "table, delivers = {MessageType: handler}, each handler called "
            "(observer, link, message) (README.md, \"Writing a role\")")


class MisspeltEvent(ObsoleteObserver):
    """An observer defining a method named nearly as an event, which no
    node calls by that name: it would never be told."""


#: The events' names, and each in lower case, for L{_refuseMisspelt}.
_EVENTS = tuple(name for name in INodeEvents.names() if name != "delivers")
_LOWER = {name.lower(): name for name in _EVENTS}

#: The classes L{_refuseMisspelt} found none in: it looks once a class.
_spelt = set()
#: The project's own tree, and its plugins' folder (where a plugin of
#: anyone's may be put): the suite looks at every observer of the tree
#: outside that folder (L{misspelt}, tests/test_events.py), so a node
#: does not (difflib's import and its comparisons with every method of a
#: simulated run's roles and scheme were a cost of each run).
_OWN = os.path.dirname(os.path.abspath(__file__)) + os.sep
_PLUGINS = os.path.join(_OWN, "plugins") + os.sep


def ours(cls):
    """Whether cls is the project's own (not a plugin's): defined in its
    tree, outside its plugins' folder."""
    path = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if path is None:
        return False
    path = os.path.abspath(path)
    return path.startswith(_OWN) and not path.startswith(_PLUGINS)


def _refuseMisspelt(observer):
    """
    Refuse an observer whose class defines a public method named nearly
    as an event (C{offerFound}, C{nodeready}) but not as one: a plugin's
    typo would otherwise build and run, never told of that event.

    @raise MisspeltEvent: naming the method and the event meant.
    """
    cls = type(observer)
    if cls in _spelt:
        return
    if not ours(cls):
        found = misspelt(cls)
        if found is not None:
            name, meant = found
            raise MisspeltEvent(
                f"{cls.__module__}.{cls.__qualname__} defines {name}, which is no "
                f"event: did you mean {meant}? (the events are "
                "twisted_bazaar.events.INodeEvents's)")
    _spelt.add(cls)


def misspelt(cls):
    """(the first public method of an observer's class named a letter or
    two off an event, the event), or None."""
    from difflib import get_close_matches

    for name in sorted(set(dir(cls)) - set(dir(NodeObserver))):
        if name.startswith("_") or name in _EVENTS or not callable(getattr(cls, name)):
            continue
        # A letter or two off, not a name that merely starts as one
        # (a helper's offersFoundFor is its own).
        meant = _LOWER.get(name.lower()) or next(
            (event for event in get_close_matches(name, _EVENTS, n=3, cutoff=0.85)
             if abs(len(event) - len(name)) <= 1), None)
        if meant is not None:
            return name, meant
    return None


#: The table of a node no observer takes a delivered message of.
NO_DELIVERIES = DeliveryTable()


@implementer(INodeEvents)
class EventBus:
    """
    Tells every observer of a node, in the order they were added.

    @ivar observers: the L{INodeEvents} providers told of each event, a
        tuple made again at each change (a node's few, added as it is
        built): no list and its array on every simulated node (40 bytes
        of each), and no copy of it at every event to tell.
    @ivar deliveries: the L{DeliveryTable} of their L{INodeEvents.delivers}.
    """

    # Slots, not a dict: a simulation holds one a node.
    __slots__ = ("observers", "deliveries")

    log = Logger()

    def __init__(self):
        self.observers = ()
        self.deliveries = NO_DELIVERIES

    def addObserver(self, observer):
        """
        Tell observer of every event from now on.

        @raise TypeError: if it does not provide L{INodeEvents}.
        @raise ObsoleteObserver: if it defines the C{delivered} event the
            node no longer has, rather than declaring L{INodeEvents.delivers}.
        @raise MisspeltEvent: if it defines a method named nearly as an
            event (L{_refuseMisspelt}).
        """
        if not INodeEvents.providedBy(observer):
            raise TypeError(f"{observer!r} does not provide INodeEvents "
                            "(subclass NodeObserver)")
        _refuseOldDelivered(observer)
        _refuseMisspelt(observer)
        self.observers += (observer,)
        self.deliveries = self.deliveries.with_(observer.delivers,
                                                len(self.observers) - 1)

    def removeObserver(self, observer):
        if observer in self.observers:
            left = list(self.observers)
            left.remove(observer)
            self.observers = tuple(left)
            table = NO_DELIVERIES
            for index, kept in enumerate(self.observers):
                table = table.with_(kept.delivers, index)
            self.deliveries = table

    def deliver(self, link, message):
        """
        A path-routed message ended its path at this node, handed over on
        link: each handler its type has (L{INodeEvents.delivers}), in the
        order their observers were added, each shielded from the others.
        """
        handlers = self.deliveries.entries.get(type(message))
        if handlers is None:
            return
        observers = self.observers
        for function, index in handlers:
            observer = observers[index]
            try:
                function(observer, link, message)
            except Exception as e:
                _failed(self.log, observer, message.TYPE, e)

    #: A bus takes no delivered message itself: it hands them on (L{deliver}).
    delivers = {}

    for _name in INodeEvents.names():
        if _name != "delivers":
            locals()[_name] = _broadcast(_name)
    del _name
