"""
What WebSocket brings to the daemons through its plugin: --ws-port on
both, --ws-peer on a node, ws: among a node's --tracker endpoints (each
bad value refused in one line), and the services they turn on, none
without them.
"""

import tempfile
from types import SimpleNamespace

from twisted.application.service import MultiService
from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.transports.websocket.limits import OPENING
from zope.interface.verify import verifyObject

from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.daemon.registry import transportPlugins
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.tap.node import Options as NodeOptions
from twisted_bazaar.tap.node import _trackerWays, _transports
from twisted_bazaar.transports.path import CONFIGURED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.tap.tracker import Options as TrackerOptions
from twisted_bazaar.tap.tracker import makeService as makeTrackerService
from twisted_bazaar.tap.transports import transportValues
from twisted_bazaar.transports.plugin import ITransportPlugin
from twisted_bazaar.transports.websocket.plugin import WebSocketPlugin
from twisted_bazaar.transports.websocket.service import NodeWebSocket, WebSocketService
from twisted_bazaar.wire.ids import parseWireId

SELLER = ["--role", "seller", "--sell", "apple=1"]
PEER = "f89a50638f8638e25d4c0ef9453feca9"


def parsed(cls, args):
    options = cls()
    options.parseOptions(args)
    return options


def valuesOf(options):
    [values] = [values for plugin, values in transportValues(options)
                if isinstance(plugin, WebSocketPlugin)]
    return values


class PluginTests(SynchronousTestCase):

    def test_found(self):
        plugin = transportPlugins()["WebSocket"]
        self.assertIsInstance(plugin, WebSocketPlugin)
        self.assertTrue(verifyObject(ITransportPlugin, plugin))


