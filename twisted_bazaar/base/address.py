"""
Addresses as people type them, parsed in one place for the ``bazaar``
command and the daemons, so that each takes every form the docs show:

- ``HOST:PORT``, or ``[V6]:PORT`` for an IPv6 address;
- a Twisted client endpoint string: ``tcp:127.0.0.1:7700``,
  ``tcp:host=127.0.0.1:port=7700``, ``tls:tracker.example.org:7700:...``.

Either becomes an L{Address}: the host and port the messages and log
lines name, and the client endpoint string to connect with (the user's
own, options and all, or ``tcp:HOST:PORT``).
"""

import ipaddress
import re
import socket

import attr
from twisted.internet.abstract import isIPv6Address

from twisted_bazaar.base.peerhost import isName
from twisted_bazaar.base.tlssupport import tlsMissing

#: Twisted's endpoint kinds an address string may start with; the kinds
#: a caller accepts are endpoint kinds too (a transport's, such as a
#: node's --tracker takes).  Any other word before the first colon is a
#: host name, unless what it leaves is a host and port that cannot be one
#: (another colon, not in an IPv6 address): then it is an endpoint kind
#: not taken here.
ENDPOINT_KINDS = ("tcp", "tcp6", "ssl", "tls", "unix")
#: The kinds that reach a host and port over plain TCP: every node.
TCP = ("tcp",)
#: The kinds that reach a host and port, with or without TLS: the tracker.
TCP_OR_TLS = ("tcp", "ssl", "tls")


def splitEndpoint(text):
    """Split an endpoint string on its unescaped colons (a backslash
    escapes the next character, as in Twisted's own parser)."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def endpointArguments(parts):
    """The keyword and positional arguments of a split endpoint string
    (without its kind): (dict, list)."""
    keywords = dict(arg.split("=", 1) for arg in parts if "=" in arg)
    positional = [arg for arg in parts if "=" not in arg]
    return keywords, positional


def endpointHostPort(parts):
    """The host and port a split endpoint string names (its first two
    positional arguments, or ``host=`` and ``port=``): (host, port), None
    for each it does not name."""
    keywords, positional = endpointArguments(parts[1:])
    if "host" in keywords:
        positional.insert(0, keywords["host"])
    if "port" in keywords:
        positional[1:1] = [keywords["port"]]
    return tuple((positional + [None, None])[:2])


def parsePort(text, low=0):
    """A port number from text, from low to 65535.

    @raise ValueError: with the reason."""
    try:
        port = int(text)
    except (TypeError, ValueError):
        raise ValueError(f"port {text!r} is not a number") from None
    if not low <= port <= 65535:
        raise ValueError(f"port {port} is not in {low} ... 65535")
    return port


def escaped(value):
    """A value as an endpoint string holds it: its backslashes and colons
    escaped, as Twisted's parser (and L{splitEndpoint}) reads them."""
    return value.replace("\\", "\\\\").replace(":", "\\:")


def hostPort(host, port):
    """``HOST:PORT`` as a user reads and gives it: an IPv6 address in
    brackets (``[::1]:7700``), as ``::1:7700`` cannot be split again."""
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


@attr.s(frozen=True, auto_attribs=True)
class Address:
    """
    Where to connect.

    @ivar host: the host name or address.
    @ivar port: the port, 1 ... 65535.
    @ivar endpoint: a client endpoint string for C{clientFromString}.
    """

    host: str
    port: int
    endpoint: str

    @classmethod
    def tcp(cls, host, port):
        """The address of ``host:port`` over plain TCP."""
        return cls(host, port, f"tcp:{escaped(host)}:{port}")

    def __str__(self):
        """``HOST:PORT`` (``[V6]:PORT`` for an IPv6 address), as messages
        and log lines name it."""
        return hostPort(self.host, self.port)

    @property
    def kind(self):
        """The endpoint's kind (``tcp``, ``tls``, a transport's such as
        ``ws``), lower case."""
        return self.endpoint.partition(":")[0].lower()

    @property
    def label(self):
        """The address as log lines name the peer at it: ``HOST:PORT``
        (L{__str__}), led by its kind for a transport's own
        (``KIND:HOST:PORT``), which reaches a port of another protocol."""
        return str(self) if self.kind in ENDPOINT_KINDS else f"{self.kind}:{self}"

    def withTimeout(self, seconds):
        """The endpoint string, with a connection timeout of ``seconds``
        unless it names one already."""
        keywords, _ = endpointArguments(splitEndpoint(self.endpoint)[1:])
        if "timeout" in keywords:
            return self.endpoint
        return f"{self.endpoint}:timeout={max(1, int(seconds))}"


