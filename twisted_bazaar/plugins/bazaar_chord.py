"""The chord discovery scheme and its tracker extension, as twisted.plugin
finds them."""

from twisted_bazaar.schemes.chord.plugin import ChordScheme, ChordTrackerPlugin

chord = ChordScheme()
chordTracker = ChordTrackerPlugin()
