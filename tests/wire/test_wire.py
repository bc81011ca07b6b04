"""
Tests for L{twisted_bazaar.wire}: the message classes and the strict codec.

The codec is the only place untrusted bytes become values, so these tests
pin the exact JSON spelling of every message, the limits at their edges,
and the promise that L{wire.decode} raises L{wire.ProtocolError} and
nothing else, whatever it is fed.
"""

import json

import attr
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.index import messages as indexmsg
from twisted_bazaar import wire
from twisted_bazaar.files.messages import About, Cipher, Data, Get, Head
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK
from twisted_bazaar.schemes.flood.messages import Reply, Search
from twisted_bazaar.schemes.superpeer import messages as spmsg
from twisted_bazaar.schemes.index.messages import (
    Ack,
    Found,
    List,
    Listing,
    Lookup,
    Register,
    Unregister,
)
from tests.records import PLAIN, PLAIN_WIRE, records
from tests.schemes.chord.test_messages import CHORD_STRATEGIES, CHORD_WIRE_FORMS
from tests.reach.punch.tcp.test_messages import PUNCH_STRATEGIES, PUNCH_WIRE_FORMS
from tests.wire.test_udpreach import UDP_STRATEGIES, UDP_WIRE_FORMS
from twisted_bazaar.status.messages import MemberList, Members, NodeState, State
from twisted_bazaar.transports.relay.messages import (
    RelayAccept,
    RelayAt,
    RelayConnect,
    RelayIncoming,
    RelayOffer,
    RelayOpen,
    RelayReserve,
    RelayReserved,
)
from twisted_bazaar.transports.relay.messages import MAX_SLOTS
from twisted_bazaar.net.recent import RECENT_SIZE
from twisted_bazaar.wire.ids import KEYED, KEYLESS_LIMIT, NO_ID
from twisted_bazaar.wire import (
    Dc,
    Error,
    NodeReply,
    NodeReq,
    Ping,
    Pong,
    Proof,
    ProtocolError,
    Reach,
    ThisIsMe,
    ThisIsYou,
    WhereIs,
    CheckMe,
    WhoAreYou,
)
from tests.helpers import nodeReply
from twisted_bazaar.reach.ownpaths import ownPaths
from twisted_bazaar.transports.path import LAN, NAMED, RELAYED, SEEN, UDP, Path
from twisted_bazaar.transports.websocket import WEBSOCKET

BIGGEST_ID = wire.ID_LIMIT - 1

#: A SHA-256, for the file messages.
SHA = "ab" * 32
#: A record of a shared file, and its wire form.
FILE = attr.evolve(PLAIN, item="f", size=5, sha256=SHA, transfer=7)
FILE_WIRE = dict(PLAIN_WIRE, item="f", size=5, sha256=SHA, transfer=7)
#: How a refused node id is explained.
NODE_ID = ("must be a node id: 32 lowercase hex digits, or up to 10 decimal digits "
           "without leading zeros")
