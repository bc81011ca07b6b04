"""The ``bazaar-node`` twistd plugin's module: Options and makeService."""

from twisted_bazaar.tap import NodeOptions as Options
from twisted_bazaar.tap import makeNodeService as makeService

__all__ = ["Options", "makeService"]
