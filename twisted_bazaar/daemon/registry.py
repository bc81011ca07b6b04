"""
The plugin registries: every installed role, discovery scheme, tracker
extension and transport, found through L{twisted.plugin} in the L{twisted_bazaar.plugins}
package.

Only the top of the program looks plugins up (the daemons' options, the
command line, the simulator, L{twisted_bazaar.testing}); it builds the
parts and hands them down, so nothing below this layer finds anything by
itself.
"""

from twisted.plugin import getPlugins
from zope.interface.exceptions import Invalid
from zope.interface.verify import verifyObject

from twisted_bazaar import plugins
from twisted_bazaar.base.heldsignals import heldSignals
from twisted_bazaar.daemon.build import builtScheme, configured, plugScheme
from twisted_bazaar.daemon.importfaults import importFaults
from twisted_bazaar.base.blame import moduleOf, why
from twisted_bazaar.daemon.pluginfault import PluginFault, described, lacking, placed
from twisted_bazaar.roles import IRolePlugin
from twisted_bazaar.schemes import IDiscoveryPlugin
from twisted_bazaar.tracker.extension import ITrackerExtensionPlugin
from twisted_bazaar.transports.plugin import ITransportPlugin


def _byName(interface, kind):
    """
    Every installed plugin of interface, by name.

    @raise PluginFault: naming the plugin, for two plugins of one name
        (which of them would run is chance) and for a plugin that lacks
        what interface asks of it.  A plugin module that cannot be
        imported is said in one line, once, and left out.
    """
    # getPlugins drops what a plugin's import raises: a Ctrl-C then, held,
    # stops the daemon once they are found (L{heldSignals}).
    with heldSignals(), importFaults(plugins) as faults:
        found = list(getPlugins(interface, plugins))
    faults.tell()
    byName = {}
    for plugin in found:
        try:
            verifyObject(interface, plugin)
        except Invalid as e:
            raise PluginFault(f"{placed(plugin, kind)} is no {interface.__name__}: "
                              f"{lacking(e)}") from None
        other = byName.setdefault(plugin.name, plugin)
        if other is not plugin:
            raise PluginFault(
                f"two {kind} plugins are named {plugin.name!r}: "
                f"{moduleOf(other)} and {moduleOf(plugin)}; "
                "rename or remove one")
    return byName


def rolePlugins():
    """Every installed role plugin, by name."""
    return _byName(IRolePlugin, "role")


def discoveryPlugins():
    """Every installed discovery plugin, by name."""
    return _byName(IDiscoveryPlugin, "discovery scheme")


def trackerExtensionPlugins():
    """Every installed tracker extension plugin, by name."""
    return _byName(ITrackerExtensionPlugin, "tracker extension")


def transportPlugins():
    """Every installed transport plugin (beyond TCP, the relay and QUIC,
    which every node has), by name."""
    return _byName(ITransportPlugin, "transport")


def hostExtensions(tracker, plugins):
    """
    Have tracker host the extension each of plugins (name -> plugin)
    builds, in the order of their names.

    @raise PluginFault: naming the plugin and its file, if its build
        raised or made what the tracker cannot host (no C{takes} table, a
        message type another extension or the core takes): its author's
        fix, said in one line rather than a traceback.
    """
    for name, plugin in sorted(plugins.items()):
        said = described(plugin, "tracker extension")
        try:
            extension = plugin.build(tracker)
        except Exception as e:
            raise PluginFault(f"{said} failed to build: {why(e)}") from e
        try:
            tracker.addExtension(name, extension)
        except (TypeError, ValueError) as e:
            raise PluginFault(f"{said} built what the tracker cannot host: {e}") from e


def buildScheme(node, name, **config):
    """Attach the installed scheme ``name`` to node, with its options'
    defaults overridden by config (option names with - or _); return it."""
    return buildSchemeFrom(discoveryPlugins()[name], node, config)


def buildSchemeFrom(plugin, node, config):
    """L{buildScheme} with a plugin already looked up: for whoever builds
    many nodes (a simulation), as each look-up reads the plugin caches
    from disk."""
    return plugScheme(node, builtScheme(node, plugin, configured(plugin, config)))
