"""The flood discovery scheme, as twisted.plugin finds it."""

from twisted_bazaar.schemes.flood.plugin import FloodScheme

flood = FloodScheme()