def refuseKind(kind, kinds, why, *others):
    """
    Refuse an endpoint of a kind that cannot work here.

    @param kinds: the kinds that can.
    @param others: other forms that can, named first (``HOST:PORT``).
    @raise ValueError: always, with the reason and what to use instead.
    """
    forms = [*others, *(f"{k}:" for k in kinds)]
    allowed = ", ".join(forms[:-1]) + " or " + forms[-1] if len(forms) > 1 else forms[0]
    raise ValueError(f"a {kind}: endpoint cannot work here: {why} (use {allowed})")


def parseAddress(text, kinds=TCP, why="", default_port=None):
    """
    Parse an address in any form the docs show.

    @param kinds: the endpoint kinds accepted (a plain ``HOST:PORT`` is
        always accepted, as ``tcp:``).
    @param why: why only those kinds, for the message.
    @param default_port: the port of a bare ``HOST`` (none: a port is
        required).
    @return: an L{Address}.
    @raise ValueError: with a reason a user can act on.
    """
    head, sep, _ = text.partition(":")
    if sep and (head.lower() in ENDPOINT_KINDS or head.lower() in kinds):
        return _parseEndpoint(text, kinds, why)
    bracketed = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", text, re.DOTALL)
    if bracketed and bracketed[2] is None:
        if default_port is None:
            raise ValueError(f"wants [V6]:PORT, an IPv6 address in brackets and "
                             f"its port, not {text!r}")
        host, sep, port = bracketed[0], ":", str(default_port)
    else:
        host, sep, port = text.rpartition(":")
    if not sep:
        if default_port is None:
            raise ValueError(f"wants HOST:PORT or an endpoint such as "
                             f"tcp:HOST:PORT, not {text!r}")
        host, port = text, str(default_port)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host and not isIPv6Address(host):
        if isIPv6Address(text):
            raise ValueError(f"wants [V6]:PORT, an IPv6 address in brackets and "
                             f"its port, not {text!r}")
        return _parseEndpoint(text, kinds, why)
    if not host:
        raise ValueError(f"wants HOST:PORT, not {text!r}")
    return Address.tcp(host, parsePort(port, low=1))


def unbracketed(text):
    """An endpoint string's ``[V6]`` values (``KIND:[V6]:PORT``,
    ``host=[V6]``, ``interface=[V6]``), the form every other address and
    log line gives an IPv6 address in, as Twisted's endpoint parsers read
    them: the brackets gone, the colons escaped."""
    def plain(found):
        return escaped(found[1]) if isIPv6Address(found[1]) else found[0]
    return re.sub(r"(?<=[:=])\[([^\]]*)\](?=:|$)", plain, text)


