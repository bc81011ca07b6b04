"""
Tests for L{twisted_bazaar.daemon.registry}.
"""

import io
import os
import shutil
import signal
import sys
import tempfile

from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import plugins
from twisted_bazaar.daemon import importfaults, registry
from twisted_bazaar.daemon.pluginfault import PluginFault


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


_ROLE = """
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.roles import IRolePlugin, Role


@implementer(IPlugin, IRolePlugin)
class Plugin:
    name = {name!r}
    description = "a test role"
    options = ()
{more}

plugin = Plugin()
"""

_WHOLE = """
    def configure(self, config):
        return {}

    def build(self, node, settings):
        return Role(node)
"""


def pluginFolder(test, **modules):
    """A folder of plugin modules (name -> source) on the plugin path for
    the test: what a distribution of a plugin author's adds."""
    folder = tempfile.mkdtemp(prefix="bazaar-registry-")
    test.addCleanup(shutil.rmtree, folder, True)
    for name, source in modules.items():
        with open(os.path.join(folder, name + ".py"), "w") as f:
            f.write(source)
        test.addCleanup(sys.modules.pop, "twisted_bazaar.plugins." + name, None)
    plugins.__path__.append(folder)
    test.addCleanup(plugins.__path__.remove, folder)
    return folder


class PluginFaultTests(SynchronousTestCase):
    """A plugin author's mistake is one line naming the plugin's file,
    not a traceback, nor a plugin silently left out or chosen by chance."""

    def test_twoPluginsOfOneName(self):
        """Two role plugins named alike: which one ran was the order of a
        dict; now the look-up is refused, naming both files."""
        folder = pluginFolder(self, bazaar_reg_twin_a=_ROLE.format(name="twin", more=_WHOLE),
                              bazaar_reg_twin_b=_ROLE.format(name="twin", more=_WHOLE))
        error = self.assertRaises(PluginFault, registry.rolePlugins)
        self.assertEqual(
            str(error),
            f"two role plugins are named 'twin': {folder}/bazaar_reg_twin_a.py and "
            f"{folder}/bazaar_reg_twin_b.py; rename or remove one")

    def test_aPluginLackingItsInterface(self):
        """A role plugin without options or configure: a traceback of
        twistd's option parsing (AttributeError: 'P' object has no
        attribute 'options'); now a line naming what it lacks."""
        folder = pluginFolder(self, bazaar_reg_lacking=_ROLE.format(
            name="lacking", more="").replace("    options = ()\n", ""))
        error = self.assertRaises(PluginFault, registry.rolePlugins)
        self.assertEqual(
            str(error),
            f"the role plugin Plugin ({folder}/bazaar_reg_lacking.py) is no "
            "IRolePlugin: it has no options; it has no configure(config); it has no "
            "build(node, settings)")

    def test_aModuleThatRaisesAtImport(self):
        """A plugin module that raises as it is imported: Twisted logged
        its traceback at each of a daemon's look-ups (seven a start) and
        the daemon ran on.  It is said once, in one line naming its file;
        the other plugins are found, and no traceback is logged."""
        self.patch(importfaults, "_told", set())
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        logged = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        folder = pluginFolder(self, bazaar_reg_broken="raise RuntimeError('boom')\n")
        self.assertIn("seller", registry.rolePlugins())
        self.assertIn("flood", registry.discoveryPlugins())
        self.assertEqual(err.getvalue(),
                         f"twisted-bazaar: the plugin module {folder}/bazaar_reg_broken.py "
                         "could not be imported, so its plugins are left out: "
                         "RuntimeError: boom\n")
        self.assertEqual([event for event in logged if "log_failure" in event], [])


class _Raising:
    """A tracker extension plugin whose build raises."""

    name = "raising"

    def build(self, tracker):
        raise RuntimeError("boom")


class _Tableless:
    """One that builds an extension of the old form, with no takes table."""

    name = "tableless"

    def build(self, tracker):
        return object()


class _Hosting:
    """What hostExtensions reads of a tracker."""

    def __init__(self):
        self.hosted = []

    def addExtension(self, name, extension):
        if not hasattr(extension, "takes"):
            raise TypeError(f"the tracker extension {name!r} declares no takes table")
        self.hosted.append(name)


class _Fine:
    name = "fine"

    def build(self, tracker):
        return type("Extension", (), {"takes": {}})()


class HostExtensionsTests(SynchronousTestCase):
    """A tracker extension built wrong ended bazaar-tracker (and a
    Market) with a traceback; now a PluginFault naming the plugin."""

    def test_aBuildThatRaises(self):
        error = self.assertRaises(PluginFault, registry.hostExtensions, _Hosting(),
                                  {"raising": _Raising()})
        self.assertEqual(str(error), f"the tracker extension plugin 'raising' "
                         f"({__file__}) failed to build: RuntimeError: boom")

    def test_anExtensionTheTrackerCannotHost(self):
        error = self.assertRaises(PluginFault, registry.hostExtensions, _Hosting(),
                                  {"tableless": _Tableless()})
        self.assertEqual(str(error), f"the tracker extension plugin 'tableless' "
                         f"({__file__}) built what the tracker cannot host: the "
                         "tracker extension 'tableless' declares no takes table")

    def test_hostedInTheOrderOfTheirNames(self):
        tracker = _Hosting()
        registry.hostExtensions(tracker, {"b": _Fine(), "a": _Fine()})
        self.assertEqual(tracker.hosted, ["a", "b"])
