"""
The tracker daemon's listening factory: a link per connection, owned by
the L{Tracker <twisted_bazaar.tracker.service.Tracker>}, unless the
connection's address group opens connections too fast.
"""

from twisted.internet.protocol import Factory
from twisted.logger import Logger

from twisted_bazaar.base.defaults import DEFAULT_TRACKER_PORT  # noqa: F401 (re-exported)
from twisted_bazaar.net.connections import admitted
from twisted_bazaar.net.link import Link


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
        if not admitted(tracker.connection_rates, addr, tracker.peer_log, self.log):
            return None
        return Link(tracker, tracker.clock, tracker.settings, inbound=True)
