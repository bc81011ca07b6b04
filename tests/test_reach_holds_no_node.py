"""
The dialer and its parts do not hold the node (issue 92 item 2: "reach/
and transports/ never hold the node"): the dialer is built with what it
reads (a clock, the connector, the transports, the node's link table and
its whereabouts), so a module of reach/ or transports/ that names a
``node`` (a name, or an attribute ``.node``) is one still reaching
through it.  L{HOLDING} lists the modules that still do (none now); a module not
listed that names one fails, and so does a listed one that no longer
does (or is gone): the list only shrinks.
"""

import ast

from twisted.trial.unittest import SynchronousTestCase

from tests.packagesource import packageTrees

#: Modules (under twisted_bazaar/) that still reach through the node:
#: none: the punches (reach/punch/) are built with their collaborators
#: and announce what they find to the dialer's sources of paths
#: (L{twisted_bazaar.reach.sources}); the reservation, its accepts and
#: probes from a L{twisted_bazaar.reach.reachable.home.RelayHome}; the
#: whereabouts from a clock and a log; transports/ names none.
HOLDING = frozenset()


def naming():
    """module (under twisted_bazaar/) -> the lines naming the node, of
    every module of reach/ and transports/ that names it."""
    return {module: lines for module, tree in packageTrees().items()
            if module.startswith(("reach/", "transports/")) and (lines := namesNode(tree))}


def namesNode(tree):
    """The lines of tree that name ``node`` (a name or an attribute)."""
    return sorted({n.lineno for n in ast.walk(tree)
                   if isinstance(n, ast.Name) and n.id == "node"
                   or isinstance(n, ast.Attribute) and n.attr == "node"})


class HoldsNoNodeTests(SynchronousTestCase):
    def test_onlyTheListedNameTheNode(self):
        found = {module: lines for module, lines in naming().items()
                 if module not in HOLDING}
        self.assertEqual(found, {}, "these modules name the node (lines): the dialer "
                                    "and its parts are given what they read instead")

    def test_noStaleListing(self):
        """Each listed module still names the node: one that no longer
        does (or is gone) leaves the list."""
        stale = sorted(HOLDING - set(naming()))
        self.assertEqual(stale, [], "these listed modules no longer name the node: "
                                    "take them off HOLDING")

    def test_aNodeNamedIsFound(self):
        """The check finds a name and an attribute, not a word in a string."""
        tree = ast.parse("x = dialer.node.links\nnode = 1\ns = 'node'\n")
        self.assertEqual(namesNode(tree), [1, 2])
