"""
What a node does with a ``reach`` its tracker sends (docs/protocol.md §5,
"What the check found"): the node keeps it as its reachability and
advertises the host it is seen at when it has none of its own to tell
(its own methods, L{Node.setReach} and L{Node.advertiseFrom}: the node
owns its state, this only decides), its parts are told, and a line is
logged when that changes.  Built with what it uses, not the node; apart
from the tracker link's owner
(L{twisted_bazaar.core.membership.Membership}), which only hands it on.

A new host has every part advertise the node again (every item
registered again, each record signed anew), and the host is the
tracker's word: a lying tracker among several that names another host
in each ``reach`` had the node sign its every record with every
message.  So a new host is advertised as the node's pace of advertising
says, which a new relay shares (L{twisted_bazaar.reach.reachable.advertising}).
"""

from twisted.logger import LogLevel

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.reach.reachable.reachability import PUBLIC, Reachability, behind
from twisted_bazaar.net.eviction import groupOf

#: The lines a node logs when the tracker's check finds it reachable, or not.
REACHABLE = ("this node is reachable from outside at {where}: the tracker "
             "dialled it there")
UNREACHABLE = ("this node is not reachable from outside at {where} ({behind}): "
               "other nodes cannot dial it; the tracker saw it connect from {seen}")


class Reaching:
    """
    A node's side of its tracker's ``reach``, and the host it waits to
    advertise anew (its owner, the node's membership, L{stop}s it).
    """

    # One a node that heard a reach: slotted.
    __slots__ = ("_where", "_setReach", "_events", "_peerLog", "_pace", "_advertiseFrom",
                 "_host", "_advertised", "_paced")

    def __init__(self, where, setReach, events, peerLog, pace, advertiseFrom, host):
        """
        @param where: the node's L{Whereabouts
            <twisted_bazaar.reach.whereabouts.Whereabouts>}, which holds its
            C{reach} as last found.
        @param setReach: C{setReach(reach)}, the node's reach from now on.
        @param events: the node's parts, told C{reachChanged}.
        @param peerLog: the node's peer log.
        @param pace: C{pace()}, the node's L{AdvertisePace
            <twisted_bazaar.reach.reachable.advertising.AdvertisePace>}.
        @param advertiseFrom: C{advertiseFrom(local)}, the node's choice of
            the host it tells from where its tracker connection leaves:
            whether that changed it.
        @param host: C{host()}, the host the node tells now.
        """
        self._where = where
        self._setReach = setReach
        self._events = events
        self._peerLog = peerLog
        self._pace = pace
        self._advertiseFrom = advertiseFrom
        self._host = host
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

        @return: whether it waits on the node's pace now (a new host handed
            to it): only then does it hold anything of its own, so its
            owner need keep it no longer than that (a node of a million
            held one, 632 bytes, for a reach heard once).
        """
        was = self._where.reach
        now = Reachability.fromReach(message, getattr(link.transport.getHost(), "host", ""))
        self._setReach(now)
        if local is not None and self._advertiseFrom(local):
            self._advertise()
        self._events.reachChanged(now, getattr(link.transport.getHost(), "port", 0))
        if now.differs(was):
            self._log(link, now, log)
        return self._paced

    def _log(self, link, now, log):
        """The line that says what the check found, as it changed."""
        if now.state == PUBLIC:
            level, line = LogLevel.info, REACHABLE
        else:
            level, line = LogLevel.warn, UNREACHABLE
        peerLog = self._peerLog
        peerLog.emit(log, level, groupOf(link), line, host=now.host, port=now.port,
                     where=hostPort(now.host, now.port), seen_host=now.seen_host,
                     seen_port=now.seen_port, seen=hostPort(now.seen_host, now.seen_port),
                     behind=behind(now.local_host, now.seen_host))

    def _advertise(self):
        """What advertises the node's address says so again (a chord
        node's records, signed with "" before the first reach), in the
        node's paced round (L{twisted_bazaar.reach.reachable.advertising})."""
        self._paced = True
        self._pace().change("host", self._apply)

    def _apply(self):
        """The host the node is at becomes the one advertised; whether it
        changed."""
        host = self._host()
        if host == self._advertised:
            return False
        self._advertised = host
        return True

    def stop(self):
        """The node stops: no host waits to be advertised (a node that
        never had a new one has no pace, and is given none)."""
        if self._paced:
            self._pace().withdraw("host")
