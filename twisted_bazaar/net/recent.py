"""
L{RecentMessages}: the last few protocol messages one node sent and
received, for its status (``nodestate.recent``, docs/protocol.md §12a)
and so for its page in the web view.

It is kept only where someone may look (a node with L{NodeStatus}, as
every daemon has; not the simulator's thousands of nodes), and noting a
message costs one append to a bounded deque, so relaying pays next to
nothing for it.  Keepalives (``ping``, ``pong``) are not noted, nor
what a status link carries once established (the web view asks every
second): they would push everything else out.
"""

from collections import deque

#: Messages kept, newest last.
RECENT_SIZE = 32
#: The directions of a noted message.
IN, OUT = "in", "out"
#: The link purpose of status clients (``bazaar node``, the web view).
STATUS = "status"
#: The purpose a node gives a status link whose ``thisisme`` proves its
#: asker the node's operator (docs/protocol.md §12a): slots of its own,
#: that no stranger spends.  Never said on the wire: a client asks for
#: ``status``, with its proof.
OPERATOR = "operator"
#: The purposes of status links, whose messages are not noted.
STATUS_PURPOSES = frozenset((STATUS, OPERATOR))
#: The peer of a message on a link whose peer has not said who it is.
UNKNOWN_PEER = -1


class RecentMessages:
    """The last L{RECENT_SIZE} messages of one node, each as (when,
    direction, peer id, type)."""

    def __init__(self, size=RECENT_SIZE):
        self._entries = deque(maxlen=size)
        #: Bound once: the overlay and every link call it per message.
        self.note = self._entries.append

    def entries(self, now):
        """
        The messages noted, oldest first, as (milliseconds before now,
        direction, peer id or L{UNKNOWN_PEER}, type).
        """
        return tuple((max(0, round((now - when) * 1000)), direction,
                      UNKNOWN_PEER if peer is None else peer, kind)
                     for when, direction, peer, kind in self._entries)
