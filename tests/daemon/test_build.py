"""
Tests for twisted_bazaar.daemon.build: the one place a node's parts are
built and plugged into each other.
"""

import random
from types import SimpleNamespace

from twisted.application.service import Service
from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject
from zope.interface import directlyProvides, implementer

from tests.helpers import FakeConnector
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import INode, Node
from twisted_bazaar.daemon import build
from twisted_bazaar.daemon.build import (
    NodeParts,
    buildNode,
    configured,
    plugMembership,
    plugScheme,
    serveTransport,
)
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.net.transfers import NodeTransfers
from twisted_bazaar.reach.reachable.offering import RelayOffering
from twisted_bazaar.reach.reachable.reserving import ReservationService
from twisted_bazaar.transports.relay.limits import NODE_LIMITS
from twisted_bazaar.transports.path import DIRECT
from twisted_bazaar.base.options import PluginOption
from twisted_bazaar.daemon.pluginfault import PluginFault
from twisted_bazaar.daemon.registry import discoveryPlugins, rolePlugins
from twisted_bazaar.events import INodeEvents, MisspeltEvent
from twisted_bazaar.roles import Role
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery
from twisted_bazaar.schemes.interfaces import IInProcess, ITopologyProvider
from twisted_bazaar.reach.punch.tcp.messages import PunchConnect


def _node():
    return Node(task.Clock(), random.Random(0), FakeConnector())


class BuildNodeTests(SynchronousTestCase):
    """buildNode makes the node and its parts and connects them."""

    def test_partsArePluggedIn(self):
        """The scheme, the neighbours it keeps and every role are the
        node's, in the order the roles were asked for."""
        flood = discoveryPlugins()["flood"]
        roles = rolePlugins()
        parts = buildNode(task.Clock(), random.Random(0), FakeConnector(),
                          scheme=(flood, configured(flood, {"ttl": 3})),
                          roles=[(roles["seller"], configured(roles["seller"], {
                                     "sell": [("apple", 2)]})),
                                 (roles["buyer"], configured(roles["buyer"], {
                                     "want": ["pear"]}))])
        node = parts.node
        self.assertIsInstance(parts, NodeParts)
        verifyObject(INode, node)
        self.assertIs(node.discovery, parts.discovery)
        self.assertEqual(parts.discovery.ttl, 3)
        self.assertIs(node.topology, parts.discovery.topology)
        self.assertEqual(list(parts.roles), ["seller", "buyer"])
        self.assertEqual(node.roles, [parts.roles["seller"], parts.roles["buyer"]])

    def test_punchingPluggedAfterTheRoles(self):
        """A node given its punches' dialer punches: its dialer's sources
        hold its Punching, whose paths it dials (its TCP transport from a port, by
        the punches' dialer), which observes the node after its roles and takes the
        punch messages; a wait of 0 holds no link back, punching still on;
        not enabled, it punches none; none given, none."""
        roles = rolePlugins()
        flood = discoveryPlugins()["flood"]
        dialer = SimpleNamespace(addressed=True)
        parts = buildNode(task.Clock(), random.Random(0), FakeConnector(),
                          scheme=(flood, configured(flood, {})),
                          roles=[(roles["buyer"], configured(roles["buyer"], {
                              "want": ["pear"]}))], punch=(dialer, 3.0))
        node, punching = parts.node, parts.punching
        self.assertEqual(list(node.dialer.sources), [punching])
        self.assertEqual((node.dialer.wait, punching.enabled), (3.0, True))
        self.assertEqual((punching.puncher.found, node.dialer.transports.of(DIRECT).fromPort),
                         (node.dialer.sources.found, dialer),
                         "its paths announced to the dialer, dialled from a port by dialer")
        observers = node.events.observers
        self.assertLess(observers.index(parts.roles["buyer"]), observers.index(punching))
        self.assertIn(PunchConnect, node.overlay.handlers.table.entries)
        background = buildNode(task.Clock(), random.Random(0), FakeConnector(),
                               punch=(dialer, 0, True))
        self.assertEqual((background.node.dialer.wait, background.punching.enabled),
                         (0, True))
        off = buildNode(task.Clock(), random.Random(0), FakeConnector(),
                        punch=(dialer, 0, False))
        self.assertFalse(off.punching.enabled)
        none = buildNode(task.Clock(), random.Random(0), FakeConnector())
        self.assertEqual((none.punching, list(none.node.dialer.sources)), (None, []))

    def test_servicesAcrossNat(self):
        """Every node has its reservation service and, given relay limits,
        its relay offering (its relay limited as given); each observes the
        node after its punching (they hear of its reach in that order), and
        they, punching first, are the services its runner starts
        (NodeParts.services)."""
        parts = buildNode(task.Clock(), random.Random(0), FakeConnector(),
                          punch=(SimpleNamespace(addressed=True), 3.0),
                          relay=(NODE_LIMITS, 7.0))
        observers = parts.node.events.observers
        self.assertIsInstance(parts.reservations, ReservationService)
        self.assertIsInstance(parts.offering, RelayOffering)
        self.assertEqual((parts.offering.relay.limits, parts.offering.relay.rates.rate),
                         (NODE_LIMITS, 7.0))
        self.assertEqual([observers.index(part) for part in (
            parts.punching, parts.reservations, parts.offering)],
            sorted(observers.index(part) for part in (
                parts.punching, parts.reservations, parts.offering)))
        self.assertEqual(parts.services,
                         [parts.punching, parts.reservations, parts.offering])
        plain = buildNode(task.Clock(), random.Random(0), FakeConnector())
        self.assertIsNone(plain.offering)
        self.assertEqual(plain.services, [plain.reservations])

    def test_meterComesFirst(self):
        """The meter sees the node before any part is built."""
        seen = []
        flood = discoveryPlugins()["flood"]
        buildNode(task.Clock(), random.Random(0), FakeConnector(),
                  scheme=(flood, configured(flood, {})),
                  meter=lambda node: seen.append(node.discovery))
        self.assertEqual(seen, [None])

    def test_constructorsAttachNothing(self):
        """A part built by hand is not the node's until it is plugged in:
        no constructor writes to the node."""
        node = _node()
        scheme = FloodDiscovery(node)
        membership = Membership(node)
        self.assertEqual((node.discovery, node.topology, node.membership, list(node.roles)),
                         (None, None, None, []))
        self.assertIs(plugMembership(node, membership), membership)
        self.assertIs(node.membership, membership)
        node.addRole(scheme)
        node.addRole(scheme)
        self.assertEqual(node.roles, [scheme])

    def test_configuredRefuses(self):
        """Settings a plugin refuses raise its ValueError."""
        buyer = rolePlugins()["buyer"]
        self.assertRaises(ValueError, configured, buyer, {"quantity": 0})


