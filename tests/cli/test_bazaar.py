"""
Tests for L{twisted_bazaar.cli.bazaar} and its command line
(L{twisted_bazaar.cli.arguments}): the options every command takes
(``--json``, ``--tracker``, ``--timeout``) work before or after the
command's name, and each command's ``--help`` lists them; ``bazaar buy``
picks the market's scheme.
"""

import contextlib
import io
import json
import os
import random
import shutil
import signal
import sys
import tempfile

import attr
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import KEYED, parseWireId, wireId
from twisted_bazaar.base.address import Address
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.roles.files import options
from twisted_bazaar.cli.bazaar import (
    COMMANDS,
    _downloads,
    _punchOf,
    _quicOf,
    marketScheme,
    noticeFor,
    nodeAddress,
    nodeObject,
    listObject,
    renderList,
    renderNode,
    renderStatus,
    statusObject,
)
from twisted_bazaar import wire
from twisted_bazaar.cli import bazaar
from twisted_bazaar.cli.arguments import main, parse
from twisted_bazaar.base.usage import UsageError
from twisted_bazaar.daemon.pluginfault import PluginFault
from twisted_bazaar.daemon.registry import trackerExtensionPlugins, transportPlugins
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.status.client import ClientError, NotTheNodeDialled
from twisted_bazaar.tracker import Tracker, TrackerFactory
from tests.helpers import WiredLink
from twisted_bazaar.reach.ways import ClientWay as Way
from twisted_bazaar.transports.path import DIRECT, LAN, RELAYED
from twisted_bazaar.status.messages import MemberList, NodeState
from twisted_bazaar.store.lock import DataDirLock
from twisted_bazaar.transports.path import Path
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.transports.websocket import WEBSOCKET


