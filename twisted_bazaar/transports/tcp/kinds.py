"""
The kinds of path TCP dials, declared here with their wire forms
(docs/protocol.md §3, "Paths"): a peer's own address, a local address
of a peer behind this node's own router, and a port a router mapped.
"""

from twisted_bazaar.base.lan import MAX_LAN, canonical, whyNotLocal
from twisted_bazaar.wire.codec import ProtocolError, text
from twisted_bazaar.wire.paths import KINDS, Form

__all__ = ["DIRECT", "LAN", "MAPPED"]


class LanForm(Form):
    """
    A local address (docs/protocol.md §5, "Local addresses"): ``host`` an
    IP address literal, private or link-local without a zone
    (L{twisted_bazaar.base.lan}), ``port`` the node's (left out: the
    node's own); at most L{MAX_LAN} in a list, distinct however spelt.
    Any other address is refused, with why: whoever is told it dials it.
    """

    most = MAX_LAN
    _host = staticmethod(text(2, 45))

    def read(self, kind, entry, word, name):
        path = super().read(kind, entry, word, name)
        why = whyNotLocal(self._host(path.host, f"{name}.host"))
        if why is not None:
            raise ProtocolError(f"{name}: {why}: a node names only its own addresses "
                                "on its local network")
        return path

    def checkAll(self, paths, name):
        # However spelt (::ffff:192.168.1.2 is 192.168.1.2): each would be
        # dialled.
        if len({canonical(path.host) for path in paths}) != len(paths):
            raise ProtocolError(f"{name} names an address twice")


#: The peer's own address, dialled over TCP
#: (L{twisted_bazaar.transports.tcp.transport.TcpTransport}).
DIRECT = KINDS.register("direct", form=Form())
#: A local address of a peer behind this node's own router (§5, "Local
#: addresses"), dialled as a direct address is.
LAN = KINDS.register("lan", carrier=DIRECT, form=LanForm())
#: A port the peer's router mapped for it (UPnP IGD, NAT-PMP, PCP),
#: counted once the tracker reached the peer there; dialled as a direct
#: address is.  Never on the wire: the tracker names the port it reached.
MAPPED = KINDS.register("router-mapped", carrier=DIRECT)

