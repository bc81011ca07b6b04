"""
Claims of docs/protocol.md, docs/running.md and docs/reliability.md that a
black-box run of the daemons found false (issue 96), each held here
against the behaviour it describes, so that the text cannot drift back.
"""

import os
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.tracker import trackerIdentity

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def flat(name):
    """A doc's text with its line breaks and runs of spaces made one space."""
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return " ".join(f.read().split())


def section(text, start, end):
    """The part of text from start up to end."""
    return text.split(start, 1)[1].split(end, 1)[0]


class TrackersKeyTests(SynchronousTestCase):
    """protocol.md §3 said the tracker's key is "made afresh in memory at
    each start" and that "nothing depends on it staying the same"; the
    tracker keeps it across starts, and its nodes refuse another."""

    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)

    def test_itIsKept(self):
        data = os.path.join(self.folder, "tracker")
        self.assertEqual(trackerIdentity(data).key, trackerIdentity(data).key)

    def test_theProtocolSaysSo(self):
        keys = section(flat("protocol.md"), "### Keys and signatures", "- **Encoding.**")
        self.assertNotIn("afresh", keys)
        self.assertNotIn("nothing depends on it staying the same", keys)
        self.assertIn("This implementation's tracker keeps it from one start to the next",
                      keys)
        self.assertIn("refuses a tracker that proves another", keys)


class TroubleshootingTests(SynchronousTestCase):
    """running.md's Troubleshooting quoted a taken port's line as
    ``tracker cannot listen: Couldn't listen ...`` (Twisted's words, now the
    project's); the tracker says
    where it could not listen (``on tcp:7700``), so a search for the
    quoted words found nothing."""

    def test_theTakenPortsLine(self):
        from twisted.internet.error import CannotListenError
        from twisted.python.failure import Failure

        from twisted_bazaar.daemon.services import ListeningService

        port = ListeningService(None, None, None, "tracker", description="tcp:7700")
        port.failure = Failure(CannotListenError("any", 7700,
                                                 OSError(98, "Address already in use")))
        line = port.why()
        doc = section(flat("running.md"), "## Troubleshooting", "**The node logs")
        quoted = doc.split("`", 2)[1]
        self.assertEqual(quoted, line)


class ConfigOverriddenTests(SynchronousTestCase):
    """running.md's Config files said the file's value of an option the
    command line also gives "is not read", above the refusal of
    ``quantity = "5"``; that value's kind is checked all the same (a
    file's mistake), only its value is not parsed."""

    def write(self, text):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "buyer.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_theKindIsCheckedTheValueIsNot(self):
        from twisted.python import usage

        from twisted_bazaar.tap.node import Options

        buyer = 'role = ["buyer"]\nwant = ["apple"]\n'
        options = Options()
        options.parseOptions(["--config", self.write(buyer + "ttl = 99\n"), "--ttl", "3"])
        self.assertEqual(options.scheme[1]["ttl"], 3)
        path = self.write(buyer + 'quantity = "5"\n')
        error = self.assertRaises(usage.UsageError, Options().parseOptions,
                                  ["--config", path, "--quantity", "2"])
        self.assertIn('quantity must be a whole number, not the string "5"', str(error))
        config = section(flat("running.md"), "### Config files", "```toml")
        self.assertNotIn("also gives is not read", config)
        self.assertIn("is checked for its kind all the same, and nothing more", config)
        self.assertIn('while `quantity = "5"` is refused with or without `--quantity 2`',
                      config)


class NestingTests(SynchronousTestCase):
    """protocol.md §3 gave the parser's depth as "975 levels" without
    saying whether the message's own object counts; live, a tracker and a
    node answer a ping whose unknown field holds 975 nested arrays (976
    levels in all) and refuse 976.  The depth is the interpreter's
    recursion limit less the stack beneath the decoder, so it is measured
    live, not here; here, that the decoder refuses a depth past the
    limit with the doc's words, and that the doc says how it counts."""

    def test_tooDeepIsRefusedInTheDocsWords(self):
        from twisted_bazaar.wire.codec import ProtocolError, decode

        deep = 100000
        payload = b'{"type":"ping","nonce":3,"x":' + b"[" * deep + b"]" * deep + b"}"
        error = self.assertRaises(ProtocolError, decode, payload)
        self.assertEqual(str(error), "invalid JSON: nested too deeply")
        payload = section(flat("protocol.md"), "## 3. Payload", "### Field types")
        self.assertIn("`invalid JSON: nested too deeply`", payload)
        self.assertIn("975 levels below the message's own object, 976 with it", payload)
        self.assertNotIn("(975 levels on a tracker", payload)