def helpOf(*argv):
    """What ``bazaar ARGV --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        parse([*argv, "--help"])
    return out.getvalue()



#: A key's id, as the wire and --json give it.
KEYED_ID = "9903ed08d3debadce05841a07701165c"

def capturedBuy(case, *argv):
    """What ``bazaar buy ARGV`` hands its buying node (L{OneShotBuy}'s
    keywords), in a market of one flood node, on a memory reactor."""
    given = {}

    class Capture:
        def __init__(self, *args, **kwargs):
            given.update(kwargs)

        def run(self, started):
            return defer.succeed({"purchases": []})

    class Reactor(MemoryReactorClock):
        def addSystemEventTrigger(self, *args):
            return "trigger"

        def removeSystemEventTrigger(self, trigger):
            pass

    market = MemberList(((1, "10.1.0.1", 4000, "flood"),), 1)
    case.patch(bazaar, "askTracker", lambda *a, **k: defer.succeed(market))
    case.patch(bazaar, "OneShotBuy", Capture)
    case.successResultOf(bazaar.buy(Reactor(), parse(["buy", *argv])))
    return given


class CommonOptionTests(SynchronousTestCase):
    def test_beforeOrAfter(self):
        """An option of every command means the same before the command's
        name as after it."""
        for command in (["status"], ["list"], ["node", "h:1"], ["buy", "plum"]):
            common = ["--json", "--tracker", "tcp:t:7701", "--timeout", "4"]
            for argv in (common + command, command + common):
                args = parse(argv)
                self.assertEqual((args.json, args.tracker, args.timeout),
                                 (True, Address("t", 7701, "tcp:t:7701"), 4.0), argv)

    def test_defaults(self):
        """Not given: text, the tracker on this machine, 10 s a question
        and 60 s for a whole purchase."""
        for argv, timeout in ((["status"], 10.0), (["node", "h:1"], 10.0),
                              (["buy", "plum"], 60.0)):
            args = parse(argv)
            self.assertEqual((args.json, str(args.tracker), args.timeout),
                             (False, "127.0.0.1:7700", timeout), argv)

    def test_buyNoticesOffATerminal(self):
        """A buy waiting with nothing on offer says so on stderr, in a
        log or pipe as on a terminal; with --json, stderr stays quiet."""
        err = io.StringIO()
        self.assertFalse(err.isatty())
        with contextlib.redirect_stderr(err):
            noticeFor(parse(["buy", "plum"]))("no seller offers plum now")
        self.assertEqual(err.getvalue(), "bazaar: no seller offers plum now\n")
        self.assertIsNone(noticeFor(parse(["buy", "plum", "--json"])))

    def test_aNoticeShowsNoEscapeSequence(self):
        """The item, as typed, is in a notice: its escape sequences were
        written raw (a terminal title, the clipboard: OSC 52), where the
        final error line escaped them."""
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            noticeFor(parse(["buy", "plum"]))(
                "no seller offers evil\x1b]52;c;aGk=\x07name now")
        self.assertEqual(err.getvalue(),
                         "bazaar: no seller offers evil\\x1b]52;c;aGk=\\x07name now\n")

    def test_downloadsCheckedOnlyWhenGiven(self):
        """``bazaar buy`` checks --downloads when it is given; without it,
        the current folder is not checked (a counted item needs no folder,
        so a buy from a folder this user cannot write to goes on)."""
        self.patch(options.os, "access", lambda path, mode: False)
        self.assertFalse(hasattr(parse(["buy", "plum"]), "downloads"))
        self.assertEqual(_downloads(None)[0], os.path.abspath(os.curdir))
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
            parse(["buy", "plum", "--downloads", "."])
        self.assertIn("--downloads: . is not writable by this user", err.getvalue())

    def test_downloadsOfADaemonsStateRefused(self):
        """``bazaar buy --downloads DIR`` of a folder holding a daemon's key
        or store is refused, exit 2, as the node's --downloads is: a file
        bought was written among a node's key and its store."""
        import tempfile

        for name, what in (("node.key", "a node's key"), ("tracker.key", "a tracker's key"),
                           ("bazaar.sqlite", "a node's store")):
            state = tempfile.mkdtemp(prefix="bazaar-buy-")
            self.addCleanup(shutil.rmtree, state, True)
            with open(os.path.join(state, name), "wb") as f:
                f.write(b"k")
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as ended:
                parse(["buy", "song.ogg", "--downloads", state])
            self.assertEqual((ended.exception.code, err.getvalue().splitlines()[0]), (
                2, f"bazaar buy: error: argument --downloads: {state} holds {what} ({name}): "
                "it is a daemon's state, among which the files bought would go; give them a "
                "folder of their own"))

    def test_theCurrentFolderOfADaemonsStateTakesNoFile(self):
        """``bazaar buy`` without --downloads, run in a folder holding a
        daemon's key or store (its default, the current folder), told its
        buy to refuse a file, as --downloads of it is refused (issue 96:
        nothing checked it); a folder of no state, nothing.  A counted
        item needs no folder: the buy is not refused at once."""
        import tempfile

        here = os.getcwd()
        self.addCleanup(os.chdir, here)
        for name, what in (("node.key", "a node's key"), ("bazaar.sqlite", "a node's store"),
                           (None, None)):
            state = tempfile.mkdtemp(prefix="bazaar-buy-")
            self.addCleanup(shutil.rmtree, state, True)
            if name is not None:
                with open(os.path.join(state, name), "wb") as f:
                    f.write(b"k")
            os.chdir(state)
            given = capturedBuy(self, "song.ogg", "--no-quic", "--no-punch")
            self.assertEqual(given["downloads"], os.path.abspath(state))
            self.assertEqual(given.get("refused"), None if name is None else (
                f"the current folder {os.path.abspath(state)} holds {what} ({name}): it "
                "is a daemon's state, among which the files bought would go; give them "
                "a folder of their own (--downloads DIR)"))

    def test_buyListensOnItsTrackersFamily(self):
        """A buyer at an IPv6-only tracker listened on tcp:0, IPv4 only:
        the tracker's check and its sellers found nothing at its IPv6
        address, so what needs an inbound path (a seller's relayed file,
        a punch) had none; it listens on IPv6 there, as a node does."""
        given = capturedBuy(self, "apple", "--tracker", "[2001:db8::7]:7700", "--no-quic",
                            "--no-punch")
        self.assertEqual(given["listen_description"], "tcp6:0")
        given = capturedBuy(self, "apple", "--tracker", "192.0.2.7:7700", "--no-quic",
                            "--no-punch")
        self.assertEqual(given["listen_description"], "tcp:0")

    def test_buyPunches(self):
        """``bazaar buy`` hole-punches as a daemon does, by default, with
        nothing waiting for the punch; with --no-punch it punches none;
        --punch-wait, gone, is refused saying what to do now."""
        reactor, channel = MemoryReactorClock(), object()
        connector = attr.make_class("Connector", ["peerLog"])(None)
        self.assertFalse(parse(["buy", "big.bin"]).no_punch)
        dialer, waits, enabled = _punchOf(reactor, channel, connector, True)
        self.assertEqual((dialer.reactor, dialer.channel, waits, enabled),
                         (reactor, channel, 0, True))
        self.assertTrue(parse(["buy", "big.bin", "--no-punch"]).no_punch)
        self.assertIsNone(_punchOf(reactor, channel, connector, False))
        for given in (["--punch-wait", "10"], ["--punch-wait"]):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
                parse(["buy", "big.bin", *given])
            self.assertIn("bazaar buy: error: --punch-wait is gone: nothing waits for a "
                          "hole punch now: a file starts at once through the relay and "
                          "moves to the punched path when it comes; --no-punch turns "
                          "punching off", err.getvalue())

    def test_buyQuicPort(self):
        """The buying node has a QUIC socket by default, on a free UDP port
        or --quic-port's, none with --no-quic; a port that is none is
        refused, saying why."""
        self.assertIsNone(parse(["buy", "big.bin"]).quic_port)
        self.assertFalse(parse(["buy", "big.bin"]).no_quic)
        self.assertTrue(parse(["buy", "big.bin", "--no-quic"]).no_quic)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as exited:
            parse(["buy", "big.bin", "--no-quic", "--quic-port", "0"])
        self.assertEqual(exited.exception.code, 2)
        self.assertIn("--quic-port: not allowed with argument --no-quic", err.getvalue())
        self.assertIsNone(_quicOf(MemoryReactorClock(), object(), None))
        self.assertIsNotNone(_quicOf(MemoryReactorClock(), object(), 0))
        self.assertEqual(parse(["buy", "big.bin", "--quic-port", "0"]).quic_port, 0)
        for bad, why in (("65536", "65535"), ("-1", "-1"), ("x", "x")):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
                parse(["buy", "big.bin", "--quic-port", bad])
            self.assertIn("--quic-port", err.getvalue())
            self.assertIn(why, err.getvalue())

    def test_trackerKey(self):
        """--tracker-key pins the tracker's key for every command that asks
        it; none by default; what is no key is refused with the reason."""
        key = Identity.generate().key
        for command in (["status"], ["list"], ["node", "h:1"], ["buy", "plum"]):
            self.assertEqual(parse(command + ["--tracker-key", key]).tracker_key,
                             decode(key))
            self.assertIsNone(parse(command).tracker_key)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
            parse(["status", "--tracker-key", "abc"])
        self.assertIn("--tracker-key: 'abc' is not a key", err.getvalue())

    def test_aMistypedScheme(self):
        """bazaar buy --discovery suggests as bazaar-sim's and the node's
        do: a scheme in another case, or a letter off."""
        for given, meant in (("Chord", "chord"), ("indx", "index")):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
                parse(["buy", "plum", "--discovery", given])
            self.assertIn(f"argument --discovery: unknown discovery scheme {given!r} "
                          f"(did you mean {meant}?) (known: chord, flood, index, "
                          "superpeer)", err.getvalue())

    def test_trackerKeyBeginningWithADash(self):
        """One key in 64 begins with "-" (base64url): given as the tracker
        logs it (``--tracker-key KEY``), it is a key, not an option."""
        key = next(key for key in (Identity.fromRandom(random.Random(n)).key
                                   for n in range(1000)) if key.startswith("-"))
        self.assertEqual(parse(["status", "--tracker-key", key]).tracker_key,
                         decode(key))
        self.assertEqual(parse(["buy", "plum", f"--tracker-key={key}"]).tracker_key,
                         decode(key))
        # The word after a trailing --tracker-key is not there: argparse says so.
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
            parse(["status", "--tracker-key"])
        self.assertIn("--tracker-key: expected one argument", err.getvalue())

    def test_eachHelpListsThem(self):
        for command in COMMANDS:
            text = helpOf(command)
            for option in ("--json", "--tracker ADDRESS", "--timeout S"):
                if command == "restock" and option.startswith("--tracker"):
                    # It asks no tracker: the node's own socket.
                    self.assertNotIn(option, text)
                    continue
                self.assertIn(option, text, command)
        self.assertIn("the whole purchase may take (default: 60)", helpOf("buy"))
        self.assertIn("seconds each question may take (default: 10)", helpOf("node"))

    def test_buyHelpNamesTheTransportsOptions(self):
        """bazaar buy --help lists each installed transport's node options
        in a section of its own, read from the plugins (issue 96: --ws-port
        and --ws-peer were not in it); the other commands' help loads no
        plugin."""
        text = " ".join(helpOf("buy").split())
        plugins = transportPlugins().values()
        self.assertTrue(plugins)
        for plugin in plugins:
            self.assertIn(f"the {plugin.name} transport:", text)
            for option in plugin.nodeOptions:
                self.assertIn(f"--{option.name} ", text)
        self.assertNotIn("--ws-port", " ".join(helpOf("status").split()))

    def test_buyHelpWordsTheTransportsOptionsAsItsOwn(self):
        """The transports' options in bazaar buy --help are laid out as its
        own are (it showed WS_PORT, WS_PEER, a capital start and a
        sentence's "Repeatable."): the plugin's metavar, a lower-case
        start, "(repeatable)"."""
        text = " ".join(helpOf("buy").split())
        self.assertIn("--ws-port PORT TCP port", text)
        self.assertIn("--ws-names NAMES host names the --ws-port", text)
        self.assertIn("--ws-peer ID=HOST:PORT reach node ID over WebSocket", text)
        self.assertIn("raced beside TCP (repeatable)", text)
        self.assertNotIn("WS_", text)
        self.assertNotIn("Repeatable.", text)

    def test_webListenCheckedAsAnArgument(self):
        """bazaar web's --listen is checked as it is parsed, exit 2 with the
        reason (a bad one was found only once the tracker answered, exit
        1, and with no tracker there not at all); a good one listens on
        loopback unless it names an interface."""
        for listen, why in (
                ("bogus:1", "argument --listen: bad endpoint bogus:1: Unknown "
                 "endpoint type: 'bogus'"),
                ("tcp:abc", "argument --listen: port 'abc' is not a number"),
                ("ssl:0:privateKey=/nonexistent/key.pem", "argument --listen: bad "
                 "endpoint ssl:0:privateKey=/nonexistent/key.pem:interface=127.0.0.1: "
                 "[Errno 2] No such file or directory: '/nonexistent/key.pem'"),
                (f"ssl:0:privateKey={__file__}", "argument --listen: bad endpoint "
                 f"ssl:0:privateKey={__file__}:interface=127.0.0.1: a file it names is "
                 "no PEM key or certificate (unsupported)")):
            with contextlib.redirect_stderr(io.StringIO()), \
                    self.assertRaises(UsageError) as e:
                parse(["web", "--listen", listen])
            self.assertEqual(e.exception.reason, why)
        self.assertEqual(parse(["web", "--listen", "tcp:8081"]).listen,
                         "tcp:8081:interface=127.0.0.1")
        self.assertEqual(parse(["web", "--listen", "tcp:8081:interface=0.0.0.0"]).listen,
                         "tcp:8081:interface=0.0.0.0")

    def test_buyListenInterfaceAnAddress(self):
        """bazaar buy's --listen names an IP address as its interface, as a
        node's does: its QUIC port listens there too, and binds no host
        name."""
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(UsageError) as e:
            parse(["buy", "apple", "--listen", "tcp:0:interface=localhost"])
        self.assertIn("interface=localhost is not an IP address", e.exception.reason)
        self.assertEqual(parse(["buy", "apple", "--listen",
                                "tcp:0:interface=127.0.0.1"]).listen,
                         "tcp:0:interface=127.0.0.1")

    def test_listenKindInCapitals(self):
        """bazaar buy's and bazaar web's --listen hand Twisted the kind in
        lower case: TCP:0 was refused, 'Unknown endpoint type: 'tcp''."""
        self.assertEqual(parse(["buy", "apple", "--listen", "TCP:0"]).listen, "tcp:0")
        self.assertEqual(parse(["web", "--listen", "TCP:8081"]).listen,
                         "tcp:8081:interface=127.0.0.1")

    def test_restockRefusesTheTrackersOptions(self):
        """restock asks no tracker: its options are refused by name before
        or after the command (after it, the address was taken for an
        ITEM=N, and refused as one; before it, ignored)."""
        why = ("restock asks no tracker: it speaks to the seller over "
               "DIR/control.sock; leave out --tracker and --tracker-key")
        key = Identity.generate().key
        restock = ["restock", "--data-dir", "d", "apple=3"]
        for argv in (["--tracker", "h:1", *restock], [*restock, "--tracker", "h:1"],
                     ["restock", "--tracker", "h:1", "--data-dir", "d", "apple=3"],
                     [*restock, "--tracker-key", key]):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(UsageError) as e:
                parse(argv)
            self.assertEqual(e.exception.reason, why, argv)
            self.assertTrue(err.getvalue().startswith("bazaar restock: error: "), argv)
        self.assertEqual(parse(restock).stock, [("apple", 3)])

    def test_aTransportPluginsTrackerEndpoints(self):
        """The endpoints a transport plugin adds to a node's --tracker are
        bazaar's too, kept as given (Twisted finds their parsers, as a
        node's); a kind no transport has is refused, naming those that
        work."""
        kinds = [kind for plugin in transportPlugins().values()
                 for kind in plugin.trackerKinds]
        self.assertTrue(kinds, "no transport plugin with a tracker endpoint installed")
        for kind in kinds:
            for command in (["status"], ["list"], ["node", "7b3c"], ["buy", "apple"],
                            ["web"]):
                args = parse(["--tracker", f"{kind}:192.0.2.10:80", *command])
                self.assertEqual([each.endpoint for each in args.trackers],
                                 [f"{kind}:192.0.2.10:80"], command)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
            parse(["--tracker", "gopher:192.0.2.10:70", "status"])
        self.assertIn("a gopher: endpoint cannot work here: bazaar reaches the tracker "
                      "over TCP, with or without TLS, or an installed transport (use "
                      f"HOST:PORT, tcp:, ssl:, tls: or {kinds[-1]}:)", err.getvalue())

    def test_buyTakesEachTransportsNodeOptions(self):
        """bazaar buy takes each transport plugin's node options, as
        twistd bazaar-node does, parsed by the plugin's parser: a
        repeatable one a list (none given: empty), another its default."""
        options = [option for plugin in transportPlugins().values()
                   for option in plugin.nodeOptions]
        self.assertTrue(options, "no transport plugin with node options installed")
        plain = parse(["buy", "apple"])
        for option in options:
            self.assertEqual(getattr(plain, option.name.replace("-", "_")),
                             [] if option.repeatable else False if option.flag
                             else option.default, option.name)
        seller = "0123456789abcdef0123456789abcdef"
        given = parse(["buy", "apple", "--ws-port", "0", "--ws-peer",
                       f"{seller}=192.0.2.11:443"])
        self.assertEqual((given.ws_port, given.ws_peer),
                         (0, [(parseWireId(seller), "192.0.2.11", 443)]))
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
            parse(["buy", "apple", "--ws-port", "70000"])
        self.assertIn("--ws-port: wants a whole number from 0 to 65535, not 70000",
                      err.getvalue())
        # The other commands take none.
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            parse(["status", "--ws-port", "0"])

    def test_aTrackerNamedTwice(self):
        """status asked the same tracker twice, and printed it twice; the
        daemon refuses a repeated --tracker, and so does the command."""
        for argv in (["--tracker", "h:1", "--tracker", "h:1", "status"],
                     ["list", "--tracker", "h:1", "--tracker", "tcp:h:1"]):
            with contextlib.redirect_stderr(io.StringIO()), \
                    self.assertRaises(UsageError) as e:
                parse(argv)
            self.assertEqual(e.exception.reason, "--tracker h:1 is named twice", argv)
        self.assertEqual(len(parse(["--tracker", "h:1", "--tracker", "h:2",
                                    "status"]).trackers), 2)

    def test_theDataDirBeforeTheCommand(self):
        """bazaar --data-dir D status said "invalid choice: 'D'": it says
        that --data-dir follows the command."""
        for argv, command in ((["--data-dir", "d", "status"], "status"),
                              (["--data-dir=d", "node"], "node"),
                              (["--data-dir", "d"], "COMMAND")):
            with contextlib.redirect_stderr(io.StringIO()), \
                    self.assertRaises(UsageError) as e:
                parse(argv)
            self.assertEqual(e.exception.reason, "--data-dir follows the command's "
                             f"name: bazaar {command} --data-dir DIR (an option of "
                             "node, status, list, web and restock, not of every "
                             "command)", argv)
        self.assertEqual(parse(["status", "--data-dir", "d"]).data_dir, "d")

    def test_buyHostMistyped(self):
        """bazaar buy's --host is refused as a node's is (issue 96, M5)."""
        for bad, why in (("999.1.1.1", "is not an IPv4 address"),
                         ("bad_host!", "is not a host name"), ("", "is empty")):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as e:
                parse(["buy", "big.bin", "--host", bad])
            self.assertEqual(e.exception.code, 2)
            self.assertIn(f"argument --host: {bad!r} {why}", err.getvalue())
        self.assertEqual(parse(["buy", "big.bin", "--host", "192.0.2.7"]).host,
                         "192.0.2.7")

    def test_restockBoundedAsSell(self):
        """restock's ITEM=N has --sell's bound, the most units one buy
        names: more is refused before the node is asked."""
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(UsageError) as e:
            parse(["restock", "--data-dir", "d", "apple=1000000001"])
        self.assertIn("apple=1000000001: the count of units cannot be more than "
                      "1,000,000,000", e.exception.reason)
        self.assertEqual(parse(["restock", "--data-dir", "d", "apple=1000000000"]).stock,
                         [("apple", 10**9)])


