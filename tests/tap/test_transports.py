"""
Tests for L{twisted_bazaar.tap.transports}: a transport plugin's options
become a daemon's (a value, a list, a flag), each plugin's in a --help
section of its own, read back per plugin; a clash with the daemon's own
options is refused; --tracker's endpoint kinds are the plugins'; a
plugin's method that raises is said in one line naming the plugin.
"""

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar.base.options import PluginOption, boundedInt
from twisted_bazaar.daemon.pluginfault import PluginFault
from twisted_bazaar.tap import node as tap_node
from twisted_bazaar.tap import tracker as tap_tracker
from twisted_bazaar.tap.common import COMMON_PARAMETERS, DaemonOptions, param
from twisted_bazaar.tap.transports import (
    addTransportOptions,
    checkTransportValues,
    refuseTakenKinds,
    trackerKinds,
    transportValues,
)
from twisted_bazaar.transports.interface import ITransport


def _parseWing(text):
    if not text.startswith("w"):
        raise ValueError(f"{text!r} is no wing")
    return text.upper()


class Pigeon:
    """A transport plugin of a kind no daemon knows."""

    name = "Pigeon"
    nodeOptions = (
        PluginOption("loft-port", "Where pigeons land", boundedInt(0, 65535)),
        PluginOption("wing", "A wing to fly by.  Repeatable.", _parseWing,
                     repeatable=True),
        PluginOption("no-pigeons", "Fly none.", flag=True),
    )
    trackerOptions = ()
    trackerKinds = ("pigeon",)
    trackerHelp = "pigeon:HOST:PORT for its loft"


class Crow:
    name = "Crow"
    nodeOptions = ()
    trackerOptions = ()
    trackerKinds = ("crow",)
    trackerHelp = None


def optionsWith(*plugins, **attributes):
    """A fresh daemon Options class given plugins' node options."""

    class Options(DaemonOptions):
        optParameters = [param("listen", "tcp:0", "Where it listens.")] + COMMON_PARAMETERS
        repeatable = ("role",)

    for name, value in attributes.items():
        setattr(Options, name, value)
    return addTransportOptions(Options, plugins, "nodeOptions")


class AddTransportOptionsTests(SynchronousTestCase):

    def test_eachKindOfOption(self):
        Options = optionsWith(Pigeon())
        options = Options()
        options.parseOptions(["--loft-port", "80", "--wing", "west", "--wing", "wide",
                              "--no-pigeons"])
        [(plugin, values)] = transportValues(options)
        self.assertIsInstance(plugin, Pigeon)
        self.assertEqual(values, {"loft-port": 80, "wing": ["WEST", "WIDE"],
                                  "no-pigeons": 1})

    def test_defaults(self):
        options = optionsWith(Pigeon())()
        options.parseOptions([])
        self.assertEqual(transportValues(options)[0][1],
                         {"loft-port": None, "wing": [], "no-pigeons": 0})

    def test_listsAreRepeatableInAConfigFile(self):
        Options = optionsWith(Pigeon())
        self.assertEqual(Options.repeatable, ("role", "wing"))

    def test_badValuesNameTheirOption(self):
        for args, why in ((["--loft-port", "x"], "--loft-port: wants a whole number"),
                          (["--wing", "east"], "--wing: 'east' is no wing")):
            with self.assertRaises(usage.UsageError) as caught:
                optionsWith(Pigeon())().parseOptions(args)
            self.assertIn(why, str(caught.exception))

    def test_aSectionEach(self):
        Options = optionsWith(Pigeon(), Crow())
        self.assertEqual(Options.transportGroups,
                         [("The Pigeon transport", ("loft-port", "wing", "no-pigeons"),
                           "")])
        text = str(Options())
        self.assertIn("The Pigeon transport:\n      --loft-port=  Where pigeons land. A "
                      "whole number from 0 to 65535.", text)

    def test_aClashIsRefused(self):
        class Listening:
            name = "Listening"
            nodeOptions = (PluginOption("listen", "Clashes."),)

        with self.assertRaises(ValueError) as caught:
            optionsWith(Listening())
        self.assertIn("--listen of the Listening transport is already an option",
                      str(caught.exception))

    def test_trackerKinds(self):
        self.assertEqual(trackerKinds([Pigeon(), Crow()]),
                         (("crow", "pigeon"), "; pigeon:HOST:PORT for its loft"))
        self.assertEqual(trackerKinds([]), ((), ""))


