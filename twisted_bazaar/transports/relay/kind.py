"""
The kind of path the relay's circuits carry, declared here with its
wire form (docs/protocol.md §3, "Paths"): ``relay``, the relay's
``HOST:PORT`` (§5a); a peer's host and port, where it is named, a label.
"""

from twisted_bazaar.wire.core import checkRelay
from twisted_bazaar.wire.paths import KINDS, Form, Path

__all__ = ["RELAYED"]


class RelayedForm(Form):
    """A circuit through the relay at ``relay`` (required)."""

    def read(self, kind, entry, word, name):
        path = super().read(kind, entry, word, name)
        relay = checkRelay(entry.get("relay"), f"{name}.relay")
        return Path(kind, path.host, path.port, relay, word)

    def write(self, path):
        out = super().write(path)
        out["relay"] = path.relay
        return out


#: A circuit through a relay (L{Path.relay}) to the peer
#: (L{twisted_bazaar.transports.relay.transport.RelayTransport}).
RELAYED = KINDS.register("relayed", form=RelayedForm())