def members(*schemes):
    """A memberlist of one node per scheme named."""
    nodes = tuple((n, "127.0.0.1", 4000 + n, scheme)
                  for n, scheme in enumerate(schemes, 1))
    return MemberList(nodes, len(nodes))


INSTALLED = {"flood", "index", "superpeer", "chord"}


class MarketSchemeTests(SynchronousTestCase):
    """bazaar buy joins the scheme the market's live nodes run, or says
    which --discovery to give."""

    def test_theMarketsScheme(self):
        for scheme in ("index", "superpeer", "chord", "flood"):
            self.assertEqual(marketScheme(members(scheme, scheme), INSTALLED), scheme)

    def test_emptyMarket(self):
        self.assertEqual(marketScheme(members(), INSTALLED), "flood")
        self.assertEqual(marketScheme(members(""), INSTALLED), "flood")

    def test_chosen(self):
        self.assertEqual(marketScheme(members("index"), INSTALLED, "index"), "index")
        self.assertEqual(marketScheme(members(), INSTALLED, "chord"), "chord")

    def test_chosenRunsNowhere(self):
        error = self.assertRaises(ClientError, marketScheme,
                                  members("chord", "chord", "index"), INSTALLED, "flood")
        self.assertEqual(str(error), "no live node runs the flood scheme; the market's "
                         "nodes run chord (2 nodes), index (1 node): give "
                         "--discovery chord")

    def test_chosenRunsNowhereAndTwoTie(self):
        """Two schemes tied, and --discovery naming a third: it named only
        the first of the two (by name), as if it were the market's."""
        error = self.assertRaises(ClientError, marketScheme,
                                  members("flood", "chord"), INSTALLED, "index")
        self.assertEqual(str(error), "no live node runs the index scheme; the market's "
                         "nodes run chord (1 node), flood (1 node): give --discovery "
                         "chord or --discovery flood, which the market's address "
                         "groups are split between")

    def test_severalSchemes(self):
        error = self.assertRaises(ClientError, marketScheme,
                                  members("chord", "index"), INSTALLED)
        self.assertEqual(str(error), "the market's nodes run several schemes, chord "
                         "(1 node), index (1 node): give --discovery with the one "
                         "to buy through")

    def test_notInstalled(self):
        error = self.assertRaises(ClientError, marketScheme, members("gossip"),
                                  INSTALLED)
        self.assertEqual(str(error), "the market runs the gossip scheme, which is not "
                         "installed here (installed: chord, flood, index, superpeer)")


def hosted(*rows):
    """A memberlist of nodes given as (scheme, host) rows."""
    nodes = tuple((n, host, 4000 + n, scheme) for n, (scheme, host) in enumerate(rows, 1))
    return MemberList(nodes, len(nodes))


class ClaimedSchemeTests(SynchronousTestCase):
    """
    A node may claim any scheme (issue 34, "a claimed scheme"): each
    address group has one vote, for the scheme most of its nodes run, and
    the market's is the one with the most votes, of those installed here;
    a stray claim does not stop a buyer.
    """

    def test_strayClaim(self):
        """One node that says chord in a flood market on one machine."""
        market = hosted(*[("flood", "127.0.0.1")] * 4, ("chord", "127.0.0.1"))
        self.assertEqual(marketScheme(market, INSTALLED), "flood")

    def test_groupsOutweighNodes(self):
        """Many nodes of a stranger's one address group claim chord; the
        market's nodes, from more groups, run flood."""
        market = hosted(*[("chord", "203.0.113.9")] * 200, ("flood", "10.1.0.1"),
                        ("flood", "10.2.0.1"))
        self.assertEqual(marketScheme(market, INSTALLED), "flood")

    def test_aGroupsNodesAreOneVote(self):
        """Three free-key chord nodes of one stranger's /16 do not outvote
        two honest flood nodes of another /16: one group's vote each, so
        the market is split evenly, and the buyer is told to choose."""
        market = hosted(*[("chord", f"203.0.113.{n}") for n in range(3)],
                        ("flood", "10.1.0.1"), ("flood", "10.1.0.2"))
        error = self.assertRaises(ClientError, marketScheme, market, INSTALLED)
        self.assertEqual(str(error), "the market's nodes run several schemes, chord "
                         "(3 nodes), flood (2 nodes): give --discovery with the one "
                         "to buy through")
        self.assertEqual(marketScheme(market, INSTALLED, "flood"), "flood")

    def test_aGroupVotesForWhatMostOfItsNodesRun(self):
        """A stray chord claim in each of two flood groups gives chord no
        vote there: flood's two groups outvote the chord of a third."""
        market = hosted(*[("flood", "10.1.0.1")] * 3, ("chord", "10.1.0.9"),
                        *[("flood", "10.2.0.1")] * 3, ("chord", "10.2.0.9"),
                        ("chord", "203.0.113.9"))
        self.assertEqual(marketScheme(market, INSTALLED), "flood")

    def test_aSplitGroupSharesItsVote(self):
        """A group split evenly between two schemes gives each half a vote:
        with a whole group for index, index wins."""
        market = hosted(("flood", "10.1.0.1"), ("index", "10.1.0.2"),
                        ("index", "10.2.0.1"))
        self.assertEqual(marketScheme(market, INSTALLED), "index")
        evenly = hosted(("flood", "10.1.0.1"), ("index", "10.1.0.2"))
        self.assertRaises(ClientError, marketScheme, evenly, INSTALLED)

    def test_uninstalledClaimsIgnored(self):
        market = hosted(*[("gossip", f"10.{n}.0.1") for n in range(9)],
                        ("index", "10.9.0.1"))
        self.assertEqual(marketScheme(market, INSTALLED), "index")

    def test_manySchemesNamedFew(self):
        """A refusal names the five schemes that weigh most, and counts
        the rest."""
        market = hosted(*[(f"s{n}", "10.0.0.1") for n in range(40)])
        error = self.assertRaises(ClientError, marketScheme, market, INSTALLED, "flood")
        self.assertEqual(str(error), "no live node runs the flood scheme; the market's "
                         "nodes run s0 (1 node), s1 (1 node), s10 (1 node), s11 (1 "
                         "node), s12 (1 node) and 35 more schemes: give --discovery s0 "
                         "or --discovery s1 or --discovery s10 or --discovery s11 or "
                         "--discovery s12 (or one of the 35 more schemes tied with "
                         "them), which the market's address groups are split between")

    def test_throughTheTracker(self):
        """The tracker's members, as a stranger's registration claiming
        chord among flood nodes leaves them: the buyer runs flood."""
        tracker = Tracker(Clock(), random.Random(3), LinkSettings(ping_interval=0),
                          extensions=trackerExtensionPlugins())
        factory = TrackerFactory(tracker)
        for n, scheme in enumerate(("flood", "flood", "chord")):
            WiredLink(factory, "127.0.0.1").say({"type": "thisisme", "id": "",
                                                 "port": 4000 + n, "host": "",
                                                 "scheme": scheme})
        client = WiredLink(factory, "127.0.0.1")
        client.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        client.say({"type": "members"})
        answer = wire.decode(json.dumps(client.heard()[-1]).encode())
        self.assertEqual(len(answer.nodes), 3)
        self.assertEqual(marketScheme(answer, INSTALLED), "flood")


