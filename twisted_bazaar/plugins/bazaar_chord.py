"""The chord discovery scheme, as twisted.plugin finds it."""

from twisted_bazaar.schemes.chord import ChordScheme

chord = ChordScheme()
