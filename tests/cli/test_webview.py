"""Tests for twisted_bazaar.cli.webview: what ``bazaar web`` says of where
it listens, how it dials, and how many live nodes it counts."""

import errno
import socket
import io

import attr
import os
import sys

from twisted.internet import defer
from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.error import CannotListenError
from twisted.internet.task import Clock
from twisted.python.lockfile import FilesystemLock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli import webview
from twisted_bazaar.cli.trackers import trackerPinOf
from twisted_bazaar.cli.webview import announce, listeningOn, nodeTransports
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.daemon.services import EndpointConnector
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import DIRECT, NAMED, RELAYED, Path
from twisted_bazaar.net.pin import KeyPin
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.status.messages import MemberList
from twisted_bazaar.tap.knowntracker import KNOWN_TRACKER, writeKnown

from tests.files.helpers import scratchDir
from twisted_bazaar.web.view import MarketView

from tests.helpers import FakeConnector


class CannotListenTests(SynchronousTestCase):
    def test_aPortTakenSaysWhatToDo(self):
        """The quick start's tracker serves its --web on 8080, bazaar
        web's default: bazaar web said "address in use" and no more.  It
        names who may hold the port and the option that chooses another."""
        taken = CannotListenError("127.0.0.1", 8080,
                                  OSError(errno.EADDRINUSE, "Address already in use"))
        asked = []

        def isFree(interface, port):
            asked.append((interface, port))
            return port == 8083

        self.assertEqual(
            webview.cannotListen("tcp:8080:interface=127.0.0.1", taken, isFree),
            "--listen tcp:8080:interface=127.0.0.1: cannot listen: port 8080 of "
            "127.0.0.1 is in use (a tracker's --web, or another bazaar web, may hold "
            "it); choose a free port with --listen, such as --listen "
            "tcp:8083:interface=127.0.0.1 (free now)")
        self.assertEqual(asked, [("127.0.0.1", 8081), ("127.0.0.1", 8082),
                                 ("127.0.0.1", 8083)])

    def test_theAdvisedPortIsFree(self):
        """The port advised is one free now, not port+1 unchecked (issue
        96: 8081 was advised while another program held it); with none
        free of the next ten, tcp:0."""
        taken = CannotListenError("127.0.0.1", 8080,
                                  OSError(errno.EADDRINUSE, "Address already in use"))
        self.assertIn("such as --listen tcp:0:interface=127.0.0.1 (any free one)",
                      webview.cannotListen("tcp:8080", taken, lambda *a: False))

    def test_aPortIsFreeWhenItBinds(self):
        """portFree binds a socket of the interface's family there and lets
        it go (a fake socket here: no port is taken by the test)."""
        made = []

        class Probe:
            def __init__(self, family):
                self.family = family
                made.append(self)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.closed = True

            def bind(self, where):
                self.where = where
                if where[1] == 8081:
                    raise OSError(errno.EADDRINUSE, "Address already in use")

        self.patch(socket, "socket", Probe)
        self.assertFalse(webview.portFree("127.0.0.1", 8081))
        self.assertTrue(webview.portFree("::1", 8082))
        self.assertEqual([(probe.family, probe.where, probe.closed) for probe in made],
                         [(socket.AF_INET, ("127.0.0.1", 8081), True),
                          (socket.AF_INET6, ("::1", 8082), True)])

    def test_anyOtherReasonAlone(self):
        refused = CannotListenError("192.0.2.1", 8080,
                                    OSError(errno.EADDRNOTAVAIL, "Cannot assign"))
        self.assertNotIn("choose", webview.cannotListen("tcp:8080", refused))


    def test_aSocketsFolderMissing(self):
        """--listen unix:PATH whose folder is missing says so (issue 96
        LOW: it was Twisted's lock file, "[Errno 2] No such file or
        directory: '17049' -> b'/nonexist/x.sock.lock'")."""
        missing = os.path.join(scratchDir(self), "nonexist")
        # What the reactor's listenUNIX raises: its lock file beside the path.
        error = self.assertRaises(OSError, FilesystemLock(f"{missing}/x.sock.lock").lock)
        self.assertEqual(webview.cannotListen(f"unix:{missing}/x.sock", error),
                         f"--listen unix:{missing}/x.sock: cannot listen: its folder "
                         f"{missing} does not exist (make it first)")


