"""
Discovery schemes: how a buyer finds offers and how a seller makes itself
found.

A node runs one scheme, chosen with ``--discovery NAME`` and found through
L{twisted.plugin}: any module in the L{twisted_bazaar.plugins} package that
holds an L{IDiscoveryPlugin} adds one, with its own options, messages,
routers and topology, in a package of its own (see
``docs/architecture.md``, "Adding a discovery scheme").  The plugin's
interface and its optional features are in L{interfaces}.  The
interfaces a scheme implements live in L{twisted_bazaar.core.market},
where roles meet them too; they are named here as well for plugins
written against this package.
"""

from twisted_bazaar.core.market import IDiscovery, IShop, Offer
from twisted_bazaar.schemes.interfaces import (
    IClientValues,
    IDiscoveryPlugin,
    IInProcess,
    IKeyTest,
    ITopologyProvider,
)

__all__ = ["IDiscoveryPlugin", "IKeyTest", "IInProcess", "IClientValues",
           "ITopologyProvider", "IDiscovery", "IShop", "Offer"]
