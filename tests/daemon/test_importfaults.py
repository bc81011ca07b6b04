"""
Tests for L{twisted_bazaar.daemon.importfaults}: what Twisted's plugin
look-up would log again at each look-up is said once.
"""

import io

from twisted.python import log
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import plugins
from twisted_bazaar.daemon import importfaults


class UnwritableCacheTests(SynchronousTestCase):
    def test_saidOnceAProcess(self):
        """A plugin cache the daemon's user cannot write was logged at each
        of a daemon's look-ups (7 lines for one folder as a node started
        as a user who may not write site-packages): once a process now,
        each folder's; anything else Twisted's look-up says passes."""
        self.patch(importfaults, "_told", set())
        said = []
        self.patch(log, "msg", lambda *args, **kwargs: said.append(kwargs))
        from twisted import plugin
        self.patch(plugin, "log", log)
        for _ in range(3):
            with importfaults.importFaults(plugins, io.StringIO()):
                for path in ("/ro/a/dropin.cache", "/ro/b/dropin.cache"):
                    plugin.log.msg(format="Unable to write to plugin cache %(path)s: "
                                   "error number %(errno)d", path=path, errno=13)
                plugin.log.msg(format="something else")
        self.assertEqual([event.get("path") for event in said],
                         ["/ro/a/dropin.cache", "/ro/b/dropin.cache", None, None, None])
        self.assertIs(plugin.log, log)
