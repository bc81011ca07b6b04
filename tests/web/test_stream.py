"""
Tests for twisted_bazaar.web.stream: the web view's event streams, and
what viewers that do not read can make the tracker hold (issue 34, "Web
view memory": 64 streams opened and never read refused every other
viewer and grew the tracker from 59 to 655 MB in 75 s).
"""

import json

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import NOT_DONE_YET

from twisted_bazaar.status.messages import NodeState
from twisted_bazaar.web.resources import webSite
from twisted_bazaar.web.stream import GROUP_STREAMS, MAX_STREAMS, STALL, EventStream
from twisted_bazaar.web.view import MarketView

from tests.web import StreamRequest, events


class StreamTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.view = MarketView(self.clock)
        self.units = 2
        self.view.membersSeen([(17, "10.0.0.1", 9001, "flood")])
        self.seen()
        self.site = webSite(self.view)
        self.stream = EventStream(self.view)

    def seen(self):
        """The node's stock changes, and the view publishes it."""
        self.units += 1
        self.view.stateSeen(NodeState(17, "10.0.0.1", 9001, "flood", (),
                                      {"apple": self.units}, {}, 0))
        self.view.publish()

    def open(self, host="127.0.0.1", args=None):
        request = StreamRequest(host=host, args=args)
        result = self.stream.render(request)
        return request, result

    def test_eventStream(self):
        """The market at once, then again on each published change, until
        the client goes."""
        request = StreamRequest([b"api", b"events"])
        resource = self.site.getResourceFor(request)
        self.assertIs(resource.render(request), NOT_DONE_YET)
        self.assertEqual(request.responseHeaders.getRawHeaders(b"content-type"),
                         [b"text/event-stream"])
        self.seen()
        [(first, before), (second, after)] = events(request)
        self.assertEqual((first, second), ("market", "market"))
        self.assertEqual(after["offers"]["apple"][0]["units"],
                         before["offers"]["apple"][0]["units"] + 1)
        request.processingFailed(ConnectionError("gone"))
        self.assertEqual(self.view.subscribers, 0)
        self.assertEqual(len(self.stream.streams), 0)

    def test_nodeEventStream(self):
        request, _ = self.open(args={b"node": [b"17"]})
        self.view.membersSeen([])
        self.view.publish()
        [(kind, node), (_, gone)] = events(request)
        self.assertEqual((kind, node["id"], gone["id"], "left" in gone),
                         ("node", "17", "17", True))

    def test_onlyChangesAreSent(self):
        """The view told of a change that leaves the picture as it was (the
        same answer again) sends nothing more."""
        request, _ = self.open()
        state = self.view.states[17]
        for _ in range(3):
            self.view.stateSeen(state)
            self.view.publish()
        self.assertEqual(len(events(request)), 1)
        node, _ = self.open(args={b"node": [b"17"]})
        self.seen()
        self.assertEqual([kind for kind, _ in events(request)], ["market", "market"])
        self.assertEqual([kind for kind, _ in events(node)], ["node", "node"])

    def test_aBadNodeIsRefusedBeforeAnyStream(self):
        """?node= that is no id is 400, an id no node has 404, in JSON;
        neither takes a stream."""
        for text, code in ((b"zzz", 400), (b"18", 404)):
            request, body = self.open(args={b"node": [text]})
            self.assertEqual((request.responseCode, request.written), (code, []), text)
            self.assertIn("error", json.loads(body))
        self.assertEqual((self.view.subscribers, len(self.stream.streams)), (0, 0))

    def test_unbufferedByAProxy(self):
        """Each stream, GET or HEAD, asks a reverse proxy not to buffer it
        (X-Accel-Buffering: no, which nginx honours): with nginx's default
        buffering a page behind it saw no event."""
        for method in (b"GET", b"HEAD"):
            request = StreamRequest()
            request.method = method
            self.stream.render(request)
            self.assertEqual(request.responseHeaders.getRawHeaders(b"x-accel-buffering"),
                             [b"no"], method)

    def test_headOpensNoStream(self):
        """A HEAD is answered as a GET would be, without its body, and
        holds no stream: none would be read."""
        for args, code in (({}, None), ({b"node": [b"17"]}, None),
                           ({b"node": [b"zzz"]}, 400), ({b"node": [b"18"]}, 404)):
            request = StreamRequest(args=args)
            request.method = b"HEAD"
            body = self.stream.render(request)
            self.assertEqual(request.responseCode, code, args)
            if code is None:
                self.assertEqual((body, request.responseHeaders.getRawHeaders(
                    b"content-type")), (b"", [b"text/event-stream"]))
        self.assertEqual((self.view.subscribers, len(self.stream.streams)), (0, 0))

    def test_unreadStreamHoldsOneEventAtMost(self):
        """A viewer that stops reading is sent nothing more while its
        connection's buffer is full, however often the market changes;
        when it drains, it gets the latest picture, once."""
        request, _ = self.open()
        request.producer.pauseProducing()
        before = request.sent()
        for _ in range(100):
            self.clock.advance(0.1)
            self.seen()
        self.assertEqual(request.sent(), before)
        request.producer.resumeProducing()
        latest = events(request)[-1][1]
        self.assertEqual(len(events(request)), 2)
        self.assertEqual(latest["offers"]["apple"][0]["units"], self.units)
        self.assertFalse(request.aborted)

    def test_streamThatDoesNotReadIsDropped(self):
        request, _ = self.open()
        request.producer.pauseProducing()
        self.clock.advance(STALL - 1)
        self.seen()
        self.assertFalse(request.aborted)
        self.clock.advance(1)
        self.seen()
        self.assertTrue(request.aborted)
        self.assertEqual((len(self.stream.streams), self.view.subscribers), (0, 0))

    def test_oneGroupHoldsItsShare(self):
        """One address group may hold GROUP_STREAMS streams; the others
        still open theirs."""
        for n in range(GROUP_STREAMS):
            request, _ = self.open(f"198.51.100.{n + 1}")
            self.assertEqual(len(events(request)), 1)
        refused, body = self.open("198.51.7.7")
        self.assertEqual(refused.responseCode, 503)
        self.assertIn("your address group holds 16 streams already",
                      json.loads(body)["error"])
        viewer, _ = self.open("203.0.113.5")
        self.assertEqual([kind for kind, _ in events(viewer)], ["market"])

    def test_newcomerGroupWhenFull(self):
        """All streams taken by groups at their share: a viewer of a fresh
        group takes the place of the newest stream of a group holding the
        most."""
        taken = [self.open(f"10.{g}.0.{n + 1}")[0]
                 for g in range(MAX_STREAMS // GROUP_STREAMS)
                 for n in range(GROUP_STREAMS)]
        viewer, _ = self.open("203.0.113.5")
        self.assertEqual([kind for kind, _ in events(viewer)], ["market"])
        self.assertEqual([request.aborted for request in taken].count(True), 1)
        self.assertEqual(len(self.stream.streams), MAX_STREAMS)

    def test_streamsThatDoNotReadGiveWay(self):
        """The streams of a group (one machine: the viewer's own) all taken
        and not read: a viewer of that group takes the place of the one
        unread the longest."""
        stuck = []
        for n in range(GROUP_STREAMS):
            request, _ = self.open()
            request.producer.pauseProducing()
            stuck.append(request)
            self.clock.advance(1)
        viewer, _ = self.open()
        self.assertEqual([kind for kind, _ in events(viewer)], ["market"])
        self.assertEqual([request.aborted for request in stuck],
                         [True] + [False] * (GROUP_STREAMS - 1))
        another, _ = self.open()
        self.assertEqual(len(events(another)), 1)
        self.assertTrue(stuck[1].aborted)
        # Once the group's streams all read, it holds its share and no more.
        for request in stuck[2:]:
            request.producer.resumeProducing()
        refused, _ = self.open()
        self.assertEqual(refused.responseCode, 503)
