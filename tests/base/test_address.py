"""
Tests for L{twisted_bazaar.base.address}: every address form the docs
show (HOST:PORT, [V6]:PORT, client endpoint strings) reads as the same
host and port, and a form that cannot work is refused with the reason.
"""

import socket

from twisted.internet.endpoints import clientFromString
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.address import (
    TCP,
    TCP_OR_TLS,
    Address,
    addressType,
    hostFault,
    parseAddress,
    parseHost,
    parseIPAddress,
    splitEndpoint,
)


class ParseAddressTests(SynchronousTestCase):
    def test_everyFormOfOneAddress(self):
        """The forms of the docs name the same host and port; HOST:PORT
        becomes a tcp: endpoint, an endpoint string is kept as written."""
        for text, endpoint in (
                ("127.0.0.1:7700", "tcp:127.0.0.1:7700"),
                ("tcp:127.0.0.1:7700", "tcp:127.0.0.1:7700"),
                ("TCP:127.0.0.1:7700", "TCP:127.0.0.1:7700"),
                ("tcp:host=127.0.0.1:port=7700", "tcp:host=127.0.0.1:port=7700"),
                ("tcp:127.0.0.1:7700:timeout=3", "tcp:127.0.0.1:7700:timeout=3")):
            address = parseAddress(text)
            self.assertEqual((address.host, address.port, address.endpoint),
                             ("127.0.0.1", 7700, endpoint), text)
            self.assertEqual(str(address), "127.0.0.1:7700")

    def test_ipv6(self):
        for text in ("[::1]:7700", r"tcp:\:\:1:7700", r"tcp:host=\:\:1:port=7700"):
            address = parseAddress(text)
            self.assertEqual((address.host, address.port, str(address)),
                             ("::1", 7700, "[::1]:7700"), text)
        self.assertEqual(parseAddress("[::1]:7700").endpoint, r"tcp:\:\:1:7700")

    def test_twistedReadsTheEndpoint(self):
        """The endpoint string of a HOST:PORT is one Twisted parses to the
        same host and port."""
        for text in ("127.0.0.1:7700", "[::1]:7700", "example.org:80"):
            address = parseAddress(text)
            endpoint = clientFromString(Clock(), address.endpoint)
            self.assertEqual((endpoint._host, endpoint._port),
                             (address.host, address.port))

    def test_tlsForTheTracker(self):
        address = parseAddress("tls:tracker.example.org:7700:trustRoots=/ca",
                               TCP_OR_TLS)
        self.assertEqual((address.host, address.port, address.endpoint),
                         ("tracker.example.org", 7700,
                          "tls:tracker.example.org:7700:trustRoots=/ca"))

    def test_defaultPort(self):
        self.assertEqual(parseAddress("example.org", default_port=7700),
                         Address.tcp("example.org", 7700))

    def test_refused(self):
        for text, kinds, reason in (
                ("nowhere", TCP, "wants HOST:PORT or an endpoint such as "
                                 "tcp:HOST:PORT, not 'nowhere'"),
                (":7700", TCP, "wants HOST:PORT, not ':7700'"),
                ("h:http", TCP, "port 'http' is not a number"),
                ("h:0", TCP, "port 0 is not in 1 ... 65535"),
                ("tcp:h:65536", TCP, "port 65536 is not in 1 ... 65535"),
                ("tcp:7700", TCP, "'tcp:7700' wants a host and a port, as in "
                                  "tcp:HOST:PORT or tcp:host=HOST:port=PORT"),
                ("tls:h:7700", TCP, "a tls: endpoint cannot work here: nodes "
                                    "speak plain TCP (use HOST:PORT or tcp:)"),
                ("unix:/t.sock", TCP_OR_TLS, "a unix: endpoint cannot work here: "
                                             "nodes speak plain TCP (use HOST:PORT, "
                                             "tcp:, ssl: or tls:)")):
            error = self.assertRaises(ValueError, parseAddress, text, kinds,
                                      "nodes speak plain TCP")
            self.assertEqual(str(error), reason, text)

    def test_aCallersKindIsAnEndpointKind(self):
        """A kind the caller takes (a transport plugin's, for a node's
        --tracker) reads as an endpoint, not a host name."""
        address = parseAddress("pigeon:192.0.2.1:80", TCP_OR_TLS + ("pigeon",))
        self.assertEqual((address.host, address.port, address.endpoint),
                         ("192.0.2.1", 80, "pigeon:192.0.2.1:80"))

    def test_anEndpointKindNotTakenIsRefused(self):
        """A word before a colon that leaves no host and port (another
        colon, outside an IPv6 address) is an endpoint kind, refused with
        what to use: never a host name with a colon."""
        for text in ("pigeon:192.0.2.1:80", "pigeon:host=h:port=80"):
            error = self.assertRaises(ValueError, parseAddress, text, TCP_OR_TLS,
                                      "the tracker is reached over TCP")
            self.assertEqual(str(error), "a pigeon: endpoint cannot work here: the "
                             "tracker is reached over TCP (use HOST:PORT, tcp:, ssl: "
                             "or tls:)", text)
        self.assertEqual(parseAddress("fe80::1:7700").host, "fe80::1")

    def test_anEndpointTakesAnIPv6AddressInBrackets(self):
        """``KIND:[V6]:PORT``, as the log lines name a ``ws:`` tracker, is
        read in every kind (``ws:[2001:db8::10]:7702`` was "port 'db8' is
        not a number"): the endpoint string dialled has the colons escaped."""
        kinds = TCP_OR_TLS + ("ws",)
        for text, endpoint in [
                ("ws:[2001:db8::10]:7702", r"ws:2001\:db8\:\:10:7702"),
                ("tcp:host=[::1]:port=7700", r"tcp:host=\:\:1:port=7700"),
                ("tls:[::1]:7700:trustRoots=ca", r"tls:\:\:1:7700:trustRoots=ca")]:
            address = parseAddress(text, kinds)
            self.assertEqual((address.endpoint, str(address)),
                             (endpoint, f"[{address.host}]:{address.port}"), text)
        self.assertEqual(parseAddress("ws:[::1]:80", kinds).label, "ws:[::1]:80")

    def test_anIPv6AddressWithoutItsPortSaysSo(self):
        """An IPv6 address alone, bracketed or not, wants its port, said
        so (it was "a 2001: endpoint cannot work here", or "a [2001:")."""
        for text in ("2001:db8:58::10", "[2001:db8:58::10]", "[::1]"):
            error = self.assertRaises(ValueError, parseAddress, text, TCP_OR_TLS)
            self.assertEqual(str(error), "wants [V6]:PORT, an IPv6 address in "
                             f"brackets and its port, not {text!r}")
        self.assertEqual(parseAddress("[::1]", default_port=7700),
                         Address.tcp("::1", 7700))

    def test_withTimeout(self):
        self.assertEqual(parseAddress("h:1").withTimeout(4.5), "tcp:h:1:timeout=4")
        self.assertEqual(parseAddress("tcp:h:1:timeout=9").withTimeout(4),
                         "tcp:h:1:timeout=9")

    def test_addressType(self):
        parse = addressType(TCP_OR_TLS)
        self.assertEqual(parse("ssl:h:1:caCertsDir=ca"),
                         Address("h", 1, "ssl:h:1:caCertsDir=ca"))
        self.assertIn("HOST:PORT", parse.coerceDoc)

    def test_anSslAddressChecksACertificate(self):
        """Twisted's ssl: client endpoint without caCertsDir= checks no
        certificate: `bazaar --tracker ssl:HOST:PORT` took any (a
        trustRoots= there, which is tls:'s, was Twisted's TypeError).
        Refused, with the way out."""
        for text in ("ssl:h:1", "ssl:host=h:port=1", "ssl:h:1:trustRoots=ca"):
            error = self.assertRaises(ValueError, parseAddress, text, TCP_OR_TLS)
            self.assertEqual(str(error), f"{text!r} checks no certificate: an ssl: "
                             "address needs caCertsDir=DIR (it then checks the "
                             "certificate's issuer, not the tracker's name); "
                             "tls:HOST:PORT:trustRoots=DIR checks both")

    def test_aTcp6AddressSaysHowToDialIPv6(self):
        """tcp6: is a server endpoint's kind, no address's: refused with
        how an IPv6 address is given (it was refused with the caller's
        reason for another kind, `the tracker tells other nodes the IP
        address a node connects from`, which says nothing of IPv6)."""
        for text in ("tcp6:host=::1:port=7700", r"tcp6:\:\:1:7700"):
            error = self.assertRaises(ValueError, parseAddress, text, TCP_OR_TLS,
                                      "the tracker tells other nodes the IP address "
                                      "a node connects from")
            self.assertEqual(str(error), "a tcp6: endpoint cannot work here: an address "
                             "of IPv6 is given as [V6]:PORT, or tcp: with its colons "
                             "escaped with a backslash (tcp: dials IPv6 too)", text)

    def test_anIPv6HostInKeywords(self):
        """An IPv6 address in tcp:host=...: its colons split the string
        unless escaped; the refusal says how to write it."""
        error = self.assertRaises(ValueError, parseAddress, "tcp:host=::1:port=7700",
                                  TCP_OR_TLS)
        self.assertEqual(str(error), "'tcp:host=::1:port=7700' wants a host and a port, "
                         "as in tcp:HOST:PORT or tcp:host=HOST:port=PORT (an IPv6 "
                         "address: [V6]:PORT, or its colons escaped with a "
                         r"backslash, as in tcp:host=fe80\:\:1:port=PORT)")
        self.assertEqual(parseAddress(r"tcp:host=\:\:1:port=7700").host, "::1")

    def test_split(self):
        self.assertEqual(splitEndpoint(r"tcp:fe80\:\:1:7700"), ["tcp", "fe80::1", "7700"])


