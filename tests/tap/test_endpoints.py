"""
Tests for twisted_bazaar.tap.endpoints: endpoint strings that cannot work
are refused when the options are parsed, with the reason.
"""

import os
import shutil
import tempfile

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap.endpoints import (
    NODE_LISTEN_KINDS,
    checkServerEndpoint,
    listenInterface,
    loopbackByDefault,
    quicBesideItsTracker,
)
from twisted_bazaar.tap.node import Options as NodeOptions
from twisted_bazaar.tap.tracker import Options as TrackerOptions

from tests.base.test_tlssupport import EXTRA, withoutTLS

SELLER = ["--role", "seller", "--sell", "apple=1"]


class CheckTests(SynchronousTestCase):
    def test_goodServerEndpoints(self):
        for text in ("tcp:0", "tcp:7700", "tcp:7701:interface=127.0.0.1",
                     "tcp:port=7700", "tcp6:7700", "TCP:80"):
            checkServerEndpoint(text, NODE_LISTEN_KINDS, "why")

    def test_listenInterface(self):
        """Where a node's listening endpoint listens: its interface, or
        every interface of its family."""
        for text, interface in [("tcp:0", ""), ("tcp:7700:interface=10.0.0.7", "10.0.0.7"),
                                ("TCP6:7700", "::"), ("tcp6:port=0", "::"),
                                (r"tcp6:0:interface=\:\:1", "::1"),
                                (r"tcp:0:interface=\:\:1", "::1")]:
            self.assertEqual(listenInterface(text), interface, text)

    def test_unixRefusedForANode(self):
        error = self.assertRaises(ValueError, checkServerEndpoint, "unix:/tmp/x",
                                  NODE_LISTEN_KINDS, "peers use TCP")
        self.assertEqual(str(error), "a unix: endpoint cannot work here: peers use "
                                     "TCP (use tcp: or tcp6:)")

    def test_sslRefusedForANode(self):
        """Peers connect to a node without TLS, so it cannot listen on ssl:."""
        error = self.assertRaises(ValueError, checkServerEndpoint,
                                  "ssl:7443:privateKey=k.pem", NODE_LISTEN_KINDS,
                                  "peers use plain TCP")
        self.assertEqual(str(error), "a ssl: endpoint cannot work here: peers use "
                                     "plain TCP (use tcp: or tcp6:)")

    def test_portOutOfRange(self):
        for text, reason in (("tcp:99999", "port 99999 is not in 0 ... 65535"),
                             ("tcp:-1", "port -1 is not in 0 ... 65535"),
                             ("tcp:port=70000", "port 70000 is not in 0 ... 65535"),
                             ("tcp:http", "port 'http' is not a number"),
                             ("tcp:interface=127.0.0.1", "'tcp:interface=127.0.0.1' "
                                                         "names no port"),
                             ("7700", "'7700' is not an endpoint (e.g. tcp:7700)")):
            error = self.assertRaises(ValueError, checkServerEndpoint, text)
            self.assertEqual(str(error), reason)

    def test_anyKindWhenNotRestricted(self):
        checkServerEndpoint("unix:/tmp/tracker.sock")