class FailedStartWarningTests(SynchronousTestCase):
    """running.md's Exit status said a failed start "says only that
    line", its warnings said once it is done; a node whose --quic-port is
    its tracker's UDP port, taken, says the warning about that option
    first and then the error (tests/test_failed_starts.py,
    test_nodeQuicPortOfItsTracker, holds that it does, on purpose: the
    warning explains the error), and so does a tracker warned of its
    open-file limit."""

    def test_theDocSaysWhichWarningsComeFirst(self):
        from twisted_bazaar.tap.endpoints import quicBesideItsTracker
        from twisted_bazaar.tap.node import Options

        options = Options()
        options.parseOptions(["--tracker", "127.0.0.1:7700", "--quic-port", "7701"])
        self.assertIsNotNone(quicBesideItsTracker(options["quic-port"], options.trackers))
        running = flat("running.md")
        status = section(running, "### Exit status", "### Options of both daemons")
        self.assertNotIn("A failed start says only that line: the warnings", status)
        self.assertIn("A failed start says only that line, but for a warning about its "
                      "options, said as they are read, before anything starts (a node's "
                      "`--quic-port` that is its tracker's UDP port", status)
        row = section(running, "| `--quic-port PORT` |", "| `--no-quic` |")
        self.assertIn("exit 1 and one error line", row)
        self.assertIn("the warning below comes before it when the port is its tracker's",
                      row)


class SearchWaitTests(SynchronousTestCase):
    """reliability.md said a buyer with no offer searches "every 30 s at
    most"; its waits are drawn at up to 1.5 times 30 s (a live run with
    a seller that could not commit logged ``searching again in 35.1 s``)."""

    def test_theLongestWait(self):
        import random

        from twisted_bazaar.base.backoff import delayOf
        from twisted_bazaar.roles.want import RETRY_MAX, RETRY_MIN

        class Highest(random.Random):
            def random(self):
                return 0.999999

        self.assertAlmostEqual(delayOf(RETRY_MIN, RETRY_MAX, Highest(), 20), 45.0, 3)
        text = section(flat("reliability.md"), "**No progress without the other side.**",
                       "**No graceful disk failure")
        self.assertNotIn("every 30 s at most", text)
        self.assertIn("waits doubling from 1 s to 30 s, each drawn at 0.5 to 1.5 times "
                      "that (45 s at most", text)


class PendingBuyLineTests(SynchronousTestCase):
    """running.md quoted bazaar-ledger's pending buy as ``grape from
    a6efc345…``; the ledger names the seller by its whole id, as a live
    ledger of a buyer killed mid-trade showed, and its time with its
    offset from UTC."""

    def test_theLineAsPrinted(self):
        import re
        import time

        from twisted_bazaar.cli.ledger import render

        state = {"node_id": "b" * 32, "inventory": {}, "sales": [], "copies": {}, "bag": [],
                 "pending": [{"buy_id": 5023637904307033797, "item": "grape",
                              "seller": "a6efc345d1e2f3a4b5c6d7e8f9a0b1c2", "units": 1,
                              "expires": time.time()}]}
        printed = render(state).splitlines()[-1].strip()
        quoted = re.search(r"`(buy 5023637904307033797 .*?)`", flat("running.md")).group(1)
        # The doc's text is flattened: its runs of spaces are one.
        self.assertEqual(" ".join(re.sub(r"until .*", "", printed).split()),
                         re.sub(r"until .*", "", quoted).strip())
        # Its time is a moment's form, with the offset from UTC it was
        # printed without: digits aside, the doc's is the printed one.
        self.assertEqual(re.sub(r"\d", "N", re.search(r"until (.*)", printed).group(1)),
                         re.sub(r"\d", "N", re.search(r"until (.*)", quoted).group(1)))


class SimulatorCliTests(SynchronousTestCase):
    """simulator.md, checked with bazaar-sim itself: a flood run's
    ``lookup_hops`` is an object of four nulls, not the null the doc
    said; and a sharded run's refusal is its reason's line and then
    ``see bazaar-sim --help``, where the doc said one line."""

    def test_lookupHopsOfOtherSchemes(self):
        from twisted_bazaar.sim.metrics import percentiles

        self.assertEqual(percentiles([]), {"mean": None, "p50": None, "p95": None,
                                           "p99": None})
        row = flat("simulator.md").split("| `lookup_hops` |", 1)[1].split("|", 1)[0]
        self.assertNotIn("None for the other schemes", row)
        self.assertIn("each of the four is null", row)

    def test_aRefusalsLines(self):
        import io
        from contextlib import redirect_stderr

        from twisted_bazaar.cli import sim

        err = io.StringIO()
        with redirect_stderr(err):
            try:
                sim.main(["--nodes", "30", "--start", "warm", "--shards", "2",
                          "--shard-engine", "local", "--kill", "0.1"])
            except SystemExit as e:
                status = e.code
        self.assertEqual((status, err.getvalue().splitlines()),
                         (2, ["bazaar-sim: error: --shards does not run --kill yet",
                              "see bazaar-sim --help"]))
        text = flat("simulator.md")
        self.assertNotIn("is refused in one line", section(
            text, "## One run on many machines", "### The engine"))
        self.assertIn("is refused with one line saying why, then `see bazaar-sim --help`, "
                      "and exit status 2", text)


