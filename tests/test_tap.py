"""
Tests for twisted_bazaar.tap: the options of ``twistd bazaar-tracker`` and
``twistd bazaar-node``, their errors, their help, and the plugins that make
twistd find them.
"""

import io
import re
import os
import shutil
import socket
import sys
import tempfile

from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs, formatEvent
from twisted.python import usage
from twisted.scripts.twistd import ServerOptions
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import plugins
from twisted_bazaar.core.node import Node
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.roles.buyer import Buyer
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery
from twisted_bazaar.schemes.index.node import IndexDiscovery
from twisted_bazaar.daemon.pluginfault import PluginFault
from twisted_bazaar.daemon.services import ListeningService, NodeService
from twisted_bazaar.daemon.tracker import UdpReachService
from twisted_bazaar.tap.exitstatus import ExitStatus
from twisted_bazaar.tap.node import Options as NodeOptions
from twisted_bazaar.tap.node import makeService as makeNodeService
from twisted_bazaar.tap.stopsignals import StopOnce
from twisted_bazaar.tap.tracker import Options as TrackerOptions
from twisted_bazaar.tap.tracker import makeService as _makeTrackerService
from twisted_bazaar.tap.tracker import udpPorts
from twisted_bazaar.transports.path import NAMED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.web.watch import StatusWatcher
from twisted_bazaar.wire.ids import parseWireId

SELLER = ["--role", "seller", "--sell", "apple=3"]


#: A tracker extension plugin whose build raises.
_BROKEN_EXTENSION = """
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.tracker.extension import ITrackerExtensionPlugin


@implementer(IPlugin, ITrackerExtensionPlugin)
class Boom:
    name = "boomx"

    def build(self, tracker):
        raise RuntimeError("boom")


boom = Boom()
"""


def makeTrackerService(options, reactor=None):
    """The tracker daemon's service, built on a memory reactor unless one
    is given: on the global one, which pytest-twisted runs once a test of
    its has, the build marks the tracker's state directory as running at
    once (L{twisted_bazaar.daemon.tracker.runOn}), and the next build for
    the same directory (the default one, the same for each) then stopped
    that reactor: every pytest-twisted test after it in the process failed
    ('illegal switch in blockon')."""
    return _makeTrackerService(options, MemoryReactorClock() if reactor is None else reactor)


#: A role plugin written for the delivered(message) event nodes no longer
#: send (delivered messages go by type: INodeEvents.delivers).
_OLD_ROLE = """
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.roles import IRolePlugin, Role


class OldWatch(Role):
    def delivered(self, message):
        pass


@implementer(IPlugin, IRolePlugin)
class OldWatchPlugin:
    name = "oldwatch"
    description = "watches delivered messages the old way"
    options = ()

    def configure(self, config):
        return {}

    def build(self, node, settings):
        return OldWatch(node)


oldwatch = OldWatchPlugin()
"""


def _configFile(test, text):
    """The path of a node.toml holding text, removed after test."""
    folder = tempfile.mkdtemp(prefix="bazaar-tap-")
    path = os.path.join(folder, "node.toml")
    test.addCleanup(os.rmdir, folder)
    test.addCleanup(os.remove, path)
    with open(path, "w") as f:
        f.write(text)
    return path


def _parse(args, cls=NodeOptions):
    """Parse args standalone (no twistd parent): errors raise UsageError."""
    options = cls()
    options.parseOptions(args)
    return options


class _FakeTwistd(usage.Options):
    """Stands in for twistd's ServerOptions: a parent with a pid file."""

    optParameters = [["pidfile", None, "twistd.pid", "Name of the pid file."],
                     ["logfile", "l", None, "Log to a specified file, - for stdout."],
                     ["rundir", "d", ".", "Change to a supplied directory before running."]]


def _parseUnder(args, cls=NodeOptions, parent_args=(), command="bazaar-node"):
    """Parse args as twistd does: the parent is parsed first and names the
    sub-command before the sub-options are parsed."""
    parent = _FakeTwistd()
    parent.parseOptions(list(parent_args))
    parent.subCommand = command
    options = cls()
    options.parent = parent
    options.parseOptions(args)
    return parent, options


class NodeDefaultsTests(SynchronousTestCase):
    """What ``bazaar-node`` does when given no more than its role."""

    def test_defaults(self):
        options = _parse(SELLER)
        self.assertEqual(
            {key: options[key] for key in (
                "tracker", "listen", "host", "neighbours", "max-connections",
                "direct-slots", "direct-idle", "handshake-limit", "connection-rate",
                "discovery", "retry-initial", "retry-max", "frame-limit", "handshake-timeout",
                "ping-interval", "verbose")},
            {"tracker": ["tcp:127.0.0.1:7700"], "listen": "tcp:0", "host": "",
             "neighbours": 3, "max-connections": 8, "direct-slots": 8,
             "direct-idle": 30.0, "handshake-limit": 4, "connection-rate": 100.0,
             "discovery": "flood",
             "retry-initial": 0.5, "retry-max": 30.0,
             "frame-limit": 65536, "handshake-timeout": 10.0,
             "ping-interval": 10.0, "verbose": 0})
        # ttl is the flood scheme's option now, in the scheme's settings.
        plugin, settings = options.scheme
        self.assertEqual((plugin.name, settings), ("flood", {"ttl": 7,
                                                             "seen_limit": 10_000}))

    def test_punchesInTheBackground(self):
        """A node punches over its relayed links by default, nothing
        waiting for the punch; --no-punch: it punches none (and refuses
        its peers' punches).  Its port mapping is its dialer's other source
        of paths (of the node's own: it punches none)."""
        dialer = makeNodeService(_parse(SELLER)).node.dialer
        punching, mapping = dialer.sources
        self.assertEqual((dialer.wait, punching.enabled), (0, True))
        self.assertEqual((punching.toPeers, mapping.toPeers), (True, False))
        off, _ = makeNodeService(_parse(SELLER + ["--no-punch"])).node.dialer.sources
        self.assertFalse(off.enabled)
        # With QUIC its refusals leave UDP open; --no-quic: they say no UDP
        # punch works with it (issue 96: its peers asked the tracker).
        self.assertTrue(punching.puncher.udp)
        noQuic, _ = makeNodeService(_parse(SELLER + ["--no-quic"])).node.dialer.sources
        self.assertFalse(noQuic.puncher.udp)

    def test_aStopSignalQuietsTheTrackersLoss(self):
        """A node and its tracker stopped by one SIGTERM: the tracker's
        close came in the reactor's turn after the signal, before the
        node's shutdown began, and the node said `lost the tracker ...;
        trying again in 0.7 s` (s55-user).  The node's tracker session
        reads the daemon's stop signal (L{StopOnce.stopping})."""
        from twisted_bazaar.tap import node

        stopper = StopOnce(None)
        self.patch(node, "startStopping", lambda options, reactor: stopper)
        client = makeNodeService(_parse(SELLER)).membership._client
        self.assertFalse(client.ownerStopping())
        stopper.stopping = True
        self.assertTrue(client.ownerStopping())

    def test_anOptionOfOneValueGivenTwice(self):
        """--share /a --share /b shared only /b, in silence: a plugin's
        option of one value given twice is refused, naming both; one
        repeatable (--sell) is not."""
        first = tempfile.mkdtemp(prefix="bazaar-tap-")
        second = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(os.rmdir, first)
        self.addCleanup(os.rmdir, second)
        with self.assertRaises(usage.UsageError) as caught:
            _parse(["--role", "seller", "--share", first, "--share", second])
        self.assertEqual(str(caught.exception),
                         f"--share is given twice ({first}, then {second}), and takes "
                         "one value: give it once")
        options = _parse(SELLER + ["--sell", "pear=1"])
        self.assertEqual(options.roles[0][1]["stock"], {"apple": 3, "pear": 1})

    def test_punchWaitIsGone(self):
        """--punch-wait, gone, is refused saying what to do now."""
        for given in (["--punch-wait", "10"], ["--punch-wait=0"]):
            with self.assertRaises(usage.UsageError) as caught:
                _parse(SELLER + given)
            self.assertEqual(str(caught.exception),
                             "--punch-wait is gone: nothing waits for a hole punch now "
                             "(a trade goes at once; a file started through a relay "
                             "moves to the punched path when it comes); --no-punch "
                             "turns punching off")

    def test_punchWaitIsGoneFromAConfigFile(self):
        """A config file written for a version that took punch-wait is
        told it is gone and what to do now, as the command line is: it
        was "unknown option", as for a mistyped key."""
        path = _configFile(self, 'role = ["seller"]\nsell = ["apple=1"]\npunch-wait = 0\n')
        with self.assertRaises(usage.UsageError) as caught:
            _parse(["--config", path])
        self.assertEqual(str(caught.exception),
                         f"--config {path}: punch-wait is gone: nothing waits for a "
                         "hole punch now (a trade goes at once; a file started "
                         "through a relay moves to the punched path when it "
                         "comes); --no-punch turns punching off")

    def test_linkSettingsFollowTheFlags(self):
        settings = _parse(SELLER + ["--frame-limit", "2048", "--handshake-timeout",
                                    "2.5", "--ping-interval", "4", "-v"]).linkSettings()
        self.assertEqual(
            (settings.frame_limit, settings.handshake_timeout,
             settings.ping_interval, settings.verbose),
            (2048, 2.5, 4.0, True))

    def test_seller(self):
        """--sell is repeatable; --lease has a default."""
        options = _parse(SELLER + ["--sell", "pear=0"])
        [(plugin, settings)] = options.roles
        self.assertEqual(plugin.name, "seller")
        self.assertEqual(settings, {"stock": {"apple": 3, "pear": 0}, "lease": 10.0})

    def test_buyer(self):
        """--want is repeatable (duplicates folded); --quantity applies to each."""
        options = _parse(["--role", "buyer", "--want", "apple", "--want", "pear",
                          "--want", "apple", "--quantity", "2"])
        [(plugin, settings)] = options.roles
        self.assertEqual(plugin.name, "buyer")
        self.assertEqual(settings, {"wants": ["apple", "pear"], "quantity": 2,
                                    "search_window": 1.0, "buy_timeout": 2.0,
                                    "doubt_limit": 120.0, "exit_when_done": False})

    def test_bothRoles(self):
        options = _parse(["--role", "seller", "--role", "buyer", "--sell", "apple=1",
                          "--want", "pear", "--role", "seller"])
        self.assertEqual(options["role"], ["seller", "buyer"])
        self.assertEqual(
            [(plugin.name, settings) for plugin, settings in options.roles],
            [("seller", {"stock": {"apple": 1}, "lease": 10.0}),
             ("buyer", {"wants": ["pear"], "quantity": 1, "search_window": 1.0,
                        "buy_timeout": 2.0, "doubt_limit": 120.0,
                        "exit_when_done": False})])

    def test_trackerDefaults(self):
        options = _parse([], TrackerOptions)
        self.assertEqual(
            {key: options[key] for key in ("listen", "frame-limit",
                                           "handshake-timeout", "verbose")},
            {"listen": "tcp:7700", "frame-limit": 65536,
             "handshake-timeout": 10.0, "verbose": 0})

    def test_trackerUdpPorts(self):
        """The tracker's UDP reach check is on by default, on its --listen
        port and the next (two free ports for a --listen on port 0, none
        for one on no IP port); --udp-port picks them, --no-udp turns it
        off, and the two together are refused."""
        for args, first in (([], 7700), (["--listen", "tcp:7811"], 7811),
                            (["--listen", "tcp:port=7811:interface=127.0.0.1"], 7811),
                            (["--listen", "tcp:0"], 0), (["--listen", "tcp:65535"], 0),
                            (["--listen", "unix:/tmp/t.sock"], None),
                            (["--udp-port", "3478"], 3478), (["--no-udp"], None)):
            self.assertEqual(udpPorts(_parse(args, TrackerOptions)), first, args)
        error = self.assertRaises(usage.UsageError, _parse,
                                  ["--no-udp", "--udp-port", "3478"], TrackerOptions)
        self.assertEqual(str(error), "--no-udp takes no UDP datagrams: give it or "
                         "--udp-port, not both")