class _Faulty:
    """A plugin whose build is the test's."""

    name = "faulty"
    options = ()

    def __init__(self, build):
        self.build = build


class PluginFaultTests(SynchronousTestCase):
    """A plugin whose build raises, or builds what is no role or scheme, is
    refused in one line naming the plugin and its file: it was a
    traceback from inside the node (AttributeError: 'R' object has no
    attribute 'setServiceParent'), or a KeyError of the plugin's own."""

    where = f"the role plugin 'faulty' ({__file__})"

    def build(self, build, kind="role"):
        plugin = (_Faulty(build), {})
        if kind == "role":
            return buildNode(task.Clock(), random.Random(0), FakeConnector(), roles=[plugin])
        return buildNode(task.Clock(), random.Random(0), FakeConnector(), scheme=plugin)

    def test_aBuildThatRaises(self):
        def build(node, settings):
            raise KeyError("boom")

        error = self.assertRaises(PluginFault, self.build, build)
        self.assertEqual(str(error), f"{self.where} failed to build: KeyError: 'boom'")
        self.assertIsInstance(error.__cause__, KeyError)

    def test_aRoleThatIsNoRole(self):
        class NotARole:
            pass

        error = self.assertRaises(PluginFault, self.build, lambda node, settings: NotARole())
        self.assertEqual(str(error), f"{self.where} built NotARole, which does not provide "
                         "IService or INodeEvents: subclass twisted_bazaar.roles.Role")

    def test_aSchemeThatIsNoScheme(self):
        error = self.assertRaises(PluginFault, self.build,
                                  lambda node, settings: Service(), "scheme")
        self.assertEqual(
            str(error),
            f"the discovery scheme plugin 'faulty' ({__file__}) built Service, which does "
            'not provide IDiscovery: see "Adding a discovery scheme" in '
            "docs/architecture.md")

    def test_anObsoleteObserverSaysItsOwnFix(self):
        """An observer refused for its own reason (it defines delivered, or
        misspells an event) is told as it is: it names its class."""
        class Typo(Role):
            def offerFound(self, item, offers):
                pass

        error = self.assertRaises(MisspeltEvent, self.build,
                                  lambda node, settings: Typo(node))
        self.assertIn("defines offerFound, which is no event: did you mean offersFound?",
                      str(error))


