"""
Parts own their state (issue 92, item 4): what a class keeps is written
and read in one module, and no module reaches into another object's
private attributes.  With L{tests.test_class_coupling} (how far a class
reaches through others), this is what replaced a count of lines a
class: eight classes had been split into mixins of one object as they
neared 400 lines, each mixin in a module of its own writing the
object's private state (C{UdpPunching}'s 20 attributes, 18 used in
more than one file).  One object over many files is harder to read than
one file; a part that owns its state and talks through a narrow
interface (L{twisted_bazaar.net.keepalive.Keepalive}) is easier than
either.

Read from the source (ast), for every class at the top of a module of
the product:
  1. One module for each private name of an object: the private names
     (C{_x}, not C{__x}) a class uses on C{self} or C{cls}, read or
     written, and the private methods and class attributes it defines,
     of the class and of each product class in its MRO, are each used in
     one module only.  A mixin in a module of its own that uses the
     object's state (or is used by it: a private method called from the
     other module) breaks it; so does a subclass elsewhere reading its
     base's private state.  What a part of the object needs of another
     goes through a name of the interface between them.
  2. No module reaches into another object's private attributes: a
     chain C{x._y} from any name but C{self}, C{cls} or a module the
     module imports, where C{_y} is no private name the module's own
     classes use on themselves or define (an object of the module's
     own class, another instance, is its own).

L{LISTED} (rule 1, by class) and L{REACHING} (rule 2, by module, each
chain) are the exceptions, each with why and the issue that removes it.
A listed class that no longer shares a private name across modules, or a
listed chain no longer there, fails: the lists only shrink.
"""

import functools
import ast
import importlib
import pkgutil

from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar

from tests.packagesource import dottedName, packageTrees

_ISSUE_92_REACH = ("reworked in reach/ by another change this session (issue 92 items "
                   "1-2: paths as data, the dialer built with its collaborators)")
_ISSUE_84_SIM = ("reworked in sim/ by another change this session (issue 84's shards; "
                 "issue 92 item 4)")

#: module.Class -> why its private names are used in more than one
#: module, and the change that ends it.
LISTED = {
    "twisted_bazaar.reach.book.PathBook":
        "its mixin BookAccount uses _peers, _write and _drop: " + _ISSUE_92_REACH,
}

#: module (under twisted_bazaar/) -> the chains into another object's
#: private attributes it still has, exactly; why, and what ends it.
REACHING = {
    # A library's objects, with no public way to what is read.
    "base/childprocess.py": ("pipe._tempDataLen",),
    "cli/chordsim.py": ("p._actions",),
    "cli/sweepgrid.py": ("parser._option_string_actions",),
    "base/usage.py": ("command._option_string_actions", "parser._actions"),
    "net/sendnow.py": ("transport._tempDataLen", "transport._writeDisconnected"),
    "reach/reachable/portmap/http.py": ("pool._factory",),
    "transports/quic/stack.py": ("bridge.tls._supported_groups",),
    # The deadlines own a resident's (a link's Keepalive's) one slot,
    # _due, while it waits, and run its _expire: a protocol both modules
    # state (net/timers.py, net/keepalive.py), so that a simulation holds
    # no deadline object a link end; due: a public name for the two.
    "net/timers.py": ("entry._due", "entry._expire", "resident._due"),
    # _ISSUE_84_SIM: a shard reaches into the memory network's ends and
    # the clock's calls.
    "sim/shardclock.py": ("call._state",),
}

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def privatesOf(classNode):
    """The private names a class uses on C{self} or C{cls} (read or
    written) and the private methods and class attributes it defines."""
    names = set()
    for node in ast.walk(classNode):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls") and _private(node.attr)):
            names.add(node.attr)
    for node in classNode.body:
        if isinstance(node, _FUNCTIONS) and _private(node.name):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets
                         if isinstance(target, ast.Name) and _private(target.id))
    return names


def shared(family):
    """private name -> the modules that use it, for those used in more
    than one, of an object's classes (a list of (module, ClassDef))."""
    where = {}
    for module, classNode in family:
        for name in privatesOf(classNode):
            where.setdefault(name, set()).add(module)
    return {name: sorted(modules) for name, modules in where.items() if len(modules) > 1}


