"""
Tests for twisted_bazaar.config: ``--config FILE`` for both daemons.

The file's keys are the long option names, arrays stand for repeatable
options and booleans for flags; the command line wins; anything the file
gets wrong is a usage error that names the file and the key.
"""

import io
import os
import shutil
import sys
import tempfile

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap.config import ConfigError, splitConfig
from twisted_bazaar.tap.node import Options as NodeOptions
from twisted_bazaar.tap.tracker import Options as TrackerOptions
from tests.helpers import failIfHung


class _Twistd(usage.Options):
    """Stands in for twistd's own options, as the parent of a daemon's."""

    optParameters = [["pidfile", None, "twistd.pid", "The pid file."]]


class ConfigCase(SynchronousTestCase):
    def scratch(self, name):
        """A path in a fresh folder that goes away after the test."""
        folder = tempfile.mkdtemp(prefix="bazaar-config-")
        self.addCleanup(shutil.rmtree, folder, True)
        return os.path.join(folder, name)

    def write(self, text, raw=None):
        """A config file holding text (or raw bytes); returns its path."""
        path = self.scratch("bazaar.toml")
        with open(path, "wb") as f:
            f.write(raw if raw is not None else text.encode("utf-8"))
        return path

    def parse(self, text, *args, cls=NodeOptions):
        """Options parsed from a file holding text, then args."""
        options = cls()
        options.parseOptions(["--config", self.write(text), *args])
        return options

    def refused(self, text, *args, cls=NodeOptions):
        """The UsageError text for a file holding text, with the file's
        path shown as FILE."""
        path = self.write(text)
        error = self.assertRaises(usage.UsageError, cls().parseOptions,
                                  ["--config", path, *args])
        return str(error).replace(path, "FILE")


SELLER = 'role = ["seller"]\nsell = ["apple=3"]\n'


def schemeSettings(options):
    """The chosen discovery scheme's name and settings (its options, such
    as the flood scheme's ttl, are not core options any more)."""
    plugin, settings = options.scheme
    return plugin.name, settings
SELLER_ARGS = ["--role", "seller", "--sell", "apple=3"]


