"""UPnP IGD: the SSDP search (only the gateway's answer taken), the
description (its control URL), the SOAP actions, and what a hostile
router or LAN neighbour gets: a line with the reason, no traceback."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.reach.reachable.portmap.fakes import FakeHttp, FakeSockets
from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed, Unsupported
from twisted_bazaar.reach.reachable.portmap.natpmp import Mapped
from twisted_bazaar.reach.reachable.portmap.upnp import (
    SSDP,
    UPnP,
    controlIn,
    locationIn,
)

GATEWAY = "10.9.0.1"
LOCATION = "http://10.9.0.1:38699/rootDesc.xml"
SERVICE = "urn:schemas-upnp-org:service:WANIPConnection:1"
DESCRIPTION = f"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceList><device>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1
</serviceType><controlURL>/ctl/L3F</controlURL></service>
<service><serviceType>{SERVICE}</serviceType>
<controlURL>/ctl/IPConn</controlURL></service></serviceList>
</device></deviceList></device></root>""".encode()


def ssdpAnswer(location=LOCATION):
    return ("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
            f"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
            f"Location: {location}\r\n\r\n").encode()


def fault(code, text="ConflictInMappingEntry"):
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            f'<s:Fault><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
            f'<errorCode>{code}</errorCode><errorDescription>{text}</errorDescription>'
            f'</UPnPError></detail></s:Fault></s:Body></s:Envelope>').encode()


class ParsingTests(SynchronousTestCase):
    def test_location(self):
        self.assertEqual(locationIn(ssdpAnswer()), LOCATION)
        self.assertIsNone(locationIn(b"NOTIFY * HTTP/1.1\r\nLocation: x\r\n\r\n"))
        self.assertIsNone(locationIn(b"HTTP/1.1 200 OK\r\n\r\n"))
        self.assertIsNone(locationIn(b"\xff\xfe garbage"))

    def test_control(self):
        """The WAN connection service's control URL, made absolute (at
        the description's URL, or its URLBase)."""
        self.assertEqual(controlIn(DESCRIPTION, LOCATION),
                         (SERVICE, "http://10.9.0.1:38699/ctl/IPConn"))
        based = DESCRIPTION.replace(b"<device>", b"<URLBase>http://10.9.0.1:80/"
                                    b"</URLBase><device>", 1)
        self.assertEqual(controlIn(based, LOCATION)[1], "http://10.9.0.1:80/ctl/IPConn")

    def test_hostileDescriptions(self):
        """Not XML, an entity bomb's DOCTYPE, no WAN service: a reason."""
        cases = [(b"<root><unclosed>", MappingFailed, "is not XML"),
                 (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
                  MappingFailed, "declares a DOCTYPE"),
                 (DESCRIPTION.replace(b"WANIPConnection", b"Other"), Unsupported,
                  "names no WANIPConnection")]
        for body, error, why in cases:
            with self.assertRaises(error) as raised:
                controlIn(body, LOCATION)
            self.assertIn(why, str(raised.exception))


class UPnPTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.sockets = FakeSockets()
        self.http = FakeHttp()
        self.upnp = UPnP(self.clock, self.sockets.datagrams(self.clock), self.http, GATEWAY,
                         "10.9.0.2")

    def found(self):
        """A map asked, the gateway found, its description fetched: the
        Deferred of the map."""
        d = self.upnp.map(5555, 5555, 3600)
        search = self.sockets.last
        self.assertEqual({address for _, address in search.sent}, {SSDP})
        search.answer(ssdpAnswer(), (GATEWAY, 1900))
        self.clock.advance(0)
        self.assertFalse(search.listening)
        self.assertEqual(self.http.requests[-1][:2], (b"GET", LOCATION))
        self.http.answer(200, DESCRIPTION)
        return d

    def test_mapped(self):
        """AddPortMapping to the control URL, with the node as internal
        client and the lease; DeletePortMapping at the same URL."""
        d = self.found()
        method, url, headers, body, _ = self.http.requests[-1]
        self.assertEqual((method, url), (b"POST", "http://10.9.0.1:38699/ctl/IPConn"))
        self.assertEqual(headers[b"SOAPAction"], [f'"{SERVICE}#AddPortMapping"'.encode()])
        for field in (b"<NewExternalPort>5555</NewExternalPort>",
                      b"<NewInternalClient>10.9.0.2</NewInternalClient>",
                      b"<NewLeaseDuration>3600</NewLeaseDuration>"):
            self.assertIn(field, body)
        self.http.answer(200, b"")
        self.assertEqual(self.successResultOf(d), Mapped(5555, 5555, 3600))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        d = self.upnp.unmap(Mapped(5555, 5555, 3600))
        self.assertIn(b"DeletePortMapping", self.http.requests[-1][2][b"SOAPAction"][0])
        self.http.answer(200, b"")
        self.successResultOf(d)

    def test_strangersIgnored(self):
        """An SSDP answer from another host, or naming another host, is
        not taken (a LAN neighbour would have the node fetch any URL), nor
        one over 2 KiB; the search gives up after its wait, saying how
        many it ignored and the first 4 (a flood of them keeps no more)."""
        d = self.upnp.map(5555, 5555, 3600)
        search = self.sockets.last
        search.answer(ssdpAnswer("http://10.9.0.7/x.xml"), ("10.9.0.7", 1900))
        search.answer(ssdpAnswer("http://169.254.169.254/"), (GATEWAY, 1900))
        for n in range(1000):
            search.answer(ssdpAnswer(f"http://10.9.1.{n % 250}/"), ("10.9.0.8", 1900))
        search.answer(ssdpAnswer() + b"x" * 4000, (GATEWAY, 1900))
        self.clock.advance(1.5)
        self.assertEqual(len(search.sent), 4)
        self.clock.advance(1.5)
        why = str(self.failureResultOf(d, Unsupported).value)
        self.assertIn("no answer to an SSDP search from the gateway 10.9.0.1 within 3 s",
                      why)
        self.assertIn("ignored 1002 answers from elsewhere: 10.9.0.7: names "
                      "http://10.9.0.7/x.xml, 10.9.0.1: names http://169.254.169.254/, "
                      "10.9.0.8: names http://10.9.1.0/, 10.9.0.8: names "
                      "http://10.9.1.1/", why)
        self.assertEqual(why.count("names"), 4)
        self.assertEqual(self.http.requests, [])
        self.clock.advance(0)
        self.assertFalse(search.listening)

    def test_controlElsewhereRefused(self):
        d = self.upnp.map(5555, 5555, 3600)
        self.sockets.last.answer(ssdpAnswer(), (GATEWAY, 1900))
        self.http.answer(200, DESCRIPTION.replace(b"/ctl/IPConn",
                                                  b"http://192.0.2.1/ctl"))
        self.assertIn("not at the gateway",
                      str(self.failureResultOf(d, MappingFailed).value))

    def test_refusals(self):
        """A SOAP fault says the router's code and text; 725 (permanent
        leases only) is asked again with lease 0."""
        d = self.found()
        self.http.answer(500, fault(718))
        self.assertEqual(str(self.failureResultOf(d, MappingFailed).value),
                         "UPnP: the router refused AddPortMapping: HTTP 500, error 718 "
                         "ConflictInMappingEntry")
        self.clock.advance(0)
        d = self.found()
        self.http.answer(500, fault(725, "OnlyPermanentLeasesSupported"))
        self.assertIn(b"<NewLeaseDuration>0</NewLeaseDuration>", self.http.requests[-1][3])
        self.http.answer(200, b"")
        self.assertEqual(self.successResultOf(d).lifetime, 0)
        d = self.upnp.map(5555, 5555, 3600)
        self.assertEqual(self.http.requests[-1][0], b"POST")
        self.http.answer(500, b"<<not xml")
        self.assertEqual(str(self.failureResultOf(d, MappingFailed).value),
                         "UPnP: the router refused AddPortMapping: HTTP 500")

    def test_searchedAgainAfterAFailure(self):
        """A renewal kept the control URL found; one that fails (a router
        rebooted, its URL moved) has the next map search again."""
        d = self.found()
        self.http.answer(200, b"")
        self.successResultOf(d)
        searches = len(self.sockets.opened)
        d = self.upnp.map(5555, 5555, 3600)
        self.assertEqual(self.http.requests[-1][0], b"POST")
        self.http.answer(404, b"")
        self.failureResultOf(d, MappingFailed)
        self.clock.advance(0)
        self.upnp.map(5555, 5555, 3600)
        self.assertEqual(len(self.sockets.opened), searches + 1)

    def test_silentRouter(self):
        """A request unanswered for 5 s is cancelled, and says so."""
        d = self.upnp.map(5555, 5555, 3600)
        self.sockets.last.answer(ssdpAnswer(), (GATEWAY, 1900))
        self.clock.advance(5)
        self.assertTrue(self.http.requests[0][4].called)
        self.assertEqual(str(self.failureResultOf(d, MappingFailed).value),
                         "UPnP: the router did not answer within 5 s")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancelled(self):
        """Cancelling a map under way ends its search: no socket, no timer."""
        d = self.upnp.map(5555, 5555, 3600)
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.clock.advance(0)
        self.assertFalse(self.sockets.last.listening)
        self.assertEqual(self.clock.getDelayedCalls(), [])