#: Each message next to the exact JSON object it travels as.
WIRE_FORMS = [
    (ThisIsMe(5, 8000, "10.0.0.1"),
     {"type": "thisisme", "id": "5", "port": 8000, "host": "10.0.0.1"}),
    (ThisIsMe(-1, 0), {"type": "thisisme", "id": "", "port": 0, "host": ""}),
    (ThisIsYou(42, 8000), {"type": "thisisyou", "id": "42", "port": 8000}),
    (NodeReq(), {"type": "nodereq", "exclude": []}),
    (NodeReq((3, 4)), {"type": "nodereq", "exclude": ["3", "4"]}),
    (NodeReply(7, "example.org", 9000),
     {"type": "nodereply", "id": "7", "host": "example.org", "port": 9000}),
    (NodeReply(-1, "", 0), {"type": "nodereply", "id": "", "host": "", "port": 0}),
    (nodeReply(7, "203.0.113.7", 9001, "203.0.113.1:7701"),
     {"type": "nodereply", "id": "7", "host": "203.0.113.7", "port": 9001,
      "paths": [{"kind": "relayed", "relay": "203.0.113.1:7701", "word": "named"}]}),
    (nodeReply(7, "203.0.113.7", 9001, lan=("192.168.1.2",), udp=9002),
     {"type": "nodereply", "id": "7", "host": "203.0.113.7", "port": 9001,
      "paths": [{"kind": "lan", "host": "192.168.1.2", "port": 9001, "word": "claimed"},
                {"kind": "udp", "host": "203.0.113.7", "port": 9002, "word": "seen"}]}),
    (ThisIsMe(5, 8000, "", paths=ownPaths("203.0.113.1:7701", ("10.0.0.2",), 8001)),
     {"type": "thisisme", "id": "5", "port": 8000, "host": "",
      "paths": [{"kind": "relayed", "relay": "203.0.113.1:7701", "word": "claimed"},
                {"kind": "lan", "host": "10.0.0.2", "word": "claimed"},
                {"kind": "udp", "port": 8001, "word": "claimed"}]}),
    (RelayReserve(), {"type": "relayReserve"}),
    (RelayReserve(7), {"type": "relayReserve", "id": "7"}),
    (RelayOffer(7702, 16), {"type": "relayOffer", "port": 7702, "slots": 16}),
    (RelayAt(7, "192.0.2.20:41597"),
     {"type": "relayAt", "id": "7", "relay": "192.0.2.20:41597"}),
    (RelayAt(7, "192.0.2.20:41597", (Path(WEBSOCKET, "192.0.2.20", 443),)),
     {"type": "relayAt", "id": "7", "relay": "192.0.2.20:41597",
      "paths": [{"kind": "websocket", "host": "192.0.2.20", "port": 443,
                 "word": "claimed"}]}),
    (RelayReserved("[2001:db8::1]:7701"),
     {"type": "relayReserved", "relay": "[2001:db8::1]:7701"}),
    (RelayConnect(7, "files"), {"type": "relayConnect", "to": "7", "purpose": "files"}),
    (RelayIncoming("tok", "node", "198.51.100.20", 51234),
     {"type": "relayIncoming", "circuit": "tok", "purpose": "node",
      "host": "198.51.100.20", "port": 51234}),
    (RelayAccept("tok"), {"type": "relayAccept", "circuit": "tok"}),
    (RelayOpen(), {"type": "relayOpen"}),
    (RelayOpen("203.0.113.7"), {"type": "relayOpen", "host": "203.0.113.7"}),
    (MemberList(((7, "203.0.113.7", 9001, "flood"),), 1, {7: "203.0.113.1:7701"}),
     {"type": "memberlist", "total": 1, "relays": {"7": "203.0.113.1:7701"},
      "nodes": [{"id": "7", "host": "203.0.113.7", "port": 9001, "scheme": "flood"}]}),
    (Dc(), {"type": "dc"}),
    (Ping(11), {"type": "ping", "nonce": 11}),
    (Pong(11), {"type": "pong", "nonce": 11}),
    (Search(9, "apple", (1, 2), 7),
     {"type": "search", "id": 9, "item": "apple", "returnPath": ["1", "2"], "ttl": 7}),
    (Reply(9, "apple", (3, 2, 1), 3, "127.0.0.1", 9001),
     {"type": "reply", "id": 9, "item": "apple", "path": ["3", "2", "1"], "seller": "3",
      "host": "127.0.0.1", "port": 9001}),
    (Buy(12, "apple", (1, 2, 3)),
     {"type": "buy", "id": 12, "item": "apple", "path": ["1", "2", "3"]}),
    (BuyOK(12, "apple", (3, 2, 1)),
     {"type": "buyOK", "id": 12, "item": "apple", "path": ["3", "2", "1"]}),
    (WhoAreYou(), {"type": "whoareyou"}),
    (WhoAreYou("k" * 43, "bm9uY2U"),
     {"type": "whoareyou", "key": "k" * 43, "nonce": "bm9uY2U"}),
    (Proof("s" * 86), {"type": "proof", "sig": "s" * 86}),
    (ThisIsMe(5, 8000, reach=True),
     {"type": "thisisme", "id": "5", "port": 8000, "host": "", "reach": True}),
    (Reach("198.51.100.7", 8000, False, "198.51.100.7", 40312),
     {"type": "reach", "host": "198.51.100.7", "port": 8000, "reachable": False,
      "seenHost": "198.51.100.7", "seenPort": 40312}),
    (ThisIsMe(5, 8000, "", key="k" * 43, nonce="n", sig="s" * 86),
     {"type": "thisisme", "id": "5", "port": 8000, "host": "", "key": "k" * 43,
      "nonce": "n", "sig": "s" * 86}),
    (ThisIsYou(5, 8000, "k" * 43, "n"),
     {"type": "thisisyou", "id": "5", "port": 8000, "key": "k" * 43, "nonce": "n"}),
    (Ask(12, "apple", (1, 2, 3)),
     {"type": "ask", "id": 12, "item": "apple", "path": ["1", "2", "3"]}),
    (Error("wtf", "not understood"),
     {"type": "error", "code": "wtf", "info": "not understood"}),
    (Error("soldout", "none left", 12, (3, 2, 1)),
     {"type": "error", "code": "soldout", "info": "none left", "id": 12,
      "path": ["3", "2", "1"]}),
    (WhereIs(42), {"type": "whereis", "id": "42"}),
    (CheckMe(), {"type": "checkme"}),
    (Register("pear", PLAIN), {"type": "register", "item": "pear", "record": PLAIN_WIRE}),
    (Unregister("pear"), {"type": "unregister", "item": "pear"}),
    (Ack("pear"), {"type": "ack", "item": "pear"}),
    (Lookup("pear"), {"type": "lookup", "item": "pear"}),
    (Found("pear", ((3, "127.0.0.1", 9001, PLAIN),)),
     {"type": "found", "item": "pear", "sellers": [
         {"id": "3", "host": "127.0.0.1", "port": 9001, "record": PLAIN_WIRE}]}),
    (Found("fig", ()), {"type": "found", "item": "fig", "sellers": []}),
    (Reply(9, "f", (3, 1), 3, "h", 1, FILE),
     {"type": "reply", "id": 9, "item": "f", "path": ["3", "1"], "seller": "3",
      "host": "h", "port": 1, "record": FILE_WIRE}),
    (Register("f", FILE), {"type": "register", "item": "f", "record": FILE_WIRE}),
    (Cipher("AESGCM"), {"type": "cipher", "name": "AESGCM"}),
    (Head(SHA), {"type": "head", "sha256": SHA}),
    (About(SHA, 5, 1024, (bytes(32),)),
     {"type": "about", "sha256": SHA, "size": 5, "pieceSize": 1024,
      "pieces": ["00" * 32]}),
    (Get(SHA, 0, 5), {"type": "get", "sha256": SHA, "offset": 0, "length": 5}),
    (Data(SHA, 0, 5), {"type": "data", "sha256": SHA, "offset": 0, "length": 5}),
    (List(), {"type": "list"}),
    (Listing({"pear": 2, "fig": 0}), {"type": "listing", "items": {"pear": 2, "fig": 0}}),
    (spmsg.LeafRegister(1, "", 9001, {"pear": 2}),
     {"type": "leafRegister", "seq": 1, "host": "", "port": 9001, "items": {"pear": 2}}),
    (spmsg.LeafUpdate(2, {"pear": 0}),
     {"type": "leafUpdate", "seq": 2, "items": {"pear": 0}}),
    (spmsg.LeafAck(2, 0), {"type": "leafAck", "seq": 2, "items": 0}),
    (spmsg.LeafQuery(5, "pear"), {"type": "leafQuery", "id": 5, "item": "pear"}),
    (spmsg.LeafHits(5, "pear", ((3, "h", 9001, PLAIN),)),
     {"type": "leafHits", "id": 5, "item": "pear",
      "sellers": [{"id": "3", "host": "h", "port": 9001, "record": PLAIN_WIRE}]}),
    (spmsg.SpQuery(6, "pear", (1, 2), 3),
     {"type": "spQuery", "id": 6, "item": "pear", "returnPath": ["1", "2"], "ttl": 3}),
    (spmsg.SpHit(6, "pear", (2, 1), ((3, "h", 9001, PLAIN),)),
     {"type": "spHit", "id": 6, "item": "pear", "path": ["2", "1"],
      "sellers": [{"id": "3", "host": "h", "port": 9001, "record": PLAIN_WIRE}]}),
    (spmsg.LeafRegister(1, "", 9001, {"pear": 2}, {"pear": PLAIN}),
     {"type": "leafRegister", "seq": 1, "host": "", "port": 9001, "items": {"pear": 2},
      "records": {"pear": PLAIN_WIRE}}),
    (Members(), {"type": "members"}),
    (MemberList(((17, "10.0.0.3", 9001, "flood"), (42, "h", 1, "")), 3),
     {"type": "memberlist", "total": 3,
      "nodes": [{"id": "17", "host": "10.0.0.3", "port": 9001, "scheme": "flood"},
                {"id": "42", "host": "h", "port": 1, "scheme": ""}]}),
    (State(), {"type": "state"}),
    (NodeState(17, "10.0.0.3", 9001, "flood", ((42, "10.0.0.4", 9002, "overlay"),),
               {"apple": 2}, {"fig": 1}, 1,
               ((1500, "in", 42, "buy"), (2, "out", -1, "wtf")),
               (("a.bin", 10, "ab" * 32, 2),),
               (("b.bin", 100, "cd" * 32, 40, 20, 1, "stalled", "no seller"),),
               limits=(("link.unsent", "bytes", 0, 33554432, 8388608),
                       ("flood.seen", "ids", 12, None, None)),
               trades=((900, 5, "fig", 1, (17, 8, 42)),), roles=("seller", "buyer")),
     {"type": "nodestate", "id": "17", "host": "10.0.0.3", "port": 9001,
      "scheme": "flood", "links": [{"id": "42", "host": "10.0.0.4", "port": 9002,
                                    "purpose": "overlay"}],
      "stock": {"apple": 2}, "bag": {"fig": 1}, "pending": 1,
      "recent": [{"ago": 1500, "dir": "in", "peer": "42", "type": "buy"},
                 {"ago": 2, "dir": "out", "peer": "", "type": "wtf"}],
      "files": [{"name": "a.bin", "size": 10, "sha256": "ab" * 32, "sold": 2}],
      "downloads": [{"name": "b.bin", "size": 100, "sha256": "cd" * 32, "have": 40,
                     "rate": 20, "sellers": 1, "state": "stalled",
                     "why": "no seller"}],
      "limits": [{"name": "link.unsent", "unit": "bytes", "used": 0,
                  "limit": 33554432, "group": 8388608},
                 {"name": "flood.seen", "unit": "ids", "used": 12, "limit": None,
                  "group": None}],
      "trades": [{"ago": 900, "id": 5, "item": "fig", "units": 1,
                  "path": ["17", "8", "42"]}], "roles": ["seller", "buyer"]}),
] + CHORD_WIRE_FORMS + PUNCH_WIRE_FORMS + UDP_WIRE_FORMS


