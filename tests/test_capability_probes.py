"""
Capabilities are read through interfaces only (docs/architecture.md,
"Capabilities: interfaces, not attributes"): a name an interface of the
product declares is never probed for with C{getattr(x, "name", ...)} or
C{hasattr(x, "name")}.  A probe finds whatever an object, or a wrapper
forwarding every attribute, happens to have: it took a channel's
C{writeLater} through a relay's circuit, and read a connector's
C{addressed} as false for a connector that never said.  This reads the
product's source (ast) for every such probe, and fails on any not in
L{ALLOWED}, each with the reason the object probed is no provider of the
interface that declares the name.
"""

import functools
import ast
import importlib
import pkgutil

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.interface import InterfaceClass

import twisted_bazaar

from tests.helpers import parsed
from tests.packagesource import packageTrees

#: Names an interface of the product declares that are also an address's
#: (Twisted's C{IAddress} providers: an IPv4 address has a host and a
#: port, a UNIX socket's has neither), probed on addresses alone.
ADDRESS_NAMES = {"host", "port"}

#: module: the name probed -> why the object probed provides no interface
#: that declares it.
ALLOWED = {
    "cli/bazaar.py: discovery":
        "the command line's parsed arguments (argparse), no node",
    "core/market.py: describe":
        "IShop declares describe() optional (a shop of an older kind has "
        "none): its one reader, fileDescription, says so",
    "metrics/tracker.py: relay":
        "the tracker (tracker/service.py), which is no INode: its relay is "
        "None or its Relay",
}


def declaredNames():
    """name -> the product's interfaces that declare it."""
    names = {}
    for info in pkgutil.walk_packages(twisted_bazaar.__path__, "twisted_bazaar."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, InterfaceClass) and value.__module__ == info.name:
                for name in value.names(all=True):
                    names.setdefault(name, set()).add(value.__name__)
    return names


def probes(source, names):
    """(line, name probed) of every getattr/hasattr in source that reads a
    constant name among ``names``."""
    found = []
    for node in ast.walk(parsed(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in names):
            found.append((node.lineno, node.args[1].value))
    return sorted(found)


@functools.cache  # one walk of the package a worker: the source is fixed
def everyProbe():
    """'module: name' -> the lines, of every probe of a declared name."""
    names = {name: where for name, where in declaredNames().items()
             if name not in ADDRESS_NAMES}
    found = {}
    for module, tree in packageTrees().items():
        for line, name in probes(tree, names):
            found.setdefault(f"{module}: {name}", []).append(line)
    return found


class CapabilityProbeTests(SynchronousTestCase):

    def test_noProbeOfADeclaredName(self):
        found = everyProbe()
        self.assertEqual({key: lines for key, lines in found.items()
                          if key not in ALLOWED}, {})

    def test_noStaleEntries(self):
        self.assertEqual(set(ALLOWED) - set(everyProbe()), set())

    def test_findsAProbe(self):
        """What the link's writing and the dialer had (94994027)."""
        source = ('getattr(self.transport, "writeLater", self.transport.write)(data)\n'
                  'if getattr(connector, "addressed", False):\n    pass\n'
                  'getattr(shop, "stock", None)\n')
        self.assertEqual(probes(source, {"writeLater", "addressed"}),
                         [(1, "writeLater"), (2, "addressed")])

    def test_theCapabilitiesAreDeclared(self):
        """The names the probes read before are declared, so the test above
        looks for them."""
        names = declaredNames()
        self.assertIn("IHeldWrites", names["writeLater"])
        self.assertIn("IConnector", names["addressed"])
        self.assertEqual(names["channelUp"], {"IChannelUp", "IChannelProtocol"})

    def test_findsTheChannelUpProbes(self):
        """What the link and the channel had (12ce7607): a status client's
        link told its owner the channel was up, and the channel its
        protocol, each if it had a channelUp."""
        source = ('up = getattr(self._context.owner, "channelUp", None)\n'
                  'up = getattr(self.wrapped, "channelUp", None)\n')
        self.assertEqual(probes(source, declaredNames()),
                         [(1, "channelUp"), (2, "channelUp")])
