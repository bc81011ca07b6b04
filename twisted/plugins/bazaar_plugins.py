"""
twistd plugins of twisted-bazaar: ``bazaar-tracker`` and ``bazaar-node``.

Only names live here, so ``twistd --help`` stays cheap; the options and
services are in L{twisted_bazaar.tap}.
"""

import sys

from twisted.application.service import ServiceMaker


class DaemonMaker(ServiceMaker):
    """
    A daemon's plugin, whose options' module (the roles, schemes and
    transports: a second to import on a busy machine) twistd loads only
    when the daemon is run: a Ctrl-C meanwhile ends it in one line, with
    the status a shell gives a command Ctrl-C stopped (130), rather than a
    traceback, and a plugin that cannot be used (L{PluginFault}: two of
    one name, one that lacks its interface's parts, an option name taken
    twice) ends it with status 1, the line naming the plugin.  It has made
    nothing yet.
    """

    @property
    def options(self):
        from twisted_bazaar.daemon.pluginfault import PluginFault
        try:
            return ServiceMaker.options.fget(self)
        except PluginFault as e:
            # An installed plugin that cannot be used: its author's fix,
            # in one line rather than a traceback of twistd's.
            sys.stderr.write(f"twistd {self.tapname}: error: {e}\n")
            raise SystemExit(1) from None
        except KeyboardInterrupt:
            sys.stderr.write(f"twistd {self.tapname}: stopped by SIGINT while it "
                             "loaded; it made nothing\n")
            raise SystemExit(130) from None

    def makeService(self, options):
        """The daemon's service, on twistd's reactor split first: its
        timers on the monotonic clock, its dates on the wall clock
        (L{twisted_bazaar.base.wallclock})."""
        from twisted.internet import reactor

        from twisted_bazaar.base.wallclock import splitClock
        splitClock(reactor)
        return ServiceMaker.makeService.fget(self)(options)


bazaarTracker = DaemonMaker(
    "bazaar-tracker",
    "twisted_bazaar.tap.tracker",
    "The twisted-bazaar tracker: ids and introductions for nodes.",
    "bazaar-tracker",
)
bazaarNode = DaemonMaker(
    "bazaar-node",
    "twisted_bazaar.tap.node",
    "A twisted-bazaar node: buyer, seller, or both.",
    "bazaar-node",
)
