"""
Tests for L{twisted_bazaar.cli.arguments}: ``bazaar --help`` and its
commands' help, and a refused command line, answered without importing
the node (issue 83: 1.6 s for ``bazaar --help``, 1.4 s of it imports).

Each check runs a fresh interpreter, which imports the console script's
module as setup.py names it, so that an entry point moved back onto the
commands' module (L{twisted_bazaar.cli.bazaar}) fails here too; no
check times anything.
"""

import json
import pathlib
import re
import signal
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase


ROOT = pathlib.Path(__file__).resolve().parents[2]

#: bazaar's commands (L{test_theCommandsAreTheParsers}).
COMMANDS = ("status", "list", "node", "buy", "restock", "web")

#: Modules a command line's help needs none of: the commands, the node,
#: the roles, the status client, QUIC, the cryptography, Twisted at all.
HEAVY = ("twisted", "twisted_bazaar.cli.bazaar", "twisted_bazaar.cli.buy",
         "twisted_bazaar.core", "twisted_bazaar.roles", "twisted_bazaar.daemon",
         "twisted_bazaar.tracker", "twisted_bazaar.status", "twisted_bazaar.store",
         "twisted_bazaar.identity", "qh3", "cryptography", "OpenSSL")

#: Run in the fresh interpreter: the entry point's function given each
#: command line, then the heavy modules loaded, as JSON.
PROBE = """
import contextlib, importlib, io, json, sys
module, function, heavy, lines = json.loads(sys.argv[1])
main = getattr(importlib.import_module(module), function)
codes = []
for words in lines:
    with contextlib.redirect_stdout(io.StringIO()), \\
            contextlib.redirect_stderr(io.StringIO()):
        try:
            codes.append(main(words))
        except SystemExit as e:
            codes.append(e.code)
loaded = sorted(name for name in sys.modules
                if any(name == each or name.startswith(each + ".") for each in heavy))
print(json.dumps({"codes": codes, "loaded": loaded}))
"""


def entryPoint(script):
    """The module and function setup.py makes ``script`` of."""
    found = re.search(rf'"{re.escape(script)} = ([\w.]+):(\w+)"',
                      (ROOT / "setup.py").read_text())
    return found.group(1), found.group(2)


def probe(script, lines):
    """Run ``script``'s entry point on each of ``lines`` in a fresh
    interpreter: (exit codes, heavy modules it loaded)."""
    module, function = entryPoint(script)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([module, function, HEAVY, lines])],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    answer = json.loads(done.stdout)
    return answer["codes"], answer["loaded"]


class LightHelpTests(SynchronousTestCase):
    def test_helpImportsNoNode(self):
        """`bazaar --help`, each `bazaar COMMAND --help` but buy's, and a command
        line refused before a type needs more (no command, a command
        mistyped, an option unknown, --data-dir first) load none of the
        commands, the node, the roles, Twisted or the cryptography."""
        helped = [name for name in COMMANDS if name != "buy"]
        lines = [["--help"], ["-h"]] + [[name, "--help"] for name in helped]
        lines += [[], ["statsu"], ["status", "--jsn"], ["--data-dir", "D", "status"],
                  ["--json", "bogus"], ["--timeout", "0", "status"]]
        codes, loaded = probe("bazaar", lines)
        self.assertEqual(codes, [0] * (2 + len(helped)) + [2] * 6)
        self.assertEqual(loaded, [])

    def test_buyHelpLoadsTheTransports(self):
        """`bazaar buy --help` is the one help that loads plugins: it lists
        each installed transport's node options as the plugin declares
        them (issue 96), which a text of its own would let go stale."""
        codes, loaded = probe("bazaar", [["buy", "--help"]])
        self.assertEqual(codes, [0])
        self.assertIn("twisted_bazaar.daemon.registry", loaded)

    def test_ledgerHelpImportsNoStore(self):
        """`bazaar-ledger --help` loads neither the store nor Twisted."""
        codes, loaded = probe("bazaar-ledger", [["--help"], ["--jsn"]])
        self.assertEqual(codes, [0, 2])
        self.assertEqual(loaded, [])

    def test_theCommandsAreTheParsers(self):
        """The names the parser takes are the commands bazaar runs."""
        from twisted_bazaar.cli import arguments, bazaar

        self.assertEqual(arguments.COMMAND_NAMES, COMMANDS)
        self.assertEqual(sorted(arguments.COMMAND_NAMES), sorted(bazaar.COMMANDS))
        self.assertEqual(sorted(arguments.TIMEOUTS), sorted(bazaar.COMMANDS))

    def test_entryPoints(self):
        """The console scripts are the light modules' mains."""
        self.assertEqual(entryPoint("bazaar"), ("twisted_bazaar.cli.arguments", "main"))
        self.assertEqual(entryPoint("bazaar-ledger"), ("twisted_bazaar.cli.ledger", "main"))


class InterruptedAsItLoadsTests(SynchronousTestCase):
    def run_(self, words):
        import io

        from twisted_bazaar.cli import arguments

        def loading(words):
            raise KeyboardInterrupt()

        self.patch(arguments, "parse", loading)
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        return arguments.main(words), out.getvalue(), err.getvalue()

    def test_ctrlCAsTheCommandLoadsSaysOneLine(self):
        """Ctrl-C while the command line is read and the command loads
        (half a second on a busy machine, before its reactor takes the
        signal) ends it with the line and status of one once it runs,
        not a traceback."""
        self.assertEqual(self.run_(["status"]),
                         (130, "", "bazaar: error: interrupted by SIGINT\n"))

    def test_ctrlCAsAServersWordsAreReadEndsIt(self):
        """``bazaar web`` stopped by Ctrl-C as its words are read (its
        ``--help``: Ctrl-C, exit 0) exited 130 with an error; the signal
        now comes once they are read, and ends the server as it should."""
        import io

        from twisted_bazaar.cli import arguments

        reading = arguments.parse

        def interrupted(words):
            signal.raise_signal(signal.SIGINT)
            return reading(words)

        self.patch(arguments, "parse", interrupted)
        # As in the command's own process (the test run has its own).
        self.addCleanup(signal.signal, signal.SIGINT,
                        signal.signal(signal.SIGINT, signal.default_int_handler))
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        self.assertEqual((arguments.main(["--json", "web"]), json.loads(out.getvalue()),
                          err.getvalue()), (0, {"listened": None, "operator": None}, ""))

    def test_ctrlCAsTheCommandLoadsWithJSON(self):
        status, out, err = self.run_(["--json", "status"])
        self.assertEqual((status, json.loads(out), err),
                         (130, {"error": "interrupted by SIGINT"},
                          "bazaar: error: interrupted by SIGINT\n"))
