"""
The tracker most tracker tests speak to: one that checks addresses
through a L{FakeConnector} on a L{Clock}, its links never pinging, and,
when asked, a relay of its own on a given port.
"""

import random

from twisted.internet.task import Clock

from tests.helpers import FakeConnector
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.tracker import Tracker, TrackerFactory
from twisted_bazaar.transports.relay.limits import RelayLimits
from twisted_bazaar.transports.relay.relay import Relay


def checkingTracker(case, relayPort=None, **options):
    """Give C{case} its C{clock}, C{connector}, C{tracker} (seeded 4, so
    each test draws the same ids) and C{factory}; C{options} go to the
    L{Tracker}."""
    case.clock = Clock()
    case.connector = FakeConnector()
    case.tracker = Tracker(case.clock, random.Random(4), LinkSettings(ping_interval=0),
                           connector=case.connector, **options)
    if relayPort is not None:
        case.tracker.relay = Relay(case.clock, PeerLog(case.clock), RelayLimits())
        case.tracker.relay.port = relayPort
    case.factory = TrackerFactory(case.tracker)
