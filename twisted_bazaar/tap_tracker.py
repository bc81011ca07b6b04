"""The ``bazaar-tracker`` twistd plugin's module: Options and makeService."""

from twisted_bazaar.tap import TrackerOptions as Options
from twisted_bazaar.tap import makeTrackerService as makeService

__all__ = ["Options", "makeService"]
