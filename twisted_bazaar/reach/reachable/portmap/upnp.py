"""
UPnP IGD: the router found by SSDP (a multicast M-SEARCH, its unicast
answers), its device description fetched for the control URL of its
WANIPConnection (or WANPPPConnection) service, and AddPortMapping /
DeletePortMapping sent there as SOAP.  All on the reactor, each step
under a timeout its owner cancels, each answer bounded in size.

Only the default gateway is spoken to: an SSDP answer from anyone else,
or a description or control URL at another host, is refused (a stranger
on the LAN would otherwise name the URL the node fetches, any host on
any port).  The router's external address is never asked.
"""

import urllib.parse
import xml.etree.ElementTree as ElementTree

from twisted.internet import defer

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed, Unsupported
from twisted_bazaar.reach.reachable.portmap.natpmp import Mapped

SSDP = ("239.255.255.250", 1900)
SEARCHED = ("urn:schemas-upnp-org:device:InternetGatewayDevice:1",
            "urn:schemas-upnp-org:device:InternetGatewayDevice:2")
SERVICES = ("urn:schemas-upnp-org:service:WANIPConnection:",
            "urn:schemas-upnp-org:service:WANPPPConnection:")
#: Seconds SSDP waits for the gateway to answer (its M-SEARCH sent again
#: halfway), and an HTTP request for its answer.
SEARCH_WAIT = 3.0
HTTP_WAIT = 5.0
#: The answers from other hosts (or naming other hosts) a failed search
#: says.
SAID_STRANGERS = 4
#: The largest HTTP body read (a description is a few KiB).
LARGEST_BODY = 65536
ANSWER_LIMIT = declare(
    "portmap.answer", LARGEST_BODY, "bytes",
    "bytes of one HTTP answer (a UPnP description, a SOAP answer) a node reads from "
    "its router; past it the answer is cut off and the mapping fails", owner=__name__)
DESCRIPTION = "twisted-bazaar"
#: "OnlyPermanentLeasesSupported" (IGD v1 §2.4.16): asked again with lease 0.
ONLY_PERMANENT = 725
SOAP_ENVELOPE = (
    '<?xml version="1.0"?>\r\n'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
    '<u:{action} xmlns:u="{service}">{arguments}</u:{action}></s:Body></s:Envelope>\r\n')


def searchRequest(target):
    """The bytes of an M-SEARCH for target (UPnP Device Architecture §1.3.2)."""
    return ("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
            'MAN: "ssdp:discover"\r\nMX: 2\r\n'
            f"ST: {target}\r\n\r\n").encode("ascii")