class BenchmarkDetailTests(SynchronousTestCase):
    """benchmarks.md said each figure's JSON keeps "every repeat"; the
    codec figure (``--only codec --quick``, run) keeps both sides'
    medians and the number of repeats, not each one."""

    def test_theCodecsDetail(self):
        import sys

        root = os.path.dirname(DOCS)
        sys.path.insert(0, root)
        self.addCleanup(sys.path.remove, root)
        from benchmarks import codec

        [figure] = codec.run(repeats=2, loops=20)
        self.assertEqual(figure.detail["repeats"], 2)
        self.assertFalse([value for value in figure.detail.values()
                          if isinstance(value, list) and len(value) == 2])
        text = section(flat("benchmarks.md"), "## Running them", "## The figures")
        self.assertNotIn("every repeat)", text)
        self.assertIn("both sides of a ratio and how many repeats ran; some figures keep "
                      "each repeat's value too", text)


class ArchitectureWireTests(SynchronousTestCase):
    """architecture.md's row of ``wire/`` named nine of core.py's thirteen
    messages, two of trade.py's four codes and five of udpreach.py's six
    messages; its table of text from peers put ``shownJSON`` in
    ``web/resources.py``, which is ``web/answers.py``'s (issue 96, third
    pass, a script listing the names the document gives)."""

    def test_everyMessageOfTheWireModulesIsNamed(self):
        import re

        from twisted_bazaar.wire import codec, core, trade, udpreach

        row = section(flat("architecture.md"), "| `wire/` |", "| `store/` |")
        for module in (core, trade, udpreach):
            name = module.__name__.rsplit(".", 1)[1]
            said = section(row, f"`{name}.py`:", ".py`")
            types = [kind for kind, cls in codec.MESSAGE_TYPES.items()
                     if cls.__module__ == module.__name__]
            with open(module.__file__, encoding="utf-8") as f:
                codes = re.findall(r'^errorCode\("(\w+)"', f.read(), re.M)
            self.assertTrue(types)
            for each in types + codes:
                self.assertIn(f"`{each}`", said, f"{name}.py's {each}")

    def test_shownJSONsModule(self):
        from twisted_bazaar.web import answers

        self.assertTrue(callable(answers.shownJSON))
        text = flat("architecture.md")
        self.assertIn("| the web view | `web/answers.py` (`shownJSON`) |", text)

    def test_theGlobalReactorsUsers(self):
        """cli/'s commands run on the global reactor (task.react), not
        only tap/; the twistd plugins split its clock."""
        import inspect

        from twisted_bazaar.cli import bazaar

        self.assertIsNone(inspect.signature(bazaar.run).parameters["reactor"].default)
        self.assertIn("(with cli/'s commands and the twistd plugins, the only users of "
                      "the global reactor)", flat("architecture.md"))


class QuicAlpnRefusalTests(SynchronousTestCase):
    """protocol.md §2.3 said a QUIC handshake asking an ALPN the node does
    not serve ends with TLS alert ``no_application_protocol``; a live
    node's CONNECTION_CLOSE carries 0x128, ``handshake_failure``, with
    ``No common ALPN protocols`` (qh3's; tests/transports/quic/
    test_connector.py, test_aServiceNotServed, holds the code)."""

    def test_theAlertNamed(self):
        quic = section(flat("protocol.md"), "### 2.3 QUIC over UDP", "- **Streams.**")
        self.assertNotIn("no_application_protocol", quic)
        self.assertIn("(TLS alert `handshake_failure`: error code 0x128, `No common ALPN "
                      "protocols`)", quic)


class TwoTrackersOnOneMachineTests(SynchronousTestCase):
    """running.md's Several trackers said to run them on two machines and
    how two on one machine must differ (ports two apart, a key each) was
    only in --udp-port's row and the state directory's section (brief 51,
    1b): checked with two trackers of one user, one HOME, ports 7700 and
    7702, and said where a market of several trackers is set up."""

    def test_aKeyAndUdpPortsEach(self):
        from twisted_bazaar.tap.statedir import defaultStateDir
        from twisted_bazaar.tap.tracker import Options, udpPorts

        home = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, home)
        dirs, udp = [], []
        for listen in ("tcp:7700", "tcp:7702"):
            options = Options()
            options.parseOptions(["--listen", listen])
            dirs.append(defaultStateDir(listen, {"HOME": home}))
            first = udpPorts(options)
            udp.append({first, first + 1})
        self.assertEqual([os.path.basename(d) for d in dirs],
                         ["tracker-7700", "tracker-7702"])
        self.assertNotEqual(trackerIdentity(dirs[0]).key, trackerIdentity(dirs[1]).key)
        self.assertEqual(udp[0] & udp[1], set())
        doc = section(flat("running.md"), "### Several trackers", "## At home")
        self.assertIn("Two on one machine (to try it, as tests/e2e/test_several_trackers_live.py "
                      "does) take `--listen` ports at least two apart, since each takes its "
                      "port and the next over UDP (`--udp-port`), and each keeps a key of its "
                      "own in its own state directory, `tracker-PORT`", doc)
        self.assertIn("`twistd -n bazaar-tracker --listen tcp:7702` beside the first, and "
                      "`--tracker 127.0.0.1:7700 --tracker 127.0.0.1:7702`", doc)


