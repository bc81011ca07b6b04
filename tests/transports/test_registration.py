"""
A transport plugged in as one package and its registration (issue 81,
"a new transport: one new package plus at most 2 existing modules"):
no module of the program outside a transport plugin's package names
that transport (its package, its kind, its options, its endpoint kind),
but the registration lines listed here; the daemons read what it brings
from its plugin (L{twisted_bazaar.transports.plugin.ITransportPlugin}).
"""

import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.daemon.registry import transportPlugins
from twisted_bazaar.transports.path import KINDS
from twisted_bazaar.transports.plugin import ITransportPlugin

ROOT = Path(__file__).resolve().parents[2]
#: Where the program's modules are: the package, and its twistd and
#: endpoint plugins for Twisted.
SOURCES = (ROOT / "twisted_bazaar", ROOT / "twisted" / "plugins")
#: Modules outside a transport's package that may name it, each with why:
#: its registration, with the daemons and with Twisted.
ALLOWED = {
    "twisted_bazaar/plugins/bazaar_websocket.py": "the daemons find the WebSocket "
    "transport's plugin by this line",
    "twisted/plugins/bazaar_websocket.py": "Twisted finds the ws: endpoint strings' "
    "parsers by these lines (clientFromString, serverFromString)",
}


def packageOf(plugin):
    """The package of a transport plugin: the folder its class's module is
    in, from the repository's root."""
    module = type(plugin).__module__.split(".")
    return Path(*module[:-1])


def wordsOf(plugin):
    """What names a transport plugin's transport, as a pattern: its
    package's name, its kinds of path, its options and its endpoint kinds
    (``ws:``, or ``"ws"`` alone)."""
    package = packageOf(plugin).name
    kinds = [kind for kind in KINDS if kind == package]
    options = {option.name for option in (*plugin.nodeOptions, *plugin.trackerOptions)}
    words = [re.escape(word) for word in {package, *kinds, *options}]
    for kind in plugin.trackerKinds:
        words += [rf"(?<![\w-]){re.escape(kind)}:", rf"[\"']{re.escape(kind)}[\"']"]
    return re.compile("|".join(words), re.IGNORECASE)


def naming(plugin, sources=SOURCES):
    """The modules outside plugin's package that name its transport:
    (path from the root, line number, line)."""
    package = ROOT / packageOf(plugin)
    words = wordsOf(plugin)
    for source in sources:
        for path in sorted(source.rglob("*.py")):
            if package in path.parents:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if words.search(line):
                    yield str(path.relative_to(ROOT)), number, line.strip()


class RegistrationTests(SynchronousTestCase):

    def setUp(self):
        self.plugins = list(transportPlugins().values())

    def test_theTransportsArePlugins(self):
        """WebSocket, the worked example, is found as a plugin, and each
        plugin provides the interface."""
        self.assertIn("WebSocket", [plugin.name for plugin in self.plugins])
        for plugin in self.plugins:
            self.assertTrue(verifyObject(ITransportPlugin, plugin))

    def test_namedOnlyInItsPackageAndItsRegistration(self):
        for plugin in self.plugins:
            found = [f"{path}:{number}: {line}" for path, number, line in naming(plugin)
                     if path not in ALLOWED]
            if found:
                self.fail(f"{plugin.name} named outside {packageOf(plugin)} (read what "
                          "it brings from its plugin):\n" + "\n".join(found))

    def test_eachAllowedModuleIsARegistration(self):
        """The allowed modules do name it (the list does not go stale)."""
        named = {path for plugin in self.plugins for path, _, _ in naming(plugin)}
        self.assertEqual(set(ALLOWED), named)

    def test_aModuleNamingItIsFound(self):
        """The check sees a transport named by its kind, an option or an
        endpoint string, and not a word that merely contains one."""
        [plugin] = [plugin for plugin in self.plugins if plugin.name == "WebSocket"]
        words = wordsOf(plugin)
        for line in ('from twisted_bazaar.transports.websocket import WEBSOCKET',
                     'options["ws-port"]', 'ENDPOINT_KINDS = ("tcp", "unix", "ws")',
                     '"--tracker ws:HOST:PORT"'):
            self.assertIsNotNone(words.search(line), line)
        for line in ("news: 3 lines", "rows:", "draws"):
            self.assertIsNone(words.search(line), line)
