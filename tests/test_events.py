"""
Tests of L{twisted_bazaar.events}: a routed message delivered at a
node goes by its type to the handlers its observers declare, each with
the link it came on, in the order the observers were added.
"""

import importlib
import os
import pkgutil
import sys
import types

from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from twisted_bazaar import events, wire
from twisted_bazaar.events import (
    NO_DELIVERIES, EventBus, INodeEvents, MisspeltEvent, NodeObserver, ObsoleteObserver)
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK

from tests.helpers import feed, linkPeer, makeNode

LINK = object()


class _Seller(NodeObserver):
    def __init__(self, heard):
        self.heard = heard

    def _buy(self, link, message):
        self.heard.append(("seller buy", link, message))

    def _ask(self, link, message):
        self.heard.append(("seller ask", link, message))

    delivers = {Buy: _buy, Ask: _ask}


class _Watcher(NodeObserver):
    def __init__(self, heard):
        self.heard = heard

    def _any(self, link, message):
        self.heard.append(("watcher", link, message))

    delivers = {Buy: _any, BuyOK: _any}


class _Broken(NodeObserver):
    def _raise(self, link, message):
        raise RuntimeError("broken handler")

    def linkRemoved(self, peer_id):
        raise RuntimeError("broken observer")

    delivers = {Buy: _raise}


class _Late(NodeObserver):
    def __init__(self, heard, bus):
        self.heard, self.bus = heard, bus

    def nodeStopping(self):
        self.heard.append("late")