class ModulesNamedTests(SynchronousTestCase):
    """benchmarks.md said its daemons start "through
    ``twisted_bazaar.daemons``", a module that is not (they are
    L{twisted_bazaar.testing.daemons}'); every dotted name of the package
    the docs and the README give in backquotes, or document with
    mkdocstrings (``:::``), is one that imports."""

    def test_everyNameImports(self):
        import glob
        import importlib
        import re

        root = os.path.dirname(DOCS)
        missing = []
        for path in sorted(glob.glob(os.path.join(DOCS, "*.md"))) + [
                os.path.join(root, "README.md")]:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            names = set(re.findall(r"`(twisted_bazaar(?:\.\w+)+)`", text))
            names |= set(re.findall(r"^::: (twisted_bazaar(?:\.\w+)+)", text, re.M))
            for name in sorted(names):
                parts = name.split(".")
                for cut in range(len(parts), 0, -1):
                    try:
                        found = importlib.import_module(".".join(parts[:cut]))
                    except ImportError:
                        continue
                    for part in parts[cut:]:
                        found = getattr(found, part, None)
                    break
                if found is None:
                    missing.append(f"{os.path.basename(path)}: {name}")
        self.assertEqual(missing, [])


class RoleEventsTests(SynchronousTestCase):
    """The README's Writing a role listed the events a role may override
    "listed in twisted_bazaar.events (INodeEvents)" and left out five of
    them (trackerLost, reachChanged, relayChanged, relayCircuits,
    soldNothing): the list is the interface's, every event once."""

    def test_theListIsTheInterfaces(self):
        import re

        from twisted_bazaar.events import INodeEvents

        with open(os.path.join(os.path.dirname(DOCS), "README.md"), encoding="utf-8") as f:
            readme = " ".join(f.read().split())
        said = section(readme, "(`INodeEvents`):", ". A routed message")
        listed = re.findall(r"`(\w+)`", said)
        events = [name for name in INodeEvents.names() if name != "delivers"]
        self.assertEqual(sorted(listed), sorted(events))


class SuiteTimeTests(SynchronousTestCase):
    """The README gave `make test` as 15.6 minutes for "4,745 when run"
    tests, and the quick start 8.4 and 13.9 minutes: figures of suites
    two and three measurements back (running.md's Tests has 9.9 minutes
    with the install, 5,945 tests).  Both say running.md's latest."""

    def test_theLatestFigures(self):
        import re

        latest = re.search(r"took ([\d.]+) minutes of pytest and ([\d.]+) with the install "
                           r"\(([\d,]+) tests",
                           section(flat("running.md"), "## Tests", "## The simulator"))
        pytest, whole, tests = latest.groups()
        with open(os.path.join(os.path.dirname(DOCS), "README.md"), encoding="utf-8") as f:
            readme = " ".join(f.read().split())
        said = section(readme, "**`make test`**", "Both reuse `.venv`")
        self.assertIn(f"it took {whole} minutes with the install, {pytest} of them "
                      f"pytest's", said)
        self.assertIn(f"{tests} when run", said)
        quick = section(flat("quickstart.md"), "`make test` runs the whole suite", "alone")
        self.assertIn(f"({whole} minutes with the install", quick)


class SchemeMistakesTests(SynchronousTestCase):
    """architecture.md, "Adding a discovery scheme", tells a scheme's
    author what the node says of its mistakes: the figures and lines it
    quotes are the code's."""

    def setUp(self):
        self.text = section(flat("architecture.md"), "## Adding a discovery scheme",
                            "## The superpeer scheme")

    def test_theGrace(self):
        from twisted_bazaar.core.finding import FIND_GRACE
        self.assertIn(f"has not fired {FIND_GRACE:.0f} s after its wait", self.text)

    def test_theRateLine(self):
        from twisted_bazaar.net.limits import bucketRate
        from twisted_bazaar.net.link import LinkSettings
        rate = bucketRate(LinkSettings().rates, "search")
        self.assertIn(f"`node … sends walk faster than {rate:g}/s; dropping the excess`",
                      self.text)

    def test_whatTheSimulatorRuns(self):
        from twisted_bazaar.sim.shard import SHARDED_SCHEMES
        self.assertEqual(len(SHARDED_SCHEMES), 4)
        self.assertIn("`--shards` runs the four schemes of this package only so far",
                      self.text)