class NodeConfigTests(ConfigCase):
    """Every option of bazaar-node can come from the file."""

    def test_everyNodeOption(self):
        data_dir = self.scratch("data")
        options = self.parse(f"""
            tracker = "tcp:10.0.0.1:7701"
            listen = "tcp:4001"
            host = "localhost"
            neighbours = 5
            max-connections = 12
            direct-slots = 3
            direct-idle = 12.5
            handshake-limit = 6
            retry-initial = 0.25
            retry-max = 9
            discovery = "index"
            data-dir = "{data_dir}"
            handshake-timeout = 2.5
            ping-interval = 4
            frame-limit = 2048
            error-limit = 7
            search-rate = 50.5
            ping-rate = 2
            write-limit = 4096
            verbose = true
            role = ["seller", "buyer"]
            sell = ["apple=3", "pear=1"]
            lease = 3
            want = ["fig"]
            quantity = 2
            search-window = 0.5
            buy-timeout = 1.5
            doubt-limit = 30
            exit-when-done = true
        """)
        self.assertEqual(
            {key: options[key] for key in (
                "tracker", "listen", "host", "neighbours", "max-connections",
                "direct-slots", "direct-idle", "handshake-limit", "retry-initial",
                "retry-max", "discovery", "data-dir", "handshake-timeout",
                "ping-interval", "frame-limit", "error-limit", "search-rate",
                "ping-rate", "write-limit", "verbose", "role")},
            {"tracker": ["tcp:10.0.0.1:7701"], "listen": "tcp:4001",
             "host": "localhost", "neighbours": 5, "max-connections": 12,
             "direct-slots": 3, "direct-idle": 12.5, "handshake-limit": 6,
             "retry-initial": 0.25, "retry-max": 9.0,
             "discovery": "index", "data-dir": data_dir,
             "handshake-timeout": 2.5, "ping-interval": 4.0, "frame-limit": 2048,
             "error-limit": 7, "search-rate": 50.5, "ping-rate": 2.0,
             "write-limit": 4096, "verbose": 1, "role": ["seller", "buyer"]})
        self.assertEqual(
            {plugin.name: settings for plugin, settings in options.roles},
            {"seller": {"stock": {"apple": 3, "pear": 1}, "lease": 3.0},
             "buyer": {"wants": ["fig"], "quantity": 2, "search_window": 0.5,
                       "buy_timeout": 1.5, "doubt_limit": 30.0,
                       "exit_when_done": True}})
        self.assertEqual(schemeSettings(options), ("index", {}))

    def test_quicPeers(self):
        """--quic-peer is repeatable: a list in a file; quic-port is read
        as its flag's text (QUIC is on by default), no-quic is a flag."""
        peer = "0123456789abcdef0123456789abcdef"
        options = self.parse(SELLER + 'quic-port = "9443"\n'
                             f'quic-peer = ["{peer}=192.0.2.7:9443", "{peer}=::1:9444"]\n')
        self.assertEqual([(host, port) for _, host, port in options["quic-peer"]],
                         [("192.0.2.7", 9443), ("::1", 9444)])
        self.assertEqual(options["quic-port"], 9443)
        self.assertTrue(self.parse(SELLER + "no-quic = true\n")["no-quic"])

    def test_everyFloodSchemeOption(self):
        """The scheme's own options (ttl was a core option once) are keys
        of the file too."""
        options = self.parse(SELLER + 'discovery = "flood"\nttl = 3\n'
                             "seen-limit = 500\n")
        self.assertEqual(schemeSettings(options),
                         ("flood", {"ttl": 3, "seen_limit": 500}))

    def test_ttlWithTheDefaultScheme(self):
        """No discovery key: the default scheme, flood, takes ttl."""
        options = self.parse(SELLER + "ttl = 3\n")
        self.assertEqual(options["discovery"], "flood")
        self.assertEqual(schemeSettings(options)[1]["ttl"], 3)

    def test_optionOfAnotherSchemeIsRefused(self):
        self.assertEqual(self.refused(SELLER + 'discovery = "index"\nttl = 3\n'),
                         '--config FILE: ttl belongs to the flood scheme; give '
                         'discovery = "flood"')

    def test_fileAndCommandLineCombine(self):
        options = self.parse('neighbours = 6\nsell = ["apple=3"]\n', "--role", "seller",
                             "--ttl", "5")
        self.assertEqual((options["neighbours"], schemeSettings(options)[1]["ttl"]),
                         (6, 5))
        self.assertEqual(options.roles[0][1]["stock"], {"apple": 3})

    def test_falseFlagIsNotSet(self):
        self.assertEqual(self.parse(SELLER + "verbose = false\n")["verbose"], 0)

    def test_configEqualsForm(self):
        options = NodeOptions()
        options.parseOptions([f"--config={self.write(SELLER + 'ttl = 2')}"])
        self.assertEqual(schemeSettings(options), ("flood", {"ttl": 2,
                                                             "seen_limit": 10_000}))

    def test_emptyFileChangesNothing(self):
        options = self.parse("", "--role", "seller", "--sell", "apple=3")
        self.assertEqual((options["neighbours"], options["discovery"]), (3, "flood"))


class TrackerConfigTests(ConfigCase):

    def test_everyTrackerOption(self):
        options = self.parse("""
            listen = "tcp:7701"
            handshake-timeout = 3
            ping-interval = 2.5
            frame-limit = 4096
            error-limit = 9
            search-rate = 10
            ping-rate = 0.5
            write-limit = 8192
            verbose = true
        """, cls=TrackerOptions)
        self.assertEqual(
            {key: options[key] for key in (
                "listen", "handshake-timeout", "ping-interval", "frame-limit",
                "error-limit", "search-rate", "ping-rate", "write-limit", "verbose")},
            {"listen": "tcp:7701", "handshake-timeout": 3.0, "ping-interval": 2.5,
             "frame-limit": 4096, "error-limit": 9, "search-rate": 10.0,
             "ping-rate": 0.5, "write-limit": 8192, "verbose": 1})

    def test_nodeOptionsAreUnknownToTheTracker(self):
        for key, value in (("sell", '["apple=1"]'), ("discovery", '"index"'),
                           ("tracker", '"tcp:1:7700"')):
            self.assertEqual(self.refused(f"{key} = {value}", cls=TrackerOptions),
                             f"--config FILE: {key}: unknown option")