class DeliveryTests(SynchronousTestCase):
    def test_byTypeWithTheLink(self):
        """Each message goes to the handlers of its type alone, with the
        link it came on, in the order their observers were added; a type
        nobody declares goes nowhere."""
        heard = []
        bus = EventBus()
        bus.addObserver(_Watcher(heard))
        bus.addObserver(_Seller(heard))
        buy, ask, ok = Buy(5, "apple", (7, 1)), Ask(5, "apple", (7, 1)), BuyOK(
            5, "apple", (1, 7))
        for message in (buy, ask, ok, wire.Error("soldout", "none", 5, (1, 7))):
            bus.deliver(LINK, message)
        self.assertEqual(heard, [("watcher", LINK, buy), ("seller buy", LINK, buy),
                                 ("seller ask", LINK, ask), ("watcher", LINK, ok)])

    def test_tableShared(self):
        """Buses whose observers are of the same classes, added in the same
        order, share one table (a simulation holds a million nodes)."""
        first, second = EventBus(), EventBus()
        for bus in (first, second):
            bus.addObserver(_Seller([]))
            bus.addObserver(NodeObserver())
            bus.addObserver(_Watcher([]))
        self.assertIs(first.deliveries, second.deliveries)
        self.assertIs(EventBus().deliveries, NO_DELIVERIES)

    def test_removedObserverNoLongerTakes(self):
        """An observer removed takes nothing more; those after it keep
        taking theirs."""
        heard = []
        bus = EventBus()
        seller, watcher = _Seller(heard), _Watcher(heard)
        bus.addObserver(seller)
        bus.addObserver(watcher)
        bus.removeObserver(seller)
        buy = Buy(5, "apple", (7, 1))
        bus.deliver(LINK, buy)
        self.assertEqual(heard, [("watcher", LINK, buy)])

    def test_observersATuple(self):
        """A bus holds its observers as a tuple, the empty one shared until
        the first (a list and its array were 88 bytes of every simulated
        node); an observer added or removed while an event is told is
        told it from the next event on, as with the copy each event made
        of the list."""
        heard, bus = [], EventBus()
        self.assertIs(bus.observers, ())
        late = _Late(heard, bus)

        class _Adds(NodeObserver):
            def nodeStopping(self):
                heard.append("adds")
                bus.addObserver(late)
                bus.removeObserver(self)

        adds = _Adds()
        bus.addObserver(adds)
        bus.nodeStopping()
        self.assertEqual((heard, bus.observers), (["adds"], (late,)))
        bus.nodeStopping()
        self.assertEqual(heard, ["adds", "late"])

    def test_handlerShielded(self):
        """A handler that raises is logged; the next one is still called."""
        heard = []
        bus = EventBus()
        bus.addObserver(_Broken())
        bus.addObserver(_Seller(heard))
        buy = Buy(5, "apple", (7, 1))
        with capturedLogs() as events:
            bus.deliver(LINK, buy)
        self.assertEqual(heard, [("seller buy", LINK, buy)])
        [failed] = [event for event in events if "log_failure" in event]
        self.assertEqual(failed["event"], "buy")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_aFailingObserverIsNamedInOneLine(self):
        """The line names the observer's class and file, the event and the
        error (the traceback a debug line), with the field ``fault`` that
        bazaar-sim shows once a kind.  Before, it was a critical line with
        the traceback, naming ``<tests.test_events._Broken object at
        0x...>``; a simulation of a scheme that raises on every hit
        printed one a node."""
        bus = EventBus()
        bus.addObserver(_Broken())
        with capturedLogs() as events:
            bus.deliver(LINK, Buy(5, "apple", (7, 1)))
            bus.linkRemoved(9)
        said = [formatEvent(event) for event in events
                if event["log_level"] >= LogLevel.warn]
        self.assertEqual(said, [
            f"_Broken ({__file__}) failed on buy: RuntimeError: broken handler; the "
            "other observers are told (-v logs its traceback)",
            f"_Broken ({__file__}) failed on linkRemoved: RuntimeError: broken "
            "observer; the other observers are told (-v logs its traceback)"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)

    def test_pathRouterHandsTheLinkOver(self):
        """A routed message that ends its path at a node reaches the
        handlers of its type with the link its last hop handed it over on
        (no side channel to read it from)."""
        node = makeNode(1)
        heard = []
        node.addObserver(_Seller(heard))
        link = linkPeer(node, 7)
        buy = Buy(5, "apple", (7, 1))
        feed(link, buy)
        self.assertEqual(heard, [("seller buy", link, buy)])


class _OldStyle(NodeObserver):
    """Written for the delivered(message) event nodes no longer send."""

    def delivered(self, message):
        pass


class _NamesItsDelivered(NodeObserver):
    """A method called delivered, declared in the table: the current API."""

    def delivered(self, link, message):
        pass

    delivers = {Buy: delivered}


class ObsoleteObserverTests(SynchronousTestCase):
    def test_oldDeliveredRefused(self):
        """An observer that defines delivered() outside its table (a plugin
        written for the old event, which would silently hear nothing) is
        refused when added, the error naming its class and what to
        declare instead."""
        bus = EventBus()
        error = self.assertRaises(ObsoleteObserver, bus.addObserver, _OldStyle())
        self.assertIn(f"{__name__}._OldStyle defines delivered(message)", str(error))
        self.assertIn("delivers = {MessageType: handler}", str(error))
        self.assertEqual(bus.observers, ())

    def test_deliveredInItsTableTaken(self):
        """A method named delivered that the observer's table names is the
        current API, and is called."""
        bus = EventBus()
        observer = _NamesItsDelivered()
        bus.addObserver(observer)
        self.assertEqual(bus.observers, (observer,))


class _Misspelt(NodeObserver):
    def offerFound(self, item, offers):
        pass


class _WrongCase(NodeObserver):
    def nodeready(self):
        pass


class _OwnMethods(NodeObserver):
    """Methods of its own, however named, that are not like an event."""

    def offersFound(self, item, offers):
        pass

    def offerPrice(self, item):
        pass

    def startBuying(self):
        pass

    def offersFoundFor(self, item):
        pass

    def nodeReadyAt(self):
        pass


class MisspeltEventTests(SynchronousTestCase):
    def test_misspeltEventRefused(self):
        """An observer defining offerFound (for offersFound) or nodeready
        (for nodeReady) was added and never told: a plugin's typo ran
        silently.  Adding it is refused, naming the method and the event
        meant."""
        node = makeNode()
        for observer, name, meant in ((_Misspelt(), "offerFound", "offersFound"),
                                      (_WrongCase(), "nodeready", "nodeReady")):
            error = self.assertRaises(MisspeltEvent, node.addObserver, observer)
            self.assertEqual(
                str(error),
                f"{__name__}.{type(observer).__qualname__} defines {name}, which is no "
                f"event: did you mean {meant}? (the events are "
                "twisted_bazaar.events.INodeEvents's)")
            self.assertNotIn(observer, node.events.observers)

    def test_ownMethodsTaken(self):
        """Methods unlike any event's name are the observer's business."""
        node = makeNode()
        observer = _OwnMethods()
        node.addObserver(observer)
        self.assertIn(observer, node.events.observers)


class OwnObserversTests(SynchronousTestCase):
    """
    The project's own observers are looked at here, not each time a node
    starts: comparing every method of a simulated run's roles and scheme
    with every event (and importing difflib for it) was a cost of each
    run.  A plugin's, wherever its module is, is looked at as it is added.
    """

    def test_ownObserversSpeltRight(self):
        """No observer class of the project's tree (but its plugins'
        folder) has a method named a letter or two off an event."""
        found = []
        for info in pkgutil.walk_packages(twisted_bazaar.__path__, "twisted_bazaar."):
            try:
                module = importlib.import_module(info.name)
            except ImportError:
                continue    # an optional extra's module (Dask's, say)
            for value in vars(module).values():
                if (isinstance(value, type) and value.__module__ == info.name
                        and INodeEvents.implementedBy(value) and events.ours(value)):
                    found.append(value)
                    self.assertIsNone(events.misspelt(value), value)
        self.assertIn(NodeObserver, found)
        self.assertGreater(len(found), 20)

    def test_ownNotComparedAtStart(self):
        """Adding an observer of the project's own class compares nothing;
        a class of elsewhere (this test module) is compared once."""
        looked = []
        misspelt = events.misspelt
        self.patch(events, "misspelt", lambda cls: looked.append(cls) or misspelt(cls))
        self.patch(events, "_spelt", set())
        node = makeNode()
        node.addObserver(NodeObserver())
        node.addObserver(_OwnMethods())
        node.addObserver(_OwnMethods())
        self.assertEqual(looked, [_OwnMethods])

    def test_pluginsFolderCompared(self):
        """A class of a module in the plugins' folder (where anyone's
        plugin may be put) is compared as it is added."""
        module = types.ModuleType("twisted_bazaar.plugins.bazaar_misspelt_test")
        module.__file__ = os.path.join(os.path.dirname(events.__file__), "plugins",
                                       "bazaar_misspelt_test.py")
        self.patch(sys, "modules", dict(sys.modules, **{module.__name__: module}))
        typo = type("Typo", (_Misspelt,), {"__module__": module.__name__})
        self.assertFalse(events.ours(typo))
        error = self.assertRaises(MisspeltEvent, makeNode().addObserver, typo())
        self.assertIn("defines offerFound, which is no event: did you mean offersFound?",
                      str(error))
