"""``twistd bazaar-tracker``: its options and service."""

import random

from twisted.application.service import MultiService
from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from twisted_bazaar.metrics.tracker import TrackerMetrics
from twisted_bazaar.services import trackerService
from twisted_bazaar.tap.common import (
    COMMON_PARAMETERS,
    DaemonOptions,
    addMetrics,
    exitStatusFor,
    param,
)
from twisted_bazaar.tap.endpoints import checkServerEndpoint
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT, Tracker
from twisted_bazaar.tracker.extension import trackerExtensionPlugins


class Options(DaemonOptions):
    """twistd bazaar-tracker [options]"""

    synopsis = "[options]"
    optParameters = [
        param("listen", f"tcp:{DEFAULT_TRACKER_PORT}",
              "Endpoint to listen on (a Twisted endpoint string)."),
    ] + COMMON_PARAMETERS

    def __init__(self):
        super().__init__()
        extensions = ", ".join(sorted(trackerExtensionPlugins())) or "none"
        self.longdesc = ("Run the bazaar tracker: it gives joining nodes their ids "
                         "and introduces them to each other.  Extensions hosted: "
                         f"{extensions}.")

    def postOptions(self):
        super().postOptions()
        try:
            checkServerEndpoint(self["listen"])
        except ValueError as e:
            raise usage.UsageError(f"--listen: {e}")


def makeService(options):
    from twisted.internet import reactor

    exitStatus = exitStatusFor(options, reactor, "twistd bazaar-tracker")
    try:
        endpoint = serverFromString(reactor, options["listen"])
    except (ValueError, TypeError) as e:
        raise SystemExit(exitStatus.line(f"--listen: {e}"))
    tracker = Tracker(reactor, random.Random(), options.linkSettings())
    service = trackerService(reactor, tracker, endpoint, exitStatus.fail,
                             options["listen"])
    if options["metrics"] is None:
        return service
    parent = MultiService()
    service.setServiceParent(parent)
    addMetrics(parent, reactor, options, TrackerMetrics(tracker), exitStatus)
    return parent
