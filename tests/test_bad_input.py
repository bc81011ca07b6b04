"""
The malformed-input suite of issue 3: every class of bad input, sent as raw
bytes to a tracker and to a node, gets its exact answer (an error code, a
close, or silence), and a well-behaved peer on another link of the same
tracker or node is served right after.

Each case is data (see L{CASES}); a test method is generated per case and
runs against both targets.  The Hypothesis properties at the end feed
arbitrary byte streams, in arbitrary chunks, and check that nothing raises
and that a fresh link is still served.
"""

import json
import random
import re

import attr
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.build import plugScheme
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.daemon.registry import trackerExtensionPlugins
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from twisted_bazaar import wire
from twisted_bazaar.net.link import DEFAULT_ERROR_LIMIT, DEFAULT_FRAME_LIMIT, LinkSettings
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.schemes.flood.discovery import FloodDiscovery
from twisted_bazaar.tracker import Tracker, TrackerFactory

from tests.helpers import NODE_HOST, NODE_PORT, makeNode
from tests.records import PLAIN_WIRE
from tests.net.links import frame
from tests.tracker.test_tracker import WiredLink
from tests.wire.test_wire import VALID_MESSAGES, ids, items, jsonish, nested, payload, ports

#: Where the misbehaving peer connects from; closing log lines must name it.
BAD_HOST, BAD_PORT = "203.0.113.66", 40066
BAD_ADDRESS = f"{BAD_HOST}:{BAD_PORT}"
#: The misbehaving peer's id once it has said thisisme.
BAD_ID = 7
#: The id of the node under test (a node target).
NODE_ID = 1
#: Ids of the well-behaved peers: unusual, so no generated stream claims them.
GOOD_ID = 50505
LISTENER_ID = 60606
#: The id a fresh link introduces itself with after a Hypothesis stream.
FRESH_ID = 424242
#: Frame limit for the cases that need 100,000-deep nesting inside one frame.
ROOMY_FRAME_LIMIT = 1_000_000

BEFORE, AFTER = "before handshake", "after handshake"


# -- expected outcomes -----------------------------------------------------------


@attr.s(frozen=True, auto_attribs=True)
class Outcome:
    """What the bad peer hears, summarised (L{summary}), and whether its
    link is closed afterwards."""

    heard: tuple
    closed: bool


def answers(*heard):
    """The link answers with these (see L{summary}) and stays open."""
    return Outcome(heard, closed=False)


def closes(*heard):
    """The link answers with these, if any, and is closed."""
    return Outcome(heard, closed=True)


SILENCE = answers()
WTF = answers("error wtf")
WTF_THEN_CLOSE = closes("error wtf")
#: A broken netstring: closed at once, nothing answered.
CLOSED = closes()


def summary(message):
    """``"error CODE"`` for an error, else the message's type."""
    if message["type"] == "error":
        return f"error {message['code']}"
    return message["type"]


@attr.s(frozen=True, auto_attribs=True)
class Case:
    """
    One bad input.

    @ivar data: the raw bytes the peer sends, in one chunk.
    @ivar state: L{BEFORE} or L{AFTER} the peer's handshake.
    @ivar tracker: the L{Outcome} on a tracker.
    @ivar node: the L{Outcome} on a node (default: the tracker's).
    @ivar log: text a log line naming the peer must hold, when the link
        closes (None: any line naming the peer will do).
    @ivar settings: L{LinkSettings} values for this case only.
    """

    name: str
    data: bytes
    state: str
    tracker: Outcome
    node: Outcome = None
    log: str = None
    settings: dict = attr.Factory(dict)

    def outcome(self, target):
        if target == "node" and self.node is not None:
            return self.node
        return self.tracker


# -- building the bytes ------------------------------------------------------------


#: Message types whose ``id`` is a node id.
_NODE_ID_TYPES = {"thisisme", "thisisyou", "nodereply", "whereis"}


def _wired(kind, fields):
    """The fields with the node ids written as ints here in their wire
    form (text): a path's, a returnPath's, an exclude's, a seller's, the
    id of a message about a node."""

    def text(value):
        return str(value) if type(value) is int else value

    out = dict(fields)
    for name in ("path", "returnPath", "exclude"):
        if type(out.get(name)) is list:
            out[name] = [text(each) for each in out[name]]
    for name in ("seller",) + (("id",) if kind in _NODE_ID_TYPES else ()):
        if name in out:
            out[name] = text(out[name])
    return out