def shippedTypes():
    """The message classes this package declares (tests may declare more,
    e.g. the gossip plugin of tests/plugin_root)."""
    return {cls for cls in wire.MESSAGE_TYPES.values()
            if cls.__module__.startswith("twisted_bazaar.")
            and not cls.__module__.startswith("twisted_bazaar.plugins.")}


def payload(obj):
    """The bytes a peer would send for a JSON value."""
    return json.dumps(obj).encode("utf-8")


def nested(depth):
    """Balanced JSON lists nested far deeper than any recursion limit."""
    return b"[" * depth + b"]" * depth


#: (what is wrong, payload, the ProtocolError's info).  Each is answerable.
MALFORMED = [
    ("invalid UTF-8", b'{"type":"dc","x":"\xff"}',
     "invalid UTF-8: invalid start byte at byte 18"),
    ("not a JSON object", b"[]", "a message must be a JSON object"),
    ("a JSON string", b'"dc"', "a message must be a JSON object"),
    ("JSON null", b"null", "a message must be a JSON object"),
    ("a JSON number", b"7", "a message must be a JSON object"),
    ("no type", b"{}", "a message needs a string field type"),
    ("numeric type", payload({"type": 5}), "a message needs a string field type"),
    ("null type", payload({"type": None}), "a message needs a string field type"),
    ("list type", payload({"type": ["dc"]}), "a message needs a string field type"),
    ("unknown type", payload({"type": "hello"}), "unknown message type 'hello'"),
    ("type names are case-sensitive", payload({"type": "buyok", "id": 1,
                                               "item": "a", "path": ["1"]}),
     "unknown message type 'buyok'"),
    ("a huge unknown type is not echoed whole", payload({"type": "x" * 10000}),
     f"unknown message type {'x' * 40!r}"),
    ("missing nonce", payload({"type": "ping"}), "ping lacks the field nonce"),
    ("missing returnPath", payload({"type": "search", "id": 1, "item": "a",
                                    "ttl": 3}),
     "search lacks the field returnPath"),
    ("snake_case returnPath", payload({"type": "search", "id": 1, "item": "a",
                                       "return_path": [1], "ttl": 3}),
     "search lacks the field returnPath"),
    ("missing host", payload({"type": "reply", "id": 1, "item": "a", "path": ["1"],
                              "seller": "1", "port": 1}),
     "reply lacks the field host"),
    ("null required field", payload({"type": "thisisyou", "id": None, "port": 1}),
     f"thisisyou.id {NODE_ID}"),
    ("bool as id", payload({"type": "ping", "nonce": True}),
     "ping.nonce must be an integer within +-2^63"),
    ("float as id", payload({"type": "ping", "nonce": 1.0}),
     "ping.nonce must be an integer within +-2^63"),
    ("NaN as id", b'{"type":"ping","nonce":NaN}', "invalid JSON: NaN is not a JSON value"),
    ("Infinity in a field nobody reads", b'{"type":"dc","x":Infinity}',
     "invalid JSON: Infinity is not a JSON value"),
    ("-Infinity in a routed message, which would be relayed unchanged",
     b'{"type":"buy","id":1,"item":"a","path":[1,2],"x":[-Infinity]}',
     "invalid JSON: -Infinity is not a JSON value"),
    ("NaN after leading whitespace", b' {"type":"dc","x":NaN}',
     "invalid JSON: NaN is not a JSON value"),
    # protocol.md §11: a buy's sha256 and size, "both or neither" (issue
    # 96's third pass: one alone was sold out, as content not shared).
    ("a buy's sha256 without its size",
     payload({"type": "buy", "id": 1, "item": "a", "path": ["1", "2"], "sha256": "0" * 64}),
     "buy names a file's sha256 and size together, or neither"),
    ("a buy's size without its sha256",
     payload({"type": "buy", "id": 1, "item": "a", "path": ["1", "2"], "size": 5}),
     "buy names a file's sha256 and size together, or neither"),
    # A checker named by a noun reads as one (issue 96's third pass: "must
    # be an integer a number of units").
    ("a quantity as a string",
     payload({"type": "buy", "id": 1, "item": "a", "path": ["1", "2"], "quantity": "2"}),
     "buy.quantity must be a number of units, 1 to 1,000,000,000, an integer"),
    ("string as a nonce", payload({"type": "ping", "nonce": "5"}),
     "ping.nonce must be an integer within +-2^63"),
    ("integer as a node id", payload({"type": "thisisyou", "id": 5, "port": 1}),
     f"thisisyou.id {NODE_ID}"),
    ("no id where one is needed", payload({"type": "whereis", "id": ""}),
     f"whereis.id {NODE_ID}, not ''"),
    ("keyless id with a leading zero", payload({"type": "whereis", "id": "05"}),
     f"whereis.id {NODE_ID}, not '05'"),
    ("keyless id of 11 digits", payload({"type": "whereis", "id": "1" * 11}),
     f"whereis.id {NODE_ID}, not '{'1' * 11}'"),
    ("keyed id in upper case", payload({"type": "whereis", "id": "A" * 32}),
     f"whereis.id {NODE_ID}, not '{'A' * 32}'"),
    ("keyed id of 31 digits", payload({"type": "whereis", "id": "a" * 31}),
     f"whereis.id {NODE_ID}, not '{'a' * 31}'"),
    ("negative id", payload({"type": "whereis", "id": "-1"}),
     f"whereis.id {NODE_ID}, not '-1'"),
    ("string as port", payload({"type": "thisisme", "id": "1", "port": "80"}),
     "thisisme.port must be an integer from 0 to 65535"),
    ("id 2^63", payload({"type": "ping", "nonce": 2**63}),
     f"ping.nonce must be within +-2^63, not {2**63}"),
    ("id -2^63", payload({"type": "ping", "nonce": -(2**63)}),
     f"ping.nonce must be within +-2^63, not {-(2**63)}"),
    ("port over 65535", payload({"type": "thisisme", "id": "1", "port": 65536}),
     "thisisme.port must be from 0 to 65535, not 65536"),
    ("negative port", payload({"type": "thisisyou", "id": "1", "port": -1}),
     "thisisyou.port must be from 0 to 65535, not -1"),
    ("numeric item", payload({"type": "buy", "id": 1, "item": 5, "path": ["1"]}),
     "buy.item must be a string"),
    ("empty item", payload({"type": "search", "id": 1, "item": "",
                            "returnPath": ["1"], "ttl": 3}),
     "search.item must be 1 to 256 bytes, not 0"),
    ("item over 256 UTF-8 bytes in 129 characters",
     payload({"type": "buy", "id": 1, "item": "\N{LATIN SMALL LETTER E WITH ACUTE}"
              * 129, "path": ["1"]}),
     "buy.item must be 1 to 256 bytes, not 258"),
    ("lone surrogate in item", b'{"type":"buy","id":1,"item":"\\ud800","path":[1]}',
     "buy.item must be valid Unicode text"),
    ("host over 255 bytes", payload({"type": "nodereply", "id": "1", "host": "h" * 256,
                                     "port": 1}),
     "nodereply.host must be 0 to 255 bytes, not 256"),
    ("path not a list", payload({"type": "buy", "id": 1, "item": "a",
                                 "path": "1,2"}),
     "buy.path must be a list of node ids"),
    ("empty path", payload({"type": "buyOK", "id": 1, "item": "a", "path": []}),
     "buyOK.path must hold 1 to 64 ids"),
    ("path of 65 ids", payload({"type": "buy", "id": 1, "item": "a",
                                "path": list(range(65))}),
     "buy.path must hold 1 to 64 ids"),
    ("repeated id in path", payload({"type": "reply", "id": 1, "item": "a",
                                     "path": ["3", "2", "3"], "seller": "3",
                                     "host": "", "port": 1}),
     "reply.path must not repeat an id"),
    ("bool in path", payload({"type": "buy", "id": 1, "item": "a",
                              "path": ["1", True]}),
     f"buy.path entry {NODE_ID}"),
    ("float in path", payload({"type": "buy", "id": 1, "item": "a",
                               "path": ["1", 2.5]}),
     f"buy.path entry {NODE_ID}"),
    ("integer in path", payload({"type": "buy", "id": 1, "item": "a",
                                 "path": ["1", 2]}),
     f"buy.path entry {NODE_ID}"),
    ("no id in path", payload({"type": "buy", "id": 1, "item": "a",
                               "path": ["1", ""]}),
     f"buy.path entry {NODE_ID}, not ''"),
    ("empty returnPath", payload({"type": "search", "id": 1, "item": "a",
                                  "returnPath": [], "ttl": 3}),
     "search.returnPath must hold 1 to 64 ids"),
    ("returnPath of 65 ids", payload({"type": "search", "id": 1, "item": "a",
                                      "returnPath": list(range(65)), "ttl": 3}),
     "search.returnPath must hold 1 to 64 ids"),
    ("repeated id in returnPath", payload({"type": "search", "id": 1, "item": "a",
                                           "returnPath": ["1", "1"], "ttl": 3}),
     "search.returnPath must not repeat an id"),
    ("exclude of 65 ids", payload({"type": "nodereq", "exclude": list(range(65))}),
     "nodereq.exclude must hold 0 to 64 ids"),
    ("ttl over 16", payload({"type": "search", "id": 1, "item": "a",
                             "returnPath": ["1"], "ttl": 17}),
     "search.ttl must be from 0 to 16, not 17"),
    ("negative ttl", payload({"type": "search", "id": 1, "item": "a",
                              "returnPath": ["1"], "ttl": -1}),
     "search.ttl must be from 0 to 16, not -1"),
    ("a relay's port in other digits than ASCII's",
     payload({"type": "relayAt", "id": "7", "relay": "192.0.2.20:\u0669\u0660\u0660\u0660"}),
     "relayAt.relay: '192.0.2.20:\u0669\u0660\u0660\u0660' is no HOST:PORT"),
    ("a relay's port in superscript digits",
     payload({"type": "relayAt", "id": "7", "relay": "192.0.2.20:\u00b2"}),
     "relayAt.relay: '192.0.2.20:\u00b2' is no HOST:PORT"),
    ("deeply nested lists", nested(100000), "invalid JSON: nested too deeply"),
    ("deeply nested objects", b'{"a":' * 100000 + b"1" + b"}" * 100000,
     "invalid JSON: nested too deeply"),
    ("deep nesting in an unknown field",
     b'{"type":"dc","x":' + nested(100000) + b"}",
     "invalid JSON: nested too deeply"),
]

