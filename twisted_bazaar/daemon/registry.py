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

from twisted_bazaar import plugins
from twisted_bazaar.base.heldsignals import heldSignals
from twisted_bazaar.daemon.build import configured, plugScheme
from twisted_bazaar.roles import IRolePlugin
from twisted_bazaar.schemes import IDiscoveryPlugin
from twisted_bazaar.tracker.extension import ITrackerExtensionPlugin
from twisted_bazaar.transports.plugin import ITransportPlugin


def _byName(interface):
    # getPlugins drops what a plugin's import raises: a Ctrl-C then, held,
    # stops the daemon once they are found (L{heldSignals}).
    with heldSignals():
        return {plugin.name: plugin for plugin in getPlugins(interface, plugins)}


def rolePlugins():
    """Every installed role plugin, by name."""
    return _byName(IRolePlugin)


def discoveryPlugins():
    """Every installed discovery plugin, by name."""
    return _byName(IDiscoveryPlugin)


def trackerExtensionPlugins():
    """Every installed tracker extension plugin, by name."""
    return _byName(ITrackerExtensionPlugin)


def transportPlugins():
    """Every installed transport plugin (beyond TCP, the relay and QUIC,
    which every node has), by name."""
    return _byName(ITransportPlugin)


def buildScheme(node, name, **config):
    """Attach the installed scheme ``name`` to node, with its options'
    defaults overridden by config (option names with - or _); return it."""
    return buildSchemeFrom(discoveryPlugins()[name], node, config)


def buildSchemeFrom(plugin, node, config):
    """L{buildScheme} with a plugin already looked up: for whoever builds
    many nodes (a simulation), as each look-up reads the plugin caches
    from disk."""
    return plugScheme(node, plugin.build(node, configured(plugin, config)))