def msg(kind, **fields):
    """One framed JSON object of the given type, node ids as the wire
    writes them."""
    return frame(payload(dict(_wired(kind, fields), type=kind)))


def rawMsg(kind, **fields):
    """One framed JSON object of the given type, its fields as given."""
    return frame(payload(dict(fields, type=kind)))


DC_FRAME = msg("dc")
DC_JSON = b'{"type":"dc"}'


def broken(name, data, reason, state=BEFORE):
    """A framing case: closed without an answer, the reason logged."""
    return Case(name, data, state, CLOSED, log=reason)


def refused(name, raw, state=BEFORE, **settings):
    """A framed payload that does not decode: answered wtf, link kept
    once the handshake is done, closed before it."""
    return Case(name, frame(raw), state, WTF if state == AFTER else WTF_THEN_CLOSE,
                settings=settings)


def badField(name, kind, state=AFTER, **fields):
    """A message of ``kind`` with a field wrong (as given, node ids
    included): answered wtf, link kept once the handshake is done, closed
    before it."""
    return Case(name, rawMsg(kind, **fields), state,
                WTF if state == AFTER else WTF_THEN_CLOSE)


def search(**fields):
    """A valid search from the bad peer to node 1, with fields replaced."""
    base = {"id": 11, "item": "apple", "returnPath": [BAD_ID], "ttl": 3}
    return msg("search", **dict(base, **fields))


def buy(**fields):
    """A valid buy from the bad peer through node 1 to the good peer."""
    base = {"id": 12, "item": "apple", "path": [BAD_ID, NODE_ID, GOOD_ID]}
    return msg("buy", **dict(base, **fields))


BIG = 2**63
ITEM_256 = "a" * 256
TOO_MANY_ERRORS = DEFAULT_ERROR_LIMIT + 1
DEEP_LISTS = nested(100_000)
DEEP_OBJECTS = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


