"""
The seller role (L{Seller}), split along its jobs: L{stock} (the stock
and the leases on it), L{answering} (what a buy or ask gets),
L{closes} (closes and copies remembered, charged by L{shares}),
L{ledger} (the sales and their commits), L{signing} (answers signed,
and sent once their sales are on disk), L{role} (the seller, wiring
them) and L{plugin} (its options).
"""

from twisted_bazaar.roles.seller.closes import (
    CLOSED_GRACE,
    DEFAULT_CLOSED_LIMIT,
    MAX_EXPIRY_AHEAD,
    RESTORED,
)
from twisted_bazaar.roles.seller.plugin import SellerPlugin, parseSell
from twisted_bazaar.roles.seller.role import Seller
from twisted_bazaar.roles.seller.shares import RememberedShares
from twisted_bazaar.roles.seller.stock import DEFAULT_LEASE, LINK_SHARE, RESERVED_SHARE
from twisted_bazaar.store import Sale

__all__ = ["Seller", "SellerPlugin", "Sale", "RememberedShares", "parseSell",
           "CLOSED_GRACE", "DEFAULT_CLOSED_LIMIT", "DEFAULT_LEASE", "LINK_SHARE",
           "MAX_EXPIRY_AHEAD", "RESERVED_SHARE", "RESTORED"]
