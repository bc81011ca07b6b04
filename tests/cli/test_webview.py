"""Tests for twisted_bazaar.cli.webview: what ``bazaar web`` says of where
it listens, how it dials, and how many live nodes it counts."""

import io
import sys

from twisted.internet import defer
from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli import webview
from twisted_bazaar.cli.webview import announce, listeningOn, webConnector
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.status.messages import MemberList
from twisted_bazaar.web.view import MarketView

from tests.helpers import FakeConnector


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
        connector dials the relay it is given."""
        connector = webConnector(Clock())
        connector.connector = FakeConnector()
        connector.connect("10.47.0.9", 9001, object(), relay="10.47.0.1:7702", target=7)
        [request] = connector.connector.requests
        self.assertEqual((request.host, request.port), ("10.47.0.1", 7702))


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


class TrackerMembersTests(SynchronousTestCase):
    def test_theLiveCountIsTheTrackers(self):
        """A tracker's memberlist names 2 of its 900 live nodes (cut to one
        frame): the view counts 900 live (it said 2, `2 live nodes` on
        the page), and shows the 2 it can ask."""
        answer = MemberList(((7, "10.0.0.7", 5007, "flood"), (9, "10.0.0.9", 5009, "flood")),
                            900)
        self.patch(webview, "askTracker", lambda *a, **kw: defer.succeed(answer))
        view = MarketView(Clock())
        members = webview.TrackerMembers(Clock(), "127.0.0.1:7700", 10, None, view)
        self.successResultOf(members.refresh())
        view.membersSeen(members.members())
        snapshot = view.snapshot()
        self.assertEqual((snapshot["live"], len(snapshot["nodes"])), (900, 2))

    def test_aTrackerThatStopsAnsweringIsSaidSo(self):
        """The tracker stops (its nodes live on): the view shows its last
        list, and says since when the tracker has not answered, and why
        (it said `3 live nodes` as if the list were current), until it
        answers again."""
        answers = [defer.succeed(MemberList(((7, "10.0.0.7", 5007, "flood"),), 1))
                   for _ in range(2)]
        self.patch(webview, "askTracker", lambda *a, **kw: answers.pop(0))
        clock = Clock()
        view = MarketView(clock)
        members = webview.TrackerMembers(clock, "127.0.0.1:7700", 10, None, view)
        self.successResultOf(members.refresh())
        view.membersSeen(members.members())
        self.assertIsNone(view.snapshot()["trackerSilent"])
        clock.advance(5)
        refused = "cannot reach 127.0.0.1:7700: Connection was refused by other side"
        answers += [defer.fail(ClientError(refused)), defer.fail(ClientError(refused))]
        view.membersSeen(members.members())
        clock.advance(1)
        view.membersSeen(members.members())
        snapshot = view.snapshot()
        self.assertEqual(snapshot["trackerSilent"], {"since": 5, "error": refused})
        self.assertEqual([node["id"] for node in snapshot["nodes"]], ["7"])
        answers.append(defer.succeed(MemberList(((7, "10.0.0.7", 5007, "flood"),), 1)))
        view.membersSeen(members.members())
        self.assertIsNone(view.snapshot()["trackerSilent"])
