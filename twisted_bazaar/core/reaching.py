"""
What a node does with a ``reach`` its tracker sends (docs/protocol.md §5,
"What the check found"): it keeps it as its reachability, advertises the
host it is seen at when it has none of its own to tell, tells its parts,
and logs a line when that changes.  Apart from the tracker link's owner
(L{twisted_bazaar.core.membership.Membership}), which only hands it on.
"""

from twisted.logger import LogLevel

from twisted_bazaar.base.lan import toldHost
from twisted_bazaar.core.reach import PUBLIC, Reachability
from twisted_bazaar.net.eviction import groupOf

#: The lines a node logs when the tracker's check finds it reachable, or not.
REACHABLE = ("this node is reachable from outside at {host}:{port}: the tracker "
             "dialled it there")
UNREACHABLE = ("this node is not reachable from outside at {host}:{port} (behind "
               "NAT?): other nodes cannot dial it; the tracker saw it connect from "
               "{seen_host}:{seen_port}")


def heardReach(node, link, local, message, log):
    """
    The tracker on ``link`` says what its check of node's address found
    (``message``): the node keeps it as its reachability, tells its parts
    (C{reachChanged}: they reserve at a relay, offer one, punch), and
    ``log`` gets a line when that changes (through the peer log: the
    tracker could say it often).  ``local``: the local address the
    tracker connection leaves from, or None (see L{toldHost}).
    """
    was, now = node.reach, Reachability.fromReach(message)
    node.reach = now
    told = node.host if local is None else toldHost(local, now.seen_host)
    if told != node.host:
        # What advertises the node's address says so again (a chord
        # node's records, signed with "" before this reach).
        node.host = told
        node.events.relayChanged()
    node.events.reachChanged(now, getattr(link.transport.getHost(), "port", 0))
    if not now.differs(was):
        return
    if now.state == PUBLIC:
        level, line = LogLevel.info, REACHABLE
    else:
        level, line = LogLevel.warn, UNREACHABLE
    node.overlay.peer_log.emit(log, level, groupOf(link), line,
                               host=now.host, port=now.port,
                               seen_host=now.seen_host, seen_port=now.seen_port)
