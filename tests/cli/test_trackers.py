"""
Tests for twisted_bazaar.cli.trackers: ``bazaar status`` and ``bazaar
list`` over several trackers, each asked, their answers put together.
"""

import contextlib
import io
import os

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli import bazaar, trackers
from twisted_bazaar.cli.arguments import parse
from twisted_bazaar.cli.bazaar import renderList, renderStatus
from twisted_bazaar.identity.keys import Identity, decode, encode
from twisted_bazaar.schemes.index.messages import Listing
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.status.messages import MemberList, NodeState
from twisted_bazaar.tap.knowntracker import KNOWN_TRACKER, writeKnown
from twisted_bazaar.transports.path import Path
from twisted_bazaar.transports.websocket import WEBSOCKET

from tests.files.helpers import scratchDir

TWO = ["--tracker", "127.0.0.1:7700", "--tracker", "127.0.0.1:7701"]


def refused(argv):
    """What parse says of argv on stderr, as it exits."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), SynchronousTestCase().assertRaises(SystemExit):
        parse(argv)
    return err.getvalue()


class ParseTests(SynchronousTestCase):
    def test_severalTrackers(self):
        args = parse(TWO + ["status"])
        self.assertEqual([str(t) for t in args.trackers],
                         ["127.0.0.1:7700", "127.0.0.1:7701"])
        self.assertEqual(args.tracker_keys, [None, None])
        self.assertEqual(str(args.tracker), "127.0.0.1:7700")

    def test_aKeyEach(self):
        keys = [Identity.generate().key for _ in range(2)]
        args = parse(TWO + ["list", "--tracker-key", keys[0], "--tracker-key", keys[1]])
        self.assertEqual(args.tracker_keys, [decode(key) for key in keys])
        self.assertIn("--tracker-key: 1 key for 2 trackers; give one --tracker-key "
                      "per --tracker, in the same order, or none",
                      refused(TWO + ["status", "--tracker-key", keys[0]]))

    def test_nodeAndBuyAskOne(self):
        for command in (["node", "h:1"], ["buy", "plum"]):
            self.assertIn(f"{command[0]} asks one tracker: give --tracker once",
                          refused(TWO + command))


class SeveralTrackersCase(SynchronousTestCase):
    """Two trackers, whose answers the test gives by address."""

    def answering(self, answers):
        asked = []

        def askTracker(reactor, address, question, answerType, timeout, key=None, pin=None,
                       scopes=None):
            asked.append((str(address), type(question).__name__))
            answer = answers[(str(address), answerType)]
            if isinstance(answer, Exception):
                return defer.fail(answer)
            return defer.succeed(answer)

        self.patch(trackers, "askTracker", askTracker)
        return asked


class StatusTests(SeveralTrackersCase):
    def test_eachTrackerAskedAndTheirNodesTogether(self):
        """Each node once (one moving between trackers may be on both), the
        totals summed less those; a tracker that does not answer is named, with why."""
        first = MemberList(((7, "198.51.100.7", 5007, "flood"), (8, "198.51.100.8", 5008,
                                                              "flood")), 2)
        second = MemberList(((8, "198.51.100.8", 5008, "flood"),
                             (9, "198.51.100.9", 5009, "flood")), 2)
        self.answering({("127.0.0.1:7700", MemberList): first,
                        ("127.0.0.1:7701", MemberList): second})
        obj = self.successResultOf(bazaar.status(None, parse(TWO + ["status"])))
        self.assertEqual(obj["total"], 3)
        self.assertEqual([node["port"] for node in obj["nodes"]], [5007, 5008, 5009])
        self.assertEqual(obj["trackers"], [{"tracker": "127.0.0.1:7700", "total": 2},
                                           {"tracker": "127.0.0.1:7701", "total": 2}])
        self.assertEqual(renderStatus(obj).splitlines()[:3], [
            "tracker 127.0.0.1:7700: 2 live nodes",
            "tracker 127.0.0.1:7701: 2 live nodes", "3 live nodes"])

    def test_oneTrackerGone(self):
        alive = MemberList(((9, "198.51.100.9", 5009, "flood"),), 1)
        self.answering({("127.0.0.1:7700", MemberList): ClientError("cannot reach "
                                                                    "127.0.0.1:7700"),
                        ("127.0.0.1:7701", MemberList): alive})
        obj = self.successResultOf(bazaar.status(None, parse(TWO + ["status"])))
        self.assertEqual((obj["total"], len(obj["nodes"])), (1, 1))
        self.assertEqual(renderStatus(obj).splitlines()[:2], [
            "tracker 127.0.0.1:7700: not answered: cannot reach 127.0.0.1:7700",
            "tracker 127.0.0.1:7701: 1 live node"])

    def test_aTransportsTrackerKeepsItsKind(self):
        """A tracker reached over a transport's port (ws:) is named with
        its kind, as the command line gave it: two trackers at one host
        and port, one over TCP and one over WebSocket, are told apart."""
        alive = MemberList(((9, "198.51.100.9", 5009, "flood"),), 1)
        self.patch(trackers, "askTracker", self._byKind({
            "ws": ClientError("cannot reach 127.0.0.1:7700: not a WebSocket port"),
            "tcp": alive}))
        obj = self.successResultOf(bazaar.status(None, parse(
            ["--tracker", "ws:127.0.0.1:7700", "--tracker", "127.0.0.1:7700", "status"])))
        self.assertEqual(renderStatus(obj).splitlines()[:2], [
            "tracker ws:127.0.0.1:7700: not answered: cannot reach 127.0.0.1:7700: not a "
            "WebSocket port",
            "tracker 127.0.0.1:7700: 1 live node"])

    @staticmethod
    def _byKind(answers):
        def askTracker(reactor, address, question, answerType, timeout, key=None, pin=None,
                       scopes=None):
            answer = answers[address.kind]
            if isinstance(answer, Exception):
                return defer.fail(answer)
            return defer.succeed(answer)
        return askTracker

    def test_noTrackerAnswers(self):
        self.answering({("127.0.0.1:7700", MemberList): ClientError("refused"),
                        ("127.0.0.1:7701", MemberList): ClientError("timed out")})
        failure = self.failureResultOf(bazaar.status(None, parse(TWO + ["status"])),
                                       ClientError)
        self.assertEqual(str(failure.value), "no tracker answered: 127.0.0.1:7700: "
                         "refused; 127.0.0.1:7701: timed out")


#: A member's WebSocket port, as its tracker names it.
# Members on public hosts: a private one that a tracker on 127.0.0.1
# names is not dialled (reach/peerhosts.TrackerScopes), as a node would not.
WS = Path(WEBSOCKET, "198.51.100.7", 443)


class ListTests(SeveralTrackersCase):
    def test_indexesSummedAndEveryMemberAsked(self):
        self.answering({
            ("127.0.0.1:7700", MemberList): MemberList(((7, "198.51.100.7", 5007, "index"),),
                                                       1, paths={7: (WS,)}),
            ("127.0.0.1:7701", MemberList): MemberList(((9, "198.51.100.9", 5009, "index"),),
                                                       1, {9: "203.0.113.1:7702"},
                                                       {9: ("192.168.1.9",)}),
            ("127.0.0.1:7700", Listing): Listing({"apple": 1}),
            ("127.0.0.1:7701", Listing): Listing({"apple": 1, "pear": 1})})
        asked = []

        def askNode(reactor, address, question, answerType, timeout, dialled=None,
                    relay=None, transports=None, lan=(), paths=()):
            asked.append((address.port, dialled, relay) + ((lan,) if lan else ())
                         + ((paths,) if paths else ()))
            return defer.fail(ClientError("not asked"))

        self.patch(bazaar, "askNode", askNode)
        obj = self.successResultOf(bazaar.listing(None, parse(TWO + ["list"])))
        self.assertEqual(obj["index"], {"apple": 2, "pear": 1})
        self.assertEqual(sorted(asked), [(5007, 7, None, (WS,)),
                                         (5009, 9, "203.0.113.1:7702", ("192.168.1.9",))])
        self.assertEqual(obj["trackers"], [{"tracker": "127.0.0.1:7700", "total": 1},
                                           {"tracker": "127.0.0.1:7701", "total": 1}])
        self.assertEqual(renderList(obj).splitlines()[-2:], [
            "tracker 127.0.0.1:7700: 1 live node", "tracker 127.0.0.1:7701: 1 live node"])

    def test_oneTrackerIsAsBefore(self):
        """One tracker: no ``trackers`` in the object, nor lines for them."""
        answers = iter([MemberList((), 0), Listing({})])
        self.patch(bazaar, "askTracker", lambda *a, **kw: defer.succeed(next(answers)))
        obj = self.successResultOf(bazaar.listing(None, parse(["list"])))
        self.assertNotIn("trackers", obj)

    def test_aListCutShortIsSaidSo(self):
        """The tracker's memberlist, cut short to fit one frame, names 2
        of its 900 live nodes: `bazaar list` asked those 2, and says so
        (it said `live query of every node`), in --json too."""
        members = MemberList(((7, "198.51.100.7", 5007, "flood"), (9, "198.51.100.9", 5009, "flood")),
                             900)
        answers = iter([members, Listing({})])
        self.patch(bazaar, "askTracker", lambda *a, **kw: defer.succeed(next(answers)))
        self.patch(bazaar, "askNode", lambda *a, **kw: defer.succeed(
            NodeState(7, "198.51.100.7", 5007, "flood", (), {"apple": 2}, {}, 0)))
        obj = self.successResultOf(bazaar.listing(None, parse(["list"])))
        self.assertEqual((obj["asked"], obj["live"]), (2, 900))
        self.assertEqual(renderList(obj).splitlines()[0], "in stock (live query of 2 of "
                         "the 900 live nodes: the tracker's list holds no more):")


class PinnedTrackerTests(SynchronousTestCase):
    """
    ``bazaar status`` and ``list`` pin the tracker's key as a node does:
    the one a node's data dir keeps, or the first proven, for the
    command's later questions; another key is refused, saying why, and
    its answer never shown.
    """

    def setUp(self):
        self.answering = [b"T" * 32]
        self.patch(bazaar, "askTracker", self.channel)
        self.patch(bazaar, "askNode", lambda *a, **kw: defer.fail(ClientError("gone")))

    def channel(self, reactor, address, question, answerType, timeout, key=None,
                pin=None, scopes=None):
        """The tracker's address as the channel treats a pin (tested in
        tests/net): another key than the pinned one is refused first."""
        proven = self.answering.pop(0) if len(self.answering) > 1 else self.answering[0]
        expected = key if pin is None else pin.key
        if expected is not None and expected != proven:
            why = pin.refused(proven) if pin is not None else "another key"
            return defer.fail(ClientError(f"{address} did not answer as the tracker: "
                                          f"{why}"))
        if pin is not None:
            pin.proved(proven)
        if answerType is MemberList:
            return defer.succeed(MemberList((), 0))
        return defer.succeed(Listing({"counterfeit": 9} if proven == b"I" * 32 else {}))

    def test_listsSecondQuestionGoesToTheFirstsKey(self):
        """The tracker proves T to `members`; an impostor (I) on its port
        answers `list`: refused, its counterfeit offer never listed."""
        self.answering = [b"T" * 32, b"I" * 32]
        failure = self.failureResultOf(bazaar.listing(None, parse(["list"])), ClientError)
        self.assertIn("the tracker proved SUlJ", str(failure.value))
        self.assertIn("first contact since this command started; refused before this "
                      "command said anything", str(failure.value))

    def test_statusAsksTheKeyTheDataDirKeeps(self):
        """With a node's --data-dir, the tracker must prove the key the
        node keeps (known_tracker); an impostor is refused."""
        folder = scratchDir(self)
        writeKnown(os.path.join(folder, KNOWN_TRACKER), b"T" * 32)
        self.answering = [b"I" * 32]
        failure = self.failureResultOf(
            bazaar.status(None, parse(["status", "--data-dir", folder])), ClientError)
        self.assertIn("known_tracker", str(failure.value))
        self.answering = [b"T" * 32]
        self.successResultOf(bazaar.status(None, parse(["status", "--data-dir", folder])))

    def test_aDataDirKeepingNoKeyIsRefused(self):
        """A --data-dir with no key of the tracker (missing, mistyped, a
        tracker's own) is refused with the reason, the tracker not asked:
        before, the pin was left out without a word and any key taken."""
        folder = scratchDir(self)
        missing = os.path.join(folder, "no-such")
        asked = []
        self.patch(bazaar, "askTracker", lambda *a, **kw: asked.append(a))
        for command in ("status", "list"):
            for data_dir, why in ((missing, f"--data-dir {missing} does not exist: "),
                                  (folder, f"--data-dir {folder} keeps no key of the "
                                   "tracker at 127.0.0.1:7700 (no known_tracker): ")):
                failure = self.failureResultOf(defer.maybeDeferred(
                    getattr(bazaar, {"list": "listing"}.get(command, command)),
                    None, parse([command, "--data-dir", data_dir])), ClientError)
                self.assertTrue(str(failure.value).startswith(why), str(failure.value))
        self.assertEqual(asked, [])
        writeKnown(os.path.join(folder, KNOWN_TRACKER), b"T" * 32)
        pinned = parse(["--tracker-key", encode(b"T" * 32), "status", "--data-dir",
                        missing])
        self.patch(bazaar, "askTracker", self.channel)
        self.successResultOf(bazaar.status(None, pinned))

    def test_aNodeOfSeveralTrackersKeepsThisOnesKey(self):
        """The data dir of a node of several trackers keeps each one's key
        in a file of its own (known_tracker-HOST_PORT): asked with one of
        them, it was refused as keeping no key; its file is read."""
        folder = scratchDir(self)
        writeKnown(os.path.join(folder, "known_tracker-127.0.0.1_7700"), b"T" * 32)
        self.answering = [b"I" * 32]
        failure = self.failureResultOf(
            bazaar.status(None, parse(["status", "--data-dir", folder])), ClientError)
        self.assertIn("known_tracker-127.0.0.1_7700", str(failure.value))
        self.answering = [b"T" * 32]
        self.successResultOf(bazaar.status(None, parse(["status", "--data-dir", folder])))


class PinNameTests(SynchronousTestCase):
    def test_aTransportsTrackerNamedWithItsKind(self):
        """One of several trackers reached at ws: is named so in its key's
        refusal (`the tracker at ws:127.0.0.1:7702 proved ...`), its
        kind kept as the node's lines keep it."""
        from twisted_bazaar.base.address import parseAddress

        pin = trackers.trackerPinOf(None, None, parseAddress("ws:127.0.0.1:7702", ("ws",)),
                                    several=True)
        self.assertEqual(pin.what, "the tracker at ws:127.0.0.1:7702")