class CommandLineWinsTests(ConfigCase):

    def test_singleValuedReplaced(self):
        for args in (["--neighbours", "2"], ["--neighbours=2"]):
            options = self.parse(SELLER + 'neighbours = 5\ndiscovery = "index"\n', *args)
            self.assertEqual((options["neighbours"], options["discovery"]), (2, "index"))

    def test_trackerSingleValuedReplaced(self):
        options = self.parse('listen = "tcp:7701"\nping-interval = 3\n',
                             "--listen", "tcp:7702", cls=TrackerOptions)
        self.assertEqual((options["listen"], options["ping-interval"]), ("tcp:7702", 3.0))

    def test_repeatableListReplaced(self):
        for args in (["--sell", "pear=1"], ["--sell=pear=1"]):
            options = self.parse('role = ["seller"]\nsell = ["apple=3", "fig=2"]\n',
                                 *args)
            self.assertEqual(options.roles[0][1]["stock"], {"pear": 1})

    def test_repeatableRolesReplaced(self):
        options = self.parse('role = ["seller"]\nwant = ["fig"]\n', "--role", "buyer")
        self.assertEqual(options["role"], ["buyer"])
        self.assertEqual(options.roles[0][1]["wants"], ["fig"])

    def test_badFileValueOverriddenIsStillRefused(self):
        """The file is checked as a whole: a bad value in it is an error
        even when the command line sets that option too."""
        self.assertEqual(self.refused(SELLER + "neighbours = [1, 2]\n",
                                      "--neighbours", "2"),
                         "--config FILE: neighbours takes one value, not a list")


