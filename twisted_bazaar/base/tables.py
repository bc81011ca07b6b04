"""The shared empty table, under the name the overlay imports it by: see
L{twisted_bazaar.base.sparing}."""

from twisted_bazaar.base.sparing import NOTHING, own

__all__ = ["NOTHING", "own"]
