"""
The layers of ``.importlinter`` hold, and a wrong-way import breaks them.

``make test`` runs ``lint-imports`` before the suite; these tests run it
on the tree as it is and on a copy with one import added against the
layers, so a contract that could never fail would be caught here.
"""

import ast
import graphlib
import os
import shutil
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.packagesource import dottedName, packageTrees

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINT = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def lint(tree):
    """Run lint-imports on the twisted_bazaar package under ``tree``:
    (exit code, output)."""
    env = dict(os.environ, PYTHONPATH=tree)
    done = subprocess.run([LINT, "--no-cache", "--config", os.path.join(tree, ".importlinter")],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout + done.stderr


class LayerContractTests(SynchronousTestCase):
    def setUp(self):
        if not os.path.exists(LINT):
            self.skipTest(f"lint-imports is not installed beside {sys.executable}")
        self.tree = tempfile.mkdtemp(prefix="bazaar-layers-")
        self.addCleanup(shutil.rmtree, self.tree)
        shutil.copytree(os.path.join(ROOT, "twisted_bazaar"),
                        os.path.join(self.tree, "twisted_bazaar"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(os.path.join(ROOT, ".importlinter"), self.tree)

    def addImport(self, module, line):
        path = os.path.join(self.tree, *module.split(".")) + ".py"
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n" + line + "\n")

    def test_theTreeKeepsEveryContract(self):
        code, output = lint(self.tree)
        self.assertEqual(code, 0, output)
        self.assertIn("0 broken", output)

    def test_aLowerLayerImportingAHigherOneFails(self):
        """The wire format importing a role is refused, naming the import."""
        self.addImport("twisted_bazaar.wire.core", "import twisted_bazaar.roles.buyer  # noqa")
        code, output = lint(self.tree)
        self.assertNotEqual(code, 0, output)
        self.assertIn("twisted_bazaar.wire is not allowed to import twisted_bazaar.roles",
                      output)

    def test_rolesAndSchemesDoNotMeet(self):
        """Roles and schemes are siblings: neither may import the other."""
        self.addImport("twisted_bazaar.roles.want", "import twisted_bazaar.schemes.flood  # noqa")
        code, output = lint(self.tree)
        self.assertNotEqual(code, 0, output)
        self.assertIn("twisted_bazaar.roles is not allowed to import twisted_bazaar.schemes",
                      output)

    def test_viewsDoNotImportTheCommandLine(self):
        self.addImport("twisted_bazaar.web.view", "import twisted_bazaar.cli.bazaar  # noqa")
        code, output = lint(self.tree)
        self.assertNotEqual(code, 0, output)
        self.assertIn("twisted_bazaar.web is not allowed to import twisted_bazaar.cli", output)

    def test_daemonsCannotReachFastSignatures(self):
        """The simulator's fast signatures (twisted_bazaar.sim.crypto) prove
        nothing: a daemon importing them breaks the layers."""
        for daemon in ("twisted_bazaar.tap.node", "twisted_bazaar.daemon.services"):
            self.addImport(daemon, "import twisted_bazaar.sim.crypto  # noqa")
        code, output = lint(self.tree)
        self.assertNotEqual(code, 0, output)
        self.assertIn("twisted_bazaar.tap is not allowed to import twisted_bazaar.sim", output)
        self.assertIn("twisted_bazaar.daemon is not allowed to import twisted_bazaar.sim",
                      output)

    def test_daemonsCannotReachAdversaries(self):
        """The simulator's adversaries (a seller that never sells, a node
        that drops what it relays) are for simulations only: a role
        importing them breaks a contract of their own, as well as the
        layers."""
        self.addImport("twisted_bazaar.roles.seller.role",
                       "import twisted_bazaar.sim.adversaries  # noqa")
        code, output = lint(self.tree)
        self.assertNotEqual(code, 0, output)
        self.assertIn("No daemon reaches the simulator's adversaries BROKEN", output)

    def test_rolesNeverSeeARelayOrAPunch(self):
        """A role reaches a peer through the node's dialer
        (twisted_bazaar.reach.dialer): importing a relay's, a punch's or
        the link table's module (both below the roles in the stack, so
        the layers allow it) breaks a contract of its own."""
        for module in ("twisted_bazaar.reach.punch.tcp.exchange", "twisted_bazaar.net.overlay"):
            self.addImport("twisted_bazaar.roles.files.sellers", f"import {module}  # noqa")
            code, output = lint(self.tree)
            self.assertNotEqual(code, 0, output)
            flat = " ".join(output.split())  # lint-imports wraps at 80 columns
            self.assertIn("never a relay, a punch or the link table BROKEN", flat)
            self.assertIn(f"twisted_bazaar.roles.files.sellers -> {module}", flat)
            self.setUp()


def importGraph():
    """Each module of the twisted_bazaar package -> the modules of the
    package it imports anywhere in it (in a function too)."""
    trees = {dottedName(module): tree for module, tree in packageTrees().items()}
    graph = {}
    for module, tree in trees.items():
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names} & trees.keys()
            elif isinstance(node, ast.ImportFrom) and node.level == 0 \
                    and node.module in trees:
                for alias in node.names:
                    whole = f"{node.module}.{alias.name}"
                    imported.add(whole if whole in trees else node.module)
        graph[module] = imported - {module}
    return graph


class ImportCircleTests(SynchronousTestCase):
    """cli/sim.py imported cli/sweep.py (to run ``bazaar-sim sweep``),
    which imported cli/sim.py and cli/sweepgrid.py, which imported
    cli/sim.py: no module of the package may import itself round about."""

    def test_noCircle(self):
        graph = importGraph()
        self.assertIn("twisted_bazaar.cli.sweep", graph["twisted_bazaar.cli.simcommand"])
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as error:
            self.fail(f"an import circle: {' -> '.join(error.args[1])}")

    def test_aCircleIsFound(self):
        graph = importGraph()
        graph["twisted_bazaar.base.words"].add("twisted_bazaar.cli.sim")
        with self.assertRaises(graphlib.CycleError):
            graphlib.TopologicalSorter(graph).prepare()
