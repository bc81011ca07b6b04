"""
The seller role's command-line face: its options (--sell, --lease,
--closed-limit, --share, ...), checked and turned into a L{Seller}
(and, with --share, the L{FileShop} of its files).
"""

import unicodedata

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.options import boundedInt, seconds
from twisted_bazaar.base.text import shown, unicodeFault
from twisted_bazaar.roles import IRolePlugin, RoleOption
from twisted_bazaar.roles.files.options import sharedFolder
from twisted_bazaar.roles.files.shop import FileShop
from twisted_bazaar.roles.seller.closes import DEFAULT_CLOSED_LIMIT
from twisted_bazaar.roles.seller.role import Seller
from twisted_bazaar.roles.seller.stock import DEFAULT_LEASE
from twisted_bazaar.wire.trade import MAX_QUANTITY


def parseSell(text):
    """``ITEM=COUNT`` -> (item, count), the item in composed Unicode form
    (NFC, as buyers want it), with a reason for bad input.  The count
    follows the last ``=``: an item's name may hold one (``E=mc2
    poster=3``), which a buyer's ``--want`` takes as it is."""
    fault = unicodeFault(text)
    if fault:
        raise ValueError(fault)
    item, sep, count = unicodedata.normalize("NFC", text).rpartition("=")
    if not sep or not item.strip():
        raise ValueError(f"wants ITEM=COUNT, not {text!r}")
    if item != item.strip():
        # TOML's habit, sell = ["apple = 3"]: sold as "apple ", which no
        # buyer of apple would ever find.
        raise ValueError(f"{text}: the item name {item!r} begins or ends with a "
                         f"blank, so buyers of {item.strip()} would not find it: "
                         f"write {item.strip()}={count.strip()}")
    size = len(item.encode("utf-8"))
    if size > wire.MAX_ITEM_BYTES:
        # Named, cut short: one --sell of a catalogue of thousands.
        raise ValueError(f"the item name '{shown(item, 40)}' is {size} bytes, longer "
                         f"than the {wire.MAX_ITEM_BYTES} bytes a name may hold")
    try:
        units = int(count)
    except ValueError:
        raise ValueError(f"{item}={count}: the count of units must be a whole "
                         f"number, not {count!r}") from None
    if units < 0:
        raise ValueError(f"{item}={count}: the count of units cannot be negative")
    if units > MAX_QUANTITY:
        raise ValueError(f"{item}={count}: the count of units cannot be more than "
                         f"{MAX_QUANTITY:,}")
    return item, units


@implementer(IPlugin, IRolePlugin)
class SellerPlugin:
    """The ``seller`` role, as twistd and the simulator find it."""

    name = "seller"
    description = "sell the units given with --sell, and the files of --share DIR"
    options = (
        RoleOption("sell", "ITEM=COUNT to offer (repeatable)", parseSell,
                   repeatable=True),
        RoleOption("lease", "seconds a unit stays reserved for a buyer",
                   seconds, DEFAULT_LEASE),
        RoleOption("closed-limit", "most closed buys (asked about and not sold, "
                   "sold out or expired) and copies of shared files sold "
                   "remembered, each for 15 minutes (a copy then counted only), "
                   "shared among address groups (one alone gets half; relayed buys "
                   "are charged apart, by their relay's group, to a share of their "
                   "own); a group holding as many as are left is answered notyet",
                   boundedInt(1), DEFAULT_CLOSED_LIMIT),
        RoleOption("share", "DIR whose files to sell, each named by its file name "
                   "(watched for changes)", sharedFolder),
        RoleOption("transfer-port", "port to serve shared files on (0: any free "
                   "port)", boundedInt(0, 65535), 0, listens=True),
        RoleOption("transfer-rate", "most bytes a second sent on one transfer "
                   "connection, a buyer fetching one file (0: no limit)",
                   boundedInt(0), 0),
    )

    def configure(self, config):
        stock = {}
        for item, units in config["sell"]:
            if item in stock:
                raise ValueError(f"--sell names {item} twice")
            stock[item] = units
        folder = config.get("share")
        if not stock and folder is None:
            raise ValueError("the seller role needs at least one --sell ITEM=COUNT "
                             "or --share DIR")
        for option in ("transfer-port", "transfer-rate"):
            if config.get(option) and folder is None:
                raise ValueError(f"--{option} needs --share DIR")
        settings = {"stock": stock, "lease": config["lease"]}
        limit = config.get("closed-limit", DEFAULT_CLOSED_LIMIT)
        if limit != DEFAULT_CLOSED_LIMIT:
            settings["closed_limit"] = limit
        if folder is not None:
            settings.update(share=folder, transfer_port=config.get("transfer-port", 0),
                            transfer_rate=config.get("transfer-rate", 0))
        return settings

    def build(self, node, settings):
        settings = dict(settings)
        folder = settings.pop("share", None)
        port = settings.pop("transfer_port", 0)
        rate = settings.pop("transfer_rate", 0)
        unshared = settings.pop("unshared", ())
        seller = Seller(node, **settings)
        if folder is not None:
            # Its files are a role of their own, plugged in after the
            # seller (and so stopped before it).
            node.addRole(seller)
            node.addRole(FileShop(node, seller, folder, port, transfer_rate=rate,
                                  unshared=unshared))
        return seller
