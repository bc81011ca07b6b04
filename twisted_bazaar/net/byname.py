"""
The client endpoint of an address string (docs/running.md, "Endpoints"),
where a ``tcp:`` one that names a host by name dials every address the
name resolves to, IPv6 as well as IPv4.

Twisted's ``tcp:`` string makes a C{TCP4ClientEndpoint}, which looks a
name up for one IPv4 address: a tracker whose name has only an IPv6
address fails with "DNS lookup failed" (the name resolves all the same),
and one whose first address does not answer is never tried at its
others.  A node dials its peers by name with C{HostnameEndpoint}, which
tries each address in turn; the tracker's address is dialled the same
way here.  Any other string (an address, other keywords, another kind)
is Twisted's own.
"""

from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import HostnameEndpoint, clientFromString

from twisted_bazaar.base.address import endpointArguments, splitEndpoint

#: The keywords of a ``tcp:`` string that a dial by name keeps.
_KEPT = {"host", "port", "timeout", "bindAddress"}
#: Twisted's timeout of a ``tcp:`` string that names none.
_TIMEOUT = 30


def clientEndpoint(reactor, text):
    """
    The client endpoint of the endpoint string C{text}, as
    C{clientFromString} makes it, but for a ``tcp:`` string naming a host
    name: a C{HostnameEndpoint}, at each of the name's addresses.

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
            or set(keywords) & set(named)
            or isIPAddress(host) or isIPv6Address(host)):
        return clientFromString(reactor, text)
    bind = keywords.get("bindAddress")
    return HostnameEndpoint(reactor, host, int(port),
                            timeout=int(keywords.get("timeout", _TIMEOUT)),
                            bindAddress=None if bind is None else (bind, 0))