class BuysSchemeTests(SynchronousTestCase):
    """running.md said ``bazaar buy`` stops "when they run several"
    schemes, quoting chord (3 nodes) beside flood (1 node); it runs the
    scheme the address groups vote for: in a mixed market on one machine
    (5 chord, 5 flood, 5 index, 6 superpeer nodes) it bought through
    superpeer.  Only an even split stops it, with the line quoted."""

    def test_theParagraphSaysTheVote(self):
        from twisted_bazaar.cli.bazaar import marketScheme
        from twisted_bazaar.status.client import ClientError
        from twisted_bazaar.status.messages import MemberList

        def market(*rows):
            nodes = tuple((n, host, 4000 + n, scheme) for n, (scheme, host) in enumerate(rows, 1))
            return MemberList(nodes, len(nodes))

        installed = {"flood", "index", "superpeer", "chord"}
        said = section(flat("running.md"), "It joins the market's discovery scheme by itself",
                       "Its other options")
        self.assertNotIn("When they run several, it stops", said)
        oneMachine = market(*[("chord", "127.0.0.1")] * 3, ("flood", "127.0.0.1"))
        self.assertEqual(marketScheme(oneMachine, installed), "chord")
        split = market(*[("chord", f"203.0.113.{n}") for n in range(3)],
                       ("flood", "10.1.0.1"), ("flood", "10.1.0.2"))
        error = self.assertRaises(ClientError, marketScheme, split, installed)
        self.assertIn(f"`bazaar: error: {error}`", said)


class ReverseProxyTests(SynchronousTestCase):
    """running.md said nothing of a reverse proxy; an operator behind one
    found the page blank under a path, its events held by nginx's
    buffering, and every client one address group.  Its section's figures
    are the view's and the metrics' limits of one group, and the page
    names what it loads from the root."""

    def test_theFiguresOfOneGroup(self):
        from twisted_bazaar.metrics import web as metrics
        from twisted_bazaar.web import resources, stream

        proxy = section(flat("running.md"), "### Behind a reverse proxy", "## Logs")
        self.assertIn(f"{stream.GROUP_STREAMS} pages following events, "
                      f"{resources.GROUP_CONNECTIONS} connections to the view, "
                      f"{metrics.GROUP_CONNECTIONS} to `--metrics`", proxy)
        self.assertIn("`X-Accel-Buffering: no`", proxy)

    def test_thePageLoadsFromTheRoot(self):
        static = os.path.join(os.path.dirname(DOCS), "twisted_bazaar", "web", "static")
        with open(os.path.join(static, "index.html"), encoding="utf-8") as f:
            self.assertIn('src="/static/app.js"', f.read())
        with open(os.path.join(static, "app.js"), encoding="utf-8") as f:
            self.assertIn('"/api/events"', f.read())


class TheBagNamesTheContentTests(SynchronousTestCase):
    """protocol.md §19.3 said "The bag names only the item and its seller:
    which content that seller offered is in the record alone", and
    running.md that a missing record leaves a bought file unfetched; a
    buyer restarted with its --data-dir and another --downloads fetched
    it all the same.  The bag keeps the content its buyOK named, and a
    restart fetches that without the record
    (tests/roles/files/test_fetch.py test_restartFetchesWhatTheBuyOKNamed):
    only a purchase whose buyOK named none needs the record."""

    def test_theBagsFields(self):
        import attr

        from twisted_bazaar.store.records import Purchase

        self.assertTrue({"sha256", "size"} <= {f.name for f in attr.fields(Purchase)})
        protocol = flat("protocol.md")
        self.assertNotIn("The bag names only the item and its seller", protocol)
        self.assertIn("The bag names the item, its seller and the content its "
                      "`buyOK` named", protocol)
        self.assertIn("the bag says what was bought, from whom, and which content",
                      flat("running.md"))


class MixedVersionsTests(SynchronousTestCase):
    """running.md's "Mixed versions" said a market may be upgraded a daemon
    at a time, and nothing of two fields of ``chord`` that nodes of
    12-01 (28a25090) and before cannot read: a LAN-only seller's ``lan``,
    signed apart (``lanSig``) so that they take the record, which they
    pass on without it, and a holder's ``chordStored`` ``full``, which
    they take for a store taken (both read with 28a25090's own records
    and codec)."""

    def test_aLanMarkIsSignedApartAndAnOlderReaderTakesTheRest(self):
        import attr

        from twisted_bazaar import wire
        from twisted_bazaar.core.records import LABEL, signRecord, verified
        from twisted_bazaar.identity.keys import Identity, verify

        record = signRecord(Identity.generate(), "apple", "192.168.1.5", 7701,
                            1_800_000_000_000, 1_800_000_600_000, lan="203.0.113.9")
        self.assertTrue(verified(record))
        self.assertFalse(verified(attr.evolve(record, lanSig=None)))
        # What a node of 28a25090 checks (sig over the fields but lan and
        # lanSig) holds, and what it names, the record without them, is
        # the seller's.
        unmarked = attr.evolve(record, lan=None, lanSig=None)
        self.assertTrue(verify(record.key, record.sig,
                               wire.canonicalFields(unmarked.signed(), LABEL)))
        self.assertTrue(verified(unmarked))
        said = flat("running.md")
        self.assertIn("marks its records with `lan`, signed apart (`lanSig`, protocol.md "
                      "§11a); such a node reads neither and checks the rest", said)
        self.assertIn("names it to buyers without the mark", said)

    def test_fullIsAStoreTakenToAnOlderReader(self):
        import json

        import attr

        from twisted_bazaar.core.records import PER_KEY
        from twisted_bazaar.schemes.chord.messages import ChordStored
        from twisted_bazaar.wire.codec import decode

        taken = {"type": "chordStored", "id": 5, "item": "apple", "hops": 1,
                 "path": ["0123456789abcdef0123456789abcdee"],
                 "holder": "0123456789abcdef0123456789abcdef"}
        full = decode(json.dumps(dict(taken, full=True)).encode())
        self.assertEqual((type(full), full.full), (ChordStored, True))
        # All a reader that leaves full out sees is a store taken.
        self.assertEqual(decode(json.dumps(taken).encode()), attr.evolve(full, full=None))
        self.assertIn(f"takes a holder's `chordStored` with `full` (a store refused for "
                      f"the {PER_KEY:,} records of its key, protocol.md §20) for a store "
                      "taken", flat("running.md"))


