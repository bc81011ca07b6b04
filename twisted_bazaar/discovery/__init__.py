"""
Discovery: how a buyer finds offers and how a seller makes itself found.

A node runs one scheme, chosen with ``--discovery NAME`` and found through
:mod:`twisted.plugin` like roles are.  Roles talk only to the
:class:`IDiscovery` on ``node.discovery``:

- a seller calls ``advertise(shop)`` once and ``stockChanged(item, units)``
  whenever an item runs out or comes back;
- a buyer calls ``find(item, wait)`` and gets a Deferred list of
  :class:`Offer`, best first.

``flood`` floods searches (the default); ``index`` asks the tracker.
"""

import attr
from twisted.plugin import getPlugins
from zope.interface import Attribute, Interface


class IShop(Interface):
    """What a seller shows its discovery scheme."""

    def inventory():
        """item -> units left to sell."""

    def offerTo(item, buyer):
        """May ``buyer`` be offered a unit of ``item``?  A yes may reserve
        the unit for that buyer for a while."""


class IDiscovery(Interface):
    """One node's discovery scheme."""

    name = Attribute("The scheme's name, as --discovery takes it.")
    messages = Attribute("The message classes this scheme exchanges.")

    def advertise(shop):
        """Make the seller ``shop`` (an IShop) findable."""

    def stockChanged(item, units):
        """A shop's stock of ``item`` is now ``units``."""

    def canFind():
        """Could find() reach anyone now (links, or a tracker)?"""

    def find(item, wait):
        """
        Look for offers of ``item``, for at most ``wait`` seconds.

        @return: a Deferred firing with a list of L{Offer}, best first
            (possibly empty); it never fails.
        """


class IDiscoveryPlugin(Interface):
    """A discovery scheme, as --discovery finds it."""

    name = Attribute("The value of --discovery that selects this scheme.")
    description = Attribute("One line for --help.")

    def build(node):
        """Attach the scheme to ``node`` (it sets ``node.discovery``)."""


@attr.s(frozen=True, auto_attribs=True)
class Offer:
    """
    A seller to buy from: its id, the path from the buyer to it (just
    ``(buyer, seller)`` when the buy goes direct), and its address.
    """

    seller: int
    route: tuple
    host: str = ""
    port: int = 0


def discoveryPlugins():
    """Every installed discovery plugin, by name."""
    from twisted_bazaar import plugins

    return {plugin.name: plugin for plugin in getPlugins(IDiscoveryPlugin, plugins)}


def discoveryOf(node):
    """The node's scheme, installing the default (flood) if it has none."""
    if node.discovery is None:
        from twisted_bazaar.discovery.flood import FloodDiscovery

        FloodDiscovery(node)
    return node.discovery
