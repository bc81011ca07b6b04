"""
The client endpoint of an address string (docs/running.md, "Endpoints"),
where a ``tcp:`` one that names a host by name dials every address the
name resolves to, IPv6 as well as IPv4.

Twisted's ``tcp:`` string makes a C{TCP4ClientEndpoint}, which looks a
name up for one IPv4 address: a tracker whose name has only an IPv6
address failed with "DNS lookup failed" (the name resolved all the same),
and one whose first address did not answer was never tried at its
others.  Here each address is tried in turn, the IPv4 ones first, as
before: a node listening on IPv4 only (``--listen tcp:0``, the default)
reaches a tracker of both families over IPv4, where the tracker can dial
it back.  Any other string (an address, other keywords, another kind) is
Twisted's own endpoint.
"""

from twisted.internet import defer
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import (
    TCP4ClientEndpoint, TCP6ClientEndpoint, clientFromString)
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolutionReceiver
from zope.interface import implementer

from twisted_bazaar.base.address import (
    endpointArguments, endpointHostPort, escaped, splitEndpoint)

#: The keywords of a ``tcp:`` string that a dial by name keeps.
_KEPT = {"host", "port", "timeout", "bindAddress"}
#: Twisted's timeout of a ``tcp:`` string that names none.
_TIMEOUT = 30
#: Seconds an address is dialled alone before the next is dialled beside
#: it: well past a connection's round trip on any line (a satellite's is
#: 0.6 s), so a node reaches a tracker at its IPv4 address first, where
#: the tracker can dial it back.
ATTEMPT_DELAY = 2.0


def clientEndpoint(reactor, text):
    """
    The client endpoint of the endpoint string C{text}, as
    C{clientFromString} makes it, but for a ``tcp:`` string naming a host
    name: a L{ByNameEndpoint}.

    @raise ValueError: as C{clientFromString} does, for a string it
        cannot take.
    """
    parts = splitEndpoint(text)
    if parts[0].lower() == "tls":
        return clientFromString(reactor, _tlsOverTcp(text, parts))
    if parts[0].lower() != "tcp":
        return clientFromString(reactor, text)
    keywords, positional = endpointArguments(parts[1:])
    named = dict(zip(("port",) if "host" in keywords else ("host", "port"), positional))
    host, port = keywords.get("host", named.get("host")), keywords.get("port", named.get("port"))
    if (host is None or port is None or len(positional) > 2 or set(keywords) - _KEPT
            or set(keywords) & set(named) or isIPAddress(host) or isIPv6Address(host)):
        return clientFromString(reactor, text)
    bind = keywords.get("bindAddress")
    return ByNameEndpoint(reactor, host, int(port),
                          timeout=int(keywords.get("timeout", _TIMEOUT)),
                          bindAddress=None if bind is None else (bind, 0))


def _tlsOverTcp(text, parts):
    """
    A ``tls:`` string at an IPv6 address, given the ``tcp:`` endpoint it
    runs over (its ``endpoint=``): Twisted's ``tls:`` makes its own of the
    host as a name (IDNA), which an IPv6 address is not ("Codepoint
    U+003A ... not allowed"), while its TLS options check an address's
    certificate as one.  Any other ``tls:`` string as it is.
    """
    keywords, _ = endpointArguments(parts[1:])
    host, port = endpointHostPort(parts)
    if host is None or port is None or not isIPv6Address(host) or "endpoint" in keywords:
        return text
    tcp = f"tcp:host={escaped(host)}:port={port}:timeout={keywords.get('timeout', _TIMEOUT)}"
    if "bindAddress" in keywords:
        tcp += f":bindAddress={escaped(keywords['bindAddress'])}"
    return f"{text}:endpoint={escaped(tcp)}"


@implementer(IResolutionReceiver)
class _Addresses:
    """The addresses a name resolved to, once it has: C{done} fires with
    their hosts, each once, the IPv4 ones first."""

    def __init__(self):
        self.found = []
        self.done = defer.Deferred()

    def resolutionBegan(self, resolutionInProgress):
        pass

    def addressResolved(self, address):
        host = address.host
        if host not in self.found:
            self.found.append(host)

    def resolutionComplete(self):
        self.done.callback(sorted(self.found, key=isIPv6Address))