def _trees():
    """module path (under twisted_bazaar/) -> (dotted name, its ast)."""
    return {module: (dottedName(module), tree) for module, tree in packageTrees().items()}


def families(trees):
    """module.Class -> [(module path, ClassDef)] of the class and every
    product class in its MRO, for each class at the top of a module of
    trees (L{_trees})."""
    defs = {}
    for path, (dotted, tree) in trees.items():
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                defs[f"{dotted}.{node.name}"] = (path, node)
    for info in pkgutil.walk_packages(twisted_bazaar.__path__, "twisted_bazaar."):
        importlib.import_module(info.name)
    found = {}
    for name in defs:
        module, _, className = name.rpartition(".")
        cls = getattr(importlib.import_module(module), className, None)
        if isinstance(cls, type):
            found[name] = [defs[key] for key in
                           (f"{k.__module__}.{k.__qualname__}" for k in cls.__mro__)
                           if key in defs]
    return found


def reachesInto(tree):
    """The chains of a module into another object's private attributes
    (rule 2 of the module's docstring), as text, sorted, each once."""
    own, imported = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            own |= privatesOf(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imported.update((alias.asname or alias.name).split(".")[0]
                            for alias in node.names)
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        value = node.value
        if isinstance(value, ast.Name) and value.id in ({"self", "cls"} | imported):
            continue
        if node.attr not in own:
            found.add(ast.unparse(node))
    return sorted(found)


@functools.cache  # one walk of the package a worker: the source is fixed
def survey():
    """
    From one parse of the package (each parse 1.2 CPU-s or more): module.Class
    -> L{shared} of its family (L{families}), and module path -> the
    chains it reaches into others' privates through (L{reachesInto}),
    each that has any.  The names, not the trees, kept.
    """
    trees = _trees()
    return ({name: shared(family) for name, family in families(trees).items()},
            {path: tuple(chains) for path, (_, tree) in trees.items()
             if (chains := reachesInto(tree))})


def sharing():
    """L{survey}'s shares of each class."""
    return survey()[0]


class PartsOwnStateTests(SynchronousTestCase):

    def test_eachPrivateNameInOneModule(self):
        found = {name: shares for name, shares in sharing().items()
                 if shares and name not in LISTED}
        self.assertEqual(found, {})

    def test_noStaleListing(self):
        """A listed class still shares a private name across modules."""
        known = sharing()
        self.assertEqual(sorted(name for name in LISTED
                                if name not in known or not known[name]), [])

    def test_noReachIntoAnothersPrivates(self):
        """Exactly the chains listed, no more (a new one fails) and no
        fewer (one gone leaves the list)."""
        self.assertEqual(survey()[1], REACHING)

    def test_aMixinSharingStateIsFound(self):
        """A mixin writing its object's state, or calling its private
        method, from a module of its own is found; names used in one
        module, and a mixin talking through public names, are not."""
        table = ast.parse('''
class Table(Opening):
    def __init__(self):
        self._punched = None
        self._closed = []
        self.links = {}
    def _checkClosed(self):
        return not self.links and self._closed
''').body[0]
        opening = ast.parse('''
class Opening:
    _tries = 3
    def punchedLink(self, shared):
        if self._punched is None:
            self._punched = set()
        self._checkClosed()
        self.links[shared] = self._tries
''').body[0]
        self.assertEqual(shared([("net/table.py", table), ("net/opening.py", opening)]),
                         {"_punched": ["net/opening.py", "net/table.py"],
                          "_checkClosed": ["net/opening.py", "net/table.py"]})
        self.assertEqual(shared([("net/table.py", table)]), {})

    def test_aReachIntoAnothersPrivatesIsFound(self):
        """Into an argument's, a collaborator's: found; into self's, a
        module's, or another instance of the module's own class: not."""
        tree = ast.parse('''
import wire
class Link:
    def __init__(self):
        self._seldom = None
    def give(self, victim, other):
        victim._seldom = None
        other._partial = None
        self.owner._links.pop(self)
        wire._OWN.get(1)
''')
        self.assertEqual(reachesInto(tree), ["other._partial", "self.owner._links"])