class BadInputTests(SynchronousTestCase):
    """Each mistake gets a UsageError that names it."""

    def assertUsageError(self, args, message, cls=NodeOptions):
        error = self.assertRaises(usage.UsageError, _parse, args, cls)
        self.assertEqual(str(error), message)

    def test_quicPeer(self):
        """--quic-peer ID=HOST:PORT names a node's id, an IP address and a
        UDP port; QUIC is on by default, on a free port, and --quic-peer is
        refused with --no-quic."""
        peer = "0123456789abcdef0123456789abcdef"
        options = _parse(SELLER + ["--quic-peer", f"{peer}=192.0.2.7:9443"])
        self.assertEqual(options["quic-peer"], [(parseWireId(peer), "192.0.2.7", 9443)])
        self.assertEqual((_parse(SELLER)["quic-port"], _parse(SELLER)["no-quic"]),
                         (None, False))
        self.assertUsageError(SELLER + ["--no-quic", "--quic-peer",
                                        f"{peer}=192.0.2.7:9443"],
                              "--quic-peer reaches a node over QUIC: not with --no-quic")
        self.assertUsageError(SELLER + ["--no-quic", "--quic-port", "0"],
                              "--no-quic serves no QUIC: give it or --quic-port, not both")
        self.assertUsageError(SELLER + ["--quic-port", "0", "--quic-peer",
                                        "12=192.0.2.7:9443"],
                              "--quic-peer 12=192.0.2.7:9443: ID is a node's id, its 32 "
                              "hex digits (as `bazaar status` shows it)")
        for where in ("example.org:9443", "192.0.2.7", "192.0.2.7:0"):
            self.assertUsageError(SELLER + ["--quic-port", "0", "--quic-peer",
                                            f"{peer}={where}"],
                                  f"--quic-peer {peer}={where}: give ID=HOST:PORT, HOST "
                                  "an IP address, PORT its UDP port")

    def test_emptyDataDir(self):
        """--data-dir "" (an empty TOML value, a shell variable unset) named
        no folder and ended the start with `cannot use data dir : File
        exists`, exit 1 (the fifth new user): a usage error, of each
        daemon."""
        why = "--data-dir: an empty path names no folder: give one, or leave the flag out"
        self.assertUsageError(SELLER + ["--data-dir", ""], why)
        self.assertUsageError(["--data-dir", ""], why, TrackerOptions)

    def test_sellWithoutCount(self):
        self.assertUsageError(["--role", "seller", "--sell", "apple"],
                              "--sell: wants ITEM=COUNT, not 'apple'")

    def test_sellNegative(self):
        """It said "apple= cannot be negative (-1)": the item and an
        equals sign, as if the item's name were "apple="."""
        self.assertUsageError(["--role", "seller", "--sell", "apple=-1"],
                              "--sell apple=-1: the count of units cannot be negative")

    def test_sellTooManyToRecord(self):
        """A count no sale could be recorded against was taken: the node
        logged an OverflowError and ran, its status refused by every
        client.  The bound is a buy's, as --quantity's and a restock's."""
        self.assertUsageError(["--role", "seller", "--sell",
                               "apple=99999999999999999999999"],
                              "--sell apple=99999999999999999999999: the count of "
                              "units cannot be more than 1,000,000,000")
        self.assertUsageError(["--role", "buyer", "--want", "apple", "--quantity",
                               "1000000001"],
                              "--quantity: wants a whole number from 1 to "
                              "1000000000, not 1000000001")

    def test_sellNotANumber(self):
        self.assertUsageError(["--role", "seller", "--sell", "apple=many"],
                              "--sell apple=many: the count of units must be a "
                              "whole number, not 'many'")

    def test_sellSameItemTwice(self):
        self.assertUsageError(SELLER + ["--sell", "apple=2"],
                              "--sell names apple twice")

    def test_wantOfItsOwn(self):
        """A node that wants what it sells itself (a --sell item, or a file
        in its --share folder, as with --share D --downloads D) is refused
        at start: it buys only from others, so it searched for ever."""
        both = ["--role", "seller", "--role", "buyer"]
        self.assertUsageError(both + ["--sell", "apple=1", "--want", "apple"],
                              "--want apple: this node sells it itself (--sell "
                              "apple=...), and a node buys only from others")
        folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, folder, True)
        with open(os.path.join(folder, "song.ogg"), "wb") as f:
            f.write(b"la")
        self.assertUsageError(both + ["--share", folder, "--downloads", folder,
                                      "--want", "song.ogg"],
                              f"--want song.ogg: this node holds it itself, in its "
                              f"--share {folder}, and a node buys only from others")
        options = _parse(both + ["--share", folder, "--downloads", folder,
                                 "--want", "other.ogg"])
        self.assertEqual(dict((plugin.name, settings) for plugin, settings
                              in options.roles)["buyer"]["wants"], ["other.ogg"])

    def test_aFolderOfStateIsNeitherSharedNorFetchedInto(self):
        """--share or --downloads naming the node's own --data-dir, or a
        folder holding a daemon's key, is refused at start: the seller
        offered node.key (its private key), its store and its lock to
        any buyer, and a buyer's files would go among them."""
        state = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, state, True)
        fresh = os.path.join(state, "fresh")
        self.assertUsageError(["--role", "seller", "--share", state,
                               "--data-dir", state],
                              f"--share {state} is this node's --data-dir: it would "
                              "offer the node's key (node.key) and its store to "
                              "every buyer; share a folder of the files alone")
        os.mkdir(fresh)
        self.assertUsageError(["--role", "buyer", "--want", "song.ogg",
                               "--downloads", fresh, "--data-dir", fresh],
                              f"--downloads {fresh} is this node's --data-dir: the "
                              "files bought would go among the node's key "
                              "(node.key) and its store; give them a folder of "
                              "their own")
        for name, what in (("node.key", "a node's key"),
                           ("tracker.key", "a tracker's key"),
                           ("bazaar.sqlite", "a node's store")):
            with open(os.path.join(fresh, name), "wb") as f:
                f.write(b"k")
            self.assertUsageError(["--role", "seller", "--share", fresh],
                                  f"--share {fresh} holds {what} ({name}): it is a "
                                  "daemon's state, which sharing would offer to "
                                  "every buyer; share a folder of the files alone")
            self.assertUsageError(["--role", "buyer", "--want", "a", "--downloads",
                                   fresh],
                                  f"--downloads {fresh} holds {what} ({name}): it "
                                  "is a daemon's state, among which the files "
                                  "bought would go; give them a folder of their "
                                  "own")
            os.remove(os.path.join(fresh, name))
        shop = _parse(["--role", "seller", "--share", fresh, "--data-dir",
                       os.path.join(fresh, "state")])
        self.assertEqual(shop.roles[0][1]["share"], fresh)
        # running.md's --share row quotes the line.
        error = self.assertRaises(usage.UsageError, _parse,
                                  ["--role", "seller", "--share", state,
                                   "--data-dir", state])
        docs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
            __file__))), "docs", "running.md")
        with open(docs, encoding="utf-8") as f:
            self.assertIn(str(error).replace(state, "DIR"), " ".join(f.read().split()))

    def test_unknownRole(self):
        self.assertUsageError(["--role", "wizard"],
                              "unknown role 'wizard' (known roles: buyer, seller)")

    def test_aMistypedRoleSaysWhatItMayMean(self):
        self.assertUsageError(["--role", "selle"], "unknown role 'selle' (did you mean "
                              "seller?) (known roles: buyer, seller)")

    def test_aMistypedSchemeSaysWhatItMayMean(self):
        """--discovery suggests as --role does: a scheme in another case,
        or a letter off."""
        for given, meant in (("Chord", "chord"), ("FLOOD", "flood"), ("indx", "index")):
            self.assertUsageError(["--discovery", given],
                                  f"unknown discovery scheme {given!r} (did you mean "
                                  f"{meant}?) (known: chord, flood, index, superpeer)")

    def test_noRole(self):
        """A node may carry no role: it relays, and serves its scheme."""
        options = _parse([], NodeOptions)
        self.assertEqual((options["role"], options.roles), ([], []))

    def test_roleWithoutItsOptions(self):
        self.assertUsageError(["--role", "buyer"],
                              "the buyer role needs at least one --want ITEM")
        self.assertUsageError(["--role", "seller"],
                              "the seller role needs at least one --sell ITEM=COUNT "
                              "or --share DIR")

    def test_wantWithoutBuyerRole(self):
        self.assertUsageError(SELLER + ["--want", "pear"],
                              "--want belongs to the buyer role; add --role buyer")

    def test_ttlTooLarge(self):
        error = self.assertRaises(usage.UsageError, _parse, SELLER + ["--ttl", "99"])
        self.assertIn("--ttl: wants a whole number from 1 to 16, not 99", str(error))

    def test_quantityZero(self):
        self.assertUsageError(["--role", "buyer", "--want", "a", "--quantity", "0"],
                              "--quantity: wants a whole number from 1 to 1000000000, not 0")

    def test_leaseNegative(self):
        self.assertUsageError(SELLER + ["--lease", "-1"],
                              "--lease: wants a positive number of seconds, not '-1'")

    def test_hostMistyped(self):
        """A --host that is no host, or a name that does not resolve, is
        refused at start (issue 96, M5: it was taken, and the node ran
        behind a relay)."""
        for host, why in (("999.1.1.1", "is not an IPv4 address (four numbers, each "
                                         "0 to 255)"), ("", "is empty")):
            error = self.assertRaises(usage.UsageError, _parse,
                                      SELLER + ["--host", host])
            self.assertIn(f"--host: {host!r} {why}: give the host name or address "
                          "other nodes reach this node at, or leave it out",
                          str(error))

        def unknown(*args):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        self.patch(socket, "getaddrinfo", unknown)
        error = self.assertRaises(usage.UsageError, _parse,
                                  SELLER + ["--host", "markte.example"])
        self.assertIn("--host: markte.example does not resolve (Name or service not "
                      "known)", str(error))

    def test_unknownFlag(self):
        self.assertUsageError(SELLER + ["--colour", "red"],
                              "option --colour not recognized")

    def test_trackerBadTimeout(self):
        error = self.assertRaises(usage.UsageError, _parse,
                                  ["--handshake-timeout", "0"], TrackerOptions)
        self.assertIn("--handshake-timeout: wants a positive number of seconds, "
                      "not '0'", str(error))