CASES = [
    # -- framing: the stream cannot be resynced, so the link is closed ----------
    broken("non-digit length", b"1a:" + DC_JSON + b",",
           "length is not a decimal number"),
    broken("negative length", b"-13:" + DC_JSON + b",",
           "length is not a decimal number"),
    broken("plus sign in the length", b"+13:" + DC_JSON + b",",
           "length is not a decimal number"),
    broken("space before the length", b" 13:" + DC_JSON + b",",
           "length is not a decimal number"),
    broken("non-ASCII digits", "\u0661\u0663:".encode("utf-8") + DC_JSON + b",",
           "length is not a decimal number"),
    broken("leading zero", b"013:" + DC_JSON + b",", "length has a leading zero"),
    broken("leading zero, colon not yet come", b"00", "length has a leading zero"),
    broken("empty length", b":" + DC_JSON + b",", "frame has no length"),
    broken("missing colon", b"13" + DC_JSON + b",",
           "length is missing its colon or is too long"),
    broken("missing comma", b"13:" + DC_JSON + b";",
           "frame is not terminated by a comma"),
    broken("missing comma before the next frame", b"13:" + DC_JSON + DC_FRAME,
           "frame is not terminated by a comma"),
    broken("length over the frame limit", b"%d:" % (DEFAULT_FRAME_LIMIT + 1),
           f"length {DEFAULT_FRAME_LIMIT + 1} is over the frame limit "
           f"{DEFAULT_FRAME_LIMIT}"),
    broken("length NetstringReceiver would accept", b"99999:",
           f"length 99999 is over the frame limit {DEFAULT_FRAME_LIMIT}"),
    broken("length of a billion, no colon yet", b"1000000000",
           "length is missing its colon or is too long"),
    broken("length shorter than the payload", b"5:" + DC_JSON + b",",
           "frame is not terminated by a comma"),
    broken("length longer than the payload", b"14:" + DC_JSON + b"," + DC_FRAME,
           "frame is not terminated by a comma"),
    broken("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
           "length is missing its colon or is too long"),
    broken("TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
           "length is missing its colon or is too long"),
    broken("nesting 100000 deep, over the frame limit", frame(DEEP_LISTS),
           "length is missing its colon or is too long"),
    broken("broken framing after the handshake", b"013:" + DC_JSON + b",",
           "length has a leading zero", state=AFTER),
    Case("frames before the break are still served",
         msg("ping", nonce=3) + b"x:", AFTER, closes("pong"),
         log="length is not a decimal number"),

    # -- bytes and JSON: answered wtf, link kept --------------------------------
    refused("invalid UTF-8", b'{"type":"dc","x":"\xff"}'),
    refused("truncated UTF-8 sequence", b'{"type":"dc","x":"\xe2\x82"}'),
    refused("overlong UTF-8 encoding", b'{"type":"dc","x":"\xc0\xaf"}'),
    refused("UTF-16 JSON", '{"type":"dc"}'.encode("utf-16")),
    refused("UTF-8 byte order mark", b"\xef\xbb\xbf" + DC_JSON),
    refused("empty payload", b""),
    refused("invalid JSON", b"{not json"),
    refused("truncated JSON", b'{"type":"ping","nonce":'),
    refused("single-quoted JSON", b"{'type': 'dc'}"),
    refused("data after the JSON object", DC_JSON + b"x"),
    refused("JSON array", b'["ping", 1]'),
    refused("JSON number", b"7"),
    refused("JSON string", b'"dc"'),
    refused("JSON null", b"null"),
    refused("JSON true", b"true"),
    refused("missing type", b'{"nonce":1}'),
    refused("numeric type", b'{"type":5}'),
    refused("null type", b'{"type":null}'),
    refused("list type", b'{"type":["ping"]}'),
    refused("object type", b'{"type":{"type":"ping"}}'),
    refused("unknown type", b'{"type":"florp"}'),
    refused("type in the wrong case", b'{"type":"PING","nonce":1}'),
    refused("duplicate type key, the last unknown",
            b'{"type":"ping","nonce":1,"type":"florp"}'),
    refused("nesting 100000 deep: lists", DEEP_LISTS, frame_limit=ROOMY_FRAME_LIMIT),
    refused("nesting 100000 deep: objects", DEEP_OBJECTS,
            frame_limit=ROOMY_FRAME_LIMIT),
    refused("nesting 100000 deep in an unknown field",
            b'{"type":"dc","x":' + DEEP_LISTS + b"}", frame_limit=ROOMY_FRAME_LIMIT),
    refused("nesting 30000 deep within the default frame limit", nested(30_000)),
    refused("invalid JSON after the handshake", b"{not json", state=AFTER),

    # -- schema: answered wtf, link kept ------------------------------------------
    badField("thisisme without id", "thisisme", BEFORE, port=1),
    badField("thisisme without port", "thisisme", BEFORE, id=str(BAD_ID)),
    badField("bool as id", "thisisme", BEFORE, id=True, port=1),
    badField("float as id", "thisisme", BEFORE, id=7.0, port=1),
    badField("number as id", "thisisme", BEFORE, id=7, port=1),
    badField("keyless id with a leading zero", "thisisme", BEFORE, id="07", port=1),
    badField("keyed id in upper case", "thisisme", BEFORE, id="A" * 32, port=1),
    badField("null as id", "thisisme", BEFORE, id=None, port=1),
    badField("id 2^63", "thisisme", BEFORE, id=BIG, port=1),
    badField("negative id -2^63", "thisisme", BEFORE, id=-BIG, port=1),
    badField("negative port", "thisisme", BEFORE, id=str(BAD_ID), port=-1),
    badField("port over 65535", "thisisme", BEFORE, id=str(BAD_ID), port=65536),
    badField("string as port", "thisisme", BEFORE, id=str(BAD_ID), port="80"),
    badField("host over 255 bytes", "thisisme", BEFORE, id=str(BAD_ID), port=1,
              host="h" * 256),
    badField("nonce 2^63", "ping", nonce=BIG),
    badField("negative nonce -2^63", "ping", nonce=-BIG),
    badField("ping without nonce", "ping"),
    Case("nonce 2^63-1 is valid", msg("ping", nonce=BIG - 1), AFTER, answers("pong")),
    Case("negative nonce -(2^63-1) is valid", msg("ping", nonce=1 - BIG), AFTER,
         answers("pong")),
    refused("NaN as nonce", b'{"type":"ping","nonce":NaN}', state=AFTER),
    Case("item of 0 bytes", search(item=""), AFTER, WTF),
    Case("item of 257 bytes", search(item="a" * 257), AFTER, WTF),
    Case("item of 258 bytes in 129 characters", search(item="\u00e9" * 129), AFTER,
         WTF),
    refused("item with a lone surrogate",
            b'{"type":"buy","id":1,"item":"\\ud800","path":["7","1","50505"]}', state=AFTER),
    Case("numeric item", buy(item=5), AFTER, WTF),
    Case("item of 256 bytes is valid", search(item=ITEM_256), AFTER,
         tracker=WTF, node=SILENCE),
    Case("path of 0 ids", buy(path=[]), AFTER, WTF),
    Case("path of 65 ids", buy(path=list(range(BAD_ID, BAD_ID + 65))), AFTER, WTF),
    Case("path with a repeated id", buy(path=[BAD_ID, NODE_ID, BAD_ID]), AFTER, WTF),
    Case("path that is a string", buy(path="7,1"), AFTER, WTF),
    Case("bool in the path", buy(path=[BAD_ID, True]), AFTER, WTF),
    Case("id 2^63 in the path", buy(path=[BAD_ID, NODE_ID, BIG]), AFTER, WTF),
    Case("bool as buy id", buy(id=False), AFTER, WTF),
    Case("returnPath of 0 ids", search(returnPath=[]), AFTER, WTF),
    Case("returnPath of 65 ids", search(returnPath=list(range(100, 165))), AFTER,
         WTF),
    Case("returnPath with a repeated id", search(returnPath=[BAD_ID, BAD_ID]),
         AFTER, WTF),
    Case("ttl 17", search(ttl=17), AFTER, WTF),
    Case("ttl -1", search(ttl=-1), AFTER, WTF),
    Case("string as ttl", search(ttl="3"), AFTER, WTF),
    badField("exclude of 65 ids", "nodereq", exclude=[str(n) for n in range(65)]),
    badField("number as seller", "reply", id=1, item="apple",
              path=[str(BAD_ID), str(NODE_ID)], seller=7, host="", port=1),
    badField("number in the path", "buy", id=1, item="apple", path=[str(BAD_ID), 1]),

    # -- errors are never answered ------------------------------------------------
    Case("unknown error code", msg("error", code="oops", info="x"), AFTER, SILENCE),
    Case("error without info", msg("error", code="wtf"), AFTER, SILENCE),
    Case("error info over 1024 bytes", msg("error", code="wtf", info="i" * 1025),
         AFTER, SILENCE),
    Case("valid error", msg("error", code="wtf", info="what?"), AFTER, SILENCE),
    Case("error before the handshake", msg("error", code="noslots", info="full"),
         BEFORE, SILENCE),
    Case("soldout routed along a path without the receiver",
         msg("error", code="soldout", info="none", id=1, path=[BAD_ID, 99]), AFTER,
         SILENCE),

    # -- routing and state ----------------------------------------------------------
    Case("buy along a path without the receiver", buy(path=[BAD_ID, 99]), AFTER,
         tracker=WTF, node=answers("error wrongway")),
    Case("reply along a path without the receiver",
         msg("reply", id=1, item="apple", path=[99, BAD_ID], seller=99, host="",
             port=1), AFTER,
         tracker=WTF, node=answers("error wrongway")),
    Case("buyOK along a path without the receiver",
         msg("buyOK", id=1, item="apple", path=[99, BAD_ID]), AFTER,
         tracker=WTF, node=answers("error wrongway")),
    Case("buy whose next hop has no link", buy(path=[BAD_ID, NODE_ID, 99]), AFTER,
         tracker=WTF, node=SILENCE),
    Case("search that already passed the receiver",
         search(returnPath=[NODE_ID, BAD_ID]), AFTER, tracker=WTF, node=SILENCE),
    Case("buy before the handshake", buy(), BEFORE, WTF_THEN_CLOSE,
         log="wtf: say thisisme before buy"),
    Case("search before the handshake", search(), BEFORE, WTF_THEN_CLOSE,
         log="wtf: say thisisme before search"),
    Case("ping before the handshake", msg("ping", nonce=1), BEFORE, WTF_THEN_CLOSE,
         log="wtf: say thisisme before ping"),
    Case("pong before the handshake", msg("pong", nonce=1), BEFORE, WTF_THEN_CLOSE,
         log="wtf: say thisisme before pong"),
    Case("dc before the handshake", DC_FRAME, BEFORE, WTF_THEN_CLOSE,
         log="wtf: say thisisme before dc"),
    Case("nodereq before the handshake", msg("nodereq"), BEFORE, WTF_THEN_CLOSE),
    Case("thisisyou before the handshake", msg("thisisyou", id=3, port=1), BEFORE,
         WTF_THEN_CLOSE),
    Case("second thisisme with another id",
         msg("thisisme", id=BAD_ID + 1, port=4002), AFTER, WTF_THEN_CLOSE),
    Case("second thisisme with the same id",
         msg("thisisme", id=BAD_ID, port=4002), AFTER, SILENCE),
    Case("search to the tracker", search(), AFTER, tracker=WTF, node=SILENCE),
    Case("reply to the tracker",
         msg("reply", id=1, item="apple", path=[BAD_ID, NODE_ID], seller=BAD_ID,
             host="", port=1), AFTER, tracker=WTF, node=SILENCE),
    Case("buy to the tracker", buy(), AFTER, tracker=WTF, node=SILENCE),
    Case("buyOK to the tracker", msg("buyOK", id=1, item="apple",
                                     path=[BAD_ID, NODE_ID]), AFTER,
         tracker=WTF, node=SILENCE),
    Case("nodereq to a node", msg("nodereq"), AFTER,
         tracker=answers("nodereply"), node=WTF),
    # The index scheme's messages are the tracker's; a node answers that it
    # does not handle them (no longer "X is for the tracker").  The tracker
    # takes only a record of the sender's own.
    Case("register to a node", msg("register", item="apple",
                                   record=dict(PLAIN_WIRE, item="apple")), AFTER,
         tracker=answers("error badrecord"), node=WTF),
    Case("lookup to a node", msg("lookup", item="apple"), AFTER,
         tracker=answers("found"), node=WTF),
    Case("thisisyou after the handshake", msg("thisisyou", id=3, port=1), AFTER, WTF),
    Case("nodereply after the handshake", msg("nodereply", id=3, host="", port=1),
         AFTER, WTF),

    # -- limits on a peer that keeps misbehaving --------------------------------------
    Case("20 bad messages in a minute are tolerated",
         frame(b"bad") * DEFAULT_ERROR_LIMIT, AFTER,
         answers(*["error wtf"] * DEFAULT_ERROR_LIMIT)),
    Case("21 bad messages in a minute close the link",
         frame(b"bad") * TOO_MANY_ERRORS, AFTER,
         closes(*["error wtf"] * TOO_MANY_ERRORS),
         log=f"{TOO_MANY_ERRORS} bad messages in 60 s"),
    Case("a bad message before the handshake closes the link",
         frame(b"[]") * TOO_MANY_ERRORS, BEFORE, closes("error wtf"),
         log="a message must be a JSON object"),
    Case("21 broken errors close the link unanswered",
         msg("error", code="oops", info="") * TOO_MANY_ERRORS, AFTER, CLOSED,
         log=f"{TOO_MANY_ERRORS} bad messages in 60 s"),
    Case("21 buys along a wrong path close the link",
         buy(path=[BAD_ID, 99]) * TOO_MANY_ERRORS, AFTER,
         tracker=closes(*["error wtf"] * TOO_MANY_ERRORS),
         node=closes(*["error wrongway"] * TOO_MANY_ERRORS),
         log=f"{TOO_MANY_ERRORS} bad messages in 60 s"),
    Case("pings past the burst are dropped", msg("ping", nonce=1) * 5, AFTER,
         answers("pong", "pong")),
]