def _parseEndpoint(text, kinds, why):
    text = unbracketed(text)
    parts = splitEndpoint(text)
    kind = parts[0].lower()
    if kind == "tcp6" and kind not in kinds:
        raise ValueError("a tcp6: endpoint cannot work here: an address of IPv6 is "
                         "given as [V6]:PORT, or tcp: with its colons escaped with a "
                         "backslash (tcp: dials IPv6 too)")
    if kind not in kinds:
        refuseKind(kind, kinds, why or "it does not lead to a host and a port",
                   "HOST:PORT")
    missing = tlsMissing(kind)
    if missing:
        raise ValueError(missing)
    keywords, _ = endpointArguments(parts[1:])
    host, port = endpointHostPort(parts)
    if not host or port is None:
        v6 = (r" (an IPv6 address: [V6]:PORT, or its colons escaped with a backslash, "
              rf"as in {kind}:host=fe80\:\:1:port=PORT)" if "::" in text else "")
        raise ValueError(f"{text!r} wants a host and a port, as in "
                         f"{kind}:HOST:PORT or {kind}:host=HOST:port=PORT{v6}")
    if kind == "ssl" and "caCertsDir" not in keywords:
        # Twisted's ssl: client checks a certificate only given one.
        raise ValueError(f"{text!r} checks no certificate: an ssl: address needs "
                         "caCertsDir=DIR (it then checks the certificate's issuer, "
                         "not the tracker's name); tls:HOST:PORT:trustRoots=DIR "
                         "checks both")
    return Address(host, parsePort(port, low=1), text)


def addressType(kinds=TCP, why="", default_port=None):
    """A parser for option values (ValueError with a reason for bad input)
    that reads an L{Address} as L{parseAddress} does."""

    def parse(text):
        return parseAddress(text, kinds, why, default_port)

    parse.coerceDoc = ("HOST:PORT, or a client endpoint such as "
                       f"{kinds[0]}:HOST:PORT.")
    return parse


#: One label of a host name (RFC 1123): letters, digits and hyphens, 1 to
#: 63 of them, no hyphen at either end.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
#: The most characters in a host name (RFC 1035), without a final dot.
HOST_NAME_MOST = 253


def hostFault(host):
    """
    Why host (as ``--host`` gives it) is no host name or IP address, in
    words that follow it, or None: checked as written, no name looked up.
    """
    if not host:
        return "is empty"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", host):
        return "is not an IPv4 address (four numbers, each 0 to 255)"
    if ":" in host:
        return "is not an IPv6 address"
    name = host[:-1] if host.endswith(".") else host
    if len(name) > HOST_NAME_MOST:
        return f"is longer than a host name's {HOST_NAME_MOST} characters"
    if not all(_LABEL.match(label) for label in name.split(".")):
        return ("is not a host name (letters, digits and hyphens, in labels "
                "between dots) nor an IP address")
    return None


def _bare(host):
    """A host as ``--host`` takes it: ``[V6]``, an IPv6 address as every
    line shows it, without its brackets."""
    bracketed = host[:1] == "[" and host[-1:] == "]"
    return host[1:-1] if bracketed and isIPv6Address(host[1:-1]) else host


def parseHost(text):
    """
    ``--host`` (ValueError with the reason): a host name or IP address
    (L{hostFault}), and a name must resolve now (C{socket.getaddrinfo}):
    given a name that does not, a node took a relay, "not reachable from
    outside", and only the tracker's log said why.
    """
    text = _bare(text)
    fault = hostFault(text)
    if fault is not None:
        raise ValueError(f"{text!r} {fault}: give the host name or address "
                         "other nodes reach this node at, or leave it out")
    if not isName(text):
        return text
    try:
        socket.getaddrinfo(text, None, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        why = getattr(e, "strerror", None) or str(e)
        raise ValueError(f"{text} does not resolve ({why}): give the host "
                         "name or address other nodes reach this node at, or "
                         "leave it out") from None
    return text


parseHost.coerceDoc = "A host name that resolves, or an IP address."


def parseIPAddress(text):
    """
    The tracker's ``--host`` (ValueError with the reason): an IP address,
    as written (each node compares it however spelt).  No name: each node takes the tracker's
    relay only at the address its own connection reaches
    (L{twisted_bazaar.core.trackersrelay.atHostOf}), which a name is not.
    """
    text = _bare(text)
    fault = hostFault(text)
    if fault is None and isName(text):
        fault = "is a host name, not an IP address"
    if fault is not None:
        raise ValueError(f"{text!r} {fault}: give the IP address nodes reach "
                         "this tracker at (its router's, where a port is "
                         "forwarded to it), or leave it out")
    return text


parseIPAddress.coerceDoc = "An IP address."