class HostTests(SynchronousTestCase):
    """--host: a host name or IP address, a name that resolves (issue 96,
    M5: a mistyped one was taken, and the node ran behind a relay)."""

    def resolving(self, names):
        """socket.getaddrinfo, as if these names alone resolved; the names
        asked, in order."""
        asked = []

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            asked.append(host)
            if host not in names:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, type, 6, "", ("192.0.2.1", 0))]

        self.patch(socket, "getaddrinfo", getaddrinfo)
        return asked

    def test_addressesAndNames(self):
        for host in ("192.0.2.7", "::1", "2001:db8::5", "example.org", "a-b.c9",
                     "localhost", "example.org.", "x" * 63):
            self.assertIsNone(hostFault(host), host)

    def test_faults(self):
        for host, fault in (
                ("", "is empty"),
                ("999.1.1.1", "is not an IPv4 address (four numbers, each 0 to 255)"),
                ("1.2.3", "is not an IPv4 address"),
                ("2001:db8::g", "is not an IPv6 address"),
                ("bad_host!", "is not a host name (letters, digits and hyphens, in "
                              "labels between dots) nor an IP address"),
                ("-a.example", "is not a host name"),
                ("a..b", "is not a host name"),
                ("x" * 64, "is not a host name"),
                ("a." * 127 + "ab", "is longer than a host name's 253 characters")):
            self.assertIn(fault, hostFault(host) or "", host)

    def test_aNameMustResolve(self):
        asked = self.resolving({"market.example"})
        self.assertEqual(parseHost("market.example"), "market.example")
        error = self.assertRaises(ValueError, parseHost, "markte.example")
        self.assertEqual(str(error), "markte.example does not resolve (Name or "
                         "service not known): give the host name or address other "
                         "nodes reach this node at, or leave it out")
        self.assertEqual(asked, ["market.example", "markte.example"])

    def test_anAddressIsNotLookedUp(self):
        asked = self.resolving(set())
        self.assertEqual(parseHost("192.0.2.7"), "192.0.2.7")
        error = self.assertRaises(ValueError, parseHost, "999.1.1.1")
        self.assertEqual(str(error), "'999.1.1.1' is not an IPv4 address (four "
                         "numbers, each 0 to 255): give the host name or address "
                         "other nodes reach this node at, or leave it out")
        self.assertEqual(asked, [])

    def test_anIPv6HostInBrackets(self):
        """``--host [V6]``, an IPv6 address as every line shows it, is that
        address (it was refused, "'[2001:db8::12]' is not an IPv6 address")."""
        asked = self.resolving(set())
        self.assertEqual(parseHost("[2001:db8::12]"), "2001:db8::12")
        self.assertEqual(parseIPAddress("[2001:db8::12]"), "2001:db8::12")
        self.assertRaises(ValueError, parseHost, "[not-v6]")
        self.assertRaises(ValueError, parseHost, "[2001:db8::12")
        self.assertEqual(asked, [])


class LabelTests(SynchronousTestCase):
    """How log lines name the peer at an address: a transport's kind is
    kept (issue 96 LOW: ``--tracker ws:`` was logged without it)."""

    def test_label(self):
        kinds = ("tcp", "tls", "ws")
        self.assertEqual([parseAddress(text, kinds).label for text in (
            "127.0.0.1:7700", "tcp:127.0.0.1:7700", "tls:example.org:7700",
            "ws:127.0.0.1:80", "ws:host=ws.example.org:port=80")],
            ["127.0.0.1:7700", "127.0.0.1:7700", "example.org:7700",
             "ws:127.0.0.1:80", "ws:ws.example.org:80"])