def locationIn(data):
    """The LOCATION of an SSDP answer (bytes), or None when it is no
    answer to a search or names none."""
    text = data.decode("latin-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    if not lines[0].upper().startswith("HTTP/1.") or " 200" not in lines[0]:
        return None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "location":
            return value.strip() or None
    return None


def hostOf(url):
    """The host a URL names ("" for one that does not parse)."""
    try:
        return urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return ""


def parseXml(body, what):
    """The root element of an XML body; L{MappingFailed} for one that does
    not parse, or that declares a DOCTYPE (entities: an expansion bomb)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MappingFailed(f"UPnP: the router's {what} declares a DOCTYPE; refused")
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as e:
        raise MappingFailed(f"UPnP: the router's {what} is not XML: {e}") from None


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def controlIn(body, location):
    """(the service type, its control URL) of the first WAN connection
    service a device description (bytes) fetched from location names; or
    L{MappingFailed} / L{Unsupported} saying why not."""
    root = parseXml(body, "device description")
    base = location
    for element in root.iter():
        if _local(element.tag) == "URLBase" and (element.text or "").strip():
            base = element.text.strip()
    for element in root.iter():
        if _local(element.tag) != "service":
            continue
        fields = {_local(child.tag): (child.text or "").strip() for child in element}
        kind, control = fields.get("serviceType", ""), fields.get("controlURL", "")
        if control and kind.startswith(SERVICES):
            return kind, urllib.parse.urljoin(base, control)
    raise Unsupported("UPnP: the router's description names no WANIPConnection or "
                      "WANPPPConnection service")


def soapBody(service, action, arguments):
    """The SOAP envelope of action on service with arguments (name, value)
    pairs, as bytes."""
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in arguments)
    return SOAP_ENVELOPE.format(action=action, service=service,
                                arguments=fields).encode("utf-8")


def addArguments(internal, external, client, lease):
    return (("NewRemoteHost", ""), ("NewExternalPort", external),
            ("NewProtocol", "TCP"), ("NewInternalPort", internal),
            ("NewInternalClient", client), ("NewEnabled", 1),
            ("NewPortMappingDescription", DESCRIPTION), ("NewLeaseDuration", lease))


def deleteArguments(external):
    return (("NewRemoteHost", ""), ("NewExternalPort", external),
            ("NewProtocol", "TCP"))


class SoapFault(MappingFailed):
    """The router answered a SOAP action with an error: ``code`` is its
    UPnP errorCode (0 when it names none)."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def checkSoapAnswer(status, body, action):
    """Nothing for a 200; else L{SoapFault} with the router's UPnPError."""
    if status == 200:
        return
    code, description = 0, ""
    if body:
        try:
            root = parseXml(body, f"{action} answer")
        except MappingFailed:
            root = None
        for element in () if root is None else root.iter():
            name = _local(element.tag)
            if name == "errorCode":
                try:
                    code = int((element.text or "").strip())
                except ValueError:
                    code = 0
            elif name == "errorDescription":
                description = (element.text or "").strip()[:200]
    raise SoapFault(f"UPnP: the router refused {action}: HTTP {status}"
                    + (f", error {code} {description}".rstrip() if code else ""), code)


class Search:
    """
    An SSDP search for the gateway's IGD over ``datagrams`` (a
    L{twisted_bazaar.reach.reachable.portmap.exchange.Datagrams}): M-SEARCHes
    multicast, then the first answer from the gateway that names a
    LOCATION there.  L{start} returns a Deferred of that location, which
    fails after ``wait`` seconds.
    """

    def __init__(self, clock, datagrams, gateway, wait=SEARCH_WAIT):
        self.clock = clock
        self.datagrams = datagrams
        self.gateway = gateway
        self.wait = wait
        self.deferred = defer.Deferred(canceller=lambda _: self._end())
        #: The first answers from strangers, said when the search fails,
        #: and how many came.
        self.ignored = []
        self.strangers = 0
        self._timers = []

    def start(self):
        try:
            self.datagrams.add(self)
        except Exception as e:  # no socket to be had
            self._fail(MappingFailed(f"UPnP: no UDP socket: {e}"))
            return self.deferred
        self._timers = [self.clock.callLater(self.wait / 2, self._search),
                        self.clock.callLater(self.wait, self._giveUp)]
        self._search()
        return self.deferred

    def _search(self):
        try:
            for target in SEARCHED:
                self.datagrams.write(searchRequest(target), SSDP)
        except OSError as e:
            self._fail(MappingFailed(f"UPnP: cannot send an SSDP search: {e}"))

    def datagramReceived(self, data, address):
        if self.deferred.called:
            return
        host = address[0]
        location = locationIn(data)
        if location is None:
            return
        if host != self.gateway or hostOf(location) != self.gateway:
            # Not the router this node's traffic leaves by (the first few
            # kept to say: a LAN flooding answers grows nothing).
            self.strangers += 1
            if len(self.ignored) < SAID_STRANGERS:
                self.ignored.append(f"{host}: names {location[:100]}")
            return
        self._end()
        self.deferred.callback(location)

    def _giveUp(self):
        others = (f"; ignored {self.strangers} answers from elsewhere: "
                  + ", ".join(self.ignored)) if self.ignored else ""
        self._fail(Unsupported(f"UPnP: no answer to an SSDP search from the gateway "
                               f"{self.gateway} within {self.wait:g} s{others}"))

    def _fail(self, failure):
        if self.deferred.called:
            return
        self._end()
        self.deferred.errback(failure)

    def _end(self):
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers = []
        self.datagrams.remove(self)


class UPnP:
    """
    UPnP IGD at the gateway: found on the first L{map}, its control URL
    kept for the renewals and the deletion.

    @param http: (method, url, headers dict, body or None) -> a Deferred
        of (status, body bytes), cancellable, bounded in size
        (what L{twisted_bazaar.reach.reachable.portmap.http.requester} returns).
    """

    name = "UPnP"

    def __init__(self, clock, datagrams, http, gateway, client, search_wait=SEARCH_WAIT,
                 http_wait=HTTP_WAIT):
        self.clock = clock
        self.datagrams = datagrams
        self.http = http
        self.gateway = gateway
        self.client = client
        self.search_wait = search_wait
        self.http_wait = http_wait
        #: (service type, control URL), once found.
        self.control = None

    def _timed(self, d):
        return d.addTimeout(self.http_wait, self.clock, onTimeoutCancel=self._late)

    def _late(self, result, timeout):
        """Called only when the timeout cancelled the request."""
        raise MappingFailed(f"UPnP: the router did not answer within {timeout:g} s")

    def _find(self):
        """A Deferred of (service, control URL): searched once, then kept."""
        if self.control is not None:
            return defer.succeed(self.control)
        search = Search(self.clock, self.datagrams, self.gateway, self.search_wait)
        return search.start().addCallback(self._describe)

    def _describe(self, location):
        d = self._timed(self.http(b"GET", location, {}, None))
        return d.addCallback(self._described, location)

    def _described(self, answer, location):
        status, body = answer
        if status != 200:
            raise MappingFailed(f"UPnP: the router's description at {location} "
                                f"answered HTTP {status}")
        kind, control = controlIn(body, location)
        if hostOf(control) != self.gateway:
            raise MappingFailed(f"UPnP: the router's control URL {control[:100]} is "
                                f"not at the gateway {self.gateway}; refused")
        self.control = (kind, control)
        return self.control

    def _soap(self, control, action, arguments):
        kind, url = control
        headers = {b"Content-Type": [b'text/xml; charset="utf-8"'],
                   b"SOAPAction": [f'"{kind}#{action}"'.encode("ascii")]}
        d = self._timed(self.http(b"POST", url, headers,
                                  soapBody(kind, action, arguments)))
        return d.addCallback(lambda answer: checkSoapAnswer(*answer, action))

    def map(self, internal, external, lifetime):
        """A Deferred of the L{Mapped} the router grants: asked at
        ``external``, which is where it maps it or the action fails.  The
        router is searched for on the first map, and again after one
        fails."""
        def add(control):
            d = self._soap(control, "AddPortMapping",
                           addArguments(internal, external, self.client, lifetime))
            d.addCallback(lambda _: Mapped(internal, external, lifetime))
            return d.addErrback(permanent, control)

        def permanent(reason, control):
            reason.trap(SoapFault)
            if reason.value.code != ONLY_PERMANENT or not lifetime:
                return reason
            d = self._soap(control, "AddPortMapping",
                           addArguments(internal, external, self.client, 0))
            return d.addCallback(lambda _: Mapped(internal, external, 0))

        def forget(reason):
            # The router may have moved its control URL (a reboot): the
            # next map searches again.
            self.control = None
            return reason

        return self._find().addCallback(add).addErrback(forget)

    def unmap(self, mapping):
        """A Deferred that fires once the router deleted the mapping."""
        if self.control is None:
            return defer.succeed(None)
        return self._soap(self.control, "DeletePortMapping",
                          deleteArguments(mapping.external))
