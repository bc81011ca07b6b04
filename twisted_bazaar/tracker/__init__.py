"""
The tracker: hands out node ids and introduces nodes to each other.

It never sees a search or a sale.  L{registry.Registry} is the table of
live nodes, plain state with no I/O; L{service.Tracker} answers the links
of L{factory.TrackerFactory} from it, and hosts the extensions schemes
plug in (see L{extension}).  Liveness (pings, silence) is the links'
business: a node whose link closes, for any reason, leaves the table.
"""

from twisted_bazaar.base.logthrottle import MEMBER_LINES
from twisted_bazaar.tracker.factory import DEFAULT_TRACKER_PORT, TrackerFactory
from twisted_bazaar.tracker.registry import ID_SPACE, Abilities, Registry, ringPlace
from twisted_bazaar.tracker.service import (
    CHECK_GROUP_LIMIT,
    CHECK_LIMIT,
    GROUP_LIMIT,
    JOIN_RATE,
    LOOKUP_RATE,
    PENDING_GROUP_LIMIT,
    PENDING_LIMIT,
    QUESTION_BUCKETS,
    QUESTION_RATE,
    RECHECK_FIRST,
    RECHECK_MAX,
    RESERVED_DESCRIPTORS,
    Tracker,
    registeredLimit,
)

__all__ = [
    "Abilities", "CHECK_GROUP_LIMIT", "CHECK_LIMIT", "DEFAULT_TRACKER_PORT",
    "GROUP_LIMIT", "ID_SPACE", "JOIN_RATE", "LOOKUP_RATE", "MEMBER_LINES",
    "PENDING_GROUP_LIMIT", "PENDING_LIMIT", "QUESTION_BUCKETS", "QUESTION_RATE",
    "RECHECK_FIRST", "RECHECK_MAX", "RESERVED_DESCRIPTORS", "Registry", "Tracker",
    "TrackerFactory", "registeredLimit", "ringPlace",
]