class BadConfigTests(ConfigCase):
    """Each mistake is a UsageError that says what is wrong, and where."""

    def test_aValueRefusedNamesTheFile(self):
        """A value the option refuses (out of its range, say) is said with
        the file and its key, as the file's other mistakes are (issue 96:
        '--ttl: wants ...' named no file)."""
        self.assertEqual(self.refused(SELLER + "ttl = 99\n"),
                         "--config FILE: ttl: wants a whole number from 1 to 16, "
                         "not 99")
        self.assertEqual(self.refused('role = ["seller"]\nsell = ["apple=-1"]\n'),
                         "--config FILE: sell apple=-1: the count of units cannot be "
                         "negative")

    def test_aValueWithBlanksRefusedNamesTheFile(self):
        """A refused value holding a blank (TOML's sell = ["apple = 3"]) is
        said with the file and its key too, not as a --sell the command
        line never gave."""
        self.assertEqual(self.refused('role = ["seller"]\nsell = ["apple = 3"]\n'),
                         "--config FILE: sell apple = 3: the item name 'apple ' "
                         "begins or ends with a blank, so buyers of apple would "
                         "not find it: write apple=3")

    def test_theCommandLinesValueIsItsOwn(self):
        """A bad value on the command line is the command line's, whatever
        the file gives that option; the file's value of an option the
        command line gives is not read."""
        self.assertIn("--ttl: wants a whole number from 1 to 16, not 100",
                      self.refused(SELLER + "ttl = 5\n", "--ttl", "100"))
        self.assertEqual(self.parse(SELLER + "ttl = 99\n", "--ttl", "3").scheme[1]["ttl"],
                         3)

    def test_unknownKeyLikeAnOption(self):
        """As on the command line, a key like an option is named (issue
        96: the file got no "did you mean")."""
        self.assertEqual(self.refused(SELLER + "neighbors = 5\n"),
                         "--config FILE: neighbors: unknown option (did you mean "
                         "neighbours?)")
        self.assertEqual(self.refused(SELLER + "qantity = 5\n"),
                         "--config FILE: qantity: unknown option (did you mean "
                         "quantity?)")

    def test_unknownKeys(self):
        for key, like in (("colour", ""), ("v", " (did you mean verbose?)"),
                          ("help", ""), ("version", ""), ("config", ""),
                          ("sell_", " (did you mean sell?)")):
            self.assertEqual(self.refused(SELLER + f'{key} = "x"\n'),
                             f"--config FILE: {key}: unknown option{like}")

    def test_aTableSaysOptionsGoAtTheTop(self):
        """A table named by no option (``[node]``, an array of them, a
        dotted key) is refused saying that options go at the file's top
        level (issue 96: ``[node]`` got only "node: unknown option")."""
        top = ("is a table, and a config file takes none: options go at its top "
               "level, above any [table] line")
        for text, said in (
                ('[node]\nrole = ["buyer"]\n', f"[node] {top}"),
                (SELLER + "[roles]\nseller = true\n", f"[roles] {top} (did you mean role?)"),
                (SELLER + "[[node]]\nttl = 3\n", f"[[node]] {top}"),
                (SELLER + "node.ttl = 3\n", f"[node] {top}")):
            self.assertEqual(self.refused(text), f"--config FILE: {said}", text)
        self.assertEqual(self.refused('[tracker]\nlisten = "tcp:0"\n', cls=TrackerOptions),
                         f"--config FILE: [tracker] {top}")

    def test_flagsWantBooleans(self):
        for value, shown in (("1", "1"), ('"true"', 'the string "true"'),
                             ("[true]", "a list")):
            self.assertEqual(self.refused(SELLER + f"verbose = {value}\n"),
                             f"--config FILE: verbose must be true or false, not {shown}")

    def test_singleValuedOptionsTakeNoList(self):
        self.assertEqual(self.refused(SELLER + 'listen = ["tcp:1", "tcp:2"]\n'),
                         "--config FILE: listen takes one value, not a list")
        self.assertEqual(self.refused(SELLER + "ttl = []\n"),
                         "--config FILE: ttl takes one value, not a list")

    def test_severalTrackers(self):
        """tracker takes a list (the node's trackers, in order) or, as
        before it was repeatable, one string; the command line's replace
        the file's."""
        options = self.parse(SELLER + 'tracker = ["tcp:10.0.0.1:7700", "10.0.0.2:7701"]\n')
        self.assertEqual([str(t) for t in options.trackers],
                         ["10.0.0.1:7700", "10.0.0.2:7701"])
        options = self.parse(SELLER + 'tracker = "tcp:10.0.0.1:7700"\n')
        self.assertEqual([str(t) for t in options.trackers], ["10.0.0.1:7700"])
        options = self.parse(SELLER + 'tracker = ["tcp:10.0.0.1:7700"]\n',
                             "--tracker", "10.0.0.3:1")
        self.assertEqual([str(t) for t in options.trackers], ["10.0.0.3:1"])

    def test_noTrackers(self):
        """``tracker = []`` was taken in silence: the node ran with the
        default tracker, not the none its file seemed to say; now it is
        refused, the file and the key named, as ``tracker-key = []`` is
        (issue 96)."""
        for key in ("tracker", "tracker-key"):
            self.assertEqual(self.refused(SELLER + f"{key} = []\n"),
                             f"--config FILE: {key} is an empty list: name at least one, "
                             f'as in {key} = ["..."], or leave {key} out for its default')
        self.assertEqual(self.refused(SELLER + "tracker = []\n", "--tracker", "10.0.0.3:1"),
                         "--config FILE: tracker is an empty list: name at least one, "
                         'as in tracker = ["..."], or leave tracker out for its default')

    def test_noTrackersUnderTwistd(self):
        """Under twistd, ``tracker = []`` is one line and exit code 2."""
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        path = self.write(SELLER + "tracker = []\n")
        parent = _Twistd()
        parent.parseOptions([])
        parent.subCommand = "bazaar-node"
        options = NodeOptions()
        options.parent = parent
        error = self.assertRaises(SystemExit, options.parseOptions, ["--config", path])
        self.assertEqual(error.code, 2)
        self.assertEqual(stderr.getvalue(),
                         f"twistd bazaar-node: error: --config {path}: tracker is an empty "
                         'list: name at least one, as in tracker = ["..."], or leave '
                         "tracker out for its default (see twistd bazaar-node --help)\n")

    def test_valuesOfTheWrongKind(self):
        """Each option takes one kind of value, told by its default (or a
        list, for a repeatable one); any other is refused, as the docs
        say, rather than turned into text."""
        for line, message in (
                ('quantity = "5"', 'quantity must be a whole number, not the string "5"'),
                ("quantity = [5]", "quantity takes one value, not a list"),
                ("quantity = 1.5", "quantity must be a whole number, not 1.5"),
                ('role = "buyer"', 'role takes a list, as in role = ["buyer"], not the '
                                   'string "buyer"'),
                ('want = 5', "want takes a list, as in want = [...], not 5"),
                ("want = [5]", "want must be a list of strings, not a list holding 5"),
                ('search-window = "1"', 'search-window must be a number, not the '
                                        'string "1"'),
                ("tracker = 7700", "tracker must be a string or a list of strings, "
                                   "not 7700"),
                ("host = 7700", "host must be a string, not 7700"),
                ("neighbours = true", "neighbours must be a whole number, not true"),
                ("neighbours = 1979-05-27", "neighbours must be a whole number, not "
                                            "a date"),
                ("neighbours = { port = 1 }", "neighbours must be a whole number, "
                                              "not a table"),
                ("neighbours = [[1]]", "neighbours takes one value, not a list")):
            text = 'role = ["buyer"]\nwant = ["fig"]\n' + line + "\n"
            if line.startswith(("role", "want")):
                text = line + "\n"
            self.assertEqual(self.refused(text), f"--config FILE: {message}", line)
        self.assertEqual(self.refused('role = ["seller"]\nsell = [true]\n'),
                         "--config FILE: sell must be a list of strings, not a list "
                         "holding true")

    def test_portsAndSecondsWithoutDefaultTakeNumbers(self):
        """An option with no default but a parser (a port, seconds, a
        limit) takes a TOML number, as a string was taken before, each
        handed to its parser as its command line's text; what the parser
        refuses names the option, and a value of no such kind is refused
        saying what to write."""
        node = self.parse('role = ["buyer"]\nwant = ["fig"]\nquic-port = 7800\n'
                          "ws-port = 8080\ngive-up-after = 30\n")
        self.assertEqual((node["quic-port"], node["ws-port"], node["give-up-after"]),
                         (7800, 8080, 30.0))
        self.assertEqual(self.parse(SELLER + 'ws-port = "8080"\n')["ws-port"], 8080)
        tracker = self.parse("udp-port = 7701\nws-port = 0\nregistered-limit = 50\n",
                             cls=TrackerOptions)
        self.assertEqual((tracker["udp-port"], tracker["ws-port"],
                          tracker["registered-limit"]), (7701, 0, 50))
        self.assertIn("--config FILE: ws-port: wants a whole number from 0 to 65535, "
                      "not 70000", self.refused("ws-port = 70000\n", cls=TrackerOptions))
        self.assertIn("--config FILE: quic-port: wants a whole number from 0 to 65535, "
                      "not '80.5'",
                      self.refused(SELLER + "quic-port = 80.5\n"))
        self.assertEqual(self.refused(SELLER + "ws-port = true\n"),
                         "--config FILE: ws-port must be a number or a string, not true")
        # Text kept as given stays a string.
        self.assertEqual(self.refused(SELLER + "data-dir = 5\n"),
                         "--config FILE: data-dir must be a string, not 5")

    def test_yesOrNo(self):
        """A yes-or-no option takes a TOML boolean, or its command line's
        "yes" and "no"."""
        for value, expected in (("false", False), ('"no"', False), ("true", True)):
            options = self.parse('discovery = "superpeer"\n'
                                 f"dynamic-querying = {value}\n")
            self.assertEqual(schemeSettings(options)[1].dynamic, expected)

    def test_badValuesNamedByOption(self):
        cases = [
            ("neighbours = -1", "--config FILE: neighbours: wants a whole number "
                                "from 0 to 1000, not -1"),
            ("ping-interval = 0", "--config FILE: ping-interval: wants a positive "
                                  "number of seconds, not '0'"),
            ('discovery = "gossip"', "unknown discovery scheme 'gossip' (known: "
                                     "chord, flood, index, superpeer)"),
        ]
        for line, message in cases:
            self.assertIn(message, self.refused(SELLER + line + "\n"))

    def test_badRoleValues(self):
        self.assertEqual(self.refused('role = ["wizard"]\n'),
                         "unknown role 'wizard' (known roles: buyer, seller)")
        self.assertEqual(self.refused('role = ["seller"]\nsell = ["apple"]\n'),
                         "--config FILE: sell: wants ITEM=COUNT, not 'apple'")
        self.assertEqual(self.refused('role = ["seller"]\nsell = ["a=1"]\nwant = ["b"]'),
                         '--config FILE: want belongs to the buyer role; give role = '
                         '["seller", "buyer"]')

    def test_anOptionWithoutItsRoleInTheFilesWords(self):
        """A key of the file without the role it belongs to is answered
        with the file's key and value (it was the command line's: "--sell
        belongs to the seller role; add --role seller"); one the command
        line gives, or whose roles the command line gives, as before."""
        self.assertEqual(self.refused('sell = ["apple=3"]\n'),
                         '--config FILE: sell belongs to the seller role; give role = '
                         '["seller"]')
        self.assertEqual(self.refused('give-up-after = 5\n' + SELLER),
                         '--config FILE: give-up-after belongs to the buyer role; give '
                         'role = ["seller", "buyer"]')
        self.assertEqual(self.refused(SELLER + 'discovery = "index"\nttl = 3\n'),
                         '--config FILE: ttl belongs to the flood scheme; give '
                         'discovery = "flood"')
        self.assertEqual(self.refused('neighbours = 6\n', "--sell", "apple=3"),
                         "--sell belongs to the seller role; add --role seller")
        self.assertEqual(self.refused('sell = ["apple=3"]\n', "--role", "buyer",
                                      "--want", "pear"),
                         "--sell belongs to the seller role; add --role seller")

    def test_invalidToml(self):
        message = self.refused('role = ["seller"\n')
        self.assertTrue(message.startswith("--config FILE: not valid TOML: "), message)
        message = self.refused("neighbours = 3\nneighbours = 4\n")
        self.assertTrue(message.startswith("--config FILE: not valid TOML: "), message)

    def test_notUtf8(self):
        path = self.write(None, raw=b'role = ["sel\xffler"]\n')
        error = self.assertRaises(usage.UsageError, NodeOptions().parseOptions,
                                  ["--config", path])
        self.assertEqual(str(error), f"--config {path}: not valid TOML: line 1 (role) "
                                     "is not UTF-8 text (byte 13 of the file, 0xff: "
                                     "invalid start byte)")

    def test_notUtf8NamesTheLineAndKey(self):
        """A --want in a file that is not UTF-8 is named by its line and
        key (issue 96): the reader is not left to count bytes."""
        path = self.write(None, raw=b'role = ["buyer"]\n\nwant = ["ap\xffple"]\n')
        error = self.assertRaises(usage.UsageError, NodeOptions().parseOptions,
                                  ["--config", path])
        self.assertEqual(str(error), f"--config {path}: not valid TOML: line 3 (want) "
                                     "is not UTF-8 text (byte 30 of the file, 0xff: "
                                     "invalid start byte)")
        path = self.write(None, raw=b'# caf\xe9\nrole = ["buyer"]\n')
        error = self.assertRaises(usage.UsageError, NodeOptions().parseOptions,
                                  ["--config", path])
        self.assertIn("line 1 is not UTF-8 text (byte 6", str(error))

    def test_byteOrderMark(self):
        """A file saved with a UTF-8 byte-order mark (as some Windows
        editors write it) is read: the mark was said as "Invalid
        statement (line 1, column 1)"."""
        path = self.write(None, raw=b'\xef\xbb\xbfneighbours = 3\n')
        options = NodeOptions()
        options.parseOptions(["--config", path, *SELLER_ARGS])
        self.assertEqual(options["neighbours"], 3)

    def test_missingFile(self):
        path = self.scratch("missing.toml")
        error = self.assertRaises(usage.UsageError, NodeOptions().parseOptions,
                                  ["--config", path] + SELLER_ARGS)
        self.assertEqual(str(error), f"--config {path}: No such file or directory")

    def test_directory(self):
        path = self.scratch("folder")
        os.mkdir(path)
        error = self.assertRaises(usage.UsageError, TrackerOptions().parseOptions,
                                  ["--config", path])
        self.assertEqual(str(error), f"--config {path}: Is a directory")

    def test_namedPipeNobodyWrites(self):
        """A named pipe (FIFO) in place of the file, which no program
        writes to, is refused: the daemon waited in open() for ever,
        before a word."""
        path = self.scratch("fifo.toml")
        os.mkfifo(path)
        failIfHung(self, "--config on a FIFO")
        error = self.assertRaises(usage.UsageError, NodeOptions().parseOptions,
                                  ["--config", path] + SELLER_ARGS)
        self.assertEqual(str(error), f"--config {path}: a named pipe (FIFO) that no "
                                     "program writes to: nothing to read")

    def test_pipeBeingWritten(self):
        """``--config <(...)``: a pipe a program writes is read to its end."""
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        os.write(write, b'role = ["seller"]\nsell = ["apple=3"]\n')
        os.close(write)
        options = NodeOptions()
        options.parseOptions(["--config", f"/dev/fd/{read}"])
        self.assertEqual(options["role"], ["seller"])

    def test_configWithoutFile(self):
        error = self.assertRaises(usage.UsageError, NodeOptions().parseOptions,
                                  SELLER_ARGS + ["--config"])
        self.assertEqual(str(error), "--config needs a FILE")

    def test_errorUnderTwistd(self):
        """Under twistd the mistake is one line on stderr and exit code 2."""
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        path = self.write('colour = "red"\n')
        parent = _Twistd()
        parent.parseOptions([])
        parent.subCommand = "bazaar-tracker"
        options = TrackerOptions()
        options.parent = parent
        error = self.assertRaises(SystemExit, options.parseOptions, ["--config", path])
        self.assertEqual(error.code, 2)
        self.assertEqual(stderr.getvalue(),
                         f"twistd bazaar-tracker: error: --config {path}: colour: "
                         "unknown option (see twistd bazaar-tracker --help)\n")