#: (what is wrong, an undecodable JSON object, info) where the parsed JSON
#: names an ``error``: these must never be answered.
MALFORMED_ERRORS = [
    ("unknown error code", {"type": "error", "code": "oops", "info": "x"},
     "error.code must be one of " + ", ".join(wire.ERROR_CODES)),
    ("numeric error code", {"type": "error", "code": 5, "info": "x"},
     "error.code must be one of " + ", ".join(wire.ERROR_CODES)),
    ("missing info", {"type": "error", "code": "wtf"}, "error lacks the field info"),
    ("info over 1024 bytes", {"type": "error", "code": "wtf", "info": "i" * 1025},
     "error.info must be 0 to 1024 bytes, not 1025"),
    ("bool as id", {"type": "error", "code": "soldout", "info": "x", "id": False},
     "error.id must be an integer within +-2^63"),
    ("empty path", {"type": "error", "code": "soldout", "info": "x", "id": 1,
                    "path": []},
     "error.path must hold 1 to 64 ids"),
]


class EncodeTests(SynchronousTestCase):
    """Messages are written with the protocol's exact field names."""

    def test_wireForms(self):
        """Every message class encodes to its documented JSON object."""
        for message, obj in WIRE_FORMS:
            self.assertEqual(json.loads(wire.encode(message)), obj)

    def test_everyTypeHasAWireForm(self):
        """The table above covers every registered message type, so a new
        message cannot slip in untested."""
        self.assertEqual(
            {type(message) for message, _ in WIRE_FORMS},
            shippedTypes(),
        )

    def test_compactUTF8(self):
        """Encoding is compact JSON in UTF-8, with non-ASCII text kept as is
        rather than escaped."""
        self.assertEqual(wire.encode(Ping(3)), b'{"type":"ping","nonce":3}')
        self.assertEqual(
            wire.encode(Buy(1, "p\N{LATIN SMALL LETTER E WITH ACUTE}che", (2,))),
            '{"type":"buy","id":1,"item":"p\N{LATIN SMALL LETTER E WITH ACUTE}che",'
            '"path":["2"]}'.encode("utf-8"),
        )

    def test_defaults(self):
        """Optional fields have the defaults the protocol documents."""
        self.assertEqual(ThisIsMe(1, 2).host, "")
        self.assertEqual(NodeReq().exclude, ())
        self.assertEqual((Error("wtf", "x").id, Error("wtf", "x").path), (None, None))
        self.assertEqual(wire.DEFAULT_TTL, 7)