class SchemeOptionTests(SynchronousTestCase):
    """A discovery scheme's options (PluginOption) are flags of
    bazaar-node, accepted only with that scheme."""

    def test_floodTtlReachesTheSchemeSettings(self):
        for args in (["--discovery", "flood", "--ttl", "3"],
                     ["--ttl", "3", "--discovery", "flood"],
                     ["--ttl=3"]):
            options = _parse(SELLER + args)
            plugin, settings = options.scheme
            self.assertEqual((plugin.name, settings["ttl"]), ("flood", 3), args)
        service = makeNodeService(_parse(SELLER + ["--discovery", "flood", "--ttl", "3",
                                                   "--seen-limit", "64"]))
        discovery = service.node.discovery
        self.assertEqual((discovery.ttl, discovery.router.seen_limit), (3, 64))

    def test_ttlWithTheIndexSchemeIsRefused(self):
        error = self.assertRaises(usage.UsageError, _parse,
                                  ["--ttl", "3", "--discovery", "index"] + SELLER)
        self.assertEqual(str(error),
                         "--ttl belongs to the flood scheme; add --discovery flood")

    def test_ttlWithTheIndexSchemeUnderTwistd(self):
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        error = self.assertRaises(SystemExit, _parseUnder,
                                  ["--ttl", "3", "--discovery", "index"] + SELLER)
        self.assertEqual(error.code, 2)
        self.assertEqual(stderr.getvalue(),
                         "twistd bazaar-node: error: --ttl belongs to the flood "
                         "scheme; add --discovery flood (see twistd bazaar-node "
                         "--help)\n")

    def test_schemeOptionsInHelpWithTheirOwner(self):
        for text in (str(NodeOptions()), NodeOptions().getUsage()):
            words = " ".join(text.split())
            self.assertIn("--ttl=", text)
            self.assertIn("--seen-limit=", text)
            self.assertIn("Hop limit of the searches this node starts (flood "
                          "scheme). [default: 7]. A whole number from 1 to 16.", words)
            self.assertIn("Search ids remembered to drop repeats (flood scheme).",
                          words)

    def test_helpInANarrowTerminal(self):
        """--help, --help-all and the tracker's --help in a terminal 20
        columns wide, or with a COLUMNS that is no width, are printed
        (their text column kept 20 wide): each ended in Twisted's
        'ValueError: invalid width -4 (must be > 0)' or int()'s traceback."""
        for columns in ("20", "1", "0", "-5", "abc", ""):
            self.patch(os, "environ", dict(os.environ, COLUMNS=columns))
            for text in (NodeOptions().leadUsage(), str(NodeOptions()),
                         str(TrackerOptions())):
                self.assertIn("--data-dir=", text)
                self.assertIn("Directory", text)
        self.patch(os, "environ", dict(os.environ, COLUMNS="20"))
        lines = NodeOptions().leadUsage().splitlines()
        self.assertIn("      --data-dir=       Directory for the", lines)

    def test_configFileTtl(self):
        path = _configFile(self, 'role = ["seller"]\nsell = ["apple=1"]\nttl = 3\n')
        options = _parse(["--config", path])
        self.assertEqual(options.scheme[1]["ttl"], 3)


class UnderTwistdTests(SynchronousTestCase):
    """Parsed as a twistd sub-command: pid files and one-line errors."""

    def setUp(self):
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)

    def test_defaultPidfileCleared(self):
        """Two daemons in one folder must not fight over twistd.pid."""
        parent, _ = _parseUnder(SELLER)
        self.assertEqual(parent["pidfile"], "")
        parent, _ = _parseUnder([], TrackerOptions, command="bazaar-tracker")
        self.assertEqual(parent["pidfile"], "")

    def test_explicitPidfileKept(self):
        parent, _ = _parseUnder(SELLER, parent_args=["--pidfile", "seller.pid"])
        self.assertEqual(parent["pidfile"], "seller.pid")

    def test_aSharedFolderLeavesOutTwistdsOwnFiles(self):
        """A node started in the background with --share . offered its own
        twistd.log (hashed again at every line it wrote, for ever) and pid
        file: a --share folder holding twistd's --logfile or --pidfile (or
        twistd.log, in the background with none) leaves them out."""
        folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, folder, True)
        share = ["--role", "seller", "--share", folder]
        _, options = _parseUnder(share, parent_args=[
            "--logfile", os.path.join(folder, "node.log"),
            "--pidfile", os.path.join(folder, "node.pid")])
        self.assertEqual(options.roles[0][1]["unshared"], {"node.log", "node.pid"})
        _, options = _parseUnder(share, parent_args=["--rundir", folder])
        self.assertEqual(options.roles[0][1]["unshared"], {"twistd.log"})
        _, options = _parseUnder(share, parent_args=["--logfile", "-"])
        self.assertNotIn("unshared", options.roles[0][1])
        self.assertNotIn("unshared", _parse(share).roles[0][1])

    def test_twistdFilesInNoFolder(self):
        """twistd's own --logfile and --pidfile in a folder that does not
        exist (or naming a folder) are refused as the options are read, in
        one line: twistd opens them after the daemon is built, with a
        traceback."""
        folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, folder, True)
        missing = os.path.join(folder, "nowhere")
        for flag, value, why in [
                ("--logfile", os.path.join(missing, "seller.log"),
                 f"its folder {missing} does not exist"),
                ("--pidfile", os.path.join(missing, "seller.pid"),
                 f"its folder {missing} does not exist"),
                ("--logfile", folder, "is a folder, not a file")]:
            for cls, command in ((NodeOptions, "bazaar-node"),
                                 (TrackerOptions, "bazaar-tracker")):
                args = SELLER if cls is NodeOptions else []
                self.stderr.truncate(0)
                self.stderr.seek(0)
                error = self.assertRaises(SystemExit, _parseUnder, args, cls,
                                          parent_args=[flag, value], command=command)
                self.assertEqual(error.code, 2)
                self.assertEqual(self.stderr.getvalue(),
                                 f"twistd {command}: error: twistd's {flag} {value}: "
                                 f"{why} (see twistd {command} --help)\n")
        parent, _ = _parseUnder(SELLER, parent_args=["--logfile",
                                                     os.path.join(folder, "seller.log")])
        self.assertEqual(parent["logfile"], os.path.join(folder, "seller.log"))

    def test_dataDirReadInTheStartFolder(self):
        """A relative --data-dir under twistd --rundir DIR is the one in
        the folder twistd was started in, made absolute, since twistd
        changes to DIR after the daemon is built: the node opened its
        store there and then made its control socket and known_tracker
        under DIR (No such file or directory; restock could not reach it,
        its tracker's key was kept in memory only).  Without --rundir it
        is kept as given, as the lines name it."""
        start = os.getcwd()
        elsewhere = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, elsewhere, True)
        for cls, args, command in ((NodeOptions, SELLER, "bazaar-node"),
                                   (TrackerOptions, [], "bazaar-tracker")):
            _, options = _parseUnder(args + ["--data-dir", "state"], cls,
                                     parent_args=["--rundir", elsewhere], command=command)
            self.assertEqual(options["data-dir"], os.path.join(start, "state"))
            _, options = _parseUnder(args + ["--data-dir", "state"], cls,
                                     parent_args=["--rundir", "."], command=command)
            self.assertEqual(options["data-dir"], "state")
        config = ServerOptions()
        config.parseOptions(["-n", "--rundir", elsewhere, "bazaar-node", *SELLER,
                             "--data-dir", "state"])
        self.assertEqual(config.subOptions["data-dir"], os.path.join(start, "state"))

    def test_logOnAnAsciiStdout(self):
        """Under twistd, stdout (the log with -n) writes what its encoding
        lacks escaped: the line of a file named 日本 語.bin was lost from
        the log under PYTHONIOENCODING=ascii (Twisted's observer failed on
        it)."""
        stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
        self.patch(sys, "stdout", stdout)
        _parseUnder(SELLER)
        self.assertEqual(stdout.errors, "backslashreplace")

    def test_badFlagIsOneLine(self):
        error = self.assertRaises(SystemExit, _parseUnder,
                                  ["--role", "seller", "--sell", "apple"])
        self.assertEqual(error.code, 2)
        self.assertEqual(self.stderr.getvalue(),
                         "twistd bazaar-node: error: --sell: wants ITEM=COUNT, "
                         "not 'apple' (see twistd bazaar-node --help)\n")

    def test_typeErrorLosesTwistdJargon(self):
        """twistd's 'Parameter type enforcement failed' prefix is dropped."""
        error = self.assertRaises(SystemExit, _parseUnder, ["--ttl", "99"] + SELLER)
        self.assertEqual(error.code, 2)
        self.assertEqual(self.stderr.getvalue(),
                         "twistd bazaar-node: error: --ttl: wants a whole number "
                         "from 1 to 16, not 99 (see twistd bazaar-node --help)\n")

    def test_trackerBadFlag(self):
        error = self.assertRaises(SystemExit, _parseUnder, ["--bogus"],
                                  TrackerOptions, command="bazaar-tracker")
        self.assertEqual(error.code, 2)
        self.assertEqual(self.stderr.getvalue(),
                         "twistd bazaar-tracker: error: option --bogus not "
                         "recognized (see twistd bazaar-tracker --help)\n")

    def test_realTwistdOptions(self):
        """The same through twistd's own ServerOptions and plugin lookup."""
        for args in (["-n", "bazaar-tracker"],
                     ["-n", "bazaar-node"] + SELLER,
                     ["-n", "bazaar-node", "--role", "buyer", "--want", "apple"]):
            config = ServerOptions()
            config.parseOptions(args)
            self.assertEqual(config["pidfile"], "")
            self.assertEqual(config.subCommand, args[1])
        config = ServerOptions()
        error = self.assertRaises(SystemExit, config.parseOptions,
                                  ["bazaar-node", "--role", "wizard"])
        self.assertEqual(error.code, 2)
        self.assertEqual(len(self.stderr.getvalue().splitlines()), 1)
        self.assertIn("unknown role 'wizard'", self.stderr.getvalue())


