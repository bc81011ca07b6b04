"""
One way a message goes to its handler (docs/architecture.md, "Taking a
message"): a table from message class to a function, declared once in the
class that takes it (L{twisted_bazaar.net.handlers}), on a node's links,
its tracker session and in the tracker.  These read the product's source
(ast) for the two other ways there were: an ``if``/``elif`` chain on a
message's type, and a table from message class to the name of a method,
looked up with C{getattr}.
"""

import ast
import pathlib

from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from twisted_bazaar.wire.codec import Message

PACKAGE = pathlib.Path(twisted_bazaar.__file__).parent


def _messageNames():
    """The names of every message class the product defines (imported, so
    that each module's are made)."""
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(twisted_bazaar.__path__, "twisted_bazaar."):
        if ".sim." in info.name + "." or info.name.startswith("twisted_bazaar.cli"):
            continue
        importlib.import_module(info.name)
    names, todo = set(), [Message]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            names.add(sub.__name__)
            todo.append(sub)
    return names


def _typeOf(test, kinds):
    """Whether test compares a message's type: C{type(m) is X},
    C{kind is X} (kind a name bound to C{type(m)}), or
    C{isinstance(m, X)}."""
    if isinstance(test, ast.BoolOp):
        return any(_typeOf(value, kinds) for value in test.values)
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name):
        return test.func.id == "isinstance"
    if not isinstance(test, ast.Compare) or not isinstance(test.ops[0], (ast.Is, ast.Eq)):
        return False
    left = test.left
    if isinstance(left, ast.Call) and isinstance(left.func, ast.Name):
        return left.func.id == "type"
    return isinstance(left, ast.Name) and left.id in kinds


def typeChains(source):
    """(line, text) of every ``if``/``elif`` chain of two or more tests of
    a message's type in source."""
    tree = ast.parse(source)
    kinds = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
             and isinstance(node.value, ast.Call)
             and isinstance(node.value.func, ast.Name) and node.value.func.id == "type"
             for target in node.targets if isinstance(target, ast.Name)}
    found, inner = [], set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.If) or id(node) in inner:
            continue
        tests, branch = 0, node
        while True:
            tests += _typeOf(branch.test, kinds)
            if len(branch.orelse) != 1 or not isinstance(branch.orelse[0], ast.If):
                break
            branch = branch.orelse[0]
            inner.add(id(branch))
        if tests >= 2:
            found.append((node.lineno, ast.unparse(node.test)))
    return found


def methodNameTables(source, messages):
    """(line, text) of every dict literal from message classes to strings
    (the names of methods, looked up with C{getattr}) in source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Dict) or not node.keys:
            continue
        keys = [key.attr if isinstance(key, ast.Attribute) else getattr(key, "id", None)
                for key in node.keys]
        if (all(key in messages for key in keys)
                and all(isinstance(value, ast.Constant) and isinstance(value.value, str)
                        for value in node.values)):
            found.append((node.lineno, ast.unparse(node)[:60]))
    return found


def product():
    """(module path, source) of every product module but the simulator's
    adversaries and the command line (neither takes a peer's message)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        yield str(path.relative_to(PACKAGE)), path.read_text()


class DispatchStyleTests(SynchronousTestCase):

    def test_noChainOnTheMessageType(self):
        found = {module: chains for module, source in product()
                 if (chains := typeChains(source))}
        self.assertEqual(found, {})

    def test_noTableOfMethodNames(self):
        messages = _messageNames()
        found = {module: tables for module, source in product()
                 if (tables := methodNameTables(source, messages))}
        self.assertEqual(found, {})

    def test_findsAChain(self):
        """What the tracker had (tracker/service.py at 94994027)."""
        source = (
            "def messageReceived(self, link, message):\n"
            "    kind = type(message)\n"
            "    if kind is wire.Error:\n"
            "        pass\n"
            "    elif link.peer_id is None:\n"
            "        pass\n"
            "    elif kind is wire.NodeReq:\n"
            "        pass\n")
        self.assertEqual(typeChains(source), [(3, "kind is wire.Error")])
        self.assertEqual(typeChains("if isinstance(m, A):\n    pass\n"
                                    "elif isinstance(m, B):\n    pass\n"),
                         [(1, "isinstance(m, A)")])

    def test_oneTestIsNoChain(self):
        self.assertEqual(typeChains("if type(m) is A:\n    pass\nelse:\n    pass\n"), [])

    def test_findsATableOfMethodNames(self):
        """What the tracker session had (core/membership.py at 94994027)."""
        source = '_INTRODUCING = {wire.ThisIsYou: "_named", wire.Error: "_said"}\n'
        self.assertEqual(methodNameTables(source, {"ThisIsYou", "Error"}),
                         [(1, "{wire.ThisIsYou: '_named', wire.Error: '_said'}")])