class ProbedBuysTests(SynchronousTestCase):
    """reliability.md counted its probed buys and asks "over the 43 tests
    of tests/test_exactly_once.py", which holds 54 now (issue 96, a walk
    of reliability.md: ``pytest tests/test_exactly_once.py`` says 54
    passed).  The figures beside the count were measured again with it,
    wrapping ``roles.probe.Probe`` to count the probes made with
    ``BUY_ROUNDS`` and ``ASK_ROUNDS`` rounds and those that ended
    refused; measure them again when this count moves."""

    def test_theCountOfTheTestsIsTheFilesOwn(self):
        import unittest

        from tests import test_exactly_once

        def cases(suite):
            for test in suite:
                if isinstance(test, unittest.TestSuite):
                    yield from cases(test)
                elif type(test).__module__ == test_exactly_once.__name__:
                    yield test

        count = len(list(cases(unittest.TestLoader().loadTestsFromModule(
            test_exactly_once))))
        self.assertIn(f"over the {count} tests of `tests/test_exactly_once.py`",
                      flat("reliability.md"))

    def test_everyRaceOfTheFileIsSaid(self):
        """Its list of the file's tests left the 8 bulk races out."""
        from tests import test_exactly_once

        text = flat("reliability.md")
        for kind, cls in (("Races", test_exactly_once.RaceTests),
                          ("Bulk races", test_exactly_once.BulkRaceTests)):
            seeds = len([name for name in dir(cls) if name.startswith("test_seed")])
            self.assertIn(f"*{kind}*, {seeds} seeds:", text)


class SellDiffersTests(SynchronousTestCase):
    """reliability.md quoted the warning of a ``--sell`` that differs from
    a data dir's stock as ending at ``keeping what is left: apple=1``,
    without the ``(start it with --restock …)`` the seller logs after it
    (issue 96, a walk of reliability.md: a seller started with
    ``--sell apple=5``, then again with ``--sell apple=9``)."""

    def test_theWholeWarningIsQuoted(self):
        from twisted.logger import formatEvent

        from twisted_bazaar.roles.seller.stock import startingStock
        from twisted_bazaar.store import MemoryStore

        class Log:
            def __init__(self):
                self.lines = []

            def warn(self, text, **fields):
                self.lines.append(formatEvent(dict(fields, log_format=text)))

        store, log = MemoryStore(), Log()
        store.seedInventory({"apple": 5})
        store.restock({"apple": 1})
        startingStock(store, {"apple": 9}, log, self.fail)
        [line] = log.lines
        self.assertIn(f"is logged as a warning (`{line}`) and is not applied",
                      flat("reliability.md"))


class PluginOptionsHelpTests(SynchronousTestCase):
    """architecture.md said a role's or scheme's options "appear in
    ``twistd bazaar-node --help`` with their owner"; ``--help`` shows only
    the options most runs need, and a scheme's appear under ``--help-all``,
    in a section of their scheme's (issue 96, a walk of architecture.md:
    ``--chord-successors`` is not in ``--help``)."""

    def helpText(self, flag):
        import io
        import sys

        from twisted_bazaar.tap.node import Options

        stdout = io.StringIO()
        self.patch(sys, "stdout", stdout)
        self.assertEqual(self.assertRaises(SystemExit, Options().parseOptions,
                                           [flag]).code, 0)
        return stdout.getvalue()

    def test_aSchemesOptionsAreInHelpAll(self):
        self.assertNotIn("--chord-successors", self.helpText("--help"))
        whole = self.helpText("--help-all")
        section = whole.split("The chord scheme (--discovery chord):", 1)[1]
        self.assertIn("--chord-successors=", section.split("\n\n", 1)[0])
        text = flat("architecture.md")
        self.assertNotIn("appear in `twistd bazaar-node --help` with", text)
        self.assertIn("appear in `twistd bazaar-node --help-all` in their owner's section", text)


