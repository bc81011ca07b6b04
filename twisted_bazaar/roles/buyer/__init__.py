"""
The buyer role (L{Buyer}), split along its jobs: L{book} (one record per
buy id), L{sending} (buys and asks out), L{doubts} (buys given up on,
asked about until answered), L{budget} (how long they may hold a want
back), L{answers} (checking and accepting them),
L{sellers} (whom to try first), L{role} (the boss of the wants) and
L{plugin} (its options).
"""

from twisted_bazaar.roles.buyer.doubts import RESOLVE_INTERVAL
from twisted_bazaar.roles.buyer.plugin import BuyerPlugin, parseItem
from twisted_bazaar.roles.buyer.role import Buyer
from twisted_bazaar.roles.want import (
    BUY_ATTEMPTS,
    BUY_LIFETIME,
    BUY_TIMEOUT_MAX,
    DOUBT_LIMIT,
    HASTY_ATTEMPTS,
    REFUSALS,
    RETRY_MAX,
    RETRY_MIN,
)
from twisted_bazaar.store import Purchase

__all__ = ["Buyer", "BuyerPlugin", "Purchase", "parseItem", "BUY_ATTEMPTS",
           "BUY_LIFETIME", "BUY_TIMEOUT_MAX", "DOUBT_LIMIT", "HASTY_ATTEMPTS",
           "REFUSALS", "RETRY_MIN", "RETRY_MAX", "RESOLVE_INTERVAL"]
