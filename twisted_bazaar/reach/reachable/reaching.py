"""
What a node does with a ``reach`` its tracker sends (docs/protocol.md §5,
"What the check found"): the node keeps it as its reachability and
advertises the host it is seen at when it has none of its own to tell
(its own methods, L{Node.setReach} and L{Node.advertiseFrom}: the node
owns its state, this only decides), its parts are told, and a line is
logged when that changes.  Apart from the tracker link's owner
(L{twisted_bazaar.core.membership.Membership}), which only hands it on.

A new host has every part advertise the node again (every item
registered again, each record signed anew), and the host is the
tracker's word: a lying tracker among several that names another host
in each ``reach`` had the node sign its every record with every
message.  So a new host is advertised as the node's pace of advertising
says, which a new relay shares (L{twisted_bazaar.reach.reachable.advertising}).
"""

from twisted.logger import LogLevel

from twisted_bazaar.reach.reachable.reachability import PUBLIC, Reachability
from twisted_bazaar.net.eviction import groupOf

#: The lines a node logs when the tracker's check finds it reachable, or not.
REACHABLE = ("this node is reachable from outside at {host}:{port}: the tracker "
             "dialled it there")
UNREACHABLE = ("this node is not reachable from outside at {host}:{port} (behind "
               "NAT?): other nodes cannot dial it; the tracker saw it connect from "
               "{seen_host}:{seen_port}")


class Reaching:
    """
    A node's side of its tracker's ``reach``, and the host it waits to
    advertise anew (its owner, the node's membership, L{stop}s it).
    """

    # One a node (a million in a simulation): slotted, 48 bytes, not 88.
    __slots__ = ("node", "_advertised", "_paced")

    def __init__(self, node):
        self.node = node
        #: The host the node last advertised anew.
        self._advertised = None
        #: Whether a new host was handed to the node's pace: only then
        #: is there one to withdraw from (most nodes never make it).
        self._paced = False

    def heard(self, link, local, message, log):
        """
        The tracker on ``link`` says what its check of the node's address
        found (``message``): the node keeps it as its reachability, tells
        its parts (C{reachChanged}: they reserve at a relay, offer one,
        punch), advertises a new host (C{relayChanged}, paced), and
        ``log`` gets a line when that changes (through the peer log: the
        tracker could say it often).  ``local``: the local address the
        tracker connection leaves from, or None (see
        L{twisted_bazaar.base.lan.toldHost}).
        """
        node = self.node
        was, now = node.reach, Reachability.fromReach(message)
        node.setReach(now)
        if local is not None and node.advertiseFrom(local):
            self._advertise()
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

    def _advertise(self):
        """What advertises the node's address says so again (a chord
        node's records, signed with "" before the first reach), in the
        node's paced round (L{twisted_bazaar.reach.reachable.advertising})."""
        self._paced = True
        self.node.advertising.change("host", self._apply)

    def _apply(self):
        """The host the node is at becomes the one advertised; whether it
        changed."""
        if self.node.host == self._advertised:
            return False
        self._advertised = self.node.host
        return True

    def stop(self):
        """The node stops: no host waits to be advertised (a node that
        never had a new one has no pace, and is given none)."""
        if self._paced:
            self.node.advertising.withdraw("host")