# -- the two targets ------------------------------------------------------------------


class TrackerTarget:
    """
    A tracker with two registered nodes: a listener (introduced to others)
    and the well-behaved peer (port 0, never introduced), so every
    introduction the tests ask for has one exact answer.
    """

    target = "tracker"

    def setUpTarget(self, **link_settings):
        self.tracker = Tracker(Clock(), random.Random(4), LinkSettings(**link_settings),
                               extensions=trackerExtensionPlugins())
        self.factory = TrackerFactory(self.tracker)
        self.listener = self.register(WiredLink(self.factory, "198.51.100.6"),
                                      LISTENER_ID, 4001)
        self.good = self.register(WiredLink(self.factory, "198.51.100.5"),
                                  GOOD_ID, 0)

    def register(self, peer, node_id, port):
        peer.say({"type": "thisisme", "id": wireId(node_id), "port": port, "host": ""})
        self.assertEqual(peer.heard(), [{"type": "thisisyou", "id": wireId(node_id),
                                         "port": port}])
        return peer

    def connect(self):
        return WiredLink(self.factory, BAD_HOST, BAD_PORT)

    def handshake(self, peer, node_id=BAD_ID):
        self.register(peer, node_id, 4002)

    def assertEstablishedServed(self, peer):
        """The bad peer, registered, is still introduced to the listener."""
        peer.say({"type": "nodereq", "exclude": []})
        self.assertEqual(peer.heard(), [{"type": "nodereply", "id": wireId(LISTENER_ID),
                                         "host": "198.51.100.6", "port": 4001}])

    def assertGoodPeerServed(self):
        peer = self.good
        peer.heard()
        peer.say({"type": "nodereq", "exclude": [wireId(BAD_ID)]})
        self.assertEqual(peer.heard(), [{"type": "nodereply", "id": wireId(LISTENER_ID),
                                         "host": "198.51.100.6", "port": 4001}])