class ListeningOnTests(SynchronousTestCase):
    def test_tcp(self):
        self.assertEqual(listeningOn(IPv4Address("TCP", "127.0.0.1", 8080)),
                         "127.0.0.1:8080")

    def test_unixSocket(self):
        """--listen unix:PATH: a Unix socket has no host and port (this
        ended the command with a traceback)."""
        self.assertEqual(listeningOn(UNIXAddress(b"/tmp/web.sock")), "unix:/tmp/web.sock")


class ConnectorTests(SynchronousTestCase):
    def test_relaysAsTheTrackerNamesThem(self):
        """The view dials a node at home through the relay the tracker's
        memberlist names for it: it has no tracker session to ask, and
        its connector refused every relay (every node at home stayed
        "not answering", tests/e2e/test_web_relayed_live.py): its
        transports dial the relay a path names."""
        transports = nodeTransports(Clock())
        self.assertIsInstance(transports.of(DIRECT).connector, EndpointConnector)
        fake = transports.of(DIRECT).connector = FakeConnector()
        transports.dial(Path(RELAYED, "10.47.0.9", 9001, "10.47.0.1:7702", NAMED), None,
                        object, DialOptions(target=7))
        [request] = fake.requests
        self.assertEqual((request.host, request.port), ("10.47.0.1", 7702))

    def test_theTrackersTransportToo(self):
        """A client that reaches its tracker by ``ws:`` (its network may let
        only HTTP(S) out) dials nodes over WebSocket too, as a node there
        does; one that reaches it over TCP, by TCP and relays alone."""
        self.assertIn(WEBSOCKET, nodeTransports(Clock(), trackerKinds=("ws",)).kinds)
        self.assertNotIn(WEBSOCKET, nodeTransports(Clock(), trackerKinds=("tcp",)).kinds)
        self.assertNotIn(WEBSOCKET, nodeTransports(Clock()).kinds)


class AnnounceTests(SynchronousTestCase):
    def said(self, json):
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        announce("127.0.0.1:8080", None, json)
        return out.getvalue(), err.getvalue()

    def test_onStdout(self):
        line = ("web view listening on 127.0.0.1:8080, as a stranger to every node "
                "(--data-dir DIR of a node: as its operator)\n")
        self.assertEqual(self.said(json=False), (line, ""))

    def test_jsonKeepsStdoutOneObject(self):
        """With --json the line goes to stderr: stdout holds the one JSON
        object said once the view stops (it held this line too)."""
        out, err = self.said(json=True)
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("web view listening on 127.0.0.1:8080, "))


class ServedTests(SynchronousTestCase):
    def test_theOperatorsWholeId(self):
        """The object --json prints once stopped names the operator's node
        by its whole id, as bazaar --json status does (it printed the id's
        number in memory, a 39-digit decimal no other output has)."""
        from twisted_bazaar.wire.ids import parseWireId

        node_id = parseWireId("ca152397c1b164e2f02590ad7664df42")
        operator = attr.make_class("Operator", ["id"])(node_id)
        self.assertEqual(webview.whatServed("127.0.0.1:8080", operator),
                         {"listened": "127.0.0.1:8080",
                          "operator": "ca152397c1b164e2f02590ad7664df42"})
        self.assertEqual(webview.whatServed("127.0.0.1:8080", None),
                         {"listened": "127.0.0.1:8080", "operator": None})