class NodePageFieldsTests(SynchronousTestCase):
    """api.md's ``/api/node/ID`` named "its address" and not the ``scheme``
    the page gives beside it, nor every field only an operator is told
    (issue 96): each key of a node's page, live with all it can hold and
    lately left, is named there."""

    def pages(self):
        from twisted.internet.task import Clock

        from twisted_bazaar.status.messages import NodeState
        from twisted_bazaar.web.view import MarketView

        view = MarketView(Clock())
        view.membersSeen([(1, "10.0.0.1", 9001, "flood"), (2, "10.0.0.2", 9002, "flood")])
        view.stateSeen(NodeState(
            1, "10.0.0.1", 9001, "flood", ((2, "10.0.0.2", 9002, "direct", False),),
            {"apple": 1}, {"pear": 1}, 1, recent=((5, "in", 2, "buyOK"),),
            files=(("f", 1, "ab" * 32, 2),), trades=((5, 1, "pear", 1, (1, 2)),),
            downloads=(("g", 9, "cd" * 32, 1, 1, 1, "fetching", ""),),
            roles=("buyer",), stock_items=9, files_shared=9))
        live = view.node(1)
        view.membersSeen([(1, "10.0.0.1", 9001, "flood")])
        return live, view.node(2)

    def test_everyKeyIsNamed(self):
        text = section(flat("api.md"), "- `/api/node/ID`:", "- `/api/events`")
        live, left = self.pages()
        keys = set(live) | set(left) | {key for rows in ("links", "downloads", "messages",
                                                         "trades")
                                        for row in live[rows] for key in row}
        self.assertIn("scheme", keys)
        self.assertEqual(sorted(key for key in keys if f"`{key}`" not in text), [])


class RefusalsQuotedTests(SynchronousTestCase):
    """protocol.md quotes, byte for byte, the two refusals a tracker sends
    as well as a node: they said "this node" from the tracker too (issue
    96); now the port, or the end, that refuses."""

    def test_thePlaintextRefusal(self):
        from twisted_bazaar.channel.session import REFUSAL

        self.assertIn(REFUSAL.decode("utf-8"), flat("protocol.md"))

    def test_aFieldOfVersionOne(self):
        from twisted_bazaar import wire
        from twisted_bazaar.wire.codec import ProtocolError
        from twisted_bazaar.wire.core import Error
        from twisted_bazaar.wire.framing import frame

        with self.assertRaises(ProtocolError) as caught:
            wire.MESSAGE_TYPES["thisisme"].fromDict(
                {"type": "thisisme", "id": "", "port": 9000, "host": "", "udp": 9001})
        sent = frame(wire.encode(Error("wtf", caught.exception.info))).decode("utf-8")
        self.assertIn(f"T → N {sent}", flat("protocol.md"))
        self.assertNotIn("node speaks", sent)


class CurrentFolderOfStateTests(SynchronousTestCase):
    """running.md quotes the end of ``bazaar buy FILE`` without --downloads
    in a folder of a daemon's state (issue 96: it said the current folder
    is not checked at all)."""

    def test_theLineQuoted(self):
        from twisted_bazaar.daemon.statefolders import currentFolderRefusal

        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        with open(os.path.join(folder, "node.key"), "wb"):
            pass
        why = currentFolderRefusal(folder).replace(folder, "DIR")
        self.assertIn(f"(`cannot download FILE: {why}; nothing bought`)",
                      flat("running.md"))


class NoQuicRefusalTests(SynchronousTestCase):
    """protocol.md says which refusals carry ``udp: false``: a ``--no-quic``
    node's each do (issue 96: they said nothing of UDP, and its peers
    asked the tracker for UDP punches with it)."""

    def test_theSentenceAndTheCode(self):
        from twisted_bazaar.reach.punch.tcp.exchange import Puncher

        self.assertIn("One started with `--no-quic` serves no UDP: each punch it "
                      "refuses, for whatever reason, carries `udp: false` too.",
                      flat("protocol.md"))
        self.assertTrue(Puncher.udp)


class AddressGroupWordsTests(SynchronousTestCase):
    """reliability.md says what an address group is, an IPv6 address that
    carries an IPv4 one counted as that IPv4's (issue 96: a Teredo
    client's or a NAT64's /32 was one group for every party behind it)."""

    def test_eachFormSaid(self):
        from twisted_bazaar.base.addressgroup import addressGroup

        text = section(flat("reliability.md"), "**What an address group is**",
                       "- **Transfer slots held by one address.**")
        for form, sample in (("`::ffff:0:0/96`", "::ffff:192.0.2.45"),
                             ("`64:ff9b::/96`", "64:ff9b::192.0.2.45"),
                             ("`2002::/16`", "2002:c000:22d::1"),
                             ("`2001::/32`", "2001:0:4136:e378:8000:63bf:3fff:fdd2")):
            self.assertIn(form, text)
            self.assertEqual(addressGroup(sample), "192.0.0.0/16", sample)
        self.assertIn("(`2001:470::/32`), a tunnel for whoever asks, is grouped by /36",
                      text)
        self.assertEqual(addressGroup("2001:470:1f0b::1"), "2001:470:1000::/36")


