"""
Roles: behaviour plugged onto the common node.

A role is found through :mod:`twisted.plugin`: any module in the
:mod:`twisted_bazaar.plugins` package (from this or any other installed
distribution) that holds an object providing :class:`IRolePlugin` adds a
role, with its own command-line options, without an edit of the core.
"""

import attr
from twisted.application.service import Service
from twisted.plugin import getPlugins
from zope.interface import Attribute, Interface


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


@attr.s(frozen=True, auto_attribs=True)
class RoleOption:
    """
    A command-line option a role adds to ``bazaar-node``.

    @ivar parse: turns the flag's text into a value; raises ValueError with
        a reason for bad input.
    @ivar repeatable: the flag may be given many times; the value is a list.
    """

    name: str
    help: str
    parse: object = str
    default: object = None
    repeatable: bool = False


class Role(Service):
    """
    Convenience base: a role overrides the node events it cares about.
    The node calls these on every observer that has them.

    A role is a L{Service}: it acts from the moment it is built (as a node
    observer), and L{stopService} ends everything it started (timers,
    Deferreds it waits on), returning a Deferred when that takes time.
    ``nodeStopping`` does the same; calling either, both, or each twice is
    safe.
    """

    def __init__(self, node):
        self.node = node
        node.addObserver(self)

    def nodeReady(self):
        """The node has its id."""

    def linkAdded(self, peer_id):
        """A link to a peer finished its handshake."""

    def linkRemoved(self, peer_id):
        """A link to a peer closed."""

    def searchReceived(self, search):
        """A search reached this node (returnPath already ends with it)."""

    def delivered(self, message):
        """A path-routed message ended its path here."""

    def nodeStopping(self):
        """The node is shutting down."""


def rolePlugins():
    """Every installed role plugin, by name."""
    from twisted_bazaar import plugins

    return {plugin.name: plugin for plugin in getPlugins(IRolePlugin, plugins)}
