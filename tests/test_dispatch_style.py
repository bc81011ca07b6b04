"""
One way a message goes to its handler (docs/architecture.md, "Taking a
message"): a table from message class to a function, declared once in the
class that takes it (L{twisted_bazaar.net.handlers}), on a node's links,
its tracker session and in the tracker.  These read the product's source
(ast) for the two other ways there were: an ``if``/``elif`` chain on a
message's type, and a table from message class to the name of a method,
looked up with C{getattr}; and, spread wider, a class (or function)
that tests one subject's type against message classes in two conditions
or more, in a chain or apart (L{sequentialTypeTests}).
"""

import functools
import ast

from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from twisted_bazaar.wire.codec import Message
from tests.helpers import parsed
from tests.packagesource import packageTrees


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
    a message's type in source (text or its tree)."""
    tree = parsed(source)
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


def _classesNamed(node):
    """The names of the classes an expression names: C{X}, C{wire.X}, or
    a tuple of them."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [name for each in node.elts for name in _classesNamed(each)]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Name):
        return [node.id]
    return []


def _testedAgainstMessages(test, kinds, messages):
    """The subjects (their text) whose type test compares with a message
    class, either way: C{type(m) is (not) X}, C{type(m) (not) in (X, Y)},
    C{kind is X} (kind bound to C{type(m)}), C{(not) isinstance(m, X)}."""
    if isinstance(test, ast.BoolOp):
        return set().union(*(_testedAgainstMessages(value, kinds, messages)
                             for value in test.values))
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _testedAgainstMessages(test.operand, kinds, messages)
    if (isinstance(test, ast.Call) and isinstance(test.func, ast.Name)
            and test.func.id == "isinstance" and len(test.args) == 2):
        if set(_classesNamed(test.args[1])) & messages:
            return {ast.unparse(test.args[0])}
        return set()
    if not isinstance(test, ast.Compare) or not any(
            set(_classesNamed(each)) & messages for each in test.comparators):
        return set()
    left = test.left
    if (isinstance(left, ast.Call) and isinstance(left.func, ast.Name)
            and left.func.id == "type" and left.args):
        return {ast.unparse(left.args[0])}
    if isinstance(left, ast.Name) and left.id in kinds:
        return {kinds[left.id]}
    return set()


def _withItsMethods(unit):
    """The nodes of a class with its methods' (not a nested class's), or
    of a function."""
    todo = list(ast.iter_child_nodes(unit))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))


def sequentialTypeTests(source, messages):
    """
    (class or function, subject) of every class (its methods together)
    or function of a module's top level that tests the type of one
    subject against message classes (C{messages}: their names) in two
    conditions or more (C{if}, C{elif}, a conditional expression), one
    after another or apart: a dispatch on the message's type spread over
    tests, where a table from class to function says it once.  A test of
    a value's type against a builtin (C{type(v) is str}) is no dispatch.
    """
    tree = parsed(source)
    units = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    units += [node for node in tree.body
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    found = []
    for unit in units:
        nodes = list(_withItsMethods(unit))
        kinds = {target.id: ast.unparse(node.value.args[0]) for node in nodes
                 if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                 and isinstance(node.value.func, ast.Name)
                 and node.value.func.id == "type" and node.value.args
                 for target in node.targets if isinstance(target, ast.Name)}
        tests = {}
        for node in nodes:
            if isinstance(node, (ast.If, ast.IfExp)):
                for subject in _testedAgainstMessages(node.test, kinds, messages):
                    tests[subject] = tests.get(subject, 0) + 1
        found += [(unit.name, subject) for subject, count in tests.items() if count >= 2]
    return sorted(found)


def methodNameTables(source, messages):
    """(line, text) of every dict literal from message classes to strings
    (the names of methods, looked up with C{getattr}) in source."""
    found = []
    for node in ast.walk(parsed(source)):
        if not isinstance(node, ast.Dict) or not node.keys:
            continue
        keys = [key.attr if isinstance(key, ast.Attribute) else getattr(key, "id", None)
                for key in node.keys]
        if (all(key in messages for key in keys)
                and all(isinstance(value, ast.Constant) and isinstance(value.value, str)
                        for value in node.values)):
            found.append((node.lineno, ast.unparse(node)[:60]))
    return found


@functools.cache  # one walk of the package a worker: the source is fixed
def survey():
    """module path -> its L{typeChains}, L{sequentialTypeTests} and
    L{methodNameTables}."""
    messages = _messageNames()
    return {module: (typeChains(tree), tuple(sequentialTypeTests(tree, messages)),
                     methodNameTables(tree, messages))
            for module, tree in packageTrees().items()}


def sequentialFound():
    """module -> its L{sequentialTypeTests}, for each module with any."""
    return {module: tests for module, (_, tests, _) in survey().items() if tests}


#: module -> the (class, subject) that still dispatch on a message's type
#: by sequential tests (L{sequentialTypeTests}).  Empty: the last, the
#: transfer's client and server, dispatch through tables now.  A list
#: that only shrinks, and stays exact.
NOT_YET = {}


class DispatchStyleTests(SynchronousTestCase):

    def test_noChainOnTheMessageType(self):
        found = {module: chains for module, (chains, _, _) in survey().items() if chains}
        self.assertEqual(found, {})

    def test_noSequentialTypeTests(self):
        found = sequentialFound()
        unlisted = {module: sorted(set(tests) - set(NOT_YET.get(module, ())))
                    for module, tests in found.items()}
        self.assertEqual({module: tests for module, tests in unlisted.items() if tests},
                         {})

    def test_eachListedStillThere(self):
        """A dispatch gone leaves L{NOT_YET}: it only shrinks."""
        found = sequentialFound()
        self.assertEqual({module: tests for module, tests in NOT_YET.items()
                          if set(tests) - set(found.get(module, ()))}, {})

    def test_findsSequentialTests(self):
        """What the transfer's server has (files/server.py at 50ec33a9):
        a request's type tested in two methods, once ``is`` and once
        ``not in``; and a chord holder's, bound to a name first."""
        source = (
            "class Server:\n"
            "    def dataReceived(self, data):\n"
            "        request = decode(data)\n"
            "        if type(request) is Cipher:\n"
            "            return\n"
            "        if type(request) not in (Head, Get):\n"
            "            return\n"
            "    def _next(self, request):\n"
            "        if not isinstance(request, Head):\n"
            "            pass\n"
            "def serve(request):\n"
            "    kind = type(request)\n"
            "    if kind is Find:\n"
            "        return 1\n"
            "    return 2 if kind is Ask else 3\n")
        self.assertEqual(sequentialTypeTests(source, {"Cipher", "Head", "Get", "Find", "Ask"}),
                         [("Server", "request"), ("serve", "request")])

    def test_oneTestOrAValueIsNoDispatch(self):
        """One test of a message's type, or any of a value's type against
        builtins, or of two subjects once each."""
        source = (
            "def shown(value, message, other):\n"
            "    if type(value) is str:\n"
            "        pass\n"
            "    if type(value) is int:\n"
            "        pass\n"
            "    if type(message) is Head:\n"
            "        pass\n"
            "    if isinstance(other, Head):\n"
            "        pass\n")
        self.assertEqual(sequentialTypeTests(source, {"Head"}), [])

    def test_noTableOfMethodNames(self):
        found = {module: tables for module, (_, _, tables) in survey().items() if tables}
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
