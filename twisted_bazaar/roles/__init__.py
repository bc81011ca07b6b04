"""
Roles: behaviour plugged onto the common node.

A role is found through L{twisted.plugin}: any module in the
L{twisted_bazaar.plugins} package (from this or any other installed
distribution) that holds an object providing L{IRolePlugin} adds a
role, with its own command-line options, without an edit of the core.
"""

from twisted.application.service import Service
from twisted.plugin import getPlugins
from zope.interface import Attribute, Interface

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.options import PluginOption


class IRolePlugin(Interface):
    """What a role plugin declares, so twistd can offer and build it."""

    name = Attribute("The value of --role that selects this role.")
    description = Attribute("One line for --help.")
    options = Attribute("A sequence of RoleOption this role adds.")

    def configure(config):
        """
        Check this role's options and turn them into settings for build.

        @param config: option name -> parsed value, for this role's options
            (defaults filled in).
        @raise ValueError: with a reason, for a bad combination.
        """

    def build(node, settings):
        """Attach the role to the node, and return it."""


RoleOption = PluginOption


class Role(Service, NodeObserver):
    """
    Convenience base: a role is a service of its node (started and stopped
    with it) and overrides the node events it cares about.
    """

    def __init__(self, node):
        self.node = node
        node.addObserver(self)
        node.roles.append(self)

    def stopService(self):
        """Stop starting new work (see nodeStopping); a role with work in
        flight returns a Deferred that fires once it is done."""
        super().stopService()
        self.nodeStopping()



def rolePlugins():
    """Every installed role plugin, by name."""
    from twisted_bazaar import plugins

    return {plugin.name: plugin for plugin in getPlugins(IRolePlugin, plugins)}
