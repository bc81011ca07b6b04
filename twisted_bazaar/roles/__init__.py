"""
Roles: behaviour plugged onto the common node.

A role is found through L{twisted.plugin}: any module in the
L{twisted_bazaar.plugins} package (from this or any other installed
distribution) that holds an object providing L{IRolePlugin} adds a
role, with its own command-line options, without an edit of the core.
"""

from twisted.application.service import Service

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.base.options import IConfigurablePlugin, PluginOption


class IRolePlugin(IConfigurablePlugin):
    """A role, as --role finds it.  Its ``build`` makes the role for the
    node and returns it; the builder (L{twisted_bazaar.daemon.build})
    plugs it in with C{node.addRole}."""


RoleOption = PluginOption


class Role(Service, NodeObserver):
    """
    Convenience base: a role is a service of its node (started and stopped
    with it) and overrides the node events it cares about.

    It acts from the moment it is built (as a node observer); its
    L{stopService} ends everything it started (timers, Deferreds it waits
    on) and returns a Deferred when that takes time.  ``nodeStopping`` does
    the same; calling either, both, or each twice is safe.
    """

    def __init__(self, node):
        self.node = node
        node.addObserver(self)

    def stopService(self):
        """Stop starting new work (see nodeStopping); a role with work in
        flight returns a Deferred that fires once it is done."""
        super().stopService()
        self.nodeStopping()

    def usesLinkTo(self, peer_id):
        """Whether this role has work out over this node's direct link to
        peer_id (a buy or an ask out with that seller): one no role uses
        gives way to a peer's direct link when the slots are full
        (L{twisted_bazaar.core.node.Node.spares})."""
        return False

    def stockHeld(self):
        """item -> units this role has to sell, for a node's status; a
        role that sells nothing has none."""
        return {}

    def sharedFiles(self):
        """(name, size, sha256, sold) of each file this role shares, for
        a node's status; none unless it shares a folder."""
        return ()

    def downloadsHeld(self):
        """This role's downloads, as dicts of the keys of
        L{twisted_bazaar.status.messages.DOWNLOAD_KEYS}; none unless it
        fetches files."""
        return ()

    def tradesHeld(self, now):
        """This role's last trades, as L{TradeLog.entries} gives them, for
        its operator's status; none for a role that trades nothing."""
        return ()
