"""
Where a tracker started without ``--data-dir`` keeps its key: a state
directory of its own, as SSH keeps its host keys, so that restarting it
as the README starts it (``twistd -n bazaar-tracker``) does not strand
the nodes that remember its key (docs/running.md, "The tracker's key").

The directory is ``$XDG_STATE_HOME/twisted-bazaar/tracker-PORT``
(``~/.local/state`` when ``XDG_STATE_HOME`` is unset or not absolute, as
the XDG base directory spec says), one per listening port (and interface,
when ``--listen`` names one), so that two trackers on one machine never
share a key.  A tracker on a port chosen at each start (``tcp:0``), or on
an endpoint without a port, has nothing to keep: its key is new at each
start, as before.  A user with no home folder (a service's uid with no
passwd entry and no ``HOME``) has no state home: a key new at each start
would strand its nodes, so the tracker is refused (L{NoStateHome}).
"""

import os
import re

from twisted_bazaar.base.address import endpointArguments, splitEndpoint

#: The folder of every tracker's default state directory, under the
#: user's state home.
APP_FOLDER = "twisted-bazaar"
#: Endpoint kinds whose first argument (or ``port=``) is a port.
_PORT_KINDS = ("tcp", "tcp6", "ssl")


class NoStateHome(Exception):
    """A tracker on a fixed port has no home folder to keep its key in:
    its message says why, and what to give instead."""


def stateHome(environ):
    """The user's XDG state home: ``$XDG_STATE_HOME`` if absolute, else
    ``~/.local/state`` (None when there is no home to put it in)."""
    chosen = environ.get("XDG_STATE_HOME", "")
    if os.path.isabs(chosen):
        return chosen
    home = environ.get("HOME")
    if home is None:
        home = os.path.expanduser("~")
    # An empty HOME is no home: expanduser makes it "/", and the key went
    # to /.local/state, where a user cannot write (root could).
    if not os.path.isabs(home):
        return None
    return os.path.join(home, ".local", "state")


def defaultStateDir(listen, environ):
    """
    The state directory of a tracker listening on ``listen`` (a checked
    server endpoint string) with no ``--data-dir``, or None when it has
    nothing to keep (a port chosen at each start, an endpoint without a
    port).

    @raise NoStateHome: for a fixed port and no home folder to keep the
        key in.
    """
    parts = splitEndpoint(listen)
    if parts[0].lower() not in _PORT_KINDS:
        return None
    keywords, positional = endpointArguments(parts[1:])
    port = keywords.get("port", positional[0] if positional else "0")
    if int(port) == 0:
        return None
    home = stateHome(environ)
    if home is None:
        raise NoStateHome(
            f"no home folder to keep the tracker's key in (HOME is "
            f"{_said(environ.get('HOME'))}, and XDG_STATE_HOME "
            f"{_said(environ.get('XDG_STATE_HOME'))}), where it stays the same "
            "across restarts so that its nodes take it back: give --data-dir DIR, "
            "a directory it can write")
    interface = keywords.get("interface", "")
    name = f"tracker-{int(port)}"
    if interface:
        name = f"tracker-{re.sub(r'[^A-Za-z0-9.-]+', '_', interface)}-{int(port)}"
    return os.path.join(home, APP_FOLDER, name)


def _said(value):
    """An environment variable's value, as the refusal names it."""
    if not value:
        return "unset" if value is None else "empty"
    return f"{value!r}, not an absolute path"
