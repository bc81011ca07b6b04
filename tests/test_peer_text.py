"""
Hostile text from peers (issue 34, "one boundary for peer text"): every
text field of every message the wire declares, filled with what a
terminal obeys (an OSC 52 clipboard write, a CSI that erases the screen,
``\\r`` and ``\\n`` that forge a line, C1 controls, DEL, a bidi override),
sent by a stranger to a tracker and to nodes of every scheme, and shown
by every view: the daemons' text and JSON logs, ``bazaar status``,
``list``, ``node``, its errors and ``buy``'s progress, and the web view.
No raw control character comes out of any of them.

The messages are generated from the wire's registry of message classes
(L{twisted_bazaar.wire.codec.MESSAGE_TYPES}): each field gets the hostile
text if its checker takes text, else the first value its checker takes
from a few shapes (a node id, a list of objects whose text fields are
hostile, a signed record of a hostile item at a hostile host...), so
that a message or field added later is covered without editing this.
"""

import contextlib
import importlib
import inspect
import io
import json
import pkgutil
import random
import re

import attr
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from tests import records
from tests.helpers import (
    FakeConnector,
    WiredLink,
    jsonNetstring,
    linkPeer,
    makeNode,
    provenLink,
)
from twisted_bazaar import wire
from twisted_bazaar.cli import arguments, bazaar
from twisted_bazaar.cli.progress import Progress
from twisted_bazaar.daemon.registry import buildScheme, trackerExtensionPlugins
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.roles.buyer import Buyer
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.tap.logformat import jsonObserver, textObserver
from twisted_bazaar.tracker import Tracker, TrackerFactory
from twisted_bazaar.web.resources import webSite
from twisted_bazaar.web.view import MarketView
from twisted_bazaar.wire.ids import wireId
from tests.web.test_resources import render

