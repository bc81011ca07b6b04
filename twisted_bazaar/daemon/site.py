"""
L{QuietSite}: a twisted.web Site whose access lines are debug lines.

A daemon's web view and metrics are asked every few seconds (a browser's
pages and assets, every Prometheus scrape): an access line at info for
each would drown what the market does.  With ``--verbose`` they show.
"""

from twisted.logger import Logger
from twisted.web.server import Site


class QuietSite(Site):
    """A Site that logs each request at debug, and shows no traceback to
    a client."""

    noisy = False
    displayTracebacks = False
    #: Where the access lines go (C{Site.log} is the access-log method).
    accessLog = Logger()

    def startFactory(self):
        """No access log file to write dates into: none of the clock that
        twisted.web keeps for them (a timer every second)."""

    def stopFactory(self):
        pass

    def log(self, request):
        client = request.getClientAddress()
        self.accessLog.debug("{client} {method} {uri} {code}",
                             client=getattr(client, "host", "-"),
                             method=request.method.decode("ascii", "replace"),
                             uri=request.uri.decode("ascii", "replace"),
                             code=request.code)