class HelpTests(SynchronousTestCase):
    """--help explains every option."""

    def helpText(self, cls, flag="--help-all"):
        stdout = io.StringIO()
        self.patch(sys, "stdout", stdout)
        error = self.assertRaises(SystemExit, cls().parseOptions, [flag])
        self.assertEqual(error.code, 0)
        return stdout.getvalue()

    def test_nodeHelpLeadsWithWhatMostRunsNeed(self):
        """The node's --help is short: the options most runs need, then
        examples (each a command line the node takes), then where every
        option is (--help-all)."""
        text = self.helpText(NodeOptions, "--help")
        self.assertLess(len(text.splitlines()), 70)
        titles = [line for line in text.splitlines()
                  if line.endswith(":") and not line.startswith(" ")]
        self.assertEqual(titles, ["Options most runs need:", "Examples:"])
        for flag in ("--role=", "--sell=", "--want=", "--quantity=", "--share=",
                     "--downloads=", "--data-dir=", "--tracker=", "--verbose"):
            self.assertIn(flag, text)
        self.assertNotIn("--seen-limit", text)
        examples = [line.strip() for line in text.split("Examples:\n")[1].splitlines()
                    if line.startswith("  twistd ")]
        self.assertGreaterEqual(len(examples), 4)
        # In a folder holding the folders the examples name.
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        for name in ("shared", "downloads"):
            os.mkdir(os.path.join(folder, name))
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(folder)
        for line in examples:
            words = line.split()
            _parseUnder(words[words.index("bazaar-node") + 1:])
        self.assertIn("--help-all", " ".join(text.split()[-30:]))

    def test_trackerHelpIsWhole(self):
        """The tracker's --help shows every option, as --help-all, and
        says so."""
        self.assertEqual(self.helpText(TrackerOptions, "--help"),
                         self.helpText(TrackerOptions))
        words = " ".join(self.helpText(TrackerOptions, "--help").split())
        self.assertIn("--help Display every option, by section, and exit (as "
                      "--help-all: the tracker has no options most runs leave out).",
                      words)
        self.assertNotIn("most runs need", words)
        self.assertNotRegex(words, r"\.\. ")

    def assertEveryOptionExplained(self, cls):
        options = cls()
        text = self.helpText(cls)
        names = [name.rstrip("=") for name in options.longOpt]
        self.assertGreater(len(names), 5)
        for name in names:
            self.assertTrue(options.docs.get(name, "").strip(), name)
            self.assertIn(f"--{name}", text)

    def test_nodeHelp(self):
        self.assertEveryOptionExplained(NodeOptions)
        text = self.helpText(NodeOptions)
        words = " ".join(text.split())
        self.assertIn("Roles: buyer (buy what --want names", words)
        self.assertIn("; seller (sell the units given with --sell, and the files of "
                      "--share DIR)", words)
        self.assertIn("Discovery schemes: chord (a Chord ring", words)
        self.assertIn("; flood (flood searches", words)
        self.assertIn("; index (look items up in the tracker's index", words)
        self.assertIn("(seller role)", text)
        self.assertIn("(buyer role)", text)
        self.assertIn("tcp:127.0.0.1:7700", text)

    def test_nodeHelpInSections(self):
        """The node's --help comes in sections, in this order, each scheme
        named; every option in its section."""
        text = self.helpText(NodeOptions)
        titles = [line[:-1] for line in text.splitlines()
                  if line.endswith(":") and not line.startswith(" ")]
        self.assertEqual(titles, [
            "Common options of a node", "The seller role (--role seller)",
            "The buyer role (--role buyer)",
            "Files as goods (--role seller --share DIR, --role buyer --downloads DIR)",
            "The chord scheme (--discovery chord)", "The flood scheme (--discovery flood)",
            "The index scheme (--discovery index)",
            "The superpeer scheme (--discovery superpeer)", "The WebSocket transport",
            "Operations and limits on peers (both daemons)"])
        sections = dict(zip(titles, re.split(r"^\S.*:$", text, flags=re.M)[1:]))
        for title, options in (
                ("Common options of a node", ("--tracker=", "--discovery=", "--role=")),
                ("The buyer role (--role buyer)", ("--want=", "--give-up-after=")),
                ("The seller role (--role seller)", ("--sell=", "--lease=")),
                ("Files as goods (--role seller --share DIR, --role buyer --downloads "
                 "DIR)", ("--share=", "--downloads=", "--transfer-port=")),
                ("The WebSocket transport", ("--ws-port=", "--ws-peer=")),
                ("The flood scheme (--discovery flood)", ("--ttl=",)),
                ("The superpeer scheme (--discovery superpeer)", ("--super ",)),
                ("Operations and limits on peers (both daemons)",
                 ("--metrics=", "--verbose", "--config="))):
            for option in options:
                self.assertIn(option, sections[title], title)
        self.assertIn("(no options of its own)",
                      sections["The index scheme (--discovery index)"])

    def test_helpSlips(self):
        """A yes/no option's default reads yes, not True; no empty or None
        default; --listen offers only what it takes; one-line texts."""
        text = self.helpText(NodeOptions)
        words = " ".join(text.split())
        self.assertIn("(yes or no) (superpeer scheme). [default: yes]. Yes or no.",
                      words)
        for slip in ("[default: True]", "[default: None]", "[default: ]"):
            self.assertNotIn(slip, text)
        self.assertNotRegex(words, r"\)\.\. ")
        self.assertIn("or tcp6:PORT; other nodes connect over plain TCP, so unix: "
                      "and ssl: are refused.", words)
        self.assertIn("A TOML file of options, keyed by their long names; flags "
                      "given on the command line win.", words)

    def test_limitsSayWhatTheyCount(self):
        """A limit's help names what it counts, as the code counts it (and
        running.md says): --handshake-limit an address group's (it said
        'one address', whereas a /16 is one), --max-connections the
        handshakes in progress too, --transfer-rate one connection (a
        buyer fetching two files gets twice it)."""
        words = " ".join(self.helpText(NodeOptions).split())
        for told in ("--handshake-limit= Connections one address group (an IPv4 /16, an "
                     "IPv6 /32) may hold open before saying thisisme",
                     "--max-connections= Most overlay links this node keeps, handshakes "
                     "in progress counted.",
                     "--transfer-rate= Most bytes a second sent on one transfer "
                     "connection, a buyer fetching one file (0: no limit)"):
            self.assertIn(told, words)

    def test_everyOptionASentence(self):
        """Every option of both daemons, the plugins' too, is told alike: a
        sentence that starts with a capital (or a word the user types:
        ITEM, DIR), ends with a full stop, and then its default and the
        values it takes; no parenthesis inside a parenthesis in the
        roles and schemes the node's help ends with."""
        rough = []
        for cls in (NodeOptions, TrackerOptions):
            told = re.findall(r"^  (?:-\w, |    )--([\w-]+)=? +(\S.*(?:\n {8,}\S.*)*)",
                              self.helpText(cls), re.M)
            self.assertGreater(len(told), 20)
            for name, text in told:
                text = " ".join(text.split())
                if not re.match(r"[A-Z]", text) or not re.search(r"\.( \[default: .*\])?$",
                                                                  text):
                    rough.append(f"--{name}: {text}")
        self.assertEqual(rough, [])
        self.assertNotRegex(NodeOptions().longdesc, r"\([^()]*\(")

    def test_trackerHelp(self):
        self.assertEveryOptionExplained(TrackerOptions)
        self.assertIn("[default: tcp:7700]", " ".join(self.helpText(TrackerOptions).split()))


class PluginTests(SynchronousTestCase):
    """twistd finds both daemons through twisted.plugin."""

    def makers(self):
        return {maker.tapname: maker for maker in getPlugins(IServiceMaker)}

    def test_discoverable(self):
        makers = self.makers()
        self.assertIs(makers["bazaar-node"].options, NodeOptions)
        self.assertIs(makers["bazaar-tracker"].options, TrackerOptions)
        self.assertIsInstance(makers["bazaar-node"].options(), NodeOptions)
        self.assertIsInstance(makers["bazaar-tracker"].options(), TrackerOptions)

    def test_madeOnASplitClock(self):
        """twistd makes a daemon's service with the module's makeService,
        once its reactor's clock is split: timers on the monotonic clock,
        dates on the wall clock."""
        from twisted.internet import reactor
        from twisted_bazaar.base import wallclock
        from twisted_bazaar.tap import node, tracker

        split = []
        self.patch(wallclock, "splitClock", split.append)
        self.patch(node, "makeService", lambda options: ("node", options))
        self.patch(tracker, "makeService", lambda options: ("tracker", options))
        makers = self.makers()
        self.assertEqual((makers["bazaar-node"].makeService("n"),
                          makers["bazaar-tracker"].makeService("t")),
                         (("node", "n"), ("tracker", "t")))
        self.assertEqual(split, [reactor, reactor])

    def test_ctrlCAsItLoadsSaysOneLine(self):
        """Ctrl-C while twistd loads a daemon's options' module (a second
        on a busy machine) ends it in one line, status 130, not a
        traceback."""
        from twisted.application import service

        def loading(name):
            raise KeyboardInterrupt()

        makers = self.makers()
        self.patch(service, "namedAny", loading)
        for name in ("bazaar-node", "bazaar-tracker"):
            maker = makers[name]
            err = io.StringIO()
            self.patch(sys, "stderr", err)
            with self.assertRaises(SystemExit) as stopped:
                maker.options
            self.assertEqual((stopped.exception.code, err.getvalue()),
                             (130, f"twistd {name}: stopped by SIGINT while it loaded; "
                              "it made nothing\n"))

    def test_anUnusablePluginAsItLoadsSaysOneLine(self):
        """A plugin that cannot be used (two of one name, say), found as
        twistd loads a daemon's options, ends it in one line naming the
        plugin, status 1: it was a traceback of twistd's option parsing."""
        from twisted.application import service

        def loading(name):
            raise PluginFault("two role plugins are named 'twin': a.py and b.py; "
                              "rename or remove one")

        makers = self.makers()
        self.patch(service, "namedAny", loading)
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit) as stopped:
            makers["bazaar-node"].options
        self.assertEqual((stopped.exception.code, err.getvalue()),
                         (1, "twistd bazaar-node: error: two role plugins are named "
                          "'twin': a.py and b.py; rename or remove one\n"))


