"""
Endpoint strings checked when the options are parsed, so a daemon given
one that cannot work says so at once (a usage error) instead of starting
and then failing, or serving nothing.

Twisted parses the full syntax later, in ``makeService``; this checks
what Twisted accepts but a bazaar daemon cannot use: a node's kind of
endpoint (other nodes reach it over TCP at its host and port, so
``unix:`` cannot work), a port outside 0 … 65535, and an ``ssl:``
endpoint where Twisted's TLS support is not installed.  Client endpoints
(where to reach the tracker or a node) are addresses, parsed by
L{twisted_bazaar.base.address}.
"""

import ipaddress

from twisted.internet.error import VerifyError

from twisted_bazaar.base.address import (
    endpointArguments,
    parsePort,
    refuseKind,
    splitEndpoint,
    unbracketed,
)
from twisted_bazaar.base.tlssupport import tlsMissing
from twisted_bazaar.net.reconnect import tlsReasons

#: Server endpoint kinds a node can listen on: peers connect over plain
#: TCP (so neither ``unix:`` nor ``ssl:`` can work).
NODE_LISTEN_KINDS = ("tcp", "tcp6")
#: Kinds whose first argument, or ``port=``, is a port (server side).
_SERVER_PORT_KINDS = ("tcp", "tcp6", "ssl")


def checkServerEndpoint(text, kinds=None, why="", udpBeside=False):
    """
    Check a server endpoint string.

    @return: the string with its kind in lower case, as Twisted parses
        it (``TCP:7700`` was refused later, "Unknown endpoint type:
        'tcp'", the very kind it knows).
    @param kinds: the endpoint kinds allowed (None: any).
    @param why: why only those kinds, for the message.
    @param udpBeside: a daemon's ``--listen``, whose ``interface=`` its UDP
        ports take too (L{_interfaceAnAddress}).
    @raise ValueError: with the reason.
    """
    text = unbracketed(text)
    parts = splitEndpoint(text)
    kind = parts[0].lower()
    if len(parts) < 2 or not kind:
        raise ValueError(f"{text!r} is not an endpoint (e.g. tcp:7700)")
    if kinds is not None and kind not in kinds:
        refuseKind(kind, kinds, why)
    missing = tlsMissing(kind)
    if missing:
        raise ValueError(missing)
    if kind in _SERVER_PORT_KINDS:
        keywords, positional = endpointArguments(parts[1:])
        port = keywords.get("port", positional[0] if positional else None)
        if port is None:
            raise ValueError(f"{text!r} names no port")
        parsePort(port)
        if udpBeside:
            _interfaceAnAddress(keywords.get("interface"))
    return kind + text[len(parts[0]):]


def _interfaceAnAddress(interface):
    """
    A daemon's UDP ports (a node's QUIC, the tracker's reach check) listen
    on its ``--listen`` interface, and a UDP port binds an IP address
    alone: a host name there (``interface=localhost``), which the TCP port
    resolves, failed the start later, said as a service's bug.

    @raise ValueError: for an interface that is no IP address.
    """
    if not interface:
        return
    try:
        ipaddress.ip_address(interface)
    except ValueError:
        raise ValueError(
            f"interface={interface} is not an IP address: the daemon's UDP ports "
            "listen on this interface too, and take an address alone (127.0.0.1 "
            "for loopback; no interface= for every one)") from None


#: Kinds that listen on an IP interface, and their loopback address.
_LOOPBACK = {"tcp": "127.0.0.1", "ssl": "127.0.0.1", "tcp6": r"\:\:1"}


def listenInterface(text):
    """
    The interface a checked ``tcp:`` or ``tcp6:`` server endpoint string
    listens on: its ``interface=``, or else every interface of its family
    (``""`` for ``tcp:``, ``"::"`` for ``tcp6:``), as Twisted reads it.
    A node's other ports (its transfer port) listen there too.
    """
    parts = splitEndpoint(text)
    keywords, _ = endpointArguments(parts[1:])
    return keywords.get("interface", "::" if parts[0].lower() == "tcp6" else "")


def listenPort(text):
    """The port a checked server endpoint string listens on (0: a free
    one), or None for a kind that listens on no IP port (``unix:``)."""
    parts = splitEndpoint(text)
    if parts[0].lower() not in _SERVER_PORT_KINDS:
        return None
    keywords, positional = endpointArguments(parts[1:])
    return parsePort(keywords.get("port", positional[0] if positional else "0"))


def loopbackByDefault(text):
    """
    A server endpoint string that listens on loopback unless it names an
    interface: ``tcp:8080`` becomes ``tcp:8080:interface=127.0.0.1``
    (``tcp6:`` gets ``::1``); ``tcp:8080:interface=0.0.0.0`` and other
    kinds of endpoint are left as they are.
    """
    parts = splitEndpoint(text)
    kind = parts[0].lower()
    if kind not in _LOOPBACK or any(arg.startswith("interface=") for arg in parts[1:]):
        return text
    return f"{text}:interface={_LOOPBACK[kind]}"


def quicBesideItsTracker(port, trackers):
    """
    The warning for a --quic-port that is one of the UDP ports a tracker
    the node names on this machine (a loopback address) takes by default
    (its port and the next, for its UDP reach check), or None: one of
    the two finds it taken, whichever starts second.
    """
    if not port:
        return None
    for tracker in trackers:
        if _loopback(tracker.host) and port in (tracker.port, tracker.port + 1):
            return (f"--quic-port {port} is one of the UDP ports the tracker at "
                    f"{tracker} takes by default ({tracker.port} and "
                    f"{tracker.port + 1}, for its UDP reach check): started before "
                    "this node, it holds it; started after, it runs without its "
                    "UDP reach check; choose another --quic-port")
    return None


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pemFault(error):
    """Why an ssl: server endpoint's parse failed, if OpenSSL raised it
    (a privateKey=, certKey= or dhParameters= file that is there but no
    PEM of its kind), or Twisted's check that the key is the
    certificate's: one line; None for any other error."""
    if isinstance(error, VerifyError):
        return ("its certificate is not its key's: certKey= (privateKey= when none is "
                "named) must hold the certificate of the key privateKey= holds")
    if not type(error).__module__.startswith("OpenSSL"):
        return None
    return f"a file it names is no PEM key or certificate ({tlsReasons(error)})"

