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


@attr.s(frozen=True, slots=True, auto_attribs=True)
class PunchMapping:
    """
    This node's public host for punching (``host``, "" when unknown), and
    ``why`` it cannot punch ("" when it can).
    """

    host: str = ""
    why: str = "no address check has told this node where its connections come from"

    @property
    def punchable(self):
        """Whether a punch can work from this node."""
        return not self.why


#: Until the tracker's check tells.
UNKNOWN = PunchMapping()


def mappingOf(seen_host, seen_port, local_port):
    """
    What a third party's view of one connection of this node says of
    punching from it: the connection left from ``local_port`` and was
    seen from ``seen_host``:``seen_port``.  The same port seen as sent
    from: the router keeps ports, and the public port of a punch from
    local port P is P.  Another port: the router draws them, and a punch
    cannot work.
    """
    if not seen_host or not seen_port or not local_port:
        return UNKNOWN
    if seen_port != local_port:
        return PunchMapping(seen_host, (
            f"its router changed the source port of its tracker connection "
            f"(sent from port {local_port}, seen from {seen_host}:{seen_port}): it "
            "draws a port for each connection (a symmetric NAT), so no peer could "
            "aim a punch at it; it stays on relayed links"))
    return PunchMapping(seen_host, "")