class UnaskedSchemesTests(SynchronousTestCase):
    """A buy that ends with nothing bought in a market of several schemes
    names those whose nodes it did not ask (issue 96: it named none)."""

    def market(self, *schemes):
        """A memberlist of one node per scheme named, each an address
        group of its own (a vote each)."""
        nodes = tuple((n, f"10.{n}.0.1", 4000, scheme)
                      for n, scheme in enumerate(schemes, 1))
        return MemberList(nodes, len(nodes))

    def buyIn(self, market, bought=(), error=None):
        """bazaar buy plum's end in a market of those schemes, its one-shot
        buy ending short with ``bought`` purchases (or ``error``)."""
        from twisted_bazaar.cli.buy import BuyError

        class Ending:
            def __init__(self, *args, **kwargs):
                pass

            def run(self, started):
                return defer.fail(error or BuyError(
                    "bought 0 of 1 plum within 4 s: no seller offered it",
                    {"purchases": list(bought)}))

        self.patch(bazaar, "askTracker", lambda *a, **k: defer.succeed(market))
        self.patch(bazaar, "OneShotBuy", Ending)
        class Reactor(MemoryReactorClock):
            def addSystemEventTrigger(self, *args):
                return "trigger"

            def removeSystemEventTrigger(self, trigger):
                pass

        args = parse(["buy", "plum", "--no-quic", "--no-punch"])
        return self.failureResultOf(bazaar.buy(Reactor(), args), ClientError)

    def test_theOthersNamed(self):
        failure = self.buyIn(self.market("flood", "flood", "flood", "index", "chord",
                                         "index"))
        self.assertEqual(str(failure.value),
                         "bought 0 of 1 plum within 4 s: no seller offered it; only "
                         "the flood scheme's nodes were asked, not those of index (2 "
                         "nodes), chord (1 node): --discovery SCHEME buys through them")

    def test_aNodeThatDidNotStartSaysNoMore(self):
        """A buy whose node could not listen asked no scheme's nodes: the
        others are not named (new user: 'node cannot listen on ...: Address
        already in use.; only the flood scheme's nodes were asked, ...')."""
        from twisted_bazaar.cli.buy import BuyError

        why = "node cannot listen on tcp:7700: Address already in use."
        failure = self.buyIn(self.market("flood", "flood", "index"),
                             error=BuyError(why, {"purchases": []}, started=False))
        self.assertEqual(str(failure.value), why)

    def test_aFolderThatTakesNoWritesSaysNoMore(self):
        """A buy ended by its downloads folder (its offers found, nothing
        bought) would not have gone better through another scheme: the
        others are not named (new user: 'cannot download small.txt: cannot
        create /.bazaar-downloads: Permission denied; nothing bought; only
        the flood scheme's nodes were asked, not those of index (1 node):
        --discovery SCHEME buys through them', run in /)."""
        from twisted_bazaar.cli.buy import BuyError

        why = ("cannot download small.txt: cannot create /.bazaar-downloads: "
               "Permission denied; nothing bought")
        failure = self.buyIn(self.market("flood", "flood", "index"),
                             error=BuyError(why, {"purchases": []}, unfound=False))
        self.assertEqual(str(failure.value), why)

    def test_oneSchemeOrABuyMadeSaysNoMore(self):
        for market, bought in ((self.market("flood", "flood"), ()),
                               (self.market("flood", "flood", "index"),
                                ({"units": 1},))):
            self.assertEqual(str(self.buyIn(market, bought).value),
                             "bought 0 of 1 plum within 4 s: no seller offered it")