class DecodeTests(SynchronousTestCase):
    """Valid payloads become the message they name."""

    def test_wireForms(self):
        """Every documented JSON object decodes to its message."""
        for message, obj in WIRE_FORMS:
            self.assertEqual(wire.decode(payload(obj)), message)

    def test_optionalFieldsAbsent(self):
        """Optional fields may be left out, and an error's id and path may
        also be null."""
        self.assertEqual(
            wire.decode(payload({"type": "thisisme", "id": "1", "port": 2})),
            ThisIsMe(1, 2, ""),
        )
        self.assertEqual(wire.decode(payload({"type": "nodereq"})), NodeReq())
        self.assertEqual(
            wire.decode(payload({"type": "error", "code": "notim", "info": "late",
                                 "id": None, "path": None})),
            Error("notim", "late"),
        )

    def test_optionalNullIsAbsent(self):
        """An optional field sent as null is left out, whatever its default:
        the documented rule has no exceptions (thisisme's host and
        nodereq's exclude were once refused as null)."""
        self.assertEqual(
            wire.decode(payload({"type": "thisisme", "id": "1", "port": 2, "host": None,
                                 "purpose": None, "key": None, "nonce": None})),
            ThisIsMe(1, 2, ""))
        self.assertEqual(wire.decode(payload({"type": "nodereq", "exclude": None,
                                              "scheme": None})), NodeReq())
        for obj in ({"type": "thisisme", "id": None, "port": 2},
                    {"type": "thisisme", "id": "1", "port": None}):
            self.assertRaises(wire.ProtocolError, wire.decode, payload(obj))

    def test_unknownFieldsIgnored(self):
        """A newer peer's extra fields, of any shape, do not stop a message
        from decoding."""
        self.assertEqual(
            wire.decode(payload({"type": "ping", "nonce": 1, "extra": {"a": [1]},
                                 "version": 2})),
            Ping(1),
        )

    def test_pathsAreTuples(self):
        """Decoded id lists are tuples, so messages stay hashable and
        immutable past the edge."""
        search = wire.decode(payload({"type": "search", "id": 1, "item": "a",
                                      "returnPath": ["1", "2"], "ttl": 0}))
        self.assertEqual(search.return_path, (1, 2))
        self.assertIsInstance(search.return_path, tuple)
        self.assertEqual(hash(search), hash(Search(1, "a", (1, 2), 0)))

    def test_limitsAccepted(self):
        """Values exactly at each limit are valid."""
        longest_item = "\N{LATIN SMALL LETTER E WITH ACUTE}" * 128
        longest_path = [str(each) for each in range(wire.MAX_PATH)]
        cases = [
            ({"type": "ping", "nonce": BIGGEST_ID}, Ping(BIGGEST_ID)),
            ({"type": "ping", "nonce": -BIGGEST_ID}, Ping(-BIGGEST_ID)),
            ({"type": "thisisyou", "id": "0", "port": 65535}, ThisIsYou(0, 65535)),
            ({"type": "search", "id": 1, "item": longest_item,
              "returnPath": longest_path, "ttl": wire.MAX_TTL},
             Search(1, longest_item, tuple(range(wire.MAX_PATH)), wire.MAX_TTL)),
            ({"type": "nodereply", "id": "1", "host": "h" * 255, "port": 1},
             NodeReply(1, "h" * 255, 1)),
            ({"type": "nodereq", "exclude": longest_path},
             NodeReq(tuple(range(wire.MAX_PATH)))),
            ({"type": "whereis", "id": "9999999999"}, WhereIs(KEYLESS_LIMIT - 1)),
            ({"type": "whereis", "id": "f" * 32}, WhereIs(KEYED | (2**128 - 1))),
            ({"type": "whereis", "id": "0" * 32}, WhereIs(KEYED)),
            ({"type": "error", "code": "wtf", "info": "i" * 1024},
             Error("wtf", "i" * 1024)),
        ]
        for obj, message in cases:
            self.assertEqual(wire.decode(payload(obj)), message)

    def test_everyErrorCode(self):
        """Each documented error code decodes."""
        self.assertEqual(
            sorted(wire.ERROR_CODES),
            sorted(["notim", "notiy", "wtf", "wrongway", "noslots", "soldout",
                    "unsold", "expired", "notyet", "nofile", "badrange", "busy",
                    "toomany", "full", "unknown", "claimed", "badrecord", "nopunch",
                    "norelay", "noudp"]),
        )
        for code in wire.ERROR_CODES:
            self.assertEqual(
                wire.decode(payload({"type": "error", "code": code, "info": ""})),
                Error(code, ""),
            )


