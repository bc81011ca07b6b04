"""
The kind of path QUIC dials, declared here with its wire form
(docs/protocol.md §3, "Paths"): a peer's UDP port, at the host the path
names (left out in a node's word of itself: the host it is seen at).
"""

from twisted_bazaar.wire.codec import intIn
from twisted_bazaar.wire.paths import KINDS, Form

__all__ = ["UDP"]


class UdpForm(Form):
    """A UDP port a node serves QUIC on (§2.3): ``port`` 1 to 65535,
    required; ``host`` optional."""

    _port = staticmethod(intIn(1, 65535, "from 1 to 65535"))

    def read(self, kind, entry, word, name):
        self._port(entry.get("port"), f"{name}.port")
        return super().read(kind, entry, word, name)


#: A peer's UDP address, dialled over QUIC
#: (L{twisted_bazaar.transports.quic.transport.QuicTransport}): one its
#: node's operator configured (``--quic-peer``), met by a UDP punch or
#: named by the tracker, never a peer's bare claim.
UDP = KINDS.register("udp", form=UdpForm())
