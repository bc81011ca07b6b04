"""
This node's UDP mapping as its tracker sees it (L{MappingCheck}): what
the last ``udpreach`` said of the datagrams of its QUIC socket, how
fresh that is, and the check under way, if any: the part of a node's
punches over UDP (L{twisted_bazaar.reach.punch.udp.service}) with a state of
its own, which waits on the tracker alone.
"""

from twisted.logger import Logger

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.wire.udpreach import NO_UDP_PORTS

__all__ = ["MappingCheck", "FRESH", "KNOWN", "CHECK_AGAIN", "REFUSED_PAUSE",
           "CHECK_TIMEOUT", "RATE_PAUSE", "RATE_REFUSALS"]

#: Seconds a ``udpreach`` is taken as this node's router's mapping when
#: it asks a punch: under the 30 s the tracker keeps it for a peer's punch.
FRESH = 20.0
#: Seconds a ``udpreach`` still answers a peer's punch (``udppunchgo``):
#: the 30 s the tracker keeps it for one (its ``SEEN_FOR``).  The go has
#: aimed the peer at what the tracker kept, so this side needs only its
#: router's kind from it, which does not change; a side that refused
#: between 20 and 30 s (a seller up for a while when its buyer's punch
#: comes, its check asked by the link but not yet answered) missed a
#: punch both could have met.
KNOWN = 30.0
#: Seconds between two ``udpcheck`` at most (one unanswered is not asked
#: again at once), and after one the tracker refused (it has no UDP
#: port, most often: asked at each relayed link, it would say so in
#: every node's log).
CHECK_AGAIN = 10.0
REFUSED_PAUSE = 300.0
#: Seconds a check waits for its ``udpreach`` (the tracker answers within
#: 10 s of its ``udpprobe``).
CHECK_TIMEOUT = 15.0
#: Seconds before a check the tracker refused for its address group's
#: rate (1 a second, bursts of 2) is asked again, and the refusals in a
#: row that are: a node of a busy /16 (a carrier's) refused once waited
#: REFUSED_PAUSE, and every punch with it was refused by the tracker for
#: its stale mapping meanwhile (natbed, issue 85).
RATE_PAUSE = 2.0
RATE_REFUSALS = 3


class MappingCheck:
    """
    @ivar mine: what the tracker last saw of this node's UDP datagrams
        (a L{udppunch.UdpMapping}), or None.
    """

    log = Logger()

    def __init__(self, clock, unanswered, again=None):
        """
        @param unanswered: called when a check had no answer within
            L{CHECK_TIMEOUT} seconds.
        @param again: called when a check the tracker refused for its
            rate may be asked again (None: it is not).
        """
        self.clock = clock
        self.unanswered = unanswered
        self.again = again
        #: The timer asking a check again after a refusal for the
        #: tracker's rate, and the refusals in a row.
        self._again = None
        self._refusals = 0
        self.mine = None
        self._at = None
        self._sent = None
        #: The timer of the check under way (asked, its udpreach not
        #: come), or None.
        self._checking = None
        #: Seconds after a check before the next: L{CHECK_AGAIN}, or
        #: L{REFUSED_PAUSE} after a refusal (until the tracker changes).
        self.pause = CHECK_AGAIN
        #: Whether the node stopped (L{stop}): no check is asked after.
        self._stopped = False

    def fresh(self):
        """Whether the mapping is known, from the last L{FRESH} seconds."""
        return self._at is not None and self._at > self.clock.seconds() - FRESH

    def known(self):
        """Whether the mapping is known, from the last L{KNOWN} seconds:
        enough to answer a peer's punch."""
        return self._at is not None and self._at > self.clock.seconds() - KNOWN

    def freshen(self, send):
        """
        True if the mapping is fresh; else a check is asked (``send()``
        sends ``udpcheck``, false if there is no tracker) unless one was
        in the last L{CHECK_AGAIN} seconds (L{REFUSED_PAUSE} after a
        refusal), and False while one is under way, None when none is
        (refused, unanswered, nothing seen, or no tracker).
        """
        if self.fresh():
            return True
        if self._stopped:
            return None
        if self._checking is not None or self._again is not None:
            return False
        now = self.clock.seconds()
        if self._sent is not None and self._sent > now - self.pause:
            return None
        if not send():
            return None
        self._sent = now
        self._checking = self.clock.callLater(CHECK_TIMEOUT, self._unanswered)
        return False

    def _unanswered(self):
        self._checking = None
        self.unanswered()

    def stop(self):
        """The node stops: the check under way is given up, and none is
        asked after (a tracker's reach heard while the node stops asked
        one, its timer and its answer's line outliving the stop)."""
        self._stopped = True
        self.answered()

    def underWay(self):
        """Whether a check was asked and its ``udpreach`` has not come."""
        return self._checking is not None

    def answered(self):
        """The check is answered (or will not be): its timers go."""
        for name in ("_checking", "_again"):
            timer = getattr(self, name)
            setattr(self, name, None)
            if timer is not None and timer.active():
                timer.cancel()

    def reached(self, reach):
        """The tracker's ``udpreach``: True if it is a mapping (kept as
        this node's, a line logged when it changed)."""
        self.answered()
        if not reach.seen_port:
            self.log.warn("the tracker saw none of this node's UDP datagrams: it "
                          "punches no UDP path")
            return False
        try:
            mapping = udppunch.mappingOf(reach.seen_host, reach.seen_port,
                                         reach.seen_second)
        except ValueError as e:
            self.log.warn("the tracker's udpreach is no mapping: {why}", why=str(e))
            return False
        if mapping != self.mine:
            # The second port, where it differs: the judge of a router's
            # kind is the step between the two, so a log read from
            # outside shows why a router was taken for what it was.
            self.log.info("this node's UDP datagrams leave its router from "
                          "{where} ({kind} mapping{second})", host=mapping.host,
                          port=mapping.port, where=hostPort(mapping.host, mapping.port),
                          kind=mapping.kind,
                          second=f"; {mapping.second} to the tracker's other port"
                          if mapping.delta else "")
        self.mine, self._at = mapping, self.clock.seconds()
        self._refusals = 0
        self.pause = CHECK_AGAIN
        return True

    def refused(self, info=NO_UDP_PORTS):
        """
        The tracker refused the check, saying ``info``: a tracker with no
        UDP port is asked none again for a while; a refusal for its rate
        is asked again L{RATE_PAUSE} s later, L{RATE_REFUSALS} times in a
        row (then it is taken as the first).

        @return: whether it is asked again soon (the punches waiting
            for it may wait on).
        """
        self.answered()
        if self.asksAgain(info):
            self._refusals += 1
            self.pause = RATE_PAUSE
            self._again = self.clock.callLater(RATE_PAUSE, self._askAgain)
            return True
        self.pause = REFUSED_PAUSE
        return False

    def asksAgain(self, info):
        """Whether a refusal saying ``info`` would be asked again soon
        (L{refused}): one for the tracker's rate, not yet
        L{RATE_REFUSALS} in a row."""
        return (info != NO_UDP_PORTS and self.again is not None
                and self._refusals < RATE_REFUSALS)

    def _askAgain(self):
        self._again = None
        self.again()

    def lost(self):
        """The tracker connection went: nothing it said holds."""
        self.answered()
        self.mine = self._at = self._sent = None
        self._refusals = 0
        self.pause = CHECK_AGAIN
