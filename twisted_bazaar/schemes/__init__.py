"""
Discovery schemes: how a buyer finds offers and how a seller makes itself
found.

A node runs one scheme, chosen with ``--discovery NAME`` and found through
L{twisted.plugin}: any module in the L{twisted_bazaar.plugins} package that
holds an L{IDiscoveryPlugin} adds one, with its own options, messages,
routers and topology, in a package of its own (see
``docs/architecture.md``, "Adding a discovery scheme").  The interfaces a
scheme implements live in L{twisted_bazaar.core.market}, where roles meet
them too; they are named here as well for plugins written against this
package.
"""

from twisted_bazaar.base.options import IConfigurablePlugin
from twisted_bazaar.core.market import IDiscovery, IShop, Offer

__all__ = ["IDiscoveryPlugin", "IDiscovery", "IShop", "Offer"]


class IDiscoveryPlugin(IConfigurablePlugin):
    """A discovery scheme, as --discovery finds it.  Its ``build`` makes the
    scheme for the node and returns the L{IDiscovery}; the builder
    (L{twisted_bazaar.daemon.build}) plugs it in with C{node.setDiscovery},
    and its ``topology`` (if it has one: the neighbours it keeps) with
    C{node.setTopology}."""
