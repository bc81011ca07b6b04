"""The flood discovery scheme, as twisted.plugin finds it."""

from twisted_bazaar.schemes.flood import FloodScheme

flood = FloodScheme()