class RenderTests(SynchronousTestCase):
    """The text a person reads: status clients and peers that had not said
    who they are in words, counts in the right number."""

    def test_node(self):
        text = renderNode({
            "id": "7", "host": "127.0.0.1", "port": 4001, "scheme": "flood",
            "links": [{"id": "8", "host": "127.0.0.1", "port": 4002, "purpose": "overlay"},
                      {"id": "3123456789", "host": "127.0.0.1", "port": 0,
                       "purpose": "status"},
                      {"id": "3123456790", "host": "127.0.0.1", "port": 0,
                       "purpose": "operator"}],
            "stock": {"apple": 2}, "bag": {}, "pending": 0,
            "recent": [{"ago": 2100, "dir": "in", "peer": "", "type": "thisisme"},
                       {"ago": 1100, "dir": "out", "peer": "8", "type": "buyOK"}]})
        self.assertEqual(text.splitlines(), [
            "node 7 at 127.0.0.1:4001 (flood)", "links: 3",
            "  node 8 at 127.0.0.1:4002 (overlay)",
            "  a status client from 127.0.0.1 (status)",
            "  a status client from 127.0.0.1 (operator)",
            "stock: apple 2", "bag: -", "pending buys: 0",
            "recent messages (newest last):",
            "     2.1 s ago  <- from a new connection  thisisme",
            "     1.1 s ago  -> to   node 8  buyOK"])

    def test_nodeLinksRelayedAndTrades(self):
        """A link through a relay's circuit says so (the node's ``relayed``
        flag), a direct one says nothing; its operator reads each trade
        with the path its buy took."""
        text = renderNode({
            "id": "7", "host": "h", "port": 1, "scheme": "flood",
            "links": [{"id": "8", "host": "h", "port": 2, "purpose": "direct",
                       "relayed": True},
                      {"id": "9", "host": "h", "port": 3, "purpose": "overlay"}],
            "stock": {}, "bag": {"apple": 1}, "pending": 0,
            "trades": [{"ago": 1500, "id": 4, "item": "apple", "units": 1,
                        "path": ["7", "9", "8"]}]})
        self.assertEqual(text.splitlines()[1:4], [
            "links: 2", "  node 8 at h:2 (direct, through a relay)",
            "  node 9 at h:3 (overlay)"])
        self.assertEqual(text.splitlines()[-2:], [
            "trades (newest last; each buy's path, buyer first):",
            "     1.5 s ago  apple x1  7 -> 9 -> 8"])

    def test_nodeLinksOverQuic(self):
        """A link over QUIC says so beside its purpose (the node's
        ``quic`` flag), as a relayed one says its relay; both where both
        are (a circuit whose relay this node reaches over QUIC)."""
        text = renderNode({
            "id": "7", "host": "h", "port": 1, "scheme": "flood",
            "links": [{"id": "8", "host": "h", "port": 2, "purpose": "direct",
                       "quic": True},
                      {"id": "9", "host": "h", "port": 3, "purpose": "overlay",
                       "relayed": True, "quic": True},
                      {"id": "10", "host": "h", "port": 4, "purpose": "overlay",
                       "quic": False}],
            "stock": {}, "bag": {}, "pending": 0})
        self.assertEqual(text.splitlines()[1:5], [
            "links: 3", "  node 8 at h:2 (direct, over QUIC)",
            "  node 9 at h:3 (overlay, through a relay, over QUIC)",
            "  node 10 at h:4 (overlay)"])
        state = NodeState(7, "h", 1, "flood", ((8, "h", 2, "direct", False, True),
                                               (9, "h", 3, "overlay")), {}, {}, 0)
        self.assertEqual(nodeObject(state)["links"], [
            {"id": "8", "host": "h", "port": 2, "purpose": "direct", "quic": True},
            {"id": "9", "host": "h", "port": 3, "purpose": "overlay"}])

    def test_nodeTradesInJSON(self):
        state = NodeState(7, "h", 1, "flood", ((8, "h", 2, "direct", True),), {},
                          {"apple": 1}, 0, trades=((20, 4, "apple", 1, (7, 8)),))
        obj = nodeObject(state)
        self.assertEqual(obj["links"][0]["relayed"], True)
        self.assertEqual(obj["trades"], [{"ago": 20, "id": 4, "item": "apple",
                                          "units": 1, "path": ["7", "8"]}])

    def test_nodeReach(self):
        """Whether other nodes can dial it, and to its operator where the
        tracker saw it come from."""
        node = {"id": "7", "host": "192.168.1.5", "port": 4001, "scheme": "flood",
                "links": [], "stock": {}, "bag": {}, "pending": 0,
                "reach": "private", "seen": {"host": "203.0.113.9", "port": 61000},
                "localHost": "192.168.1.5"}
        self.assertEqual(renderNode(node).splitlines()[:2], [
            "node 7 at 192.168.1.5:4001 (flood)",
            "reachable from outside: no (behind NAT?) (the tracker saw it come from "
            "203.0.113.9:61000)"])
        stranger = dict(node, reach="public", operator=False, withheld=["bag"])
        del stranger["seen"]
        self.assertEqual(renderNode(stranger).splitlines()[1],
                         "reachable from outside: yes")

    def test_nodeReachBehindAFirewall(self):
        """An IPv6 home (a routed prefix behind its router's firewall, no
        NAT on the way) is seen from the address it leaves from: bazaar
        node said "behind NAT?" where the node's own log says "behind a
        firewall?"; it says what the log says, from the same guess. A
        stranger, not told where the node leaves from, reads both."""
        home = "2001:db8:1:200::2"
        node = {"id": "7", "host": home, "port": 4001, "scheme": "flood",
                "links": [], "stock": {}, "bag": {}, "pending": 0,
                "reach": "private", "seen": {"host": home, "port": 61000},
                "localHost": home}
        self.assertEqual(renderNode(node).splitlines()[1],
                         "reachable from outside: no (behind a firewall?) (the tracker "
                         f"saw it come from [{home}]:61000)")
        stranger = dict(node, operator=False, withheld=["bag"])
        del stranger["seen"], stranger["localHost"]
        self.assertEqual(renderNode(stranger).splitlines()[1],
                         "reachable from outside: no (behind NAT or a firewall?)")

    def test_nodeReachInJSON(self):
        state = NodeState(7, "192.168.1.5", 4001, "flood", (), {}, {}, 0,
                          reach="private", seen_host="203.0.113.9", seen_port=61000,
                          local_host="192.168.1.5")
        obj = nodeObject(state)
        self.assertEqual((obj["reach"], obj["seen"], obj["localHost"]),
                         ("private", {"host": "203.0.113.9", "port": 61000}, "192.168.1.5"))
        public = nodeObject(NodeState(7, "h", 1, "flood", (), {}, public=True,
                                      reach="public"))
        self.assertEqual(public["reach"], "public")
        self.assertNotIn("seen", public)

    def test_nodeFilesAndDownloads(self):
        """A seller's shared files and a buyer's downloads, a line each."""
        sha = "ab" * 32
        text = renderNode({
            "id": "7", "host": "h", "port": 1, "scheme": "flood", "links": [],
            "stock": {}, "bag": {"big.bin": 1}, "pending": 0, "recent": [],
            "files": [{"name": "song.ogg", "size": 2048, "contentId": sha}],
            "downloads": [{"name": "big.bin", "size": 4 * 1024 * 1024, "contentId": sha,
                           "have": 1024 * 1024, "rate": 0, "sellers": 0,
                           "state": "stalled", "why": "seller 3 did not deliver"}]})
        self.assertEqual(text.splitlines()[5:], [
            "shared files: 1", f"  song.ogg  2.0 KiB  content id {sha[:16]}…",
            "downloads: 1",
            "  big.bin  1.0 MiB of 4.0 MiB (25%)  0 B/s  0 sellers  stalled: "
            "seller 3 did not deliver"])

    def test_listFilesOnce(self):
        """A shared file is listed once, by name, size and hash, with its
        sellers: not as units, and its content item not in the index."""
        sha = "cd" * 32
        states = [NodeState(7, "h", 1, "flood", (), {"apple": 2}, {}, 0, (),
                            (("song.ogg", 5000, sha, 0),)),
                  NodeState(8, "h", 2, "flood", (), {}, {}, 0, (),
                            (("song.ogg", 5000, sha, 0),))]
        obj = listObject({"song.ogg": 2, "sha256:" + sha: 2, "apple": 1}, states)
        self.assertEqual(obj["items"], {"apple": {"units": 2, "sellers": ["7"]}})
        self.assertEqual(obj["files"], [{"name": "song.ogg", "size": 5000,
                                         "contentId": sha, "sellers": ["7", "8"]}])
        self.assertEqual(obj["index"], {"apple": 1, "song.ogg": 2})
        self.assertIn(f"  song.ogg: 4.9 KiB, content id {sha[:16]}…, sellers: 7, 8",
                      renderList(obj).splitlines())
    def test_aCutFileListIsSaidSo(self):
        """A node whose answer held only its first files (4,000 shared, 512
        fit) is named, with both counts, in bazaar list and bazaar node:
        before, both showed 512 files as if they were all."""
        sha = "cd" * 32
        files = tuple(("f%03d" % n, 10, sha, 0) for n in range(2))
        states = [NodeState(7, "h", 1, "flood", (), {}, {}, 0, (), files,
                            files_shared=4000),
                  NodeState(8, "h", 2, "flood", (), {}, {}, 0, (), files,
                            files_shared=2)]
        obj = listObject({}, states)
        self.assertEqual(obj["filesCut"], [{"id": "7", "listed": 2, "shared": 4000}])
        self.assertEqual(renderList(obj).splitlines()[-1],
                         "  and more: node 7 shares 4,000 files, its answer held the "
                         "first 2 by name (all that fit)")
        self.assertNotIn("filesCut", listObject({}, states[1:]))
        shown = nodeObject(states[0])
        self.assertEqual(shown["filesShared"], 4000)
        self.assertIn("shared files: 4,000 (the first 2 by name: all that fit in its "
                      "answer)", renderNode(shown).splitlines())
        self.assertIn("shared files: 2", renderNode(nodeObject(states[1])).splitlines())

    def test_aCutStockIsSaidSo(self):
        """A node whose answer held only its first items (3,000 held, 2
        fit) is named, with both counts, in bazaar list and bazaar node:
        before, both showed the items that fit as the whole stock."""
        states = [NodeState(7, "h", 1, "flood", (), {"a": 1, "b": 2}, {}, 0, (),
                            stock_items=3000),
                  NodeState(8, "h", 2, "flood", (), {"a": 1}, {}, 0, (), stock_items=1)]
        obj = listObject({}, states)
        self.assertEqual(obj["stockCut"], [{"id": "7", "listed": 2, "held": 3000}])
        self.assertIn("  and more: node 7 holds 3,000 items, its answer held the first 2 "
                      "by name (all that fit)", renderList(obj).splitlines())
        self.assertNotIn("stockCut", listObject({}, states[1:]))
        shown = nodeObject(states[0])
        self.assertEqual(shown["stockItems"], 3000)
        self.assertIn("stock: 3,000 items (the first 2 by name: all that fit in its "
                      "answer): a 1, b 2", renderNode(shown).splitlines())
        self.assertIn("stock: a 1", renderNode(nodeObject(states[1])).splitlines())

    def test_keyedIdsAreShortWherePeopleReadThem(self):
        """A key's id shows as its first 8 hex digits in the text output,
        and whole in --json (the object)."""
        text = renderStatus({"total": 1, "nodes": [{"id": KEYED_ID, "host": "h",
                                                    "port": 1, "scheme": "flood"}]})
        self.assertEqual(text, "1 live node\n  node   9903ed08  h:1  flood")

    def test_ipv6InBrackets(self):
        """An IPv6 host and its port are shown [::1]:7701, as bazaar node
        and --tracker take them back: they were said ::1:7701."""
        self.assertEqual(renderStatus({"total": 1, "nodes": [
            {"id": "7", "host": "::1", "port": 7701, "scheme": "flood"}]}),
            "1 live node\n  node          7  [::1]:7701  flood")
        node = {"id": "7", "host": "2001:db8::5", "port": 4001, "scheme": "flood",
                "links": [{"id": "8", "host": "::1", "port": 4002, "purpose": "overlay"}],
                "stock": {}, "bag": {}, "pending": 0, "reach": "private",
                "seen": {"host": "2001:db8::9", "port": 61000}}
        text = renderNode(node)
        self.assertEqual(text.splitlines()[:2], [
            "node 7 at [2001:db8::5]:4001 (flood)",
            "reachable from outside: no (behind NAT or a firewall?) (the tracker saw it "
            "come from [2001:db8::9]:61000)"])
        self.assertIn("at [::1]:4002", text)
        self.assertNotIn("::1:4002", text.replace("[::1]:4002", ""))

    def test_counts(self):
        self.assertEqual(renderList({"items": {"pear": {"units": 1, "sellers": ["7"]},
                                               "fig": {"units": 2, "sellers": [KEYED_ID]}},
                                     "index": {}, "unreachable": []}).splitlines()[1:],
                         ["  pear: 1 unit, sellers: 7", "  fig: 2 units, sellers: 9903ed08"])
        self.assertEqual(renderStatus({"total": 1, "nodes": [{"id": "7", "host": "h", "port": 1,
                                                             "scheme": "flood"}]}),
                         "1 live node\n  node          7  h:1  flood")

    def test_soldOutItemsSaySo(self):
        """An item every seller sold out of (kept in its stock at 0) was
        listed "pear: 0 units, sellers: -" under "in stock", as if still
        on offer (issue 96 LOW): it says it is sold out."""
        states = [NodeState(7, "h", 1, "flood", (), {"pear": 0, "apple": 2}, {}, 0, (),
                            ())]
        self.assertEqual(renderList(listObject({}, states)).splitlines(), [
            "in stock (live query of every node):", "  apple: 2 units, sellers: 7",
            "  pear: sold out (0 units at every node that answered)"])

    def test_theIndexSaysWhatItCounts(self):
        """The index's counts are built once for every asker, of the
        sellers the tracker names to any buyer: a LAN-only seller, named
        to its classmates alone, is not counted, and the heading says so
        (issue 96 LOW: inside a class its sellers seemed missing)."""
        self.assertEqual(renderList({"items": {}, "index": {"apple": 1},
                                     "unreachable": []}).splitlines()[1:], [
            "in the tracker's index (sellers per item it names to every buyer; not "
            "those reached only on a LAN):", "  apple: 1"])

    def test_lanOnlyNodesCounted(self):
        """The live nodes the tracker named nobody here (LAN-only nodes
        behind another router) are said, not left out without a word."""
        obj = statusObject(MemberList(((7, "h", 1, "flood"),), 1, lanOnly=2))
        self.assertEqual(obj["lanOnly"], 2)
        self.assertEqual(renderStatus(obj).splitlines()[2:], [
            "and 2 live nodes more, reached only on a LAN behind a router this machine "
            "is not behind (docs/running.md, \"Two machines at one home\")"])
        self.assertNotIn("lanOnly", statusObject(MemberList(((7, "h", 1, "flood"),), 1)))
        self.assertEqual(renderList({"items": {}, "index": {}, "unreachable": [],
                                     "lanOnly": 1}).splitlines()[-1],
                         "and 1 live node more, reached only on a LAN behind a router "
                         "this machine is not behind (docs/running.md, \"Two machines at "
                         "one home\")")


