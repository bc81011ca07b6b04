"""
The hosts a daemon's HTTP ports answer to (L{ServedNames}), and the one
check every such port makes of each request before anything is read
(L{refusal}): the web view's, the metrics' of node and tracker (through
L{twisted_bazaar.daemon.site.QuietSite}, as L{whyRefused}), and every
transport's port that speaks HTTP first (its opening handshake).  It is
here, under every layer that listens, so that no port speaking HTTP is
without it.

A page whose own name was made to resolve to this machine (DNS
rebinding) is, to its browser, of the same origin as the port it now
reaches: its scripts read every answer.  What gives it away is the
``Host`` header, which a browser sends with every request, naming the
page's name, and which no page can set.  So a port answers only a
request that names it by a name it serves (a loopback name or address,
the address it is bound to, with a wildcard bind any IP address, and
the names its operator gives), and refuses any other ``421``.  It relies
on nothing a page chooses or a browser may leave out: ``Origin`` is not
sent with a same-origin GET, and Chromium sends ``Sec-Fetch-*`` only to
trustworthy (https or localhost) URLs.

A request to upgrade the connection to another protocol (``Upgrade``)
is another matter: a page makes one only through its browser's own API,
which always sends ``Origin`` (RFC 6455 §4.1), same origin or not, and
may open it to any address, which no same-origin rule guards.  The
daemons' own clients send none, so an upgrade that carries ``Origin``
comes from a page and is refused ``403``: no page of any site opens a
daemon's port so.

A request no browser sends is refused ``400`` (RFC 9110 §7.2, RFC 9112
§3.2): none, or two or more, ``Host`` headers; a ``Host`` that is not
``NAME[:PORT]``, NAME a host name, an IPv4 address or a bracketed IPv6
address (``NAME@127.0.0.1:PORT`` names 127.0.0.1 to a lax parser).

Pure logic on requests, no I/O.
"""

import ipaddress
import re

__all__ = ["LOOPBACK_NAMES", "ServedNames", "hostName", "hostNames", "refusal",
           "whyRefused"]

#: Names of this machine that no other machine's page can take.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

#: A host name (RFC 1123 labels, a final dot allowed), or an IPv4 address.
_HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)"
                        r"(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$", re.IGNORECASE)
#: A ``Host`` header's value: a name, or an IPv6 address in brackets; a
#: port of digits, if any.
_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9.-]+))"
                   r"(?::(?P<port>[0-9]{1,5}))?$", re.IGNORECASE)


def hostName(host):
    """
    The name (or address) a ``Host`` header's value (text or bytes)
    names, port and an IPv6 address's brackets taken off, lower case, a
    final dot too; None for none, or for a value that is not
    ``NAME[:PORT]`` (user info, a path, spaces, a port past 65535, an
    IPv6 address without brackets).
    """
    if not host:
        return None
    if isinstance(host, bytes):
        try:
            host = host.decode("ascii")
        except UnicodeDecodeError:
            return None
    found = _HOST.match(host)
    if found is None:
        return None
    if found["port"] is not None and int(found["port"]) > 65535:
        return None
    if found["v6"] is not None:
        address = _address(found["v6"])
        if address is None or address.version != 6:
            return None
        return str(address)
    name = found["name"]
    if not _HOST_NAME.match(name):
        return None
    return name.lower().rstrip(".")


def hostNames(text):
    """The host names of a comma-separated list (``--web-names``,
    ``--metrics-names``).

    @raise ValueError: one is no host name, saying which."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("give one or more host names, separated by commas")
    for name in names:
        if not _HOST_NAME.match(name):
            raise ValueError(f"{name!r} is not a host name")
    return tuple(name.lower().rstrip(".") for name in names)


hostNames.coerceDoc = "Host names, separated by commas."


def _address(name):
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


class ServedNames:
    """
    The names a port answers to: loopback's, the operator's, and once it
    listens (L{bind}), the address it is bound to, or with a wildcard
    bind any IP address of the machine's.
    """

    def __init__(self, bound=None, names=(), what="this web view"):
        """
        @param names: more host names it answers to, the operator's
            (``--web-names``, ``--metrics-names``: the names other
            machines reach it by).
        @param what: what the port is, as a refusal names it.
        """
        self.wildcard = False
        self.what = what
        self.names = set(LOOPBACK_NAMES) | {name.lower() for name in names}
        self.bind(bound)

    def bind(self, bound):
        """The port listens on ``bound``: an address (``""``, ``0.0.0.0``
        or ``::`` for every interface), or None (a Unix socket, or not
        yet known)."""
        address = _address(bound) if bound else None
        self.wildcard = bound == "" or (address is not None and address.is_unspecified)
        if address is not None and not self.wildcard:
            self.names.add(str(address))

    def listening(self, port):
        """L{bind} to a listening port's address: a ListeningService's
        ``onListening``."""
        self.bind(getattr(port.getHost(), "host", None))

    def serves(self, host):
        """Whether a request whose ``Host`` is host is for this port."""
        name = hostName(host)
        if name is None:
            return False
        if name in self.names:
            return True
        address = _address(name)
        if address is None:
            return False
        return address.is_loopback or self.wildcard

    def shown(self):
        """The names, as a refusal says them."""
        names = sorted(self.names)
        return ", ".join(names) + (" or any of this machine's addresses"
                                   if self.wildcard else "")


def whyRefused(names, request):
    """Why a twisted.web request is refused before anything is read, as
    ``(code, reason)``, or None (L{refusal} of its headers)."""
    headers = request.requestHeaders
    return refusal(names, lambda name: headers.getRawHeaders(name) or [])


def refusal(names, headers):
    """
    Why a request is refused before anything is read, as ``(code,
    reason)``, or None: 400 for a request no browser sends (its ``Host``
    missing, repeated or malformed), 421 for a ``Host`` that names no
    name of names (L{ServedNames}), 403 for a request to upgrade the
    connection that carries an ``Origin`` (a page's).

    @param headers: ``headers(name)``, the values of the header ``name``
        (lower-case bytes) as the request gave them, one for each time it
        appears.
    """
    hosts = headers(b"host")
    if not hosts:
        return 400, f"{names.what} answers a request that says its Host, and this one has none"
    if len(hosts) > 1:
        return 400, f"{names.what} answers a request with one Host, not {len(hosts)}"
    host = hosts[0]
    if hostName(host) is None:
        return 400, (f"Host {_shown(host)} is not NAME or NAME:PORT (a host name, an IP "
                     "address, or an IPv6 address in brackets)")
    if not names.serves(host):
        return 421, (f"{names.what} answers to {names.shown()}, not to Host "
                     f"{_shown(host)}: a page under another name (DNS rebinding) is "
                     "refused")
    origins = headers(b"origin")
    if origins and headers(b"upgrade"):
        return 403, (f"{names.what} takes no upgrade a page asks for (Origin "
                     f"{_shown(origins[0])}): the daemons' clients send no Origin")
    return None


def _shown(value):
    """A value a client sent, as a refusal quotes it (bounded)."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return repr(text[:80])