class TrackerMembersTests(SynchronousTestCase):
    def liveAndShown(self, answer):
        """The view's live count and the nodes it shows, the tracker
        answering its memberlist question with answer."""
        self.patch(webview, "askTracker", lambda *a, **kw: defer.succeed(answer))
        view = MarketView(Clock())
        members = webview.TrackerMembers(Clock(), "127.0.0.1:7700", 10, KeyPin("the tracker"),
                                         view)
        self.successResultOf(members.refresh())
        view.membersSeen(members.members())
        snapshot = view.snapshot()
        return snapshot["live"], len(snapshot["nodes"])

    def test_theLiveCountIsTheTrackers(self):
        """A tracker's memberlist names 2 of its 900 live nodes (cut to one
        frame): the view counts 900 live (it said 2, `2 live nodes` on
        the page), and shows the 2 it can ask."""
        answer = MemberList(((7, "10.0.0.7", 5007, "flood"), (9, "10.0.0.9", 5009, "flood")),
                            900)
        self.assertEqual(self.liveAndShown(answer), (900, 2))

    def test_lanOnlyNodesCountedLive(self):
        """The tracker names 1 node and counts 2 LAN-only ones it names to
        nobody here (behind another router): the view counts 3 live (it
        counted 1, as if there were no more)."""
        answer = MemberList(((7, "10.0.0.7", 5007, "flood"),), 1, lanOnly=2)
        self.assertEqual(self.liveAndShown(answer), (3, 1))

    def test_aTrackerThatStopsAnsweringIsSaidSo(self):
        """The tracker stops (its nodes live on): the view shows its last
        list, and says since when the tracker has not answered, and why
        (it said `3 live nodes` as if the list were current), until it
        answers again."""
        answers = [defer.succeed(MemberList(((7, "10.0.0.7", 5007, "flood"),), 1))
                   for _ in range(2)]
        self.patch(webview, "askTracker", lambda *a, **kw: answers.pop(0))
        clock = Clock()
        begun = clock.seconds()
        view = MarketView(clock)
        members = webview.TrackerMembers(clock, "127.0.0.1:7700", 10, KeyPin("the tracker"),
                                         view)
        self.successResultOf(members.refresh())
        view.membersSeen(members.members())
        self.assertIsNone(view.snapshot()["trackerSilent"])
        clock.advance(5)
        refused = "cannot reach 127.0.0.1:7700: nothing listens there (connection refused)"
        answers += [defer.fail(ClientError(refused)), defer.fail(ClientError(refused))]
        view.membersSeen(members.members())
        clock.advance(1)
        view.membersSeen(members.members())
        snapshot = view.snapshot()
        self.assertEqual(snapshot["trackerSilent"], {"since": begun + 5, "error": refused,
                                                       "impostor": False})
        self.assertEqual([node["id"] for node in snapshot["nodes"]], ["7"])
        answers.append(defer.succeed(MemberList(((7, "10.0.0.7", 5007, "flood"),), 1)))
        view.membersSeen(members.members())
        self.assertIsNone(view.snapshot()["trackerSilent"])

    def test_aQuestionStoppedIsNoSilence(self):
        """``bazaar web`` stopped while it asked the tracker: the question
        cancelled was an unhandled error in its output (``Traceback``),
        and no tracker fell silent; and the tracker's local addresses of
        its housemates (``lans``) are the view's to dial."""
        asking = defer.Deferred()
        self.patch(webview, "askTracker", lambda *a, **kw: asking)
        view = MarketView(Clock())
        members = webview.TrackerMembers(Clock(), "127.0.0.1:7700", 10, KeyPin("the tracker"),
                                         view)
        members.members()
        members.stop()
        self.assertIsNone(view.snapshot()["trackerSilent"])
        self.assertEqual(self.flushLoggedErrors(), [])
        answer = MemberList(((7, "10.0.0.7", 5007, "flood"),), 1, None,
                            {7: ("192.168.1.7",)})
        self.patch(webview, "askTracker", lambda *a, **kw: defer.succeed(answer))
        self.successResultOf(members.refresh())
        self.assertEqual((members.lanOf(7), members.lanOf(9)), (("192.168.1.7",), None))
        # And the paths of other kinds it names (a WebSocket port).
        ws = Path(WEBSOCKET, "10.0.0.7", 443)
        answer = attr.evolve(answer, paths={7: (ws,)})
        self.patch(webview, "askTracker", lambda *a, **kw: defer.succeed(answer))
        self.successResultOf(members.refresh())
        self.assertEqual((members.pathsOf(7), members.pathsOf(9)), ((ws,), ()))


