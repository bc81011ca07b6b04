"""
No object writes the state of the node's collaborators from outside
(issue 81, "Services publish, they do not write into others"): this reads
the product's source (ast) for an assignment to an attribute of another
object that is a node, its dialer, membership, overlay, book, punching,
a connector or an endpoint (``node.host = ...``, ``self.node.relay =
...``, ``dialer.candidates = ...``), and fails on any not listed: those
allowed say why; those still to be turned into a collaborator's own
method or an event are in L{NOT_YET}, a list that only shrinks.  A
stricter sibling of L{tests.test_foreign_writes}, which finds every
attribute written onto another object: here even a builder's write
needs a reason.
"""

import functools
import ast

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import parsed
from tests.packagesource import packageTrees
from tests.test_foreign_writes import assigned

#: What an object's name ends with when it is one of the node's
#: collaborators, whose state only its own methods write.
COLLABORATORS = ("node", "dialer", "membership", "endpoint", "overlay", "connector",
                 "book", "punching")

#: 'module: target' -> why it writes another object's attribute.
ALLOWED = {
    "daemon/services.py: node.stopper":
        "the daemon's service, building its node, gives it the way to ask the daemon to "
        "stop (the builder's wiring, once, before the node runs)",
    "files/server.py: self.node.transferFactory":
        "the seller's transfer port registers and withdraws its protocol factory, which "
        "the node's QUIC files service serves (the node's own slot for it)",
    "metrics/node.py: node.store":
        "--metrics puts its metered store in front of the node's store, before it runs",
    "sim/metrics.py: node.store":
        "the simulator's metrics put their counting store in front, before it runs",
    "sim/attack.py: node.identity":
        "the simulator's attacker forges an identity on its own node (an adversary)",
}

#: 'module: target' -> the reach hooks still written from outside (issue
#: 81, item 4), each to become a method of the node's or an event: none
#: left.  A list that only shrinks.
NOT_YET = {}


def writes(source):
    """(line, target) of each assignment in source to an attribute of a
    collaborator that is not ``self`` itself."""
    found = []
    for node in ast.walk(parsed(source)):
        for each in assigned(node):
            if not isinstance(each, ast.Attribute):
                continue
            owner = each.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            name = ast.unparse(owner).rsplit(".", 1)[-1].lower()
            if name.endswith(COLLABORATORS):
                found.append((node.lineno, ast.unparse(each)))
    return sorted(found)


@functools.cache  # one walk of the package a worker: the source is fixed
def everyWrite():
    found = {}
    for module, tree in packageTrees().items():
        for line, target in writes(tree):
            found.setdefault(f"{module}: {target}", []).append(line)
    return found


class HookTests(SynchronousTestCase):
    def test_noCollaboratorWrittenFromOutside(self):
        unlisted = {where: lines for where, lines in everyWrite().items()
                    if where not in ALLOWED and where not in NOT_YET}
        self.assertEqual(unlisted, {}, "a collaborator's state written from outside: "
                         "give it a method, or publish an event")

    def test_eachListedStillThere(self):
        """A write gone leaves its list: NOT_YET only shrinks."""
        self.assertEqual(sorted((set(ALLOWED) | set(NOT_YET)) - set(everyWrite())), [])

    def test_findsEachKind(self):
        """Another object's attribute, through a chain or a name; not
        self's own, not a record's of its own, nor a name's."""
        source = '''
def f(self, node, dialer, held):
    node.host = "h"
    self.node.relay = "r"
    self.node.dialer.udpPunching = self
    dialer.candidates = ()
    self.host = "h"
    held.at = 1
    relay = None
    node.reach, self.x = 1, 2
    self.punching.wait += 1
'''
        self.assertEqual(writes(source), [
            (3, "node.host"), (4, "self.node.relay"), (5, "self.node.dialer.udpPunching"),
            (6, "dialer.candidates"), (10, "node.reach"), (11, "self.punching.wait")])