class ByNameEndpoint:
    """
    A TCP client endpoint of a host name: the name looked up through the
    reactor's resolver (IPv4 and IPv6), then each address dialled in turn,
    IPv4 first, until one connects; all failing, the last one's failure.
    An address that neither answers nor fails within L{ATTEMPT_DELAY}
    seconds has the next dialled beside it (RFC 8305's connection attempt
    delay): a first address that drops what is sent to it would otherwise
    hold the dial its whole timeout, 30 s, longer than ``bazaar``'s 10.
    """

    def __init__(self, reactor, host, port, timeout=_TIMEOUT, bindAddress=None):
        self.reactor = reactor
        self.host = host
        self.port = port
        self.timeout = timeout
        self.bindAddress = bindAddress

    def connect(self, factory):
        """See C{IStreamClientEndpoint.connect}; cancelling the Deferred
        cancels the lookup or the dials under way."""
        return _Dial(self, factory).start()

    def attempt(self, host, factory):
        """Dial host (one of the name's addresses): a Deferred of the
        connected protocol."""
        bind = self.bindAddress
        if isIPv6Address(host):
            endpoint = TCP6ClientEndpoint(self.reactor, host, self.port,
                                          timeout=self.timeout, bindAddress=bind)
        else:
            endpoint = TCP4ClientEndpoint(self.reactor, host, self.port,
                                          timeout=self.timeout, bindAddress=bind)
        return endpoint.connect(factory)


class _Dial:
    """
    One connect of a L{ByNameEndpoint}, the owner of its lookup, its dials
    under way and the timer that starts the next: the first to connect is
    the result, the others cancelled; all failing, the last failure.
    """

    def __init__(self, endpoint, factory):
        self.endpoint = endpoint
        self.factory = factory
        self.result = defer.Deferred(self._cancel)
        self.lookup = None
        #: The Deferreds of the dials under way.
        self.pending = []
        #: The addresses not dialled yet.
        self.hosts = []
        self.last = None
        self.timer = None
        self.finished = False

    def start(self):
        receiver = _Addresses()
        self.lookup = receiver.done
        receiver.done.addCallbacks(self._resolved, self._fail)
        self.endpoint.reactor.nameResolver.resolveHostName(
            receiver, self.endpoint.host, self.endpoint.port)
        return self.result

    def _cancel(self, _):
        # Finished first: the failures the dials are cancelled with try
        # no other address.
        self.finished = True
        self._stopTimer()
        self.lookup.cancel()
        for dialling in list(self.pending):
            dialling.cancel()

    def _stopTimer(self):
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None

    def _resolved(self, hosts):
        bind = self.endpoint.bindAddress
        if bind is not None:
            # A bound address of one family cannot dial the other's.
            hosts = [host for host in hosts if isIPv6Address(host) == isIPv6Address(bind[0])]
        if not hosts:
            self._fail(DNSLookupError(self.endpoint.host))
            return
        self.hosts = hosts
        self._next()

    def _next(self):
        """Dial the next address; none left, fail once no dial is under
        way."""
        self._stopTimer()
        if self.finished:
            return
        if not self.hosts:
            if not self.pending:
                self._fail(self.last)
            return
        dialling = self.endpoint.attempt(self.hosts.pop(0), self.factory)
        self.pending.append(dialling)
        dialling.addCallbacks(self._connected, self._failed,
                              callbackArgs=(dialling,), errbackArgs=(dialling,))
        if self.hosts and not self.finished and dialling in self.pending:
            self.timer = self.endpoint.reactor.callLater(ATTEMPT_DELAY, self._next)

    def _connected(self, protocol, dialling):
        self.pending.remove(dialling)
        if self.finished:
            protocol.transport.loseConnection()
            return
        self.finished = True
        self._stopTimer()
        for other in list(self.pending):
            other.cancel()
        self.result.callback(protocol)

    def _failed(self, failure, dialling):
        self.pending.remove(dialling)
        if not self.finished:
            self.last = failure
            self._next()

    def _fail(self, failure):
        if not self.finished:
            self.finished = True
            self.result.errback(failure)