class Broken:
    """A transport plugin whose every method raises, as a plugin with a
    bug of its own does."""

    name = "Broken"
    nodeOptions = (PluginOption("broken-port", "Where nothing listens."),)
    trackerOptions = ()
    trackerKinds = ()
    trackerHelp = None

    def checkValues(self, values):
        raise TypeError("no check")

    def nodeTransport(self, reactor, values, interface, onFailure, trackerKinds=()):
        raise RuntimeError("no transport")

    def trackerService(self, reactor, identity, factory, peerLog, values, interface,
                       onFailure, relay=None):
        raise RuntimeError("no port")


class BrokenMaker(Broken):
    """One whose maker, not its nodeTransport, raises."""

    def nodeTransport(self, reactor, values, interface, onFailure, trackerKinds=()):
        return lambda channel, peerLog: 1 / 0


class MakesNothing(Broken):
    """One whose maker makes what has neither a transport nor serve."""

    def nodeTransport(self, reactor, values, interface, onFailure, trackerKinds=()):
        return lambda channel, peerLog: 1


@implementer(ITransport)
class _Carrier:
    """A transport of a kind, dialling nothing."""

    def __init__(self, kind):
        self.kind = kind

    def canDial(self, path):
        return False

    def dial(self, path, expectedKey, protocolFactory, options=None):
        pass

    def listen(self, factory):
        pass


class _Raising:
    """What a maker makes: a transport (of the WebSocket package's kind,
    registered: the node's options loaded that plugin), whose serve
    raises."""

    def __init__(self, transport=_Carrier("websocket")):
        self.transport = transport

    def serve(self, book, links, transfers, relay):
        raise KeyError("no book")


def makes(made):
    """A transport plugin whose maker makes ``made``."""

    class Making(Broken):
        def nodeTransport(self, reactor, values, interface, onFailure, trackerKinds=()):
            return lambda channel, peerLog: made

    return Making()


class _Daemon(dict):
    """What the tap's functions read of a daemon's options and parts."""

    def __init__(self, plugin, **values):
        super().__init__(values, listen="tcp:0")
        self.transportOwners = ((plugin, tuple(values)),)
        self.trackers = ()
        self.interface = ""
        self.relay = None
        self.identity = self.peer_log = None

    def fail(self, line):
        raise AssertionError(line)


