"""The status tracker extension (``members``), as twisted.plugin finds it."""

from twisted_bazaar.status.tracker import StatusTrackerPlugin

statusTracker = StatusTrackerPlugin()