class RelayOfTheAskersFamilyTests(SynchronousTestCase):
    """protocol.md §5a and running.md say the tracker names a relay of the
    asker's address family first (issue 96: it picked by address group
    alone, and an IPv6-only node at home was named IPv4 relays)."""

    def test_bothSayIt(self):
        import inspect

        from twisted_bazaar.tracker.relays import RelayPool

        self.assertIn("first a relay whose HOST is of the address family of the node's "
                      "own connection", flat("protocol.md"))
        self.assertIn("its relay holding the fewest, one at an address of the family "
                      "the node reached the tracker by (IPv4 or IPv6) while one has room",
                      flat("running.md"))
        self.assertIn("family", inspect.signature(RelayPool.pick).parameters)


class ChordAcrossFamiliesTests(SynchronousTestCase):
    """running.md says what a chord ring in a dual-stack market does: one
    ring across both families, a chord buyer that gives up naming a
    neighbour it could not link to (issue 96: only the flood's did)."""

    def test_theWords(self):
        import inspect

        from twisted_bazaar.schemes.chord import upkeep

        text = flat("running.md")
        self.assertIn("a buyer of the flood scheme (the default) or of chord that gives "
                      "up names such a peer", text)
        self.assertIn("a chord ring is one ring across both families", text)
        self.assertIn("(`node S missed 3 pings: dead; …`)", text)
        self.assertIn("node {dead} missed {k} pings: dead; successor now {succ}",
                      inspect.getsource(upkeep))
        self.assertIn("linkFailed", inspect.getsource(upkeep.Upkeep._notLinked))


class TradesSinceTheStartTests(SynchronousTestCase):
    """running.md and protocol.md §12a called the trades a node tells its
    operator its "last sales and purchases (16 of each)"; a restarted
    node tells none made before its start (they are kept in memory, and
    its ledger holds no paths), while its ledger lists them all."""

    def test_aRestartedNodeTellsNoTradeFromBefore(self):
        from twisted_bazaar.store import MemoryStore, Purchase
        from twisted_bazaar.testing import Market

        store = MemoryStore()
        store.commitPurchase(Purchase(1, "apple", 5, 0.0))
        market = Market(seed=7)
        node = market.addNode(store=store, buyer={"wants": ["pear"]})
        market.run(5)
        state = market.services[node].status.state()
        self.assertEqual((state.bag, state.trades), ({"apple": 1}, ()))

    def test_theDocsSaySinceItStarted(self):
        running = flat("running.md")
        self.assertIn("The trades are the node's last sales and purchases since it "
                      "started (16 of each, kept in memory: a restarted node shows "
                      "none from before", running)
        self.assertNotIn("last sales and purchases (16 of each)", running)
        self.assertIn("if the node made it since it last started", running)
        self.assertIn("the last 16 sales and the last 16 purchases made since the node "
                      "started, in memory", flat("protocol.md"))


class TrackersAddedTests(SynchronousTestCase):
    """running.md's "Several trackers" did not say that a node of one
    tracker given a second checks neither against the key it kept."""

    def test_theWarningIsQuoted(self):
        from twisted_bazaar.tap.knowntracker import _unchecked

        text = flat("running.md")
        line = _unchecked("DIR/known_tracker", ["A"])
        quoted = section(text, "warns once at start: `", "`.")
        head, tail = quoted.split(": ...; ")
        self.assertTrue(line.startswith(head), head)
        self.assertTrue(line.endswith(tail), tail)
        self.assertIn("A node of several started again with one of them reads that "
                      "one's own file", text)


class KeyRemovedWhileRunningTests(SynchronousTestCase):
    """running.md's tracker's state directory did not say what a key file
    removed while the tracker runs comes to; its warning is quoted."""

    def test_theWarningIsQuoted(self):
        from twisted.logger import capturedLogs
        from twisted_bazaar.daemon.tracker import keepKey

        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        data = os.path.join(folder, "DIR")
        held = []
        identity = trackerIdentity(data, held=held)
        shutil.rmtree(data)
        with capturedLogs() as logged:
            keepKey(identity, held)
        [event] = logged
        said = event["log_format"].format(path=os.path.join("DIR", "tracker.key"))
        self.assertIn(f"said: `{said}` (a tracker killed", flat("running.md"))


class RolesLeftOutTests(SynchronousTestCase):
    """running.md said what a node started without --role seller does with
    a data dir's stock, not what one without --role buyer does with its
    pending buys; its warning is quoted."""

    def test_theWarningIsQuoted(self):
        from twisted_bazaar.daemon.node import unsentLine
        from twisted_bazaar.store import MemoryStore, PendingBuy

        store = MemoryStore()
        store.addPending(PendingBuy(4, "grape", 5, (17, 5), "h", 1))
        self.assertIn(f"it warns `{unsentLine('DIR', store, False)}`", flat("running.md"))
