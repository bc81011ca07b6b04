"""
The tracker daemon's listening factory: a link per connection, owned by
the L{Tracker <twisted_bazaar.tracker.service.Tracker>}, unless the
connection's address group opens connections too fast.
"""

from twisted.internet.protocol import Factory
from twisted.logger import Logger, LogLevel

from twisted_bazaar.net.eviction import addressGroup
from twisted_bazaar.net.link import Link

#: Default port the tracker listens on, and nodes look for it on.
DEFAULT_TRACKER_PORT = 7700


class TrackerFactory(Factory):
    """Listening factory of the tracker daemon."""

    noisy = False

    def __init__(self, tracker):
        self.tracker = tracker

    log = Logger()

    def buildProtocol(self, addr):
        """A link for the connection, or None (closed at once, before the
        channel's handshake) when its address group opens connections
        faster than the tracker's --connection-rate."""
        tracker = self.tracker
        host = getattr(addr, "host", "") or ""
        group = addressGroup(host)
        if not tracker.connection_rates.admit(group):
            tracker.peer_log.emit(
                self.log, LogLevel.info, group, "closed a connection from {host}: its "
                "address group opens more than {rate:g} a second", host=host,
                rate=tracker.connection_rates.rate)
            return None
        return Link(tracker, tracker.clock, tracker.settings, inbound=True)