class NodeByIdTests(SynchronousTestCase):
    """``bazaar node`` given an id, or a prefix of one, as git takes a
    commit's."""

    A = KEYED | int("9903ed08d3debadce05841a07701165c", 16)
    B = KEYED | int("9903ed08ffffffffffffffffffffffff", 16)

    def members(self):
        return MemberList(((self.A, "10.0.0.1", 4001, "flood"),
                           (self.B, "10.0.0.2", 4002, "flood")), 2)

    def test_aUniquePrefixNamesTheNode(self):
        node_id, address, relay = nodeAddress("9903ed08d3", self.members())
        self.assertEqual((node_id, address.host, address.port, relay),
                         (self.A, "10.0.0.1", 4001, None))

    def test_theRelayOfANodeAtHome(self):
        """A node the tracker lists with a relay is asked through it."""
        members = MemberList(self.members().nodes, 2, {self.B: "203.0.113.1:7701"})
        self.assertEqual(nodeAddress("9903ed08f", members)[2], "203.0.113.1:7701")

    def test_anAmbiguousPrefixIsRefusedWithTheCandidates(self):
        with self.assertRaises(ClientError) as caught:
            nodeAddress("9903", self.members())
        self.assertIn("ambiguous", str(caught.exception))
        for node_id in (self.A, self.B):
            self.assertIn(wireId(node_id), str(caught.exception))

    def test_anIdOrAddressIsParsed(self):
        self.assertEqual(parse(["node", "9903ed08"]).address, "9903ed08")
        self.assertEqual(parse(["node", "127.0.0.1:4001"]).address.port, 4001)
        with self.assertRaises(SystemExit):
            parse(["node", "not-an-id!"])


class ScriptedReactor(MemoryReactorClock):
    """
    A reactor for L{main}: once running, it lets the clock pass (questions
    time out: nothing answers its connections), or is sent a signal as
    the real one is (its number kept, the before-shutdown triggers run).
    """

    def __init__(self, advance=0, signum=None):
        super().__init__()
        self._advance = advance
        self._signum = signum

    def run(self):
        self.running = True
        for function, args, kwargs in self.whenRunningHooks:
            function(*args, **kwargs)
        if self._signum is not None:
            self._exitSignal = self._signum
            for function, args, kwargs in self.triggers.get("before", {}).get(
                    "shutdown", []):
                function(*args, **kwargs)
        else:
            self.advance(self._advance)
        self.running = False


class MainTests(SynchronousTestCase):
    """What L{main} prints and exits with, when a question fails or a
    signal stops it."""

    def run_(self, argv, reactor):
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        code = main(argv, reactor)
        return code, out.getvalue(), err.getvalue()

    def test_interrupted(self):
        """Ctrl-C (SIGINT) or SIGTERM while a question is out: the reason on
        stderr, no traceback, and 128 + the signal's number."""
        for signum, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            name = signal.Signals(signum).name
            self.assertEqual(self.run_(["status"], ScriptedReactor(signum=signum)),
                             (code, "", f"bazaar: error: interrupted by {name}\n"))

    def test_anUnusablePluginSaysOneLine(self):
        """A plugin installed beside the project that cannot be used (two
        discovery schemes named flood): `bazaar buy` printed "Main
        function encountered error", a 20-line traceback and "bazaar:
        error: failed"; now the plugin's line, status 1."""
        def unusable(reactor, args):
            raise PluginFault("two discovery scheme plugins are named 'flood': a.py "
                              "and b.py; rename or remove one")

        self.patch(bazaar, "COMMANDS", dict(COMMANDS, status=(unusable, COMMANDS["status"][1])))
        self.assertEqual(self.run_(["status"], ScriptedReactor()),
                         (1, "", "bazaar: error: two discovery scheme plugins are named "
                          "'flood': a.py and b.py; rename or remove one\n"))

    def test_failedWithJSON(self):
        """A question that fails: --json prints one object with the reason
        on stdout as well as the reason on stderr, and exits 1."""
        code, out, err = self.run_(["--json", "--timeout", "2", "status"],
                                   ScriptedReactor(advance=3))
        self.assertEqual(code, 1)
        reason = json.loads(out)["error"]
        self.assertIn("2", reason)
        self.assertEqual(err, f"bazaar: error: {reason}\n")

    def test_namesOnAnAsciiTerminal(self):
        """A reason naming what stdout's encoding lacks is written escaped:
        bazaar list of a seller of 日本 語.bin under PYTHONIOENCODING=ascii
        ended in a UnicodeEncodeError traceback."""
        out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", io.StringIO())
        main(["buy", "--quantity", "0", "日本"], None)
        self.assertEqual(out.errors, "backslashreplace")

    def test_interruptedWithJSON(self):
        code, out, err = self.run_(["--json", "list"],
                                   ScriptedReactor(signum=signal.SIGINT))
        self.assertEqual((code, json.loads(out)), (130, {"error": "interrupted by SIGINT"}))

    def test_badArguments(self):
        """Bad arguments: the reason in one line on stderr and where to read
        more, no usage synopsis, nothing on stdout, status 2; the reactor
        never runs."""
        self.assertEqual(self.run_(["buy"], None), (
            2, "", "bazaar buy: error: the following arguments are required: ITEM\n"
            "see bazaar buy --help\n"))
        self.assertEqual(self.run_(["statu"], None), (
            2, "", "bazaar: error: argument COMMAND: invalid choice: 'statu' (choose "
            "from 'status', 'list', 'node', 'buy', 'web', 'restock') (did you mean status?)\n"
            "see bazaar --help\n"))

    def test_aWrongOptionIsRefusedByItsCommand(self):
        """``bazaar buy apple --quant 2``: refused by ``bazaar buy``, as its
        other errors are, saying what the option may have meant, whether
        a prefix (``--quant``) or a few edits away (``--lisen``); a node
        named by nothing is ``bazaar node``'s error."""
        self.assertEqual(self.run_(["buy", "apple", "--quant", "2"], None), (
            2, "", "bazaar buy: error: unrecognized arguments: --quant 2 (did you mean "
            "--quantity?)\nsee bazaar buy --help\n"))
        self.assertEqual(self.run_(["buy", "apple", "--lisen", "tcp:0"], None), (
            2, "", "bazaar buy: error: unrecognized arguments: --lisen tcp:0 (did you "
            "mean --listen?)\nsee bazaar buy --help\n"))
        code, _, err = self.run_(["node"], None)
        self.assertEqual((code, err), (2, "bazaar node: error: node wants ADDRESS|ID, or "
                                       "--data-dir DIR of a node you run\n"
                                       "see bazaar node --help\n"))

    def test_badArgumentsWithJSON(self):
        """With --json, bad arguments print one object with the reason on
        stdout as well, as any other failure does."""
        code, out, err = self.run_(["--json", "buy", "apple", "--quantity", "0"], None)
        reason = "argument --quantity: wants a whole number from 1 to 1000000000, not 0"
        self.assertEqual((code, json.loads(out)), (2, {"error": reason}))
        self.assertEqual(err, f"bazaar buy: error: {reason}\nsee bazaar buy --help\n")

    def test_noAbbreviatedOptions(self):
        """An option is its whole name: ``--quant`` is no ``--quantity``,
        ``--disc`` no ``--discovery``, ``--js`` no ``--json``, ``--data``
        no ``--data-dir``."""
        for argv in (["buy", "apple", "--quant", "2"], ["buy", "apple", "--disc", "chord"],
                     ["--js", "status"], ["restock", "--data", "d", "apple=3"]):
            code, out, err = self.run_(argv, None)
            self.assertEqual((code, out), (2, ""), argv)
            self.assertRegex(err, r"^bazaar( \w+)?: error: .*\nsee bazaar( \w+)? --help\n$")

    def test_itsOwnProcessStopsOnce(self):
        """The command's own process has its reactor stop once: a signal
        that comes while it ends (its deadline passed) is only noted, as a
        daemon's is (new user, issue 96: SIGTERM then gave a
        ReactorNotRunning traceback above the command's line)."""
        from twisted_bazaar.cli import bazaar

        stopping = []
        self.patch(bazaar, "stopOnce", stopping.append)
        self.patch(bazaar, "beginCommandLog", lambda: None)
        self.patch(bazaar.gc, "freeze", lambda: None)
        reactor = ScriptedReactor(advance=3)
        self.patch(sys, "stderr", io.StringIO())
        bazaar.run(parse(["--timeout", "2", "status"]), reactor, own=True)
        self.assertEqual(stopping, [reactor])
        bazaar.run(parse(["--timeout", "2", "status"]), ScriptedReactor(advance=3))
        self.assertEqual(stopping, [reactor])

    def test_interruptedBeforeTheReactorRuns(self):
        """Ctrl-C before the reactor has taken over the signal (Python's
        KeyboardInterrupt): the same line and status, no traceback."""

        class Early(ScriptedReactor):
            def run(self):
                raise KeyboardInterrupt()

        self.assertEqual(self.run_(["status"], Early()),
                         (130, "", "bazaar: error: interrupted by SIGINT\n"))


    def test_aServerStoppedBeforeItListensEndsAsItShould(self):
        """``bazaar web`` stopped while it first asks the tracker, before it
        listens: its ``--help`` says Ctrl-C exits 0, but it exited 130,
        ``error: interrupted by SIGINT``; with --json the object of one
        stopped unserved.  Other commands keep the signal's status."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.assertEqual(self.run_(["web"], ScriptedReactor(signum=signum)),
                             (0, "", ""))
        code, out, err = self.run_(["--json", "web"], ScriptedReactor(signum=signal.SIGINT))
        self.assertEqual((code, json.loads(out), err),
                         (0, {"listened": None, "operator": None}, ""))

    def test_ctrlCAsTheCommandsModuleLoads(self):
        """Ctrl-C as the command's own module loads, in the reactor's first
        call, before the reactor took the signal (KeyboardInterrupt):
        'main function encountered error', a traceback and 'error:
        failed', status 1; now the signal's line and status, and a
        server's 0."""
        def loading(reactor, args):
            raise KeyboardInterrupt()

        self.patch(bazaar, "COMMANDS", dict(COMMANDS, status=(loading, COMMANDS["status"][1]),
                                            web=(loading, COMMANDS["web"][1])))
        self.assertEqual(self.run_(["status"], ScriptedReactor()),
                         (130, "", "bazaar: error: interrupted by SIGINT\n"))
        self.assertEqual(self.run_(["web"], ScriptedReactor()), (0, "", ""))


