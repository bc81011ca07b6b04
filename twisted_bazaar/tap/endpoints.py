"""
Endpoint strings checked when the options are parsed, so a daemon given
one that cannot work says so at once (a usage error) instead of starting
and then failing, or serving nothing.

Twisted parses the full syntax later, in ``makeService``; this checks
what Twisted accepts but a bazaar daemon cannot use: a node's kind of
endpoint (other nodes reach it over TCP at its host and port, so
``unix:`` cannot work) and a port outside 0 … 65535.
"""

#: Server endpoint kinds a node can listen on: peers connect over plain
#: TCP (so neither ``unix:`` nor ``ssl:`` can work).
NODE_LISTEN_KINDS = ("tcp", "tcp6")
#: Client endpoint kinds a node can reach its tracker with: the tracker
#: records the IP address a node connects from.
NODE_TRACKER_KINDS = ("tcp", "ssl", "tls")
#: Kinds whose first argument, or ``port=``, is a port (server side).
_SERVER_PORT_KINDS = ("tcp", "tcp6", "ssl")


def _split(text):
    """Split an endpoint string on its unescaped colons."""
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


def _checkPort(text, where):
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"port {text!r} {where}is not a number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} {where}is not in 0 ... 65535")


def _refuseKind(kind, kinds, why):
    allowed = ", ".join(f"{k}:" for k in kinds[:-1]) + f" or {kinds[-1]}:"
    raise ValueError(f"a {kind}: endpoint cannot work here: {why} (use {allowed})")


def checkServerEndpoint(text, kinds=None, why=""):
    """
    Check a server endpoint string.

    @param kinds: the endpoint kinds allowed (None: any).
    @param why: why only those kinds, for the message.
    @raise ValueError: with the reason.
    """
    parts = _split(text)
    kind = parts[0].lower()
    if len(parts) < 2 or not kind:
        raise ValueError(f"{text!r} is not an endpoint (e.g. tcp:7700)")
    if kinds is not None and kind not in kinds:
        _refuseKind(kind, kinds, why)
    if kind in _SERVER_PORT_KINDS:
        args = parts[1:]
        keywords = dict(arg.split("=", 1) for arg in args if "=" in arg)
        positional = [arg for arg in args if "=" not in arg]
        port = keywords.get("port", positional[0] if positional else None)
        if port is None:
            raise ValueError(f"{text!r} names no port")
        _checkPort(port, "")


def checkClientEndpoint(text, kinds=None, why=""):
    """
    Check a client endpoint string: its kind, and for ``tcp:HOST:PORT``
    and ``ssl:HOST:PORT`` the port.

    @raise ValueError: with the reason.
    """
    parts = _split(text)
    kind = parts[0].lower()
    if len(parts) < 2 or not kind:
        raise ValueError(f"{text!r} is not an endpoint (e.g. tcp:127.0.0.1:7700)")
    if kinds is not None and kind not in kinds:
        _refuseKind(kind, kinds, why)
    if kind in ("tcp", "ssl"):
        args = parts[1:]
        keywords = dict(arg.split("=", 1) for arg in args if "=" in arg)
        positional = [arg for arg in args if "=" not in arg]
        port = keywords.get("port", positional[1] if len(positional) > 1 else None)
        if port is not None:
            _checkPort(port, "")


def clientAddress(text):
    """
    Where a client endpoint string leads, as a log line should say it:
    ``HOST:PORT`` for ``tcp:``, ``ssl:`` and ``tls:`` strings, else the
    string itself.
    """
    parts = _split(text)
    kind = parts[0].lower()
    if kind not in ("tcp", "ssl", "tls") or len(parts) < 2:
        return text
    args = parts[1:]
    keywords = dict(arg.split("=", 1) for arg in args if "=" in arg)
    positional = [arg for arg in args if "=" not in arg]
    host = keywords.get("host", positional[0] if positional else "?")
    port = keywords.get("port", positional[1] if len(positional) > 1 else "?")
    return f"{host}:{port}"


#: Kinds that listen on an IP interface, and their loopback address.
_LOOPBACK = {"tcp": "127.0.0.1", "ssl": "127.0.0.1", "tcp6": r"\:\:1"}


def listenInterface(text):
    """
    The interface a checked ``tcp:`` or ``tcp6:`` server endpoint string
    listens on: its ``interface=``, or else every interface of its family
    (``""`` for ``tcp:``, ``"::"`` for ``tcp6:``), as Twisted reads it.
    A node's other ports (its transfer port) listen there too.
    """
    parts = _split(text)
    keywords = dict(arg.split("=", 1) for arg in parts[1:] if "=" in arg)
    return keywords.get("interface", "::" if parts[0].lower() == "tcp6" else "")


def loopbackByDefault(text):
    """
    A server endpoint string that listens on loopback unless it names an
    interface: ``tcp:8080`` becomes ``tcp:8080:interface=127.0.0.1``
    (``tcp6:`` gets ``::1``); ``tcp:8080:interface=0.0.0.0`` and other
    kinds of endpoint are left as they are.
    """
    parts = _split(text)
    kind = parts[0].lower()
    if kind not in _LOOPBACK or any(arg.startswith("interface=") for arg in parts[1:]):
        return text
    return f"{text}:interface={_LOOPBACK[kind]}"