class NodeTarget:
    """Node 1, with the default (flood) scheme and no roles, linked to the
    well-behaved peer.  Searches are the scheme's: without one, a node
    would answer every search with wtf."""

    target = "node"

    def setUpTarget(self, **link_settings):
        link_settings.setdefault("ping_interval", 0)
        self.node = makeNode(NODE_ID, link=LinkSettings(**link_settings))
        plugScheme(self.node, FloodDiscovery(self.node))
        self.factory = OverlayFactory(self.node)
        self.good = WiredLink(self.factory, "198.51.100.5")
        self.handshake(self.good, GOOD_ID)

    def connect(self):
        return WiredLink(self.factory, BAD_HOST, BAD_PORT)

    def handshake(self, peer, node_id=BAD_ID):
        peer.say({"type": "thisisme", "id": wireId(node_id), "port": 4002, "host": ""})
        self.assertEqual(peer.heard(), [{"type": "thisisme", "id": wireId(NODE_ID),
                                         "port": NODE_PORT, "host": NODE_HOST}])
        self.assertIs(self.node.links[node_id], peer.link)

    def assertEstablishedServed(self, peer):
        """A buy from the bad peer is still routed on to the good peer."""
        self.good.heard()
        order = {"type": "buy", "id": 77, "item": "pear",
                 "path": [wireId(BAD_ID), wireId(NODE_ID), wireId(GOOD_ID)]}
        peer.say(order)
        self.assertEqual(self.good.heard(), [order])

    def assertGoodPeerServed(self):
        peer = self.good
        peer.heard()
        peer.say({"type": "ping", "nonce": 99})
        self.assertEqual(peer.heard(), [{"type": "pong", "nonce": 99}])