class SplitConfigTests(SynchronousTestCase):
    """Taking --config out of the arguments."""

    def test_forms(self):
        self.assertEqual(splitConfig(["-v", "--config", "a.toml", "--ttl", "3"]),
                         ("a.toml", ["-v", "--ttl", "3"]))
        self.assertEqual(splitConfig(["--config=b.toml"]), ("b.toml", []))
        self.assertEqual(splitConfig(["--ttl", "3"]), (None, ["--ttl", "3"]))

    def test_oneFile(self):
        """A second --config is refused, naming both: the first file was
        read in silence by none of its options."""
        error = self.assertRaises(ConfigError, splitConfig,
                                  ["--config", "a", "--ttl", "3", "--config=b"])
        self.assertEqual(str(error), "--config is given twice (a, then b): a daemon "
                         "reads one config file; put the options of both in one")

    def test_needsAFile(self):
        self.assertRaises(ConfigError, splitConfig, ["--config"])


class RelativePathTests(ConfigCase):
    """A relative path in a config file is the file's folder's, for every
    option whose value is a path (issue 96: data-dir was the current
    folder's, share and downloads too; a daemon started by a service
    manager in / then kept its state there); the command line's is the
    current folder's; an absolute one is as it is."""

    def setUp(self):
        self.home = os.path.dirname(self.scratch("x"))
        for name in ("shared", "dl"):
            os.mkdir(os.path.join(self.home, name))
        self.elsewhere = os.path.dirname(self.scratch("x"))
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.elsewhere)

    def file(self, text):
        path = os.path.join(self.home, "node.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_everyPathOptionIsTheFilesFolders(self):
        path = self.file('role = ["seller", "buyer"]\nsell = ["apple=1"]\n'
                         'want = ["fig"]\ndata-dir = "state"\nshare = "shared"\n'
                         'downloads = "./dl"\n')
        options = NodeOptions()
        self.assertEqual(options.pathOptions(), {"data-dir", "share", "downloads"})
        options.parseOptions(["--config", os.path.relpath(path)])
        self.assertEqual(options["data-dir"], os.path.join(self.home, "state"))
        roles = {plugin.name: settings for plugin, settings in options.roles}
        self.assertEqual(roles["seller"]["share"], os.path.join(self.home, "shared"))
        self.assertEqual(roles["buyer"]["downloads"], os.path.join(self.home, "dl"))

    def test_theTrackersDataDir(self):
        path = os.path.join(self.home, "tracker.toml")
        with open(path, "w") as f:
            f.write('data-dir = "tracker-state"\n')
        options = TrackerOptions()
        options.parseOptions(["--config", path])
        self.assertEqual(options["data-dir"], os.path.join(self.home, "tracker-state"))

    def test_absoluteAndCommandLinePathsAsGiven(self):
        state = os.path.join(self.elsewhere, "abs-state")
        options = NodeOptions()
        options.parseOptions(["--config", self.file(f'data-dir = "{state}"\n')])
        self.assertEqual(options["data-dir"], state)
        options = NodeOptions()
        options.parseOptions(["--config", self.file('data-dir = "state"\n'),
                              "--data-dir", "here"])
        self.assertEqual(options["data-dir"], "here")

    def test_tildeIsTheHomeFolder(self):
        """``~`` and ``~USER`` start a path in the home folder, as a shell
        and most config files take it: ``data-dir = "~"`` made a folder
        named ``~`` beside the file (one ``rm -rf ~`` away from the
        user's home), and ``~/state`` was refused as a missing ``~``."""
        self.patch(os, "environ", dict(os.environ, HOME=self.elsewhere))
        options = NodeOptions()
        options.parseOptions(["--config", self.file('data-dir = "~/state"\n')])
        self.assertEqual(options["data-dir"], os.path.join(self.elsewhere, "state"))
        options = NodeOptions()
        options.parseOptions(["--config", self.file('data-dir = "~"\n')])
        self.assertEqual(options["data-dir"], self.elsewhere)
        self.assertFalse(os.path.exists(os.path.join(self.home, "~")))
        root = os.path.expanduser("~root")
        options = TrackerOptions()
        options.parseOptions(["--config", self.file('data-dir = "~root/bazaar"\n')])
        self.assertEqual(options["data-dir"], os.path.join(root, "bazaar"))

    def test_tildeOfNoUser(self):
        """A ``~NAME`` that names no user is refused with the key, not
        taken as a folder named so."""
        error = self.assertRaises(usage.UsageError, NodeOptions().parseOptions,
                                  ["--config", self.file('data-dir = "~nobody-here/x"\n')])
        self.assertEqual(str(error).replace(self.home, "D"),
                         "--config D/node.toml: data-dir: ~nobody-here/x: no user "
                         "nobody-here here, whose home folder ~nobody-here names "
                         "(write ./~nobody-here/x for a folder of that name beside "
                         "the file)")