class PluginFaultTests(SynchronousTestCase):
    """A transport plugin's method that raises ends the daemon in one line
    naming the plugin and its file (twistd's traceback before), as a
    role's or a scheme's does."""

    def test_checkValuesRaising(self):
        """Another error than ValueError is the plugin's bug: a usage
        error naming it, as a role's configure that raises is."""
        error = self.assertRaises(usage.UsageError, checkTransportValues,
                                  _Daemon(Broken(), **{"broken-port": "1"}))
        self.assertEqual(str(error), f"the transport plugin 'Broken' ({__file__}) failed "
                         "to check its options (checkValues raised TypeError: no check)")

    def test_nodeTransportRaising(self):
        daemon = _Daemon(Broken(), **{"broken-port": "1"})
        error = self.assertRaises(PluginFault, tap_node._transports, None, daemon,
                                  daemon, daemon)
        self.assertEqual(str(error), f"the transport plugin 'Broken' ({__file__}) failed "
                         "to make the node's transport: RuntimeError: no transport")

    def test_itsMakerRaising(self):
        """The maker is called as the node is served: its fault too."""
        daemon = _Daemon(BrokenMaker(), **{"broken-port": "1"})
        [maker] = tap_node._transports(None, daemon, daemon, daemon)
        error = self.assertRaises(PluginFault, maker, None, None)
        self.assertEqual(str(error), f"the transport plugin 'Broken' ({__file__}) failed "
                         "to make the node's transport: ZeroDivisionError: division by "
                         "zero")

    def test_itsMakerMakingNoTransport(self):
        """What a maker makes has the transport and serves it: one with
        neither was an AttributeError's traceback as the node was served."""
        daemon = _Daemon(MakesNothing(), **{"broken-port": "1"})
        [maker] = tap_node._transports(None, daemon, daemon, daemon)
        error = self.assertRaises(PluginFault, maker, None, None)
        self.assertEqual(str(error), f"the transport plugin 'Broken' ({__file__}) failed "
                         "to make the node's transport: it made int, which has no "
                         "transport and no serve")

    def test_itsServeRaising(self):
        """What the maker made serves the node as serveNode calls it
        (serveTransport): its fault too, a traceback before."""
        raising = _Raising()
        daemon = _Daemon(makes(raising), **{"broken-port": "1"})
        [maker] = tap_node._transports(None, daemon, daemon, daemon)
        made = maker(None, None)
        self.assertIs(made.transport, raising.transport)
        error = self.assertRaises(PluginFault, made.serve, None, None, None, None)
        self.assertEqual(str(error), f"the transport plugin 'Broken' ({__file__}) failed "
                         "to serve the node's transport: KeyError: 'no book'")

    def test_itsTransportWrong(self):
        """A made transport the node's table of transports refuses (no
        ITransport, a kind unregistered or the node's own) is the plugin's
        fault as it is made: a traceback as the node was built before,
        its new --data-dir left behind."""
        for transport, wrong in ((object(), "object, is no ITransport"),
                                 (_Carrier("pigeon"), "_Carrier, is of kind 'pigeon', "
                                  "which no package registers"),
                                 (_Carrier("direct"), "_Carrier, is of kind 'direct', "
                                  "which is the node's own")):
            daemon = _Daemon(makes(_Raising(transport)), **{"broken-port": "1"})
            [maker] = tap_node._transports(None, daemon, daemon, daemon)
            error = self.assertRaises(PluginFault, maker, None, None)
            self.assertEqual(str(error), f"the transport plugin 'Broken' ({__file__}) "
                             f"failed to make the node's transport: its transport, {wrong}")

    def test_aTrackerKindTheNodeHas(self):
        """A plugin that names tcp among its --tracker kinds is refused as
        the node's options are made: taken in silence before, its hint and
        its tracker way given to every TCP tracker."""
        class Tcp(Crow):
            name = "Tcp"
            trackerKinds = ("tcp",)

        class Options(tap_node.Options):
            pass

        error = self.assertRaises(PluginFault, tap_node._addTransports, Options, [Tcp()])
        self.assertEqual(str(error), f"the transport plugin 'Tcp' ({__file__}) names "
                         "--tracker's endpoint kind 'tcp' in its trackerKinds, which "
                         "the node has already: give it another")

    def test_aTrackerKindTwoPluginsName(self):
        class Raven(Crow):
            name = "Raven"

        error = self.assertRaises(PluginFault, refuseTakenKinds, [Raven(), Crow()], ())
        self.assertEqual(str(error), f"the transport plugin 'Raven' ({__file__}) names "
                         "--tracker's endpoint kind 'crow' in its trackerKinds, which "
                         f"the transport plugin 'Crow' ({__file__}) names too: give it "
                         "another")

    def test_trackerKindsOfTheirOwn(self):
        refuseTakenKinds([Pigeon(), Crow()], ("tcp", "ssl", "tls"))

    def test_trackerServiceRaising(self):
        daemon = _Daemon(Broken(), **{"broken-port": "1"})
        error = self.assertRaises(PluginFault, tap_tracker._transportServices, None,
                                  daemon, daemon, daemon)
        self.assertEqual(str(error), f"the transport plugin 'Broken' ({__file__}) failed "
                         "to make the tracker's port: RuntimeError: no port")
