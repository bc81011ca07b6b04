"""The index discovery scheme and its tracker extension, as twisted.plugin
finds them."""

from twisted_bazaar.schemes.index.plugin import IndexScheme, IndexTrackerPlugin

index = IndexScheme()
indexTracker = IndexTrackerPlugin()