class MalformedTests(SynchronousTestCase):
    """Anything that is not exactly a valid message is a ProtocolError."""

    def assertMalformed(self, what, data, info, answerable=True):
        """Decoding C{data} raises a C{wtf} ProtocolError with C{info}."""
        try:
            message = wire.decode(data)
        except ProtocolError as e:
            self.assertEqual((e.code, e.info, e.answerable),
                             ("wtf", info, answerable), what)
        else:
            self.fail(f"{what}: decoded to {message!r}")

    def test_malformedTable(self):
        """Each entry of the table is refused with its reason."""
        for what, data, info in MALFORMED:
            self.assertMalformed(what, data, info)

    def test_invalidJSON(self):
        """Bytes that are not JSON are refused, naming the JSON error."""
        for data in [b"", b'{"type":', b"{'type': 'dc'}", b'{"type":"dc"}x',
                     b'{"type":"ping","nonce":' + b"9" * 5000 + b"}"]:
            try:
                wire.decode(data)
            except ProtocolError as e:
                self.assertEqual(e.code, "wtf")
                self.assertTrue(e.info.startswith("invalid JSON: "), e.info)
                self.assertTrue(e.answerable)
            else:
                self.fail(f"{data[:40]!r} decoded")

    def test_malformedErrorIsUnanswerable(self):
        """A broken error message must not be answered, or two peers could
        trade errors forever."""
        for what, obj, info in MALFORMED_ERRORS:
            self.assertMalformed(what, payload(obj), info, answerable=False)

    def test_infoWithinItsCap(self):
        """
        A reason that quotes the peer's input stays within the info cap,
        in the ProtocolError and in the error sent: a 4000-digit id, a
        4000-character string where an id goes.
        """
        for data in [b'{"type":"ping","nonce":' + b"9" * 4000 + b"}",
                     b'{"type":"ping","nonce":-' + b"9" * 4000 + b"}",
                     payload({"type": "ping", "nonce": "\u00e9" * 4000})]:
            try:
                wire.decode(data)
            except ProtocolError as e:
                self.assertLessEqual(len(e.info.encode("utf-8")), wire.MAX_INFO_BYTES)
                sent = wire.decode(wire.encode(Error(e.code, e.info)))
                self.assertEqual(sent.info, e.info)
            else:
                self.fail(f"{data[:40]!r} decoded")

    def test_errorInfoClipped(self):
        """An error made with a longer info is cut to the cap on UTF-8
        character boundaries, marked by '...'; a lone surrogate becomes
        '?'; an info within the cap is kept as is."""
        clipped = Error("wtf", "\u00e9" * 1000).info
        self.assertEqual(clipped, "\u00e9" * 510 + "...")
        self.assertEqual(len(clipped.encode("utf-8")), 1023)
        self.assertEqual(Error("wtf", "a" * 1025).info, "a" * 1021 + "...")
        self.assertEqual(Error("wtf", "a" * 1024).info, "a" * 1024)
        self.assertEqual(Error("wtf", "x\ud800").info, "x?")

    def test_protocolErrorDefaults(self):
        """A ProtocolError carries its info as its text and defaults to an
        answerable wtf."""
        e = ProtocolError("why")
        self.assertEqual((str(e), e.info, e.code, e.answerable),
                         ("why", "why", "wtf", True))


# -- properties ---------------------------------------------------------------

ids = st.integers(-BIGGEST_ID, BIGGEST_ID)
#: Node ids: keyless (up to 10 decimal digits) and keyed (128 bits).
nodeIds = st.integers(0, KEYLESS_LIMIT - 1) | st.integers(0, 2**128 - 1).map(
    lambda bits: KEYED | bits)
