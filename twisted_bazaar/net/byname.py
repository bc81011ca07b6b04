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

from twisted_bazaar.base.address import endpointArguments, splitEndpoint

#: The keywords of a ``tcp:`` string that a dial by name keeps.
_KEPT = {"host", "port", "timeout", "bindAddress"}
#: Twisted's timeout of a ``tcp:`` string that names none.
_TIMEOUT = 30


def clientEndpoint(reactor, text):
    """
    The client endpoint of the endpoint string C{text}, as
    C{clientFromString} makes it, but for a ``tcp:`` string naming a host
    name: a L{ByNameEndpoint}.

    @raise ValueError: as C{clientFromString} does, for a string it
        cannot take.
    """
    parts = splitEndpoint(text)
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
    """

    def __init__(self, reactor, host, port, timeout=_TIMEOUT, bindAddress=None):
        self.reactor = reactor
        self.host = host
        self.port = port
        self.timeout = timeout
        self.bindAddress = bindAddress

    def connect(self, factory):
        """See C{IStreamClientEndpoint.connect}; cancelling the Deferred
        cancels the lookup or the dial under way."""
        current = [None]

        def cancel(_):
            # Forgotten first: the failure it is cancelled with tries no
            # other address.
            under, current[0] = current[0], None
            under.cancel()

        result = defer.Deferred(cancel)
        receiver = _Addresses()
        current[0] = receiver.done
        receiver.done.addCallbacks(
            lambda hosts: self._dial(hosts, factory, result, current, None),
            lambda failure: None if result.called else result.errback(failure))
        self.reactor.nameResolver.resolveHostName(receiver, self.host, self.port)
        return result

    def _dial(self, hosts, factory, result, current, last):
        """Dial the first of hosts; failing, the rest (last: the failure
        of the one before)."""
        if result.called or current[0] is None:
            return
        bind = self.bindAddress
        if bind is not None:
            # A bound address of one family cannot dial the other's.
            hosts = [host for host in hosts if isIPv6Address(host) == isIPv6Address(bind[0])]
        if not hosts:
            result.errback(last or DNSLookupError(self.host))
            return
        host, rest = hosts[0], hosts[1:]
        if isIPv6Address(host):
            endpoint = TCP6ClientEndpoint(self.reactor, host, self.port,
                                          timeout=self.timeout, bindAddress=bind)
        else:
            endpoint = TCP4ClientEndpoint(self.reactor, host, self.port,
                                          timeout=self.timeout, bindAddress=bind)
        dialling = current[0] = endpoint.connect(factory)
        dialling.addCallbacks(
            lambda protocol: None if result.called else result.callback(protocol),
            lambda failure: self._dial(rest, factory, result, current, failure))