# -- the table, run against each target ---------------------------------------------------


class CaseRunner:
    """Runs one L{Case} against the target mixed in beside it."""

    def runCase(self, case):
        self.setUpTarget(**case.settings)
        peer = self.connect()
        if case.state == AFTER:
            self.handshake(peer)
        with capturedLogs() as events:
            peer.link.dataReceived(case.data)
        heard = peer.heard()
        for message in heard:
            if message["type"] == "error":
                self.assertTrue(message["info"], message)
        expected = case.outcome(self.target)
        self.assertEqual(Outcome(tuple(map(summary, heard)), peer.closed), expected)
        self.assertEqual([e for e in events if "log_failure" in e], [])
        if expected.closed:
            self.assertClosingLogged(events, case.log)
        elif case.state == AFTER:
            self.assertEstablishedServed(peer)
        else:
            self.handshake(peer)
        self.assertGoodPeerServed()

    def assertClosingLogged(self, events, reason):
        """Some log line names the bad peer and, if given, the reason."""
        lines = [formatEvent(event) for event in events]
        matching = [line for line in lines
                    if BAD_ADDRESS in line and (reason is None or reason in line)]
        self.assertTrue(matching, lines)


def _caseTest(case):
    def test(self):
        self.runCase(case)

    test.__name__ = "test_" + re.sub(r"\W+", "_", case.name).strip("_")
    test.__doc__ = f"{case.name} ({case.state})"
    return test