maybeNodeIds = st.just(NO_ID) | nodeIds
ports = st.integers(0, 65535)
items = st.text(min_size=1, max_size=wire.MAX_ITEM_BYTES // 4)
hosts = st.text(max_size=wire.MAX_HOST_BYTES // 4)
#: A relay's HOST:PORT (an IPv6 host in brackets).
relays = st.builds(lambda host, port: f"{host}:{port}", st.sampled_from(
    ["203.0.113.1", "relay.example.org", "[2001:db8::1]"]), st.integers(1, 65535))
infos = st.text(max_size=wire.MAX_INFO_BYTES // 4)
#: A node's other ways to be reached: a relay, local addresses, a UDP port.
ways = st.builds(
    lambda relay, lan, udp: (
        (() if relay is None else (Path(RELAYED, relay=relay, word=NAMED),))
        + tuple(Path(LAN, host) for host in lan)
        + (() if udp is None else (Path(UDP, "203.0.113.7", udp, word=SEEN),))),
    st.none() | relays,
    st.lists(st.sampled_from(["192.168.1.2", "10.0.0.3", "fd00::2", "fe80::9"]),
             unique=True, max_size=4),
    st.none() | st.integers(1, 65535))
paths = st.lists(nodeIds, min_size=1, max_size=wire.MAX_PATH, unique=True).map(tuple)
#: A seller named with its record: (id, host, port, record).
recordedSeller = st.builds(lambda record, host, port: (record.seller, host, port, record),
                           records(), hosts, ports)
excludes = st.lists(nodeIds, max_size=wire.MAX_EXCLUDE, unique=True).map(tuple)
sizes = st.integers(0, 2**53)
shas = st.binary(min_size=32, max_size=32).map(bytes.hex)
transferPorts = st.integers(1, 65535)

#: A strategy of valid instances for every message class.
VALID_MESSAGES = {
    ThisIsMe: st.builds(ThisIsMe, maybeNodeIds, ports, hosts),
    ThisIsYou: st.builds(ThisIsYou, nodeIds, ports),
    NodeReq: st.builds(NodeReq, excludes),
    NodeReply: st.builds(NodeReply, maybeNodeIds, hosts, ports, st.none() | ways),
    RelayReserve: st.builds(RelayReserve, st.none() | nodeIds),
    RelayOffer: st.builds(RelayOffer, transferPorts, st.integers(1, MAX_SLOTS)),
    RelayAt: st.builds(RelayAt, nodeIds, relays, st.none() | st.builds(
        lambda port: (Path(WEBSOCKET, "203.0.113.1", port),), st.integers(1, 65535))),
    RelayReserved: st.builds(RelayReserved, relays),
    RelayConnect: st.builds(RelayConnect, nodeIds, st.sampled_from(["node", "files"])),
    RelayIncoming: st.builds(RelayIncoming, st.text("ab-_", min_size=1, max_size=22),
                             st.sampled_from(["node", "files"]), hosts, ports),
    RelayAccept: st.builds(RelayAccept, st.text("ab-_", min_size=1, max_size=22)),
    RelayOpen: st.builds(RelayOpen, st.none() | st.just("203.0.113.7")),
    Dc: st.just(Dc()),
    CheckMe: st.just(CheckMe()),
    Ping: st.builds(Ping, ids),
    Pong: st.builds(Pong, ids),
    Search: st.builds(Search, ids, items, paths, st.integers(0, wire.MAX_TTL)),
    Reply: st.builds(Reply, ids, items, paths, nodeIds, hosts, ports, st.none() | records()),
    Buy: st.builds(Buy, ids, items, paths),
    BuyOK: st.builds(BuyOK, ids, items, paths),
    Ask: st.builds(Ask, ids, items, paths),
    Error: st.builds(Error, st.sampled_from(sorted(wire.ERROR_CODES)), infos,
                     st.none() | ids, st.none() | paths),
    WhereIs: st.builds(WhereIs, nodeIds),
    WhoAreYou: st.builds(WhoAreYou, st.none() | st.text("ab-_", min_size=43, max_size=43),
                         st.none() | st.text(min_size=1, max_size=16)),
    Proof: st.builds(Proof, st.text(min_size=86, max_size=86, alphabet="ab-_")),
    Reach: st.builds(Reach, hosts, ports, st.booleans(), hosts, ports),
    Register: st.builds(Register, items, records()),
    Unregister: st.builds(Unregister, items),
    Ack: st.builds(Ack, items),
    Lookup: st.builds(Lookup, items),
    Found: st.builds(Found, items, st.lists(recordedSeller,
                                            max_size=indexmsg.MAX_FOUND).map(tuple)),
    List: st.just(List()),
    Listing: st.builds(Listing, st.dictionaries(items, st.integers(0, 10**9),
                                                max_size=20)),
    Cipher: st.builds(Cipher, st.sampled_from(["AESGCM", "ChaChaPoly"])),
    Head: st.builds(Head, shas),
    About: st.builds(About, shas, sizes, st.integers(1, 2**53),
                     st.lists(st.binary(min_size=32, max_size=32), min_size=1,
                              max_size=20).map(tuple)),
    Get: st.builds(Get, shas, sizes, sizes),
    Data: st.builds(Data, shas, sizes, sizes),
    spmsg.LeafRegister: st.builds(spmsg.LeafRegister, st.integers(0, 10**9), hosts,
                                  ports, st.dictionaries(items, st.integers(0, 10**9),
                                                         max_size=20),
                                  st.none() | st.dictionaries(items, records(),
                                                              max_size=5)),
    spmsg.LeafUpdate: st.builds(spmsg.LeafUpdate, st.integers(0, 10**9),
                                st.dictionaries(items, st.integers(0, 10**9),
                                                max_size=20),
                                st.none() | st.dictionaries(items, records(),
                                                            max_size=5)),
    spmsg.LeafAck: st.builds(spmsg.LeafAck, st.integers(0, 10**9),
                             st.integers(0, 10**9)),
    spmsg.LeafQuery: st.builds(spmsg.LeafQuery, ids, items),
    spmsg.LeafHits: st.builds(spmsg.LeafHits, ids, items, st.lists(
        recordedSeller, max_size=spmsg.MAX_HITS).map(tuple)),
    spmsg.SpQuery: st.builds(spmsg.SpQuery, ids, items, paths,
                             st.integers(0, wire.MAX_TTL)),
    spmsg.SpHit: st.builds(spmsg.SpHit, ids, items, paths, st.lists(
        recordedSeller, max_size=spmsg.MAX_HITS).map(tuple)),
    Members: st.just(Members()),
    MemberList: st.builds(MemberList, st.lists(st.tuples(
        nodeIds, hosts, ports, st.sampled_from(["", "flood", "index"])),
        max_size=20).map(tuple), st.integers(0, 10**6)),
    State: st.just(State()),
    NodeState: st.builds(
        NodeState, maybeNodeIds, hosts, ports, st.sampled_from(["flood", "index"]),
        st.lists(st.tuples(nodeIds, hosts, ports, st.sampled_from(["overlay", "direct"])),
                 max_size=10).map(tuple),
        st.dictionaries(items, st.integers(0, 10**9), max_size=10),
        st.dictionaries(items, st.integers(0, 10**9), max_size=10),
        st.integers(0, 1000),
        st.lists(st.tuples(st.integers(0, 10**9), st.sampled_from(["in", "out"]),
                           maybeNodeIds, st.sampled_from(["buy", "buyOK", "search"])),
                 max_size=RECENT_SIZE).map(tuple),
        roles=st.none() | st.lists(st.sampled_from(["buyer", "seller", "x" * 32]),
                                   max_size=16).map(tuple)),
    **CHORD_STRATEGIES,
    **PUNCH_STRATEGIES,
    **UDP_STRATEGIES,
}

#: Text including lone surrogates, which JSON can carry as \\udXXX escapes.
any_text = st.text(max_size=20) | st.text(st.characters(categories=["Cs"]),
                                          min_size=1, max_size=3)
jsonish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(any_text, children, max_size=5),
    max_leaves=20,
)


def withJunkField(message):
    """Strategy: C{message}'s JSON object with one of its own fields, or its
    type, replaced by junk, so decoding reaches every field check."""
    names = ["type"] + [wire_name for wire_name, *_ in message.FIELDS]
    return st.builds(lambda name, junk: {**message.asDict(), name: junk},
                     st.sampled_from(names), any_text | jsonish)


corrupted_objects = st.one_of(*VALID_MESSAGES.values()).flatmap(withJunkField)

#: Values at the edges of the fields' checks.
edges = st.sampled_from([
    None, True, False, 0, -1, 2**63, -2**63, 2**63 - 1, -(2**63 - 1), 65535, 65536,
    1.5, "", "x", "x" * 32, "x" * 33, "x" * 43, "x" * 86, "x" * 257, "é" * 128,
    "é" * 129, "\ud800", [], [1], [1, 1], [1, True], [2**63], [-(2**63)],
    list(range(64)), list(range(65)), {}, {"apple": 1}, {"apple": -1},
    # Unhashable entries, and texts of ids no node has sent yet (not in
    # the codec's cache) beside ones it has.
    [[]], [{}], ["1", []], ["1", "1"], ["1", "98765"], "98765", ["f" * 31]])


def withEdgeField(message):
    """Strategy: C{message} as its JSON object, as is, with one field left
    out, or with one field set to an edge value."""
    names = [wire_name for wire_name, *_ in message.FIELDS]
    obj = {**message.asDict()}
    if not names:
        return st.just(obj)
    left_out = st.sampled_from(names).map(
        lambda name: {k: v for k, v in obj.items() if k != name})
    return (st.just(obj) | left_out | st.builds(lambda name, value: {**obj, name: value},
                                                st.sampled_from(names), edges))


#: (class, object): a valid message's object, or one with a field left
#: out, at an edge or junk, to decode as that class.
edged_objects = st.one_of(*VALID_MESSAGES.values()).flatmap(
    lambda message: st.tuples(st.just(type(message)),
                              withEdgeField(message) | withJunkField(message)))


class PropertyTests(SynchronousTestCase):
    """Properties over generated input, run derandomized."""

    def assertDecodesOrRefuses(self, data):
        """decode either gives a message or raises ProtocolError; any other
        exception propagates and fails the test."""
        try:
            message = wire.decode(data)
        except ProtocolError as e:
            self.assertEqual(e.code, "wtf")
            self.assertLessEqual(len(e.info.encode("utf-8")), wire.MAX_INFO_BYTES)
        else:
            self.assertIn(type(message), set(wire.MESSAGE_TYPES.values()))

    @given(st.binary(max_size=200))
    def test_arbitraryBytes(self, data):
        """No byte string makes decode raise anything but ProtocolError."""
        self.assertDecodesOrRefuses(data)

    @given(jsonish | corrupted_objects)
    def test_arbitraryJSON(self, obj):
        """No JSON value, nor a valid message with a corrupted field, makes
        decode raise anything but ProtocolError."""
        self.assertDecodesOrRefuses(json.dumps(obj).encode("utf-8"))

    def test_everyClassHasAStrategy(self):
        """The round-trip property covers every message class."""
        self.assertEqual(set(VALID_MESSAGES), shippedTypes())

    @given(edged_objects)
    def test_fastDecodingIsStrict(self, case):
        """
        A class's fast C{fromDict} and its field-by-field
        C{strictFromDict} agree on every object: the same message, or the
        same refusal.
        """
        cls, obj = case

        def outcome(decode):
            try:
                return decode(obj)
            except ProtocolError as e:
                return ("refused", e.code, e.info)

        self.assertEqual(outcome(cls.fromDict), outcome(cls.strictFromDict))

    @given(st.one_of(*VALID_MESSAGES.values()))
    def test_roundTrip(self, message):
        """decode(encode(m)) == m for every valid message."""
        self.assertEqual(wire.decode(wire.encode(message)), message)