#: What a stranger puts in every text field: an OSC 52 clipboard write, a
#: CSI erase-screen, a carriage return and a newline, DEL, a C1 CSI, and a
#: right-to-left override, in 31 UTF-8 bytes (a scheme's name takes 32).
HOSTILE = "\x1b]52;c;aGk=\x07\x1b[2J\r\n\x7f\x9b2J\u202egnp"
#: The same, with a line that would pass for the tracker's own, for the
#: fields that take longer text.
HOSTILE_LINE = HOSTILE + "\r2026-11-24T00:00:00+0000 [Tracker#info] node 1 joined"
#: The start of a line twistd writes: its time stamp.
LINE_START = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[")

#: The message types the generator cannot build: a piece list.
NOT_BUILT = {"about"}
#: A stranger's key, which signs its hostile records.
STRANGER = records.identity(666)


def _loadMessages():
    """Import every module that declares messages, so the registry holds
    them all."""
    for module in pkgutil.walk_packages(twisted_bazaar.__path__, "twisted_bazaar."):
        if module.name.split(".")[1] in ("wire", "core", "files", "roles", "schemes",
                                         "status", "tracker", "reach",
                                         "transports"):
            importlib.import_module(module.name)
    return dict(wire.MESSAGE_TYPES)


def _padded(size):
    """Hostile ASCII text of exactly size bytes (a key's, a signature's)."""
    return (HOSTILE.encode("ascii", "ignore").decode() + "A" * size)[:size]


def _record():
    """A record the stranger signed, of a hostile item at a hostile host."""
    return records.signed(STRANGER, item=HOSTILE_LINE, host=HOSTILE).asDict()


def _shapes(text):
    """Values to offer a field's checker, most hostile first."""
    record = _record()
    peer = [wireId(STRANGER.id), text, 9001]
    return [text, HOSTILE, _padded(43), _padded(86), "wtf", {text: 1}, {HOSTILE: record}, peer, [peer], record, [record],
            [[60000, record]],
            [{"id": wireId(STRANGER.id), "host": text, "port": 9001,
              "record": record}],
            wireId(STRANGER.id), "1", "ab" * 32, "0" * 32, 1, 0, True, ["1"],
            f"{text}:9001", "node",
            [], {}]


def _objects(checker, text):
    """For a checker of a list of objects (L{wire.codec.objectList}): one
    object of its keys, each as hostile as its own checker takes."""
    keys = inspect.getclosurevars(checker).nonlocals.get("keys")
    if not keys:
        return []
    return [[{key: _value(check, key, text) for key, check in keys}]]


def _value(checker, name, text=HOSTILE_LINE):
    """The first value of L{_shapes} (or a list of objects) the checker
    takes; L{wire.ProtocolError} if none."""
    for value in _objects(checker, text) + _shapes(text):
        try:
            checker(value, name)
        except (wire.ProtocolError, TypeError, ValueError, KeyError, AttributeError):
            continue
        return value
    raise wire.ProtocolError(f"no value for {name}")


def _hostile(cls):
    """A message of class cls as a JSON object, each field as hostile as
    its checker takes (a scheme's name, which takes 32 bytes, gets the
    short hostile text); None if a required field takes none of
    L{_shapes}."""
    obj = {"type": cls.TYPE}
    for wireName, _, checker, default in cls.FIELDS:
        try:
            obj[wireName] = _value(checker, wireName)
        except wire.ProtocolError:
            if default is wire.REQUIRED:
                return None
    return obj


def hostileMessages():
    """Every message type the generator builds (L{_hostile}), as JSON
    objects, in the order of their types."""
    built = (_hostile(cls) for _, cls in sorted(_loadMessages().items()))
    return [obj for obj in built if obj is not None]


def rawControls(text, keep="\n\t"):
    """The characters of text that a reader would obey (all but ``keep``)."""
    return sorted({char for char in text if not char.isprintable() and char not in keep})


def strings(value):
    """Every string in a JSON value, keys too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def benign(value):
    """A JSON value with the same strings, but with every character that
    is not printable replaced by ``?``: what it would show were it
    harmless."""
    if isinstance(value, str):
        return "".join(char if char.isprintable() else "?" for char in value)
    if isinstance(value, dict):
        return {benign(key): benign(item) for key, item in value.items()}
    if isinstance(value, list):
        return [benign(item) for item in value]
    return value


class GeneratorTests(SynchronousTestCase):
    def test_everyMessageWithText(self):
        """The generator builds the messages of every scheme, each one as
        the codec decodes it, hostile text in their nested fields too."""
        messages = hostileMessages()
        kinds = {obj["type"] for obj in messages}
        # Only the file transfer's messages (its own port, hex and numbers)
        # are left out.
        self.assertEqual(set(wire.MESSAGE_TYPES) - kinds, NOT_BUILT)
        self.assertTrue({"thisisme", "error", "search", "reply", "buy", "register",
                         "leafRegister", "chordFound", "chordStore", "memberlist",
                         "nodestate", "listing"} <= kinds, kinds)
        for obj in messages:
            decoded = wire.decode(json.dumps(obj).encode())
            self.assertEqual(decoded.TYPE, obj["type"])
        [found] = [obj for obj in messages if obj["type"] == "chordFound"]
        self.assertEqual(found["node"][1], HOSTILE_LINE)


class LogTests(SynchronousTestCase):
    """
    The daemons' logs (L{twisted_bazaar.tap.logformat}, every level) of a
    tracker and of nodes of each scheme that a stranger sends every
    hostile message: no raw control character, no line that starts but
    with a time stamp or as a continuation (a tab).
    """

    def setUp(self):
        self.text, self.json = io.StringIO(), io.StringIO()
        for observer in (textObserver(self.text), jsonObserver(self.json)):
            globalLogPublisher.addObserver(observer)
            self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.messages = hostileMessages()

    def assertLogsShown(self):
        text = self.text.getvalue()
        self.assertIn("\\x1b]52", text)
        self.assertEqual(rawControls(text), [])
        for line in text.splitlines():
            self.assertTrue(LINE_START.match(line) or line.startswith("\t"), line)
        for line in self.json.getvalue().splitlines():
            self.assertEqual(rawControls(line, keep=""), [])
            self.assertEqual(rawControls(json.loads(line)["log_text"]), [])

    def sayAll(self, say, clock):
        for obj in self.messages:
            say(obj)
            clock.advance(1)
        clock.advance(60)

    def test_tracker(self):
        clock = Clock()
        tracker = Tracker(clock, random.Random(1), LinkSettings(ping_interval=0),
                          extensions=trackerExtensionPlugins(),
                          connector=FakeConnector())
        factory = TrackerFactory(tracker)
        registered = WiredLink(factory, "198.51.100.7")
        registered.say({"type": "thisisme", "id": "", "port": 9001, "host": HOSTILE_LINE,
                        "scheme": HOSTILE})

        def say(obj):
            registered.say(obj)
            WiredLink(factory, "198.51.100.8").say(obj)

        self.sayAll(say, clock)
        registered.link.transport.loseConnection()
        tracker.stop()
        self.assertLogsShown()

    def test_errorInfoForgesNoLine(self):
        """The issue's case: a ``\\r`` in an error's info, at the tracker,
        would start what a terminal shows as a line of the tracker's own."""
        tracker = Tracker(Clock(), random.Random(1), LinkSettings(ping_interval=0))
        peer = WiredLink(TrackerFactory(tracker), "198.51.100.7")
        peer.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        peer.say({"type": "error", "code": "wtf", "info": "\r2026-11-24T00:00:00+0000 "
                  "[Tracker#info] node 1 joined from 10.0.0.1:1 (1 live)"})
        [said] = [line for line in self.text.getvalue().splitlines() if " says " in line]
        self.assertTrue(said.endswith("says wtf: \\r2026-11-24T00:00:00+0000 "
                                      "[Tracker#info] node 1 joined from 10.0.0.1:1 "
                                      "(1 live)"), said)
        self.assertEqual(rawControls(self.text.getvalue()), [])

    def test_nodes(self):
        for scheme in ("flood", "index", "superpeer", "chord"):
            for keyed in (False, True):
                node = makeNode(node_id=None if keyed else 5,
                                identity=records.identity(7) if keyed else None)
                if keyed:
                    node.setId(node.identity.id)
                buildScheme(node, scheme)
                Seller(node, {HOSTILE_LINE: 3, "apple": 2})
                Buyer(node, [HOSTILE_LINE, "apple"], search_window=1.0)
                link = (provenLink(node, STRANGER) if keyed
                        else linkPeer(node, 9, host=HOSTILE))
                self.sayAll(lambda obj: link.dataReceived(jsonNetstring(obj)),
                            node.clock)
        self.assertLogsShown()


def _decoded(kind):
    [obj] = [obj for obj in hostileMessages() if obj["type"] == kind]
    message = wire.decode(json.dumps(obj).encode())
    # A node's whole state, as its operator is told it: every field shown.
    return attr.evolve(message, public=False) if kind == "nodestate" else message


class CommandLineTests(SynchronousTestCase):
    """
    ``bazaar status``, ``list`` and ``node`` of a market whose answers are
    all hostile, as text and as JSON, and an error quoting a peer: no raw
    control character on stdout or stderr, and a field's newline does not
    make a line of its own.
    """

    def main(self, argv, obj=None, error=None):
        """Run bazaar's main with the command answering obj (or failing
        with error): its exit status, stdout and stderr."""
        command = next(arg for arg in argv if arg in bazaar.COMMANDS)

        def run(reactor, args):
            if error is not None:
                raise ClientError(error)
            return obj

        self.patch(bazaar, "COMMANDS", dict(bazaar.COMMANDS,
                                            **{command: (run, bazaar.COMMANDS[command][1])}))
        self.patch(bazaar.task, "react", lambda go, argv, _reactor=None: go(None))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = arguments.main(argv)
        return status, out.getvalue(), err.getvalue()

    def assertShown(self, output, lines=None):
        self.assertEqual(rawControls(output), [])
        if lines is not None:
            self.assertEqual(len(output.splitlines()), lines, output)

    def objects(self):
        members, listing, state = (_decoded("memberlist"), _decoded("listing"),
                                   _decoded("nodestate"))
        unreachable = [{"id": "9", "host": HOSTILE, "port": 1, "why": HOSTILE_LINE}]
        return {"status": bazaar.statusObject(members),
                "list": bazaar.listObject(listing.items, [state], unreachable),
                "node": bazaar.nodeObject(state)}

    def test_views(self):
        for command, obj in self.objects().items():
            argv = [command] + (["10.0.0.1:9001"] if command == "node" else [])
            status, out, err = self.main(argv, obj)
            self.assertEqual((status, err), (0, ""))
            self.assertShown(out, len(bazaar.COMMANDS[command][1](benign(obj))
                                      .splitlines()))
            self.assertIn("\\x1b]52", out)
            status, out, err = self.main(["--json"] + argv, obj)
            self.assertShown(out, 1)
            self.assertEqual(json.loads(out), obj)

    def test_osc52InAnItemNameInList(self):
        """The issue's case: an item name that writes the clipboard."""
        state = attr.evolve(_decoded("nodestate"), stock={"\x1b]52;c;aGk=\x07": 1},
                            files=())
        obj = bazaar.listObject({}, [state])
        _, out, _ = self.main(["list"], obj)
        self.assertNotIn("\x1b", out)
        self.assertIn("\\x1b]52;c;aGk=\\x07: 1 unit", out)

    def test_error(self):
        status, out, err = self.main(["status"], error=f"node says {HOSTILE_LINE}")
        self.assertEqual((status, out), (1, ""))
        self.assertShown(err, 1)

    def test_schemeRefusal(self):
        """A market whose only scheme is a hostile name: the refusal
        quotes it, shown."""
        members = wire.MESSAGE_TYPES["memberlist"](((1, "10.0.0.1", 9001, HOSTILE),), 1)
        try:
            bazaar.marketScheme(members, {"flood"})
        except ClientError as e:
            reason = str(e)
        status, _, err = self.main(["status"], error=reason)
        self.assertShown(err, 1)

    def test_progress(self):
        [entry] = bazaar.nodeObject(_decoded("nodestate"))["downloads"]
        entry = dict(entry, name=HOSTILE, state="failed")
        for terminal in (True, False):
            written = []
            progress = Progress(written.append, terminal)
            progress.show([entry], 0)
            progress.done()
            output = "".join(written)
            self.assertEqual(rawControls(output.replace("\r", "")), [])
            self.assertEqual(output.count("\r"), 1 if terminal else 0)


class WebTests(SynchronousTestCase):
    """The web view's JSON and event stream of a market whose members and
    states are all hostile: every string shown, no raw control character
    in the bytes the page gets."""

    def test_everyResource(self):
        view = MarketView(Clock())
        members, state = _decoded("memberlist"), _decoded("nodestate")
        view.membersSeen(list(members.nodes) + [(state.id, state.host, state.port,
                                                 state.scheme)])
        view.stateSeen(state)
        site = webSite(view)
        for path in ("api/market", f"api/node/{wireId(state.id)}", "api/events"):
            request, body = render(site, path)
            data = body if isinstance(body, bytes) else b"".join(request.written)
            text = data.decode("utf-8")
            self.assertEqual(rawControls(text, keep="\n"), [], path)
            payload = text.split("data: ", 1)[-1]
            found = list(strings(json.loads(payload)))
            self.assertTrue(any("\\x1b]52" in s for s in found), path)
            self.assertEqual([s for s in found if rawControls(s, keep="")], [], path)
            if path == "api/events":
                request.processingFailed(ConnectionError("gone"))