class PluginMistakeTests(SynchronousTestCase):
    """A plugin author's mistakes in its options, told naming the plugin."""

    def test_anOptionNameTakenTwice(self):
        """A role's option named as another's (--want): a ValueError's
        traceback as twistd loaded the options; now a PluginFault naming
        the plugin's file, which the daemon's maker says in one line."""
        from twisted_bazaar.base.options import PluginOption
        from twisted_bazaar.daemon.registry import rolePlugins
        from twisted_bazaar.tap import node as tap_node

        class Clashing:
            name = "clashing"
            options = (PluginOption("want", "a clash", str, "x"),)

        self.patch(tap_node, "_OPTION_OWNERS", {})
        self.patch(tap_node, "_owners",
                   lambda: [("role", rolePlugins()["buyer"]), ("role", Clashing())])
        fresh = type("Fresh", (NodeOptions,), {})
        error = self.assertRaises(PluginFault, tap_node._addPluginOptions, fresh)
        self.assertEqual(str(error), f"--want of the role plugin 'clashing' ({__file__}) "
                         "is already an option of buyer role: give it another name")

    def test_aConfigureThatRaises(self):
        """A plugin whose configure raises another error than ValueError (a
        bug of its own): a traceback; now a usage error naming it."""
        folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, folder, True)
        with open(os.path.join(folder, "bazaar_tap_badconfig.py"), "w") as f:
            f.write(_OLD_ROLE.replace("oldwatch", "badconfig").replace(
                "return {}", "return config['nope']").replace(
                "    def delivered(self, message):\n        pass\n", "    pass\n"))
        self.addCleanup(sys.modules.pop, "twisted_bazaar.plugins.bazaar_tap_badconfig", None)
        plugins.__path__.append(folder)
        self.addCleanup(plugins.__path__.remove, folder)
        error = self.assertRaises(usage.UsageError, _parse, ["--role", "badconfig"])
        self.assertEqual(str(error), f"the role plugin 'badconfig' "
                         f"({folder}/bazaar_tap_badconfig.py) failed to read its options "
                         "(configure raised KeyError: 'nope')")


class MakeServiceTests(SynchronousTestCase):
    """The options become a service (built, not started: no socket opens)."""

    def test_node(self):
        options = _parse(["--role", "seller", "--role", "buyer", "--sell", "apple=2",
                          "--want", "pear", "--neighbours", "5", "--ttl", "4",
                          "--max-connections", "20", "--host", "10.0.0.7",
                          "--handshake-limit", "6"])
        service = makeNodeService(options)
        self.assertIsInstance(service, NodeService)
        node = service.node
        self.assertIsInstance(node, Node)
        config = node.config
        self.assertEqual((config.neighbours, node.discovery.ttl, config.max_connections,
                          config.handshake_limit, config.host, node.host),
                         (5, 4, 20, 6, "10.0.0.7", "10.0.0.7"))
        self.assertIsInstance(node.discovery, FloodDiscovery)
        self.assertEqual(node.topology.wanted, 5)
        [seller] = [o for o in node.events.observers if isinstance(o, Seller)]
        [buyer] = [o for o in node.events.observers if isinstance(o, Buyer)]
        self.assertEqual(node.roles, [seller, buyer])
        self.assertEqual(seller.stock, {"apple": 2})
        self.assertEqual([want.item for want in buyer.wants], ["pear"])

    def test_nodeCoreFlags(self):
        options = _parse(SELLER + ["--direct-slots", "2", "--direct-idle", "5",
                                   "--retry-initial", "0.25", "--retry-max", "4"])
        service = makeNodeService(options)
        config = service.node.config
        self.assertEqual((config.direct_slots, config.direct_idle), (2, 5.0))
        self.assertEqual(service.node.overlay.budgets["direct"], 2)

    def test_nodeOtherPortsListenWhereItListens(self):
        """A node's connector listens (its transfer port) on the interface
        of its --listen, IPv6 for tcp6:."""
        for listen, interface in [("tcp:0", ""),
                                  ("tcp:0:interface=127.0.0.1", "127.0.0.1"),
                                  ("tcp6:0", "::"),
                                  (r"tcp6:0:interface=\:\:1", "::1")]:
            service = makeNodeService(_parse(SELLER + ["--listen", listen]))
            self.assertEqual(service.node.connector.interface, interface, listen)

    def test_nodeServesQuic(self):
        """A node serves QUIC by default, on a free UDP port of its
        --listen interface or --quic-port's; with --no-quic, none."""
        from twisted_bazaar.daemon.quic import QuicService
        for args, wanted in (([], 0), (["--quic-port", "9443"], 9443)):
            [quic] = [child for child in makeNodeService(_parse(SELLER + args))
                      if isinstance(child, QuicService)]
            self.assertEqual(quic.wanted, wanted)
        self.assertEqual([child for child in makeNodeService(_parse(SELLER + ["--no-quic"]))
                          if isinstance(child, QuicService)], [])

    def test_nodeOfTheIndexScheme(self):
        """An index node keeps no neighbours: it has no topology."""
        service = makeNodeService(_parse(SELLER + ["--discovery", "index"]))
        node = service.node
        self.assertIsInstance(node.discovery, IndexDiscovery)
        self.assertIsNone(node.topology)
        self.assertIn(node.discovery, list(service))

    def test_tracker(self):
        """The tracker's listening service, and by default its UDP reach
        check's beside it (its --listen port and the next); with --no-udp
        the tracker's alone."""
        service = makeTrackerService(_parse(["--no-udp"], TrackerOptions))
        self.assertIsInstance(service, ListeningService)
        self.assertEqual(service.what, "tracker")
        tracker, udp = makeTrackerService(_parse(["--listen", "tcp:7811"], TrackerOptions))
        self.assertEqual((tracker.what, type(udp), udp.first),
                         ("tracker", UdpReachService, 7811))
        self.assertIsNone(udp.onFailure)
        given = list(makeTrackerService(_parse(["--udp-port", "3478"], TrackerOptions)))[1]
        self.assertEqual(given.first, 3478)
        self.assertIsNotNone(given.onFailure)

    def test_trackerWebViewCountsTheLanOnly(self):
        """The tracker's --web view counts its registry's LAN-only nodes
        live, which its members leave out (a class's 22 of 30 behind one
        router: the page said 8, not `8 of 30`)."""
        service = makeTrackerService(_parse(["--no-udp", "--web", "tcp:0"], TrackerOptions))
        watcher, = [each for each in service if isinstance(each, StatusWatcher)]
        self.assertEqual(watcher.unlisted, watcher.relayOf.__self__.lanOnlyCount)

    def test_trackerRelay(self):
        """The tracker relays by default, within its options; with
        --relay-reservations 0 it has no relay."""
        service = makeTrackerService(_parse(
            ["--relay-circuits", "9", "--relay-circuit-bytes", "1000",
             "--relay-circuit-seconds", "30", "--no-udp"], TrackerOptions))
        self.assertEqual(service.relayService.what, "relay")
        limits = service.tracker.relay.limits
        self.assertEqual((limits.reservations, limits.circuits, limits.circuit_bytes,
                          limits.circuit_seconds), (1024, 9, 1000, 30.0))
        off = makeTrackerService(_parse(["--relay-reservations", "0", "--no-udp"],
                                        TrackerOptions))
        self.assertIsNone(off.relayService)
        self.assertIsNone(off.tracker.relay)

    def test_trackerRelayServedAtItsWebSocketPort(self):
        """A tracker's --ws-port serves its relay, and the relay names it
        as one of its ways (at the host a reservation names the relay at,
        the tracker's word) once it listens: every node held there is
        named with it, so a client whose network lets only HTTP(S) out
        opens its circuits there."""
        service = makeTrackerService(_parse(["--ws-port", "8080", "--no-udp"],
                                            TrackerOptions), MemoryReactorClock())
        [relay] = {child.tracker.relay for child in service
                   if getattr(child, "tracker", None) is not None}
        self.assertEqual(relay.ways("192.0.2.1"), ())
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual(relay.ways("192.0.2.1"),
                         (Path(WEBSOCKET, "192.0.2.1", 8080, word=NAMED),))

    def test_trackerHost(self):
        """--host names where the tracker's relay is named (a tracker
        behind a port forward: the router's address); an IP address only,
        which each node compares with the address its connection reaches,
        so a name, or no address, is refused saying why."""
        tracker = makeTrackerService(_parse(["--host", "198.51.100.7", "--no-udp"],
                                            TrackerOptions)).tracker
        self.assertEqual(tracker.reservations.host, "198.51.100.7")
        self.assertIsNone(makeTrackerService(_parse(["--no-udp"], TrackerOptions))
                          .tracker.reservations.host)
        for host, why in (("tracker.example.org", "is a host name, not an IP address"),
                          ("999.1.1.1", "is not an IPv4 address (four numbers, each 0 "
                           "to 255)")):
            error = self.assertRaises(usage.UsageError, _parse, ["--host", host],
                                      TrackerOptions)
            self.assertIn(f"--host: {host!r} {why}: give the IP address nodes reach "
                          "this tracker at (its router's, where a port is forwarded to "
                          "it), or leave it out", str(error))

    def test_trackerRelayRate(self):
        """The tracker's relay is rate-capped: 8 MiB a second by default,
        --relay-rate sets it (0: no cap), and its throttle holds it."""
        relay = makeTrackerService(_parse(["--no-udp"], TrackerOptions)).tracker.relay
        self.assertEqual((relay.limits.rate, relay.throttle.rate), (8 * 2**20, 8 * 2**20))
        relay = makeTrackerService(_parse(["--relay-rate", "1000", "--no-udp"],
                                          TrackerOptions)).tracker.relay
        self.assertEqual(relay.throttle.rate, 1000)
        self.assertEqual(makeTrackerService(_parse(
            ["--relay-rate", "0", "--no-udp"], TrackerOptions)).tracker.relay.throttle.rate, 0)

    def test_pluginOfTheOldDeliveredApi(self):
        """A role plugin from outside that still defines delivered(message),
        which no node calls, ends the daemon at start-up with one line
        naming its class and what to declare, rather than running a role
        that silently never hears its messages (or a traceback)."""
        folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, folder, True)
        with open(os.path.join(folder, "bazaar_tap_oldwatch.py"), "w") as f:
            f.write(_OLD_ROLE)
        plugins.__path__.append(folder)
        self.addCleanup(plugins.__path__.remove, folder)
        error = self.assertRaises(SystemExit, makeNodeService,
                                  _parse(["--role", "oldwatch"]))
        self.assertEqual(
            error.code,
            "twistd bazaar-node: error: twisted_bazaar.plugins.bazaar_tap_oldwatch."
            "OldWatch defines delivered(message), which no node calls any more: "
            "declare the messages it takes as a class table, delivers = "
            "{MessageType: handler}, each handler called (observer, link, message) "
            "(README.md, \"Writing a role\")")

    def test_aTrackerExtensionBuiltWrong(self):
        """A tracker extension plugin whose build raises: twistd's
        traceback, the tracker's new key left behind; now one line naming
        the plugin and its file."""
        folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, folder, True)
        with open(os.path.join(folder, "bazaar_tap_boomx.py"), "w") as f:
            f.write(_BROKEN_EXTENSION)
        self.addCleanup(sys.modules.pop, "twisted_bazaar.plugins.bazaar_tap_boomx", None)
        plugins.__path__.append(folder)
        self.addCleanup(plugins.__path__.remove, folder)
        error = self.assertRaises(SystemExit, makeTrackerService,
                                  _parse(["--listen", "tcp:0"], TrackerOptions))
        self.assertEqual(error.code, "twistd bazaar-tracker: error: the tracker "
                         f"extension plugin 'boomx' ({folder}/bazaar_tap_boomx.py) "
                         "failed to build: RuntimeError: boom")

    def test_aTrackerExtensionPluginUnusable(self):
        """Two extension plugins of one name, found as twistd makes the
        tracker's options (past its maker's guard): a traceback; now one
        line, status 1."""
        from twisted_bazaar.tap import tracker as tap_tracker

        def twins():
            raise PluginFault("two tracker extension plugins are named 'x': a.py "
                              "and b.py; rename or remove one")

        self.patch(tap_tracker, "trackerExtensionPlugins", twins)
        error = self.assertRaises(SystemExit, TrackerOptions)
        self.assertEqual(error.code, "twistd bazaar-tracker: error: two tracker "
                         "extension plugins are named 'x': a.py and b.py; rename or "
                         "remove one")

    def test_badEndpoints(self):
        """A bad endpoint string ends the daemon with one line, not a
        traceback (twisted raises ValueError or TypeError for these)."""
        for flag, value in (("--listen", "tcp:1:colour=red"),
                            ("--tracker", "tcp:h:1:colour=red")):
            error = self.assertRaises(SystemExit, makeNodeService,
                                      _parse(SELLER + [flag, value]))
            self.assertIsInstance(error.code, str)
            self.assertTrue(error.code.startswith(f"twistd bazaar-node: error: "
                                                  f"{flag}: bad endpoint: "),
                            error.code)
            self.assertNotIn("\n", error.code)
        error = self.assertRaises(SystemExit, makeTrackerService,
                                  _parse(["--listen", "tcp:0:colour=red"],
                                         TrackerOptions))
        self.assertTrue(error.code.startswith("twistd bazaar-tracker: error: "
                                              "--listen: "), error.code)


