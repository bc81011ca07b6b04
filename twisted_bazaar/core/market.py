"""
The market's vocabulary, shared by roles and discovery schemes: what a
seller shows its scheme (L{IShop}), what a scheme offers a buyer
(L{IDiscovery}, L{Offer}), and the optional file description an offer
carries.

Roles talk only to the L{IDiscovery} on ``node.discovery``:

 - a seller calls C{advertise(shop)} once and C{stockChanged(item, units)}
   whenever an item runs out or comes back;
 - a buyer calls C{find(item, wait)} and gets a Deferred list of L{Offer},
   best first.

Whoever builds the node (the daemon, L{twisted_bazaar.testing.Market})
attaches its scheme before its roles (see
L{twisted_bazaar.daemon.registry.buildScheme}).
"""

import attr
from zope.interface import Attribute, Interface


class IShop(Interface):
    """What a seller shows its discovery scheme."""

    def inventory():
        """item -> units left to sell."""

    def offerTo(item, buyer, via=None):
        """May ``buyer`` be offered a unit of ``item``?  A yes may reserve
        the unit for that buyer for a while.  ``via`` is the neighbour the
        request came through (None if unknown), so that the shop can limit
        what one link may hold."""

    def describe(item):
        """
        Optional: what an offer of ``item`` carries besides the seller's
        address, as L{Offer} field name -> value (a shared file's C{size},
        C{sha256} and C{transfer} port), or None.  A scheme reads it with
        L{offerDetails} and carries it to the buyer's L{Offer}.
        """


class IDiscovery(Interface):
    """
    One node's discovery scheme: an IService, started and stopped with the
    node (its stopService may return a Deferred, e.g. to hand records over
    before the node says dc).
    """

    name = Attribute("The scheme's name, as --discovery takes it.")
    superpeer = Attribute("True if this node offers to serve as a super-peer "
                          "(told to the tracker); None if the scheme has none.")

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
            (possibly empty); it never fails, and cancelling it ends the
            search.
        """


@attr.s(frozen=True, auto_attribs=True)
class Offer:
    """
    A seller to buy from: its id, the path from the buyer to it (just
    ``(buyer, seller)`` when the buy goes direct), and its address.  An
    offer of a shared file also names its content: its C{size}, its
    C{sha256} (hex) and the seller's C{transfer} port (see
    L{twisted_bazaar.files}); None (0 for the port) otherwise.
    """

    seller: int
    route: tuple
    host: str = ""
    port: int = 0
    size: int = None
    sha256: str = None
    transfer: int = 0


#: The optional L{Offer} fields a shop may describe (see IShop.describe).
OFFER_DETAILS = ("size", "sha256", "transfer")


def offerDetails(shop, item):
    """The optional offer fields ``shop`` gives for ``item``: a dict with
    the keys of L{OFFER_DETAILS} (values None when it gives none)."""
    describe = getattr(shop, "describe", None)
    details = describe(item) if describe is not None else None
    return {key: (details or {}).get(key) for key in OFFER_DETAILS}


def fileDescription(shop, item):
    """What ``shop`` describes of item if it shares it as a file (its
    C{size}, C{sha256} and C{transfer} port, all known), as
    L{offerDetails} gives it; else None."""
    details = offerDetails(shop, item)
    return details if None not in details.values() else None


def offerFields(details):
    """The L{Offer}'s (size, sha256, transfer) from the optional file
    description that follows a seller's (id, host, port), as index's
    ``found`` and superpeer's hits give it: () when there is none."""
    size, sha256, transfer = tuple(details) + (None,) * (3 - len(details))
    return size, sha256, transfer or 0


def discoveryOf(node):
    """The node's scheme, which whoever built the node attached first.

    @raise RuntimeError: if none was (a wiring mistake, not bad input).
    """
    if node.discovery is None:
        raise RuntimeError("the node has no discovery scheme: attach one "
                           "(twisted_bazaar.daemon.registry.buildScheme) "
                           "before its roles")
    return node.discovery