class NodeAsStrangerOrOperatorTests(SynchronousTestCase):
    """
    ``bazaar node`` tells a stranger a node's public facts, saying what is
    withheld, and its operator (with the node's --data-dir, whose key
    proves it) the whole state.
    """

    def publicState(self):
        return NodeState(7, "h", 1, "flood", ((8, "h", 2, "overlay"),), {"apple": 2},
                         files=(("song.ogg", 5, "ab" * 32, None),), public=True)

    def test_publicFactsSayWhatIsWithheld(self):
        """Everything the operator is told and a stranger is not is named:
        the address the tracker saw the node come from too (its `seen`,
        which the list left out)."""
        obj = nodeObject(self.publicState())
        self.assertIs(obj["operator"], False)
        self.assertNotIn("public", obj)
        self.assertNotIn("bag", obj)
        self.assertNotIn("recent", obj)
        self.assertEqual(obj["files"], [{"name": "song.ogg", "size": 5,
                                         "contentId": "ab" * 32}])
        lines = renderNode(obj).splitlines()
        self.assertEqual(lines[:4], ["node 7 at h:1 (flood)", "overlay links: 1",
                                     "  node 8 at h:2 (overlay)", "stock: apple 2"])
        self.assertFalse([line for line in lines if line.startswith("bag")])
        self.assertEqual(lines[-1], "withheld (its operator's, told to --data-dir of "
                         "the node): links other than overlay links, bag, pending "
                         "buys, recent messages, downloads, copies of shared files sold, "
                         "limits, relay use, trades, roles, where the tracker saw it come "
                         "from")

    def test_theOperatorsWholeState(self):
        state = NodeState(7, "h", 1, "flood", (), {}, {"apple": 1}, 0,
                          files=(("song.ogg", 5, "ab" * 32, 3),), roles=("buyer",))
        obj = nodeObject(state)
        self.assertEqual((obj["operator"], obj["bag"], obj["pending"], obj["roles"]),
                         (True, {"apple": 1}, 0, ["buyer"]))
        self.assertEqual(renderNode(obj).splitlines()[1], "roles: buyer")
        # An older node says none: no roles, no line.
        older = nodeObject(NodeState(7, "h", 1, "flood", (), {}, {}, 0))
        self.assertNotIn("roles", older)
        self.assertFalse(renderNode(older).splitlines()[1].startswith("roles"))
        self.assertIn("  song.ogg  5 B  content id abababababababab…  sold 3",
                      renderNode(obj).splitlines())

    def test_theOperatorsLimits(self):
        """Each pool against its bound, and a group's share where it has one."""
        state = NodeState(7, "h", 1, "flood", (), {}, {}, 0,
                          limits=(("link.unsent", "bytes", 10, 32, 8),
                                  ("tracker.pending", "connections", 2, None, None)))
        obj = nodeObject(state)
        self.assertEqual(obj["limits"][1], {"name": "tracker.pending",
                                            "unit": "connections", "used": 2,
                                            "limit": None, "group": None})
        lines = renderNode(obj).splitlines()
        at = lines.index("limits (used of the most it holds; a group's share):")
        self.assertEqual(lines[at + 1:at + 3],
                         ["  link.unsent  10 of 32 bytes, 8 a group",
                          "  tracker.pending  2 connections, no bound"])

    def test_theOperatorsRelayUse(self):
        """A node that relays for nodes at home: what its relay holds and
        has copied, in --json as on the wire, and one line of text; a
        node without a relay has neither."""
        state = NodeState(7, "h", 1, "flood", (), {}, {}, 0,
                          relaying=(2, 1, 3 * 1024 * 1024 // 2))
        obj = nodeObject(state)
        self.assertEqual(obj["relaying"], {"reservations": 2, "circuits": 1,
                                           "bytes": 1572864})
        self.assertIn("relaying for nodes at home: 2 reservations, 1 circuit, "
                      "1.5 MiB copied", renderNode(obj).splitlines())
        bare = nodeObject(NodeState(7, "h", 1, "flood", (), {}, {}, 0))
        self.assertNotIn("relaying", bare)
        self.assertFalse([line for line in renderNode(bare).splitlines()
                          if line.startswith("relaying")])

    def test_aFilesHashGoesByItsNameInJson(self):
        """The wire's ``sha256`` of a file, its content id, is ``contentId``
        in --json, for shared files and downloads alike: nobody takes it
        for what sha256sum prints."""
        state = NodeState(7, "h", 1, "flood", (), {}, {}, 0,
                          files=(("song.ogg", 5, "ab" * 32, 3),),
                          downloads=(("big.bin", 9, "cd" * 32, 4, 1, 1, "fetching", ""),))
        obj = nodeObject(state)
        self.assertEqual((obj["files"][0]["contentId"], obj["downloads"][0]["contentId"]),
                         ("ab" * 32, "cd" * 32))
        self.assertNotIn("sha256", json.dumps(obj))

    def test_noNodeNamed(self):
        with contextlib.redirect_stderr(io.StringIO()) as err, \
                self.assertRaises(SystemExit):
            parse(["node"])
        self.assertIn("node wants ADDRESS|ID, or --data-dir DIR of a node you run",
                      err.getvalue())
        self.assertEqual(parse(["node", "--data-dir", "d"]).data_dir, "d")

    def folder(self):
        folder = tempfile.mkdtemp(prefix="bazaar-node-")
        self.addCleanup(shutil.rmtree, folder, True)
        return folder

    def test_aDataDirWithoutAKey(self):
        folder = self.folder()
        args = parse(["node", "--data-dir", folder])
        failure = self.failureResultOf(COMMANDS["node"][0](None, args), ClientError)
        self.assertEqual(str(failure.value), f"--data-dir {folder}: no node key there "
                         "(node.key): is it the --data-dir of a node?")

    def test_aTrackersDataDir(self):
        """A tracker's state directory (its tracker.key there) is said to
        be one (issue 96: it was asked "is it the --data-dir of a
        node?")."""
        folder = self.folder()
        Identity.inDirectory(folder, name="tracker.key")
        args = parse(["node", "--data-dir", folder])
        failure = self.failureResultOf(COMMANDS["node"][0](None, args), ClientError)
        self.assertEqual(str(failure.value), f"--data-dir {folder}: no node key there "
                         "(node.key), but a tracker's (tracker.key): it is a tracker's "
                         "state directory; give the --data-dir of a node you run")

    def test_theNodeOfTheKeyIsNotListed(self):
        """--data-dir of a node that is not running: it said "no node's id
        starts with '<all 32 digits>'".  It says whose key is there and
        that no node runs with it; or, one running (its lock held), that
        it has not registered with this tracker."""
        folder = self.folder()
        identity = Identity.inDirectory(folder)
        members = MemberList(((7, "10.0.0.7", 5007, "flood"),), 1)
        self.patch(bazaar, "askTracker", lambda *a, **k: defer.succeed(members))
        args = parse(["node", "--data-dir", folder])
        failure = self.failureResultOf(COMMANDS["node"][0](None, args), ClientError)
        where = (f"node {wireId(identity.id)}, whose key is in {folder}, is not "
                 "among the tracker's 1 live node that take links: ")
        self.assertEqual(str(failure.value), f"{where}no node runs with --data-dir "
                         f"{folder} (start it, then ask again)")
        lock = DataDirLock(folder)
        lock.acquire()
        self.addCleanup(lock.release)
        failure = self.failureResultOf(COMMANDS["node"][0](None, args), ClientError)
        self.assertEqual(str(failure.value), f"{where}a node runs with --data-dir "
                         f"{folder}, but has not registered with this tracker (just "
                         "started, or another --tracker?)")

    def test_theKeyIsAnotherNodes(self):
        """--data-dir of one node with another's id: refused before asking."""
        folder = self.folder()
        identity = Identity.inDirectory(folder)
        other = "0" if wireId(identity.id)[0] != "0" else "1"
        args = parse(["node", other * 8, "--data-dir", folder])
        failure = self.failureResultOf(COMMANDS["node"][0](None, args), ClientError)
        self.assertEqual(str(failure.value), f"the key in {folder} is node "
                         f"{wireId(identity.id)}'s, not that of {other * 8}")

    def test_anotherNodeAnswersAtTheAddress(self):
        """
        --data-dir of one node and the address of another: the node there
        proved another key, and the message went on about relays ("nor
        does the tracker list a node there reached through a relay"),
        which were not in question, and asked the tracker.  It now says
        the key is another node's, as for an id, naming the node there.
        """
        folder = self.folder()
        identity = Identity.inDirectory(folder)
        there = KEYED | 0x77
        asked = []

        def askState(reactor, address, timeout, dialled, operator, relay=None, **ways):
            asked.append((address, dialled))
            return defer.fail(NotTheNodeDialled("the node that answered is not to be "
                                                "asked: …", there))

        self.patch(bazaar, "askState", askState)
        self.patch(bazaar, "askTracker", lambda *a, **k: self.fail("the tracker asked"))
        args = parse(["node", "127.0.0.1:9001", "--data-dir", folder])
        failure = self.failureResultOf(COMMANDS["node"][0](None, args), ClientError)
        self.assertEqual(str(failure.value), f"the key in {folder} is node "
                         f"{wireId(identity.id)}'s, not that of the node at "
                         f"127.0.0.1:9001 (node {wireId(there)})")
        self.assertEqual(asked, [(Address.tcp("127.0.0.1", 9001), identity.id)])


class NodeAtHomeTests(SynchronousTestCase):
    """``bazaar node`` reaches a node at home, which nobody can dial, through
    the relay the tracker lists it with: named by id, or by the address
    the tracker lists (where nothing answers)."""

    HOME = KEYED | int("9903ed08d3debadce05841a07701165c", 16)
    MEMBERS = MemberList(((HOME, "203.0.113.7", 9001, "flood"),
                          (7, "10.0.0.7", 5007, "flood")), 2,
                         {HOME: "198.51.100.1:7701"})

    def ask(self, argv, tracker):
        self.patch(bazaar, "askTracker", lambda *a, **kw: tracker())
        asked = []

        def askState(reactor, address, timeout, dialled=None, operator=None,
                     relay=None, transports=None, lan=(), reached=None, paths=()):
            self.assertIsInstance(transports, Transports)
            asked.append((str(address), dialled, relay) + ((lan,) if lan else ())
                         + ((paths,) if paths else ()))
            if relay is None and address.host != "10.0.0.9" and not paths:
                return defer.fail(ClientError("no answer from there within 10 s"))
            reached(Way(LAN, f"{lan[0]}:9001", None, None) if lan
                    else Way(paths[0].kind, f"{paths[0].host}:{paths[0].port}", None, None)
                    if paths
                    else Way(RELAYED if relay else DIRECT, relay or str(address), None, None))
            return defer.succeed(NodeState(self.HOME, "203.0.113.7", 9001, "flood",
                                           (), {}, public=True))

        self.patch(bazaar, "askState", askState)
        return bazaar.node(None, parse(argv)), asked

    def test_byIdThroughItsRelay(self):
        d, asked = self.ask(["node", "9903"], lambda: defer.succeed(self.MEMBERS))
        self.assertEqual(self.successResultOf(d)["port"], 9001)
        self.assertEqual(asked, [("203.0.113.7:9001", self.HOME, "198.51.100.1:7701")])

    def test_byIdAtItsHomeOverTheLan(self):
        """The tracker names the node's local address to this client (at
        its home): it is given to the dial, which asks over the LAN
        first; the way that won is said."""
        members = attr.evolve(self.MEMBERS, lans={self.HOME: ("192.168.1.2",)})
        d, asked = self.ask(["node", "9903"], lambda: defer.succeed(members))
        obj = self.successResultOf(d)
        self.assertEqual(asked, [("203.0.113.7:9001", self.HOME, "198.51.100.1:7701",
                                  ("192.168.1.2",))])
        self.assertEqual(obj["asked"], {"path": "lan", "at": "192.168.1.2:9001"})
        self.assertIn("asked over the LAN at 192.168.1.2:9001", renderNode(obj))

    def test_byIdOverItsWebSocketPath(self):
        """The tracker names the node's WebSocket port (a path of a transport
        plugin's kind): it is given to the dial, beside the address; the
        way that won is said."""
        ws = Path(WEBSOCKET, "203.0.113.7", 443)
        members = attr.evolve(self.MEMBERS, relays=None, paths={self.HOME: (ws,)})
        d, asked = self.ask(["node", "9903"], lambda: defer.succeed(members))
        obj = self.successResultOf(d)
        self.assertEqual(asked, [("203.0.113.7:9001", self.HOME, None, (ws,))])
        self.assertEqual(obj["asked"], {"path": WEBSOCKET, "at": "203.0.113.7:443"})
        self.assertIn("asked over websocket at 203.0.113.7:443", renderNode(obj))

    def test_byAddressThroughItsRelay(self):
        """Nothing answers at the address: the tracker's node there is
        asked through its relay, as that node's id."""
        d, asked = self.ask(["node", "203.0.113.7:9001"],
                            lambda: defer.succeed(self.MEMBERS))
        self.assertEqual(self.successResultOf(d)["port"], 9001)
        self.assertEqual(asked, [("203.0.113.7:9001", None, None),
                                 ("203.0.113.7:9001", self.HOME, "198.51.100.1:7701")])

    def test_byAddressAnswering(self):
        """A node that answers at the address is asked alone: no tracker."""
        d, asked = self.ask(["node", "10.0.0.9:5009"], lambda: self.fail("asked"))
        obj = self.successResultOf(d)
        self.assertEqual(obj["port"], 9001)
        self.assertEqual(asked, [("10.0.0.9:5009", None, None)])
        # Asked at the address given: nothing more to say in words.
        self.assertEqual(obj["asked"], {"path": "direct", "at": "10.0.0.9:5009"})
        self.assertNotIn("asked", renderNode(obj))

    def test_byAddressNobodyRelays(self):
        """An address no relayed node is listed at: why, and what to type."""
        d, asked = self.ask(["node", "10.0.0.7:5007"],
                            lambda: defer.succeed(self.MEMBERS))
        why = str(self.failureResultOf(d, ClientError).value)
        self.assertEqual(why, "no answer from there within 10 s; nor does the tracker "
                         "list a node there reached through a relay (ask a node at home "
                         "by its id, as bazaar status lists it: bazaar node ID)")
        self.assertEqual(len(asked), 1)

    def test_byAddressWithoutTheTracker(self):
        d, _ = self.ask(["node", "203.0.113.7:9001"],
                        lambda: defer.fail(ClientError("cannot reach 127.0.0.1:7700: "
                                                       "refused")))
        self.assertEqual(str(self.failureResultOf(d, ClientError).value),
                         "no answer from there within 10 s; nor could the tracker say "
                         "whether a node there is reached through a relay: cannot "
                         "reach 127.0.0.1:7700: refused")


class ListAsksEachMemberByIdTests(SynchronousTestCase):
    def test_eachMemberDialledByItsId(self):
        """`bazaar list` asks each member of the tracker's list as the id
        it is listed under: whoever answers at its address must be it."""
        from twisted.internet import defer

        from twisted_bazaar.cli import bazaar
        from twisted_bazaar.schemes.index.messages import Listing

        # Public hosts: a private one a tracker on 127.0.0.1 names is not
        # dialled (TrackerScopes), as a node would not dial it.
        members = MemberList(((7, "198.51.100.7", 5007, "flood"),
                              (9, "198.51.100.9", 5009, "flood")), 2,
                             {9: "203.0.113.1:7701"})
        answers = iter([members, Listing({})])
        self.patch(bazaar, "askTracker", lambda *a, **kw: defer.succeed(next(answers)))
        asked = []

        def askNode(reactor, address, question, answer_type, timeout, dialled=None,
                    relay=None, transports=None, lan=(), paths=()):
            asked.append((address.port, dialled, relay) + ((lan,) if lan else ())
                         + ((paths,) if paths else ()))
            return defer.fail(ClientError("not asked"))

        self.patch(bazaar, "askNode", askNode)
        args = parse(["--tracker", "127.0.0.1:7700", "list"])
        result = self.successResultOf(bazaar.listing(None, args))
        # A member the tracker relays for is asked through its relay.
        self.assertEqual(sorted(asked), [(5007, 7, None), (5009, 9, "203.0.113.1:7701")])
        self.assertEqual(len(result["unreachable"]), 2)