class FlagOptionTests(SynchronousTestCase):
    """A PluginOption with flag=True takes no value: given, it is True."""

    def setUp(self):
        from twisted_bazaar.base.options import PluginOption
        from twisted_bazaar.tap import node as tap_node

        self.option = PluginOption("shiny", "be shiny", flag=True)
        self.handler = tap_node._pluginOptionHandler(self.option, "scheme", "demo")

    def test_defaultIsFalse(self):
        from twisted_bazaar.base.options import optionDefaults

        self.assertEqual(optionDefaults([self.option]), {"shiny": False})

    def test_handlerTakesNoValue(self):
        class Options(usage.Options):
            opt_shiny = self.handler

            def __init__(self):
                self._plugin_values = {}
                super().__init__()

        options = Options()
        options.parseOptions(["--shiny"])
        self.assertEqual(options._plugin_values, {"shiny": True})
        self.assertIn("Be shiny (demo scheme).", options.getUsage())
        self.assertRaises(usage.UsageError, Options().parseOptions, ["--shiny=yes"])


class DataDirTests(SynchronousTestCase):
    """--data-dir: one node per directory, and a line saying what was
    restored."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(__import__("shutil").rmtree, self.folder, True)
        self.data = os.path.join(self.folder, "data")

    def test_secondNodeOnTheSameDirRefused(self):
        """(The node that got the lock is tested live: a store opened here
        would start a writer thread on the global reactor.)"""
        from twisted_bazaar.store.lock import DataDirLock

        holder = DataDirLock(self.data)
        holder.acquire()
        holder.started()
        self.addCleanup(holder.release)
        error = self.assertRaises(SystemExit, makeNodeService,
                                  _parse(SELLER + ["--data-dir", self.data]))
        self.assertEqual(error.code, f"twistd bazaar-node: error: --data-dir: data "
                         f"dir {self.data} is in use by another node (pid "
                         f"{os.getpid()}); give each node its own --data-dir")

    def test_aSecondNodeTouchesNothing(self):
        """The lock comes before anything a start writes there: a second
        node given the data dir of one that runs, with a --tracker-key
        (written to known_tracker) and --restock (written to the store),
        is refused and leaves every file as it was (issue 96)."""
        from twisted_bazaar.store.lock import DataDirLock

        holder = DataDirLock(self.data)
        holder.acquire()
        holder.started()
        self.addCleanup(holder.release)
        Identity.inDirectory(self.data)
        with open(os.path.join(self.data, "known_tracker"), "w") as f:
            f.write(Identity.generate().key + "\n")
        before = {}
        for name in os.listdir(self.data):
            with open(os.path.join(self.data, name), "rb") as f:
                before[name] = f.read()
        key = Identity.generate().key
        error = self.assertRaises(SystemExit, makeNodeService, _parse(
            SELLER + ["--data-dir", self.data, "--restock", "--tracker-key", key]))
        self.assertIn("is in use by another node", error.code)
        after = {}
        for name in os.listdir(self.data):
            with open(os.path.join(self.data, name), "rb") as f:
                after[name] = f.read()
        self.assertEqual(after, before)

    def test_aTrackersStateDirectoryRefused(self):
        """A node given the folder a tracker keeps its key in is refused
        with the reason, and the tracker a node's data dir, nothing
        written there (issue 96 LOW: the node took it, its key and store
        beside the tracker's key)."""
        from twisted_bazaar.daemon.tracker import trackerIdentity
        from twisted_bazaar.store.lock import DataDirLock

        trackerIdentity(self.data, said=[])
        error = self.assertRaises(usage.UsageError, _parse, SELLER + ["--data-dir",
                                                                      self.data])
        self.assertEqual(str(error), f"--data-dir {self.data} holds a tracker's key "
                         "(tracker.key), not a node's: it is a tracker's state "
                         "directory; give a node a folder of its own")
        self.assertEqual(sorted(os.listdir(self.data)), ["tracker.key"])
        node = os.path.join(self.folder, "node")
        lock = DataDirLock(node)
        lock.acquire()
        Identity.inDirectory(node)
        lock.release()
        before = sorted(os.listdir(node))
        error = self.assertRaises(usage.UsageError, _parse, ["--data-dir", node],
                                  TrackerOptions)
        self.assertEqual(str(error), f"--data-dir {node} holds a node's key "
                         "(node.key), not the tracker's: it is a node's data dir; "
                         "give the tracker a folder of its own")
        self.assertEqual(sorted(os.listdir(node)), before)

    def test_aBadMetricsEndpointLeavesNoDataDir(self):
        """--metrics that twisted cannot parse refuses the start in one
        line, and leaves no new data dir behind."""
        from twisted.internet import reactor

        # As twistd builds its services: before the reactor runs, which
        # would start the store's writer.
        self.patch(reactor, "running", False)
        self.patch(reactor, "callWhenRunning", lambda f, *a, **kw: None)
        error = self.assertRaises(SystemExit, makeNodeService, _parse(
            SELLER + ["--data-dir", self.data, "--metrics", "tcp:0:backlog=x"]))
        self.assertTrue(error.code.startswith("twistd bazaar-node: error: --metrics: "
                                              "bad endpoint: "), error.code)
        self.assertEqual(os.listdir(self.folder), [])

    def test_restock(self):
        """--restock sets each --sell item's units in the data dir, keeping
        the ledger and the other items; --sell becomes the seed."""
        from twisted_bazaar.store import Sale, SQLiteStore
        from twisted_bazaar.daemon.node import restock

        store = SQLiteStore(self.data)
        store.seedInventory({"apple": 3, "pear": 1})
        store.commitSales([Sale(1, "apple", 9, 1000.0)])
        store.close()
        self.assertEqual(restock(self.data, {"apple": 5, "fig": 2}),
                         f"data dir {self.data}: restocked apple=5 (was 2), fig=2 "
                         "(was 0); its ledger is kept")
        store = SQLiteStore(self.data)
        self.addCleanup(store.close)
        self.assertEqual((store.inventory(), [s.buy_id for s in store.sales()],
                          store.seededWith()),
                         ({"apple": 5, "pear": 1, "fig": 2}, [1], {"apple": 5, "fig": 2}))

    def test_restockNeedsASellerWithADataDir(self):
        for args in (SELLER + ["--restock"],
                     ["--role", "buyer", "--want", "a", "--restock", "--data-dir", "d"]):
            error = self.assertRaises(usage.UsageError, NodeOptions().parseOptions, args)
            self.assertEqual(str(error), "--restock sets a seller's stock in its data "
                             "dir: it needs --role seller and --data-dir")

    def test_restoredLine(self):
        from twisted_bazaar.store import MemoryStore, PendingBuy, Purchase
        from twisted_bazaar.daemon.node import restoredLine

        store = MemoryStore()
        self.assertEqual(restoredLine("d", store), "data dir d: new, nothing to "
                                                   "restore")
        store.setNodeId(17)
        store.seedInventory({"apple": 2, "pear": 0})
        store.commitPurchase(Purchase(1, "fig", 5, 0.0))
        store.commitPurchase(Purchase(2, "fig", 5, 0.0))
        store.commitPurchase(Purchase(3, "kiwi", 5, 0.0))
        store.addPending(PendingBuy(4, "fig", 5, (17, 5), "h", 1))
        self.assertEqual(restoredLine("d", store),
                         "data dir d: restored node 17; stock: apple=2, pear=0; "
                         "bag: 3 (fig x2, kiwi x1); pending buys: 1")

    def test_restoredLineOfAnotherKeysId(self):
        """A data dir whose id is not its key's (a version's before ids
        were their keys', or a key replaced) restores the node as its
        key's, saying which id the data dir named: the line named the old
        id, which the tracker refuses."""
        from twisted_bazaar.daemon.node import restoredLine
        from twisted_bazaar.identity.keys import Identity
        from twisted_bazaar.store import MemoryStore
        from twisted_bazaar.wire.ids import shortId

        identity = Identity.generate()
        store = MemoryStore()
        store.setNodeId(identity.id)
        self.assertEqual(restoredLine("d", store, identity),
                         f"data dir d: restored node {shortId(identity.id)}; stock: "
                         "none; bag: 0; pending buys: 0")
        store.setNodeId(326583144)
        self.assertEqual(restoredLine("d", store, identity),
                         f"data dir d: restored node {shortId(identity.id)} (its key's "
                         "id; the data dir named node 326583144, of another key or of "
                         "a version before ids were their keys'); stock: none; bag: 0; "
                         "pending buys: 0")


    def test_unofferedLine(self):
        """A buyer started on a stopped seller's data dir ran under its
        identity, its stock unoffered, without a word: it says so (and
        nothing for a seller, or a data dir of no units)."""
        from twisted_bazaar.store import MemoryStore
        from twisted_bazaar.daemon.node import unofferedLine

        store = MemoryStore()
        self.assertIsNone(unofferedLine("d", store, False))
        store.seedInventory({"apple": 2, "pear": 0, "fig": 5})
        self.assertEqual(unofferedLine("d", store, False),
                         "data dir d holds a seller's stock (apple=2, fig=5) that this "
                         "node does not offer: it runs without --role seller, as the "
                         "node of that data dir (its key); start it with --role seller "
                         "to sell it")
        self.assertIsNone(unofferedLine("d", store, True))
        store.seedInventory({"apple": 0})
        self.assertIsNone(unofferedLine("d", MemoryStore(), False))

    def test_unsentLine(self):
        """A buyer's data dir holding pending buys, started without the
        buyer role, resent none and said nothing (its start's line said
        'pending buys: 1'): a unit sold for one was not collected.  It
        says so (and nothing for a buyer, or a data dir of none)."""
        from twisted_bazaar.store import MemoryStore, PendingBuy
        from twisted_bazaar.daemon.node import unsentLine

        store = MemoryStore()
        self.assertIsNone(unsentLine("d", store, False))
        store.addPending(PendingBuy(4, "fig", 5, (17, 5), "h", 1))
        store.addPending(PendingBuy(6, "apple", 5, (17, 5), "h", 1))
        self.assertEqual(unsentLine("d", store, False),
                         "data dir d holds 2 pending buys (apple, fig) that this node "
                         "does not send again: it runs without --role buyer, so a unit "
                         "a seller sold for one is not collected; start it with --role "
                         "buyer to collect it")
        self.assertIsNone(unsentLine("d", store, True))


class SeveralTrackersTests(SynchronousTestCase):
    """--tracker given again: the node's trackers, in order, each with its
    own pin (issue 57: before, the last one given was kept alone)."""

    def test_allKeptInOrder(self):
        options = _parse(SELLER + ["--tracker", "127.0.0.1:7700",
                                   "--tracker", "tcp:127.0.0.1:7701"])
        self.assertEqual([str(t) for t in options.trackers],
                         ["127.0.0.1:7700", "127.0.0.1:7701"])
        client = makeNodeService(options).membership._client
        self.assertEqual([what for _, what in client.targets],
                         ["the tracker at 127.0.0.1:7700", "the tracker at 127.0.0.1:7701"])
        pins = [endpoint.pin for endpoint, _ in client.targets]
        self.assertEqual([pin.what for pin in pins], ["the tracker at 127.0.0.1:7700",
                                                      "the tracker at 127.0.0.1:7701"])
        self.assertIsNot(pins[0], pins[1])

    def test_aWebSocketTrackerNamedWithItsKind(self):
        """A ws: tracker is named so in the log, and its failures to
        connect end with what such an address names (issue 96 LOW: the
        label dropped the ws:, and a port that is not the tracker's
        WebSocket port failed each try with no hint)."""
        from twisted_bazaar.tap.hinted import HintedEndpoint

        service = makeNodeService(_parse([
            "--role", "buyer", "--want", "fig", "--give-up-after", "5",
            "--tracker", "ws:127.0.0.1:7781", "--tracker", "127.0.0.1:7700"]))
        client = service.membership._client
        self.assertEqual([what for _, what in client.targets],
                         ["the tracker at ws:127.0.0.1:7781", "the tracker at 127.0.0.1:7700"])
        [first, second] = [endpoint.endpoint for endpoint, _ in client.targets]
        self.assertIsInstance(first, HintedEndpoint)
        self.assertEqual(first.hint, "is 7781 the tracker's port for ws:? --tracker "
                         "ws:HOST:PORT for its WebSocket port")
        self.assertNotIsInstance(second, HintedEndpoint)
        [giveUp] = [child for child in service if type(child).__name__ == "GiveUp"]
        self.assertEqual(giveUp.tracker_address, "ws:127.0.0.1:7781 or 127.0.0.1:7700")

    def test_aBuyerGivingUpNamesThemAll(self):
        """A buyer that never registered names every tracker it tried."""
        from twisted_bazaar.tap.shortfall import GiveUp

        service = makeNodeService(_parse([
            "--role", "buyer", "--want", "fig", "--give-up-after", "5",
            "--tracker", "127.0.0.1:7700", "--tracker", "127.0.0.1:7701"]))
        [giveUp] = [child for child in service if isinstance(child, GiveUp)]
        self.assertEqual(giveUp.tracker_address, "127.0.0.1:7700 or 127.0.0.1:7701")

    def test_theSameTrackerTwice(self):
        error = self.assertRaises(usage.UsageError, _parse, SELLER + [
            "--tracker", "127.0.0.1:7700", "--tracker", "tcp:127.0.0.1:7700"])
        self.assertEqual(str(error), "--tracker tcp:127.0.0.1:7700 is named twice")

    def test_aKeyPerTracker(self):
        keys = [Identity.generate().key for _ in range(2)]
        options = _parse(SELLER + ["--tracker", "a:1", "--tracker", "b:2",
                                   "--tracker-key", keys[0], "--tracker-key", keys[1]])
        pins = [endpoint.pin for endpoint, _ in
                makeNodeService(options).membership._client.targets]
        self.assertEqual([pin.key for pin in pins], [decode(key) for key in keys])
        error = self.assertRaises(usage.UsageError, _parse, SELLER + [
            "--tracker", "a:1", "--tracker", "b:2", "--tracker-key", keys[0]])
        self.assertEqual(str(error), "--tracker-key: 1 key for 2 trackers; give one "
                         "--tracker-key per --tracker, in the same order, or none")


class TrackerKeyTests(SynchronousTestCase):
    """The tracker keeps its key in --data-dir and logs it; a node and
    ``bazaar`` pin it with --tracker-key."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, self.folder)

    def keyLogged(self, args):
        """The key the tracker logs: once its start has succeeded (its
        reactor runs), after twistd's own ``starting up`` (logged once the
        service is made), neither while twistd makes the service (issue 96
        LOW) nor before a start that fails removes it."""
        reactor = MemoryReactorClock()  # it has no UDP: --no-udp
        with capturedLogs() as events:
            service = makeTrackerService(_parse(args + ["--no-udp"], TrackerOptions),
                                         reactor)
            service.startService()
            started = len(events)
            for call, a, kw in reactor.whenRunningHooks:
                if isinstance(getattr(call, "__self__", None), ExitStatus):
                    call(*a, **kw)
        lines = [formatEvent(event) for event in events]
        self.assertEqual([line for line in lines[:started] if "the tracker's key" in line],
                         [])
        [line] = [line for line in lines[started:] if "the tracker's key is" in line]
        service.stopService()
        # Its process ends (the next start is another's): it lets go.
        for call, a, kw in reactor.triggers.get("after", {}).get("shutdown", []):
            call(*a, **kw)
        return line.split()[4]

    def test_aStateDirectoryGoneEndsTheTracker(self):
        """Its state directory moved or deleted while it runs: it ran on,
        and its next start made a new key that every node that pinned the
        old one refused; now it ends within a second, naming the folder,
        its key written back there first, its watch started and stopped
        with it."""
        folder = os.path.join(self.folder, "tracker")
        told = []
        self.patch(ExitStatus, "fail", lambda status, why, code=1: told.append((why, code)))
        reactor = MemoryReactorClock()
        service = makeTrackerService(_parse(["--data-dir", folder, "--no-udp"],
                                            TrackerOptions), reactor)
        service.startService()
        reactor.advance(0.5)
        self.assertEqual(told, [])
        key = Identity.read(folder, "tracker.key").key
        os.rename(folder, folder + ".moved")
        reactor.advance(0.5)
        self.assertEqual(told, [(f"state directory {folder}: the folder was moved or "
                                 "deleted while the daemon ran; the tracker's key was "
                                 "kept there, so it stops (its key written back first, "
                                 "for its next start)", 1)])
        # Its nodes keep this key: the next start takes it back.
        self.assertEqual(Identity.read(folder, "tracker.key").key, key)
        service.stopService()
        self.assertFalse(service.watch.running)
        for call, a, kw in reactor.triggers.get("after", {}).get("shutdown", []):
            call(*a, **kw)

    def test_keptAcrossRestarts(self):
        folder = os.path.join(self.folder, "tracker")
        first = self.keyLogged(["--data-dir", folder])
        self.assertEqual(self.keyLogged(["--data-dir", folder]), first)
        self.assertEqual(os.stat(os.path.join(folder, "tracker.key")).st_mode & 0o777,
                         0o600)
        self.assertEqual(len(decode(first)), 32)

    def test_keptInTheStateHomeWithoutADataDir(self):
        """`twistd -n bazaar-tracker` as the README starts it keeps its key
        across restarts in its default state directory, one per port."""
        self.patch(os, "environ", dict(os.environ, XDG_STATE_HOME=self.folder))
        first = self.keyLogged([])
        self.assertEqual(self.keyLogged([]), first)
        kept = os.path.join(self.folder, "twisted-bazaar", "tracker-7700", "tracker.key")
        self.assertEqual(os.stat(kept).st_mode & 0o777, 0o600)
        self.assertNotEqual(self.keyLogged(["--listen", "tcp:7701"]), first)

    def test_newAtEachStartOnAPortChosenAtStart(self):
        self.patch(os, "environ", dict(os.environ, XDG_STATE_HOME=self.folder))
        self.assertNotEqual(self.keyLogged(["--listen", "tcp:0"]),
                            self.keyLogged(["--listen", "tcp:0"]))
        self.assertFalse(os.path.exists(os.path.join(self.folder, "twisted-bazaar")))

    def test_aBadMetricsEndpointLeavesNoStateDir(self):
        """
        --metrics and --web endpoints that pass the options' check but
        not twisted's (a backlog that is no number; an ssl: endpoint whose
        certificate is missing, which raised a traceback) failed the
        start after the key was made, and left the new state directory
        and its key behind, against running.md.  They now end the start
        with one line and remove what it made.
        """
        self.patch(os, "environ", dict(os.environ, XDG_STATE_HOME=self.folder))
        # A file that is no PEM key: OpenSSL's own error, a traceback before.
        junk = os.path.join(tempfile.mkdtemp(prefix="bazaar-tap-"), "junk.pem")
        self.addCleanup(shutil.rmtree, os.path.dirname(junk), True)
        with open(junk, "w") as f:
            f.write("not a key\n")
        for flag, value in (("--metrics", "tcp:0:backlog=x"),
                            ("--metrics", "ssl:0:privateKey=/nonexistent/key.pem"),
                            ("--metrics", f"ssl:0:privateKey={junk}"),
                            ("--web", f"ssl:0:privateKey={junk}"),
                            ("--web", "tcp:0:backlog=x")):
            error = self.assertRaises(SystemExit, makeTrackerService, _parse(
                ["--listen", "tcp:17799:interface=127.0.0.1", flag, value],
                TrackerOptions))
            self.assertTrue(error.code.startswith(f"twistd bazaar-tracker: error: "
                                                  f"{flag}: bad endpoint: "), error.code)
            self.assertNotIn("\n", error.code)
            self.assertEqual(os.listdir(self.folder), [], (flag, value))
        error = self.assertRaises(SystemExit, makeTrackerService, _parse(
            ["--listen", f"ssl:17799:interface=127.0.0.1:privateKey={junk}"],
            TrackerOptions))
        self.assertEqual(error.code, "twistd bazaar-tracker: error: --listen: bad "
                         "endpoint: a file it names is no PEM key or certificate "
                         "(unsupported)")
        self.assertEqual(os.listdir(self.folder), [])

    def test_aKeyNotTheCertificatesIsOneLine(self):
        """An ssl: endpoint whose privateKey= is not the key of its
        certKey= (a key renewed, the certificate not): Twisted's
        VerifyError was a 40-line traceback; now one line that says which
        files must match, and the start leaves nothing behind."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from OpenSSL import crypto

        from tests.net.test_encrypted import certificate

        self.patch(os, "environ", dict(os.environ, XDG_STATE_HOME=self.folder))
        folder = tempfile.mkdtemp(prefix="bazaar-tap-")
        self.addCleanup(shutil.rmtree, folder, True)
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        with open(cert, "wb") as f:
            f.write(crypto.dump_certificate(crypto.FILETYPE_PEM, certificate(True)))
        other = ec.generate_private_key(ec.SECP256R1())
        with open(key, "wb") as f:
            f.write(other.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        endpoint = f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
        why = ("bad endpoint: its certificate is not its key's: certKey= (privateKey= "
               "when none is named) must hold the certificate of the key privateKey= holds")
        for flag, value in (("--listen", endpoint.replace("ssl:0", "ssl:17799")),
                            ("--metrics", endpoint), ("--web", endpoint)):
            error = self.assertRaises(SystemExit, makeTrackerService, _parse(
                ["--listen", "tcp:17799:interface=127.0.0.1", flag, value]
                if flag != "--listen" else [flag, value], TrackerOptions))
            self.assertEqual(error.code, f"twistd bazaar-tracker: error: {flag}: {why}")
            self.assertEqual(os.listdir(self.folder), [], flag)

    def test_unwritableStateHome(self):
        """A default state directory that cannot be made: a one-line error
        with the reason and the flag to use; the daemon does not start."""
        blocker = os.path.join(self.folder, "a-file")
        with open(blocker, "w"):
            pass
        self.patch(os, "environ", dict(os.environ, XDG_STATE_HOME=blocker))
        error = self.assertRaises(SystemExit, makeTrackerService,
                                  _parse([], TrackerOptions))
        self.assertTrue(error.code.startswith(
            "twistd bazaar-tracker: error: cannot keep the tracker's key in its "
            f"default state directory {blocker}/twisted-bazaar/tracker-7700 ("),
            error.code)
        self.assertIn("give --data-dir DIR", error.code)

    def test_noHomeFolderIsRefused(self):
        """
        A service's uid with no passwd entry and no HOME (setpriv --reuid,
        systemd's DynamicUser without HOME): the tracker made a new key at
        each start, saying "no fixed port to keep a default state
        directory for" of tcp:7700, and a restart stranded every node that
        kept the old one, against running.md ("only a tracker on a port
        chosen at each start makes a new key").  Now its start is refused,
        one line, leaving nothing; --data-dir still runs it, and a port
        chosen at start still needs no home.
        """
        environ = {k: v for k, v in os.environ.items()
                   if k not in ("HOME", "XDG_STATE_HOME")}
        self.patch(os, "environ", environ)
        self.patch(os.path, "expanduser", lambda path: path)  # no passwd entry
        error = self.assertRaises(SystemExit, makeTrackerService,
                                  _parse(["--listen", "tcp:17799:interface=127.0.0.1"],
                                         TrackerOptions))
        self.assertEqual(
            error.code, "twistd bazaar-tracker: error: no home folder to keep the "
            "tracker's key in (HOME is unset, and XDG_STATE_HOME unset), where it "
            "stays the same across restarts so that its nodes take it back: give "
            "--data-dir DIR, a directory it can write")
        self.assertEqual(os.listdir(self.folder), [])
        folder = os.path.join(self.folder, "tracker")
        self.assertEqual(self.keyLogged(["--data-dir", folder]),
                         self.keyLogged(["--data-dir", folder]))
        self.assertNotEqual(self.keyLogged(["--listen", "tcp:0"]),
                            self.keyLogged(["--listen", "tcp:0"]))

    def test_badDataDir(self):
        missing = os.path.join(self.folder, "no", "such")
        error = self.assertRaises(usage.UsageError, _parse, ["--data-dir", missing],
                                  TrackerOptions)
        self.assertIn("the tracker creates only the last folder", str(error))
        with open(os.path.join(self.folder, "tracker.key"), "w") as f:
            f.write("not a key")
        error = self.assertRaises(SystemExit, makeTrackerService,
                                  _parse(["--data-dir", self.folder], TrackerOptions))
        self.assertTrue(error.code.startswith("twistd bazaar-tracker: error: "
                                              "--data-dir: "), error.code)

    def test_nodePinsIt(self):
        key = Identity.generate().key
        options = _parse(SELLER + ["--tracker-key", key])
        self.assertEqual(options["tracker-key"], [decode(key)])
        service = makeNodeService(options)
        pin = service.membership._client.endpoint.pin
        self.assertEqual((pin.key, pin.pinnedBy), (decode(key), "--tracker-key"))

    def test_nodeRemembersItWithoutAPin(self):
        """Without --tracker-key, the node's tracker connections take the
        first key proven, then only that one (net/pin.py)."""
        service = makeNodeService(_parse(SELLER))
        pin = service.membership._client.endpoint.pin
        self.assertEqual((pin.key, pin.pinnedBy, pin.where), (None, None, None))

    def test_damagedKnownTracker(self):
        """A data dir whose known_tracker holds no key: the node does not
        start, says why, and leaves the data dir unlocked."""
        from twisted_bazaar.store.lock import DataDirLock

        data = os.path.join(self.folder, "data")
        os.mkdir(data)
        with open(os.path.join(data, "known_tracker"), "w") as f:
            f.write("garbage\n")
        error = self.assertRaises(SystemExit, makeNodeService,
                                  _parse(SELLER + ["--data-dir", data]))
        self.assertEqual(error.code, "twistd bazaar-node: error: --data-dir: "
                         f"{data}/known_tracker holds no tracker's key (remove it: "
                         "the tracker's key is then remembered again at the next "
                         "contact, or pass --tracker-key with the key the tracker "
                         "logs when it starts)")
        lock = DataDirLock(data)
        lock.acquire()
        lock.release()

    def test_nodeRefusesWhatIsNoKey(self):
        for text in ("abc", Identity.generate().key + "A", "+" * 43):
            error = self.assertRaises(usage.UsageError, _parse,
                                      SELLER + ["--tracker-key", text])
            self.assertIn(f"--tracker-key: {text!r} is not a key", str(error))