for _case in CASES:
    _test = _caseTest(_case)
    if hasattr(CaseRunner, _test.__name__):
        raise ValueError(f"two cases named like {_case.name!r}")
    setattr(CaseRunner, _test.__name__, _test)
del _case, _test


class TrackerBadInputTests(TrackerTarget, CaseRunner, SynchronousTestCase):
    """Every case of the table, sent to a tracker."""


class NodeBadInputTests(NodeTarget, CaseRunner, SynchronousTestCase):
    """Every case of the table, sent to a node."""


class TableTests(SynchronousTestCase):
    """The table itself is as large as issue 3 asks."""

    def test_atLeastSixtyCases(self):
        self.assertGreaterEqual(len(CASES), 60)
        self.assertEqual(len({case.name for case in CASES}), len(CASES))


# -- properties: any stream, any chunking ------------------------------------------------


def framed(message):
    return frame(wire.encode(message))


valid_frames = st.one_of(*VALID_MESSAGES.values()).map(framed)
#: Paths through the ids a target knows, so that routed messages are
#: relayed, delivered or refused rather than all refused alike.
near_paths = st.lists(st.sampled_from([BAD_ID, NODE_ID, GOOD_ID, 99]), min_size=1,
                      max_size=4, unique=True).map(tuple)
routed_frames = st.one_of(
    st.builds(floodmsg.Search, ids, items, near_paths, st.integers(0, wire.MAX_TTL)),
    st.builds(floodmsg.Reply, ids, items, near_paths, ids, st.just(""), ports),
    st.builds(trade.Buy, ids, items, near_paths),
    st.builds(trade.BuyOK, ids, items, near_paths),
    st.builds(wire.Error, st.just("soldout"), st.just(""), ids, near_paths),
).map(framed)
junk_frames = (st.binary(max_size=40)
               | jsonish.map(lambda obj: json.dumps(obj).encode("utf-8"))).map(frame)
#: The table's own byte strings, but for those that need a roomier frame.
table_frames = st.sampled_from([case.data for case in CASES if not case.settings])
frames = valid_frames | routed_frames | junk_frames | table_frames
streams = st.one_of(
    st.binary(max_size=400),
    # Traffic a node acts on, mixed with frames it answers and keeps going.
    st.lists(routed_frames | junk_frames, max_size=10).map(b"".join),
    st.lists(frames | st.binary(max_size=12), max_size=10).map(b"".join),
)


@st.composite
def chunked(draw, data):
    """``data`` cut at arbitrary points, every piece kept in order."""
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    edges = [0, *cuts, len(data)]
    return [data[start:end] for start, end in zip(edges, edges[1:])]


chunked_streams = streams.flatmap(chunked)


class StreamProperties:
    """The property, for the target mixed in beside it."""

    def feedAndRecover(self, chunks, identified):
        """
        Feed the chunks to a new link (introduced first if ``identified``),
        then check a fresh link still completes its handshake and gets a
        pong.  An exception from the target fails the test on its own.
        """
        self.setUpTarget()
        peer = self.connect()
        if identified:
            self.handshake(peer)
        with capturedLogs() as events:
            for chunk in chunks:
                peer.link.dataReceived(chunk)
        self.assertEqual([e for e in events if "log_failure" in e], [])
        fresh = self.connect()
        self.handshake(fresh, FRESH_ID)
        fresh.say({"type": "ping", "nonce": 5})
        self.assertEqual(fresh.heard(), [{"type": "pong", "nonce": 5}])


def _streamProperty():
    """A test method of its own for each target class: Hypothesis wants
    one test function per class it runs on."""

    @settings(max_examples=150)
    @given(chunked_streams, st.booleans())
    def test_anyStreamAnyChunking(self, chunks, identified):
        """Any bytes, in any chunks, before or after the handshake, leave
        the target serving fresh links."""
        self.feedAndRecover(chunks, identified)

    return test_anyStreamAnyChunking


class TrackerStreamTests(TrackerTarget, StreamProperties, SynchronousTestCase):
    """No stream of bytes breaks a tracker."""

    test_anyStreamAnyChunking = _streamProperty()


class NodeStreamTests(NodeTarget, StreamProperties, SynchronousTestCase):
    """No stream of bytes breaks a node."""

    test_anyStreamAnyChunking = _streamProperty()