class TrackerPinTests(SynchronousTestCase):
    """
    ``bazaar web`` pins the tracker's key as a node does: an impostor on
    the tracker's address (another key) is refused before its list is
    read, and the page warns, in red, rather than show its market.
    """

    def setUp(self):
        #: The key that answers at the tracker's address now, and its list.
        self.answering = b"T" * 32
        self.lists = {b"T" * 32: ((7, "10.0.0.7", 5007, "flood"),),
                      b"I" * 32: ((66, "10.6.6.6", 6666, "flood"),)}
        self.asked = []
        self.patch(webview, "askTracker", self.channel)

    def channel(self, reactor, address, question, answerType, timeout, key=None, pin=None):
        """The tracker's address, as the channel's handshake treats it
        (EncryptedClientEndpoint, tested in tests/net): another key than
        the pinned one is refused before anything is read."""
        self.asked.append((key, pin))
        expected = key if pin is None else pin.key
        if expected is not None and expected != self.answering:
            why = pin.refused(self.answering) if pin is not None else "another key"
            return defer.fail(ClientError(f"{address} did not answer as the tracker: "
                                          f"{why}"))
        if pin is not None:
            pin.proved(self.answering)
        nodes = self.lists[self.answering]
        return defer.succeed(MemberList(nodes, len(nodes)))

    def watch(self, pin):
        view = MarketView(Clock())
        members = webview.TrackerMembers(Clock(), "127.0.0.1:7700", 10, pin, view)
        members.refresh().addErrback(lambda reason: reason.trap(ClientError))
        view.membersSeen(members.members())
        return view, members

    def test_anImpostorIsNeverShownAsTheMarket(self):
        """The first contact's key is pinned; a tracker with another key
        on its port is refused: its seller is never shown, and the page
        says why, as an impostor (red)."""
        view, members = self.watch(trackerPinOf(None, None))
        self.answering = b"I" * 32
        self.failureResultOf(members.refresh(), ClientError)
        view.membersSeen(members.members())
        snapshot = view.snapshot()
        self.assertEqual([node["id"] for node in snapshot["nodes"]], ["7"])
        self.assertTrue(snapshot["trackerSilent"]["impostor"])
        self.assertIn("not ", snapshot["trackerSilent"]["error"])
        self.answering = b"T" * 32
        self.successResultOf(members.refresh())
        self.assertIsNone(view.snapshot()["trackerSilent"])

    def test_theKeyTheNodesDataDirKeeps(self):
        """With --data-dir, the key the node keeps (known_tracker) is the
        one asked for from the first question on; a file that holds no key
        is refused, saying so."""
        folder = scratchDir(self)
        writeKnown(os.path.join(folder, KNOWN_TRACKER), b"T" * 32)
        self.answering = b"I" * 32
        view, _ = self.watch(trackerPinOf(None, folder))
        self.assertEqual(view.snapshot()["nodes"], [])
        self.assertIn("known_tracker", view.snapshot()["trackerSilent"]["error"])
        with open(os.path.join(folder, KNOWN_TRACKER), "w") as bad:
            bad.write("nonsense\n")
        error = self.assertRaises(ClientError, trackerPinOf, None, folder)
        self.assertIn("holds no tracker's key", str(error))
