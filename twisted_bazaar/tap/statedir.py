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
start, as before.
"""

import os
import re

from twisted_bazaar.base.address import endpointArguments, splitEndpoint

#: The folder of every tracker's default state directory, under the
#: user's state home.
APP_FOLDER = "twisted-bazaar"
#: Endpoint kinds whose first argument (or ``port=``) is a port.
_PORT_KINDS = ("tcp", "tcp6", "ssl")


def stateHome(environ):
    """The user's XDG state home: ``$XDG_STATE_HOME`` if absolute, else
    ``~/.local/state`` (None when there is no home to put it in)."""
    chosen = environ.get("XDG_STATE_HOME", "")
    if os.path.isabs(chosen):
        return chosen
    home = environ.get("HOME") or os.path.expanduser("~")
    if not os.path.isabs(home):
        return None
    return os.path.join(home, ".local", "state")


def defaultStateDir(listen, environ):
    """
    The state directory of a tracker listening on ``listen`` (a checked
    server endpoint string) with no ``--data-dir``, or None when there is
    none (a port chosen at each start, an endpoint without a port, or no
    home directory).
    """
    parts = splitEndpoint(listen)
    if parts[0].lower() not in _PORT_KINDS:
        return None
    keywords, positional = endpointArguments(parts[1:])
    port = keywords.get("port", positional[0] if positional else "0")
    home = stateHome(environ)
    if int(port) == 0 or home is None:
        return None
    interface = keywords.get("interface", "")
    name = f"tracker-{int(port)}"
    if interface:
        name = f"tracker-{re.sub(r'[^A-Za-z0-9.-]+', '_', interface)}-{int(port)}"
    return os.path.join(home, APP_FOLDER, name)