class OptionTests(SynchronousTestCase):
    """The daemons refuse such endpoints as usage errors."""

    def parse(self, args, cls=NodeOptions):
        options = cls()
        return self.assertRaises(usage.UsageError, options.parseOptions, args)

    def test_nodeListenUnix(self):
        error = self.parse(SELLER + ["--listen", "unix:/tmp/node.sock"])
        self.assertEqual(str(error), "--listen: a unix: endpoint cannot work here: "
                         "other nodes connect to a node over plain TCP (use tcp: "
                         "or tcp6:)")

    def test_nodeListenBadPort(self):
        error = self.parse(SELLER + ["--listen", "tcp:99999"])
        self.assertEqual(str(error), "--listen: port 99999 is not in 0 ... 65535")

    def test_nodeTrackerUnix(self):
        error = self.parse(SELLER + ["--tracker", "unix:/tmp/t.sock"])
        self.assertEqual(str(error), "--tracker: a unix: endpoint cannot work here: "
                         "the tracker tells other nodes the IP address a node "
                         "connects from (use HOST:PORT, tcp:, ssl:, tls: or ws:)")

    def test_nodeTrackerEveryForm(self):
        """A node's --tracker takes HOST:PORT and client endpoint strings,
        each naming the same tracker."""
        for text, endpoint in (
                ("127.0.0.1:7701", "tcp:127.0.0.1:7701"),
                ("tcp:127.0.0.1:7701", "tcp:127.0.0.1:7701"),
                ("tcp:host=127.0.0.1:port=7701", "tcp:host=127.0.0.1:port=7701"),
                ("tls:127.0.0.1:7701:trustRoots=ca", "tls:127.0.0.1:7701:trustRoots=ca"),
                ("ws:127.0.0.1:7701", "ws:127.0.0.1:7701")):
            options = NodeOptions()
            options.parseOptions(SELLER + ["--tracker", text])
            self.assertEqual((str(options.tracker), options.tracker.endpoint),
                             ("127.0.0.1:7701", endpoint))

    def test_nodeTrackerBadPort(self):
        error = self.parse(SELLER + ["--tracker", "tcp:h:65536"])
        self.assertEqual(str(error), "--tracker: port 65536 is not in 1 ... 65535")

    def test_trackerListenBadPort(self):
        error = self.parse(["--listen", "tcp:99999"], TrackerOptions)
        self.assertEqual(str(error), "--listen: port 99999 is not in 0 ... 65535")

    def test_aKindInCapitals(self):
        """An endpoint's kind is taken in any case and handed to Twisted in
        lower case, as it parses kinds: --listen TCP:0 passed the check,
        then Twisted refused it, 'Unknown endpoint type: 'tcp'', exit 1."""
        self.assertEqual(checkServerEndpoint("TCP:7700:interface=127.0.0.1"),
                         "tcp:7700:interface=127.0.0.1")
        node = NodeOptions()
        node.parseOptions([*SELLER, "--listen", "TCP:0", "--metrics", "Tcp:9100"])
        self.assertEqual((node["listen"], node["metrics"]), ("tcp:0", "tcp:9100"))
        tracker = TrackerOptions()
        tracker.parseOptions(["--listen", "TCP6:7700", "--web", "TCP:8080"])
        self.assertEqual((tracker["listen"], tracker["web"]),
                         ("tcp6:7700", "tcp:8080:interface=127.0.0.1"))

    def test_namesWithoutTheirPort(self):
        """--web-names without --web, --metrics-names without --metrics:
        refused, saying what is missing (both were taken in silence, and
        no port served the names)."""
        error = self.parse(["--web-names", "market.example"], TrackerOptions)
        self.assertEqual(str(error), "--web-names are the names of the web view's "
                         "port: give --web ENDPOINT too")
        for args, cls in ((["--metrics-names", "m.example"], TrackerOptions),
                          ([*SELLER, "--metrics-names", "m.example"], NodeOptions)):
            self.assertEqual(str(self.parse(args, cls)), "--metrics-names are the names "
                             "of the --metrics port: give --metrics ENDPOINT too")
        options = TrackerOptions()
        options.parseOptions(["--metrics", "tcp:0", "--metrics-names", "m.example"])
        self.assertEqual(options["metrics-names"], ("m.example",))

    def test_optionsWithoutTheirPort(self):
        """--ws-names without --ws-port (either daemon, a transport
        plugin's options, checked by its checkValues) and the tracker's
        --web-poll without --web, on the command line or in a config file:
        refused, saying what is missing (all were taken in silence)."""
        for args, cls in ((["--ws-names", "ws.example"], TrackerOptions),
                          ([*SELLER, "--ws-names", "ws.example"], NodeOptions)):
            self.assertEqual(str(self.parse(args, cls)), "--ws-names are the names "
                             "of the --ws-port: give --ws-port PORT too")
        self.assertEqual(str(self.parse(["--web-poll", "1"], TrackerOptions)),
                         "--web-poll is how often the web view asks its nodes: give "
                         "--web ENDPOINT too")
        folder = tempfile.mkdtemp(prefix="bazaar-endpoints-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "tracker.toml")
        with open(path, "w") as f:
            f.write("web-poll = 2\n")
        self.assertEqual(str(self.parse(["--config", path], TrackerOptions)),
                         "--web-poll is how often the web view asks its nodes: give "
                         "--web ENDPOINT too")
        options = TrackerOptions()
        options.parseOptions(["--ws-port", "0", "--ws-names", "ws.example",
                              "--web", "tcp:0", "--web-poll", "2"])
        self.assertEqual((options["ws-names"], options["web-poll"]), (("ws.example",), 2))
        options = TrackerOptions()
        options.parseOptions([])
        self.assertEqual(options["web-poll"], 1)

    def test_listenInterfaceAHostName(self):
        """A daemon's --listen names an IP address as its interface: its
        UDP ports (a node's QUIC, the tracker's reach check) listen there
        too and bind no host name.  interface=localhost was taken, and the
        start failed later: `QuicService could not start:
        InvalidAddressError` (`UdpReachService` for the tracker), exit 1,
        said as a service's bug."""
        why = ("--listen: interface=localhost is not an IP address: the daemon's UDP "
               "ports listen on this interface too, and take an address alone "
               "(127.0.0.1 for loopback; no interface= for every one)")
        for args, cls in (([*SELLER, "--listen", "tcp:0:interface=localhost"], NodeOptions),
                          (["--listen", "tcp:7700:interface=localhost"], TrackerOptions)):
            self.assertEqual(str(self.parse(args, cls)), why)
        for listen in ("tcp:0:interface=127.0.0.1", r"tcp6:0:interface=\:\:1",
                       "tcp:0:interface=", "tcp:0"):
            NodeOptions().parseOptions([*SELLER, "--listen", listen])
            TrackerOptions().parseOptions(["--listen", listen])

    def test_listenInterfaceInBrackets(self):
        """interface=[V6], an IPv6 address as the daemons' lines name it
        (`node listening on [2001:db8::12]:41035`), is read as Twisted's
        escaped form; it was refused, "interface=[2001 is not an IP
        address"."""
        for args, cls in (([*SELLER, "--listen", "tcp6:0:interface=[::1]"], NodeOptions),
                          (["--listen", "tcp6:7700:interface=[::1]"], TrackerOptions)):
            options = cls()
            options.parseOptions(args)
            self.assertEqual(listenInterface(options["listen"]), "::1")


class LoopbackByDefaultTests(SynchronousTestCase):
    """The web view listens on loopback unless its endpoint names an
    interface."""

    def test_rewritten(self):
        self.assertEqual(loopbackByDefault("tcp:8080"), "tcp:8080:interface=127.0.0.1")
        self.assertEqual(loopbackByDefault("tcp:port=0"), "tcp:port=0:interface=127.0.0.1")
        self.assertEqual(loopbackByDefault("tcp6:8080"), r"tcp6:8080:interface=\:\:1")
        self.assertEqual(loopbackByDefault("ssl:8443:privateKey=k.pem"),
                         "ssl:8443:privateKey=k.pem:interface=127.0.0.1")

    def test_keptWhenAnInterfaceIsNamed(self):
        for text in ("tcp:8080:interface=0.0.0.0", "TCP:8080:interface=10.0.0.2",
                     "unix:/tmp/web.sock"):
            self.assertEqual(loopbackByDefault(text), text)

    def test_trackerWebOption(self):
        options = TrackerOptions()
        options.parseOptions(["--web", "tcp:8080"])
        self.assertEqual((options["web"], options["web-poll"]),
                         ("tcp:8080:interface=127.0.0.1", 1.0))
        options = TrackerOptions()
        options.parseOptions(["--web", "tcp:8080:interface=0.0.0.0", "--web-poll", "2.5"])
        self.assertEqual((options["web"], options["web-poll"]),
                         ("tcp:8080:interface=0.0.0.0", 2.5))

    def test_trackerWebRefused(self):
        error = self.assertRaises(usage.UsageError, TrackerOptions().parseOptions,
                                  ["--web", "tcp:99999"])
        self.assertEqual(str(error), "--web: port 99999 is not in 0 ... 65535")
        error = self.assertRaises(usage.UsageError, TrackerOptions().parseOptions,
                                  ["--web", "tcp:0", "--web-poll", "0"])
        self.assertIn("--web-poll: wants a number of seconds from 0.2 to 9, not '0'",
                      str(error))
        error = self.assertRaises(usage.UsageError, TrackerOptions().parseOptions,
                                  ["--web", "tcp:0", "--web-names", "a.example,x/y"])
        self.assertIn("--web-names: 'x/y' is not a host name", str(error))

    def test_trackerWebNames(self):
        """--web-names: the names the view answers to beyond loopback's."""
        options = TrackerOptions()
        options.parseOptions(["--web", "tcp:8080:interface=0.0.0.0",
                              "--web-names", "market.example,M2.example"])
        self.assertEqual(options["web-names"], ("market.example", "m2.example"))


class QuicBesideItsTrackerTests(SynchronousTestCase):
    """Issue 96 M2: a --quic-port on a UDP port of a tracker of this
    machine is a collision the node can see at start."""

    def test_theTrackersPorts(self):
        from twisted_bazaar.base.address import Address

        for host in ("127.0.0.1", "localhost", "::1"):
            tracker = Address.tcp(host, 7700)
            for port in (7700, 7701):
                line = quicBesideItsTracker(port, [tracker])
                self.assertIn(f"--quic-port {port} is one of the UDP ports the "
                              f"tracker at {tracker} takes by default (7700 and 7701",
                              line)
                self.assertTrue(line.endswith("choose another --quic-port"), line)

    def test_noCollision(self):
        from twisted_bazaar.base.address import Address

        for port, host in ((7702, "127.0.0.1"), (7701, "203.0.113.5"),
                           (7701, "tracker.example.org"), (0, "127.0.0.1"),
                           (None, "127.0.0.1")):
            self.assertIsNone(quicBesideItsTracker(port, [Address.tcp(host, 7700)]))


class WithoutTLSTests(SynchronousTestCase):
    """
    An installation without Twisted's TLS support (``pip install .``
    without the tls extra): each option that takes an ssl: or tls:
    endpoint refuses one as the options are read, naming the extra.  The
    tracker's --listen, --web and --metrics ended in a traceback of
    C{ModuleNotFoundError: No module named 'OpenSSL'} (leaving its new
    state directory), a node's --tracker tls: in "name
    'optionsForClientTLS' is not defined".
    """

    def test_serverEndpoint(self):
        with withoutTLS():
            error = self.assertRaises(ValueError, checkServerEndpoint,
                                      "ssl:7443:privateKey=k.pem")
        self.assertTrue(str(error).startswith("ssl: endpoints need Twisted's TLS support"))
        self.assertTrue(str(error).endswith(EXTRA))

    def test_daemonsOptions(self):
        cases = [(TrackerOptions, ["--listen", "ssl:7443:privateKey=k.pem"]),
                 (TrackerOptions, ["--web", "ssl:8443:privateKey=k.pem"]),
                 (TrackerOptions, ["--metrics", "ssl:9443:privateKey=k.pem"]),
                 (NodeOptions, SELLER + ["--metrics", "ssl:9443:privateKey=k.pem"]),
                 (NodeOptions, SELLER + ["--tracker", "tls:example.org:7700:trustRoots=ca"])]
        for cls, args in cases:
            with withoutTLS():
                error = self.assertRaises(usage.UsageError, cls().parseOptions, args)
            self.assertTrue(str(error).startswith(f"{args[-2]}: "), str(error))
            self.assertTrue(str(error).endswith(EXTRA), str(error))
