"""
Whether a punch can work from this node: what its router does to the
source port of a connection, judged from where a third party (the
tracker's address check, ``reach``) saw the node's own connection come
from.

A router that keeps the source port (an endpoint-independent mapping, as
Linux ``MASQUERADE`` does where it can) sends a connection from local
port P out from public port P whatever it dials: a peer told P can aim
its SYN there.  A router that draws a port for each connection (a
symmetric NAT, ``MASQUERADE --random-fully``) sends each from a port no
peer can know, and a punch cannot meet it; such a node stays on relays.
"""

import attr

from twisted_bazaar.base.address import hostPort


@attr.s(frozen=True, slots=True, auto_attribs=True)
class PunchMapping:
    """
    This node's public host for punching (``host``, "" when unknown), and
    ``why`` it cannot punch ("" when it can); ``udp`` False when it
    cannot punch over UDP either (its datagrams do not leave: it reaches
    its tracker by a transport plugin's way), which its refusals say.
    """

    host: str = ""
    why: str = "no address check has told this node where its connections come from"
    udp: bool = True

    @property
    def punchable(self):
        """Whether a punch can work from this node."""
        return not self.why


#: Until the tracker's check tells.
UNKNOWN = PunchMapping()


def mappingOf(seen_host, seen_port, local_port, way=None):
    """
    What a third party's view of one connection of this node says of
    punching from it: the connection left from ``local_port`` and was
    seen from ``seen_host``:``seen_port``.  The same port seen as sent
    from: the router keeps ports, and the public port of a punch from
    local port P is P.  Another port: the router draws them, and a punch
    cannot work.

    @param way: the path the node reaches its tracker by when it is a
        transport plugin's (a tracker named by its endpoint kind), else
        None.  Then the one way out known to get through is that kind to
        that port, and a punch dials the peer's own TCP port: from a
        network that lets only HTTP(S) out, it never met, and a buyer
        held a seller's file to a taste for the whole punch, about 14 s,
        before the relay carried the rest.
    """
    if not seen_host or not seen_port or not local_port:
        return UNKNOWN
    if way is not None:
        return PunchMapping(seen_host, (
            f"it reaches its tracker over {way.kind} (port {way.port}), the one way "
            "out it knows gets through, and a punch dials another port; it stays on "
            "relayed links"), udp=False)
    if seen_port != local_port:
        return PunchMapping(seen_host, (
            f"its router changed the source port of its tracker connection "
            f"(sent from port {local_port}, seen from {hostPort(seen_host, seen_port)}): it "
            "draws a port for each connection (a symmetric NAT), so no peer could "
            "aim a punch at it; it stays on relayed links"))
    return PunchMapping(seen_host, "")
