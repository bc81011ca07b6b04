"""
The market's vocabulary, shared by roles and discovery schemes: what a
seller shows its scheme (L{IShop}), what a scheme offers a buyer
(L{IDiscovery}, L{Offer}), and the optional file description an offer
carries, taken from the seller's signed record (L{recordedOffers}).

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
from twisted.logger import Logger
from zope.interface import Attribute, Interface

from twisted_bazaar.base.lan import sameHost
from twisted_bazaar.base.text import shown
from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.core.records import FILE_FIELDS, Record, recordFault, verified

_log = Logger()


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
        L{fileDescription} and signs it into the seller's record, which
        carries it to the buyer's L{Offer}.
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
    L{twisted_bazaar.files}); None (0 for the port) otherwise.  ``record``
    is the seller's signed record the offer was made from (see
    L{twisted_bazaar.core.records}), where the scheme carries one: a
    file's description is only ever taken from it (L{signedFile}).
    ``relay`` is the relay (``HOST:PORT``) through which the seller is
    reached, when it cannot be dialled (its record names it), or None.
    ``namedBy`` is the address group of the link whose reply named the
    offer's host, where the scheme knows it (see
    L{twisted_bazaar.reach.dialer.Peer.namedBy}), else None.
    """

    seller: int
    route: tuple
    host: str = ""
    port: int = 0
    size: int = None
    sha256: str = None
    transfer: int = 0
    record: Record = None
    relay: str = None
    namedBy: object = attr.ib(default=None, eq=False)


def fileDescription(shop, item):
    """What ``shop`` describes of item if it shares it as a file (its
    C{size}, C{sha256} and C{transfer} port, all known), as a dict; else
    None."""
    describe = getattr(shop, "describe", None)
    details = (describe(item) if describe is not None else None) or {}
    described = {key: details.get(key) for key in FILE_FIELDS}
    return described if None not in described.values() else None


def fileIn(shops, item):
    """What the first of ``shops`` that has item in stock describes of it
    as a file (see L{fileDescription}), or None: what a seller's record
    of item says of it."""
    shop = next((shop for shop in shops if shop.inventory().get(item, 0) > 0), None)
    return fileDescription(shop, item) if shop is not None else None


def recordedOffers(node, item, sellers):
    """
    The offers a buyer takes from the sellers a scheme found for item:
    ``sellers`` holds (record, host, port, namedBy) for each, host and
    port being where the scheme says the seller is (None: where its
    record says), namedBy the address group of the link whose word
    brought it (L{Offer.namedBy}), or None.
    Only a record of item signed by its seller, and live, makes an offer,
    its file description included; the others are dropped, in one log
    line.  So is a LAN-only seller's behind a host this node is not seen
    at (its record's ``lan``), which nothing here could reach.  The buyer
    itself is left out.
    """
    now = wallSeconds(node.clock)
    offers, dropped, elsewhere = [], 0, []
    seen = node.reach.seen_host
    for record, host, port, namedBy in sellers:
        if record.seller == node.id:
            continue
        if recordFault(record, now, item=item, alive=True) is not None:
            dropped += 1
            continue
        if record.lan is not None and not (seen and sameHost(record.lan, seen)):
            elsewhere.append(record)
            continue
        offers.append(Offer(record.seller, (node.id, record.seller),
                            record.host if host is None else host,
                            record.port if port is None else port,
                            record.size, record.sha256, record.transfer or 0, record,
                            record.relay, namedBy=namedBy))
    if dropped:
        _log.info("ignoring {n} of the sellers of {item!r} found: their records are "
                  "not signed by them, or not live", n=dropped, item=item[:64])
    if elsewhere:
        first = elsewhere[0]
        _log.info("not dialling node {seller}, a seller of {item!r}{more}: its record "
                  "says it is LAN-only, reached only by nodes seen at {lan}, and this "
                  "node is seen at {seen}", seller=shortId(first.seller), item=item[:64],
                  lan=shown(first.lan, 64), seen=seen or "no host yet",
                  more="" if len(elsewhere) == 1 else f" (and {len(elsewhere) - 1} more)")
    return offers


def signedFile(offer):
    """Whether the file ``offer`` describes (size, sha256, transfer port)
    is the one its seller signed: the offer's record is that seller's, it
    verifies, and it describes exactly that."""
    record = offer.record
    return (record is not None and record.seller == offer.seller
            and record.file == (offer.size, offer.sha256, offer.transfer)
            and verified(record))


def schemeOf(discovery):
    """(name, superpeer) of a node's scheme (an L{IDiscovery}), as its
    thisisme says them; (None, None) for a node of none."""
    if discovery is None:
        return None, None
    return discovery.name, discovery.superpeer


def discoveryOf(node):
    """The node's scheme, which whoever built the node attached first.

    @raise RuntimeError: if none was (a wiring mistake, not bad input).
    """
    if node.discovery is None:
        raise RuntimeError("the node has no discovery scheme: attach one "
                           "(twisted_bazaar.daemon.registry.buildScheme) "
                           "before its roles")
    return node.discovery
