"""
Tests for L{twisted_bazaar.daemon.registry}.
"""

import signal

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon import registry


class CtrlCAsPluginsLoadTests(SynchronousTestCase):
    def test_aCtrlCWhileAPluginLoadsIsNotSwallowed(self):
        """
        Twisted's getPlugins logs and drops whatever a plugin's import
        raises: a Ctrl-C then dropped the plugin (``option --sell not
        recognized``) or was lost (the daemon ran on).  It reaches its
        handler once the plugins are found, and they are all there.
        """
        real = registry.getPlugins
        stages = []

        def getPlugins(interface, package):
            stages.append("loading")
            try:
                signal.raise_signal(signal.SIGINT)
            except BaseException:
                stages.append("swallowed")
            found = list(real(interface, package))
            stages.append("loaded")
            return found

        def handler(signum, frame):
            stages.append("handled")

        before = signal.signal(signal.SIGINT, handler)
        self.addCleanup(signal.signal, signal.SIGINT, before)
        self.patch(registry, "getPlugins", getPlugins)
        roles = registry.rolePlugins()
        self.assertEqual(stages, ["loading", "loaded", "handled"])
        self.assertIn("seller", roles)
        self.assertIs(signal.getsignal(signal.SIGINT), handler)