class NodeOptionTests(SynchronousTestCase):
    """--ws-port and --ws-peer on a node, and ws: trackers."""

    def test_wsPortAndPeers(self):
        options = parsed(NodeOptions, SELLER + ["--ws-port", "443", "--ws-peer",
                                                f"{PEER}=192.0.2.1:443", "--ws-peer",
                                                f"{PEER}=[::1]:80"])
        self.assertEqual(valuesOf(options), {
            "ws-port": 443,
            "ws-names": None,
            "ws-peer": [(parseWireId(PEER), "192.0.2.1", 443),
                        (parseWireId(PEER), "::1", 80)]})

    def test_noneByDefault(self):
        self.assertEqual(valuesOf(parsed(NodeOptions, SELLER)),
                         {"ws-port": None, "ws-names": None, "ws-peer": []})

    def test_badValuesInOneLine(self):
        """Each in one line; a peer named with its value, as --quic-peer's
        are (``--ws-peer VALUE: WHY``, not ``--ws-peer: VALUE: WHY``)."""
        for args, why in [
                (["--ws-port", "70000"], "--ws-port: wants a whole number from 0 to "
                                         "65535, not 70000"),
                (["--ws-peer", "nobody=192.0.2.1:443"],
                 "--ws-peer nobody=192.0.2.1:443: ID is a node's id"),
                (["--ws-peer", f"{PEER}=host.example:443"],
                 f"--ws-peer {PEER}=host.example:443: give ID=HOST:PORT, HOST an IP "
                 "address")]:
            with self.assertRaises(usage.UsageError) as caught:
                parsed(NodeOptions, SELLER + args)
            self.assertIn(why, str(caught.exception))

    def test_aWsTracker(self):
        options = parsed(NodeOptions, SELLER + ["--tracker", "ws:192.0.2.10:80"])
        self.assertEqual((str(options.tracker), options.tracker.endpoint),
                         ("192.0.2.10:80", "ws:192.0.2.10:80"))

    def test_trackerHelpNamesWs(self):
        self.assertIn("ws:HOST:PORT for its WebSocket port", NodeOptions().docs["tracker"])

    def test_inItsOwnHelpSection(self):
        self.assertIn(("The WebSocket transport", ("ws-port", "ws-names", "ws-peer"), ""),
                      NodeOptions().helpGroups())

    def test_aConfigFileGivesThem(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as config:
            config.write(f'ws-port = "8080"\nws-peer = ["{PEER}=192.0.2.1:443"]\n')
        options = parsed(NodeOptions, SELLER + ["--config", config.name])
        self.assertEqual(valuesOf(options)["ws-port"], 8080)
        self.assertEqual(len(valuesOf(options)["ws-peer"]), 1)


class NodeTransportTests(SynchronousTestCase):

    def test_noneWithoutItsOptions(self):
        self.assertIsNone(WebSocketPlugin().nodeTransport(
            Clock(), {"ws-port": None, "ws-names": None, "ws-peer": []}, "", [].append))

    def test_aPeerAloneDialsAndListensOnNone(self):
        make = WebSocketPlugin().nodeTransport(
            Clock(), {"ws-port": None, "ws-names": None, "ws-peer": [(1, "192.0.2.1", 443)]},
            "127.0.0.1",
            [].append)
        made = make(ChannelKey.generate(Identity.generate()), None)
        self.assertIsInstance(made, NodeWebSocket)
        self.assertFalse(made.listens)
        self.assertEqual(made.peers, [(1, "192.0.2.1", 443)])

    def test_aWsTrackerAloneDials(self):
        """A node that reaches its tracker by ``ws:`` may be where only
        HTTP(S) leaves: given neither option, it dials the WebSocket paths
        the tracker names, and listens on no port."""
        values = {"ws-port": None, "ws-names": None, "ws-peer": []}
        make = WebSocketPlugin().nodeTransport(Clock(), values, "", [].append,
                                               trackerKinds={"tcp", "ws"})
        made = make(ChannelKey.generate(Identity.generate()), None)
        self.assertFalse(made.listens)
        self.assertEqual(made.peers, [])
        self.assertIsNone(WebSocketPlugin().nodeTransport(
            Clock(), values, "", [].append, trackerKinds={"tcp", "tls"}))

    def test_theDaemonTellsItsTrackersKinds(self):
        """bazaar-node with only ``--tracker ws:`` has a WebSocket
        transport (that it listens on no port:
        L{test_aWsTrackerAloneDials}); with a TCP tracker, none."""
        site = SimpleNamespace(interface="")
        status = SimpleNamespace(fail=[].append)
        ws = parsed(NodeOptions, SELLER + ["--tracker", "ws:192.0.2.10:80"])
        [make] = _transports(Clock(), ws, site, status)
        made = make(ChannelKey.generate(Identity.generate()), None)
        self.assertEqual(made.transport.kind, WEBSOCKET)
        tcp = parsed(NodeOptions, SELLER + ["--tracker", "192.0.2.10:7700"])
        self.assertEqual(_transports(Clock(), tcp, site, status), ())

    def test_aPort(self):
        make = WebSocketPlugin().nodeTransport(
            Clock(), {"ws-port": 0, "ws-names": None, "ws-peer": []}, "127.0.0.1",
            [].append)
        self.assertTrue(make(ChannelKey.generate(Identity.generate()), None).listens)


class TrackerTests(SynchronousTestCase):

    def test_wsPort(self):
        self.assertEqual(valuesOf(parsed(TrackerOptions, ["--ws-port", "0"])),
                         {"ws-port": 0, "ws-names": None})
        with self.assertRaises(usage.UsageError) as caught:
            parsed(TrackerOptions, ["--ws-port", "70000"])
        self.assertIn("--ws-port: wants a whole number from 0 to 65535",
                      str(caught.exception))

    def test_itsPortServedBesideTheTracker(self):
        service = makeTrackerService(parsed(TrackerOptions, [
            "--ws-port", "0", "--no-udp", "--listen", "tcp:0"]))
        self.assertIsInstance(service, MultiService)
        self.assertEqual([type(child) for child in service][1:], [WebSocketService])

    def test_noPortWithoutIt(self):
        service = makeTrackerService(parsed(TrackerOptions, ["--no-udp", "--listen",
                                                             "tcp:0"]))
        self.assertNotIsInstance(service, MultiService)


class TrackerAccountsTests(SynchronousTestCase):
    def test_theOpeningsOfItsPort(self):
        """The tracker's port, when on, holds its handshakes in an account
        of the declared L{OPENING}: the tracker keeps them apart."""
        plugin = WebSocketPlugin()
        self.assertEqual(plugin.trackerAccounts({"ws-port": None, "ws-names": None}), ())
        self.assertEqual(plugin.trackerAccounts({"ws-port": 0, "ws-names": None}),
                         (OPENING,))
        self.assertTrue(LIMITS.declares(OPENING))


class TrackerWayTests(SynchronousTestCase):
    """The path a node dials its tracker's relay by, for each --tracker:
    the tracker's WebSocket port for a ws: tracker (which serves the relay
    too), None (the relay's own port) for any other."""

    def test_eachTrackersWay(self):
        options = parsed(NodeOptions, SELLER + ["--tracker", "192.0.2.10:7700",
                                                "--tracker", "ws:192.0.2.11:80"])
        self.assertEqual(_trackerWays(options),
                         [None, Path(WEBSOCKET, "192.0.2.11", 80, word=CONFIGURED)])
