"""
Tracker extensions: what a scheme adds to the tracker.

The tracker itself only registers nodes, introduces them, and answers
``whereis``.  A scheme that needs tracker-side state (the index scheme's
item index, say) ships an L{ITrackerExtensionPlugin} in the
L{twisted_bazaar.plugins} package; every tracker hosts every installed
extension, so one tracker serves nodes of every scheme.
"""

from zope.interface import Attribute, Interface


class ITrackerExtension(Interface):
    """One extension, living inside one tracker."""

    takes = Attribute(
        "message class -> function(extension, link, message), for the "
        "messages registered nodes send it: a class attribute, declared once "
        "(L{twisted_bazaar.net.handlers}).")

    def nodeLeft(node_id):
        """A node's link to the tracker closed: forget what it registered."""


class ITrackerExtensionPlugin(Interface):
    """An extension, as the tracker finds it."""

    name = Attribute("A short name, for logs.")

    def build(tracker):
        """Return an L{ITrackerExtension} for this tracker."""