class _Counted(Role):
    """A role of its own class, for the look-ups of its interfaces."""


class _HalfARole(Service):
    """A service, and no node observer unless an object is declared one."""


class CheckedOnceTests(SynchronousTestCase):
    """What a role's class provides is looked at once a class: a
    simulation builds a million of one class.  The check's cache took only
    objects without ``__provides__``, which every object of a class that
    declares an interface has (zope's descriptor), so it took none and
    every role was looked at again."""

    build = PluginFaultTests.build

    def test_aClassCheckedOnce(self):
        self.build(lambda node, settings: _Counted(node))
        self.assertIn((_Counted, build.ROLE), build._PROVIDING)

    def test_anObjectsOwnDeclarationNotTakenForItsClass(self):
        """A role that provides INodeEvents by its own declaration, not its
        class's, is taken; another of its class, without it, is refused."""
        def declared(node, settings):
            made = _HalfARole()
            directlyProvides(made, INodeEvents)
            return made

        self.build(declared)
        self.assertNotIn((_HalfARole, build.ROLE), build._PROVIDING)
        error = self.assertRaises(PluginFault, self.build,
                                  lambda node, settings: _HalfARole())
        self.assertIn("built _HalfARole, which does not provide INodeEvents", str(error))


class ServeTransportTests(SynchronousTestCase):
    def test_servedWithTheBookAndTheFactoriesNotTheNode(self):
        """A transport plugin's made transport is served with the node's
        book and the factories of its links and transfers, each the
        node's, and of its relay as given (None: it relays for nobody):
        it never holds the node."""
        node = buildNode(task.Clock(), random.Random(0), FakeConnector()).node
        served = []
        made = SimpleNamespace(serve=lambda *given: served.append(given) or "service")
        relay = object()
        self.assertEqual(serveTransport(made, node), "service")
        self.assertEqual(serveTransport(made, node, relay), "service")
        [(book, links, transfers, none), (_, _, _, given)] = served
        self.assertIs(book, node.whereabouts.book)
        self.assertIsInstance(links, OverlayFactory)
        self.assertIsInstance(transfers, NodeTransfers)
        self.assertEqual((links.node, transfers.node), (node, node))
        self.assertEqual((none, given), (None, relay))


class _Plugin:
    """A plugin of one option, ``size`` (default 1), whose settings are its
    option values; it would have 2 in process, but does not say so."""

    options = (PluginOption("size", "a size", int, 1),)
    inProcess = {"size": 2}

    def configure(self, config):
        return config


@implementer(IInProcess)
class _InProcessPlugin(_Plugin):
    """The same, declaring its in-process values."""


class _Scheme:
    """A scheme that keeps neighbours but does not say so."""

    topology = "its neighbours"


@implementer(ITopologyProvider)
class _TopologyScheme(_Scheme):
    """The same, declaring its topology."""


class OptionalFeatureTests(SynchronousTestCase):
    """The builder uses a plugin's or scheme's optional feature only when
    it declares its interface."""

    def test_inProcessValuesOfADeclaringPlugin(self):
        self.assertEqual(configured(_InProcessPlugin(), {}), {"size": 2})
        self.assertEqual(configured(_InProcessPlugin(), {"size": 3}), {"size": 3})
        self.assertEqual(configured(_InProcessPlugin(), {}, inProcess=False),
                         {"size": 1})

    def test_undeclaredInProcessValuesAreIgnored(self):
        self.assertEqual(configured(_Plugin(), {}), {"size": 1})

    def test_topologyOfAProviderIsPlugged(self):
        node, scheme = _node(), _TopologyScheme()
        self.assertIs(plugScheme(node, scheme), scheme)
        self.assertEqual((node.discovery, node.topology), (scheme, "its neighbours"))

    def test_undeclaredTopologyIsNotPlugged(self):
        node, scheme = _node(), _Scheme()
        plugScheme(node, scheme)
        self.assertEqual((node.discovery, node.topology), (scheme, None))
