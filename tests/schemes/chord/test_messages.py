"""Tests for twisted_bazaar.schemes.chord.messages: every message round
trips, and bad values are refused with a reason."""

import json
import os
import re

from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.core.records import verified
from twisted_bazaar.schemes.chord.messages import (
    MAX_FINGERS,
    MAX_LIFETIME_MS,
    MAX_TRANSFER,
    ChordFind,
    ChordNear,
    ChordNearIs,
    ChordFound,
    ChordPing,
    ChordPong,
    ChordPred,
    ChordPredIs,
    ChordNext,
    ChordNextIs,
    ChordQuit,
    ChordRecords,
    ChordRequest,
    ChordStabilize,
    ChordState,
    ChordStore,
    ChordStored,
    ChordTransfer,
    ChordTransferred,
    Handed,
)
from twisted_bazaar.schemes.chord.records import Held
from twisted_bazaar.wire.ids import KEYED
from twisted_bazaar.schemes.chord.ring import SIZE, between, keyOf
from twisted_bazaar.schemes.chord.settings import MAX_SUCCESSORS
from twisted_bazaar.schemes.chord.state import Peer

from tests.records import PLAIN, PLAIN_WIRE, records

A, B = Peer(5, "10.0.0.5", 9005), Peer(7, "", 9007)



#: Ring position 77 on the wire: 128 bits in hex.
KEY_77 = "0" * 30 + "4d"
#: Each message next to the exact JSON object it travels as (tests/wire/test_wire.py
#: checks these with every other message of the package).
CHORD_WIRE_FORMS = [
    (ChordPing(1), {"type": "chordPing", "nonce": 1}),
    (ChordPong(1), {"type": "chordPong", "nonce": 1}),
    (ChordStabilize(2), {"type": "chordStabilize", "nonce": 2}),
    (ChordState(2, A, (B,)), {"type": "chordState", "nonce": 2,
                              "pred": ["5", "10.0.0.5", 9005], "succs": [["7", "", 9007]]}),
    (ChordQuit(None, (A,)), {"type": "chordQuit", "succs": [["5", "10.0.0.5", 9005]]}),
    (ChordNear(4), {"type": "chordNear", "nonce": 4}),
    (ChordNear(4, True), {"type": "chordNear", "nonce": 4, "fingers": True}),
    (ChordNearIs(4, (A, B)), {"type": "chordNearIs", "nonce": 4,
                              "nodes": [["5", "10.0.0.5", 9005], ["7", "", 9007]]}),
    (ChordPred(6), {"type": "chordPred", "nonce": 6}),
    (ChordPredIs(6, A), {"type": "chordPredIs", "nonce": 6,
                         "pred": ["5", "10.0.0.5", 9005]}),
    (ChordPredIs(6), {"type": "chordPredIs", "nonce": 6}),
    (ChordNext(8, 77), {"type": "chordNext", "nonce": 8, "key": KEY_77}),
    (ChordNextIs(8, (A, B)), {"type": "chordNextIs", "nonce": 8,
                              "nodes": [["5", "10.0.0.5", 9005], ["7", "", 9007]]}),
    (ChordTransfer((Handed(7, PLAIN),), 3),
     {"type": "chordTransfer", "records": [[7, PLAIN_WIRE]], "nonce": 3}),
    (ChordTransferred(3, 1), {"type": "chordTransferred", "nonce": 3, "count": 1}),
    (ChordFind(9, 77, (1, 2)), {"type": "chordFind", "id": 9, "key": KEY_77,
                                "returnPath": ["1", "2"]}),
    (ChordFound(9, 77, (2, 1), 1, A, ()),
     {"type": "chordFound", "id": 9, "key": KEY_77, "path": ["2", "1"], "hops": 1,
      "node": ["5", "10.0.0.5", 9005], "succs": []}),
    (ChordRequest(9, "fig", (1,)), {"type": "chordRequest", "id": 9, "item": "fig",
                                    "returnPath": ["1"]}),
    (ChordRequest(9, "fig", (1,), None, True),
     {"type": "chordRequest", "id": 9, "item": "fig", "returnPath": ["1"], "direct": True}),
    (ChordRecords(9, "pear", (2, 1), 1, 2, (PLAIN,)),
     {"type": "chordRecords", "id": 9, "item": "pear", "path": ["2", "1"], "hops": 1,
      "holder": "2", "sellers": [PLAIN_WIRE]}),
    (ChordStore(9, "pear", 1000, (1,), PLAIN),
     {"type": "chordStore", "id": 9, "item": "pear", "lifetime": 1000,
      "returnPath": ["1"], "record": PLAIN_WIRE}),
    (ChordStore(9, "pear", 1000, (1,), PLAIN, None, True),
     {"type": "chordStore", "id": 9, "item": "pear", "lifetime": 1000,
      "returnPath": ["1"], "record": PLAIN_WIRE, "direct": True}),
    (ChordStored(9, "fig", (2, 1), 1, 2),
     {"type": "chordStored", "id": 9, "item": "fig", "path": ["2", "1"], "hops": 1,
      "holder": "2"}),
]

_ids = st.integers(-(2**63 - 1), 2**63 - 1)
_positions = st.integers(0, SIZE - 1)
_nodeIds = st.integers(0, 10**10 - 1) | _positions.map(lambda bits: KEYED | bits)
_items = st.text(min_size=1, max_size=64)
_hosts = st.text(max_size=60)
_ports = st.integers(0, 65535)
_paths = st.lists(_nodeIds, min_size=1, max_size=64, unique=True).map(tuple)
_hops = st.integers(0, 64)
_peers = st.builds(Peer, _nodeIds, _hosts, _ports)


def _distinct(most):
    return st.lists(_peers, max_size=most, unique_by=lambda peer: peer.id).map(tuple)


_records = st.lists(st.builds(Handed, st.integers(0, MAX_LIFETIME_MS), records()),
                    max_size=MAX_TRANSFER).map(tuple)
_sellers = st.lists(records(), max_size=64, unique_by=lambda r: r.seller).map(tuple)

#: A strategy of valid instances of every chord message (for tests/wire/test_wire.py).
CHORD_STRATEGIES = {
    ChordPing: st.builds(ChordPing, _ids),
    ChordPong: st.builds(ChordPong, _ids),
    ChordStabilize: st.builds(ChordStabilize, _ids),
    ChordState: st.builds(ChordState, _ids, st.none() | _peers, _distinct(MAX_SUCCESSORS)),
    ChordQuit: st.builds(ChordQuit, st.none() | _peers, _distinct(MAX_SUCCESSORS)),
    ChordNear: st.builds(ChordNear, _ids, st.none() | st.just(True)),
    ChordNearIs: st.builds(ChordNearIs, _ids, _distinct(MAX_FINGERS)),
    ChordPred: st.builds(ChordPred, _ids),
    ChordPredIs: st.builds(ChordPredIs, _ids, st.none() | _peers),
    ChordNext: st.builds(ChordNext, _ids, _positions),
    ChordNextIs: st.builds(ChordNextIs, _ids, _distinct(MAX_SUCCESSORS)),
    ChordTransfer: st.builds(ChordTransfer, _records, st.none() | _ids),
    ChordTransferred: st.builds(ChordTransferred, _ids, st.integers(0, MAX_TRANSFER)),
    ChordFind: st.builds(ChordFind, _ids, _positions, _paths),
    ChordFound: st.builds(ChordFound, _ids, _positions, _paths, _hops, _peers,
                          _distinct(MAX_SUCCESSORS)),
    ChordRequest: st.builds(ChordRequest, _ids, _items, _paths,
                            st.none() | st.integers(1, MAX_SUCCESSORS),
                            st.none() | st.just(True)),
    ChordRecords: st.builds(ChordRecords, _ids, _items, _paths, _hops, _nodeIds,
                            _sellers),
    ChordStore: st.builds(ChordStore, _ids, _items, st.integers(0, MAX_LIFETIME_MS),
                          _paths, records(), st.none() | st.integers(1, MAX_SUCCESSORS),
                          st.none() | st.just(True)),
    ChordStored: st.builds(ChordStored, _ids, _items, _paths, _hops, _nodeIds),
}


def decode(**fields):
    return wire.decode(wire.encode(_Raw(fields)))


class _Raw:
    """Any JSON object, to be sent as a message."""

    TYPE = "raw"

    def __init__(self, fields):
        self.fields = fields

    def asDict(self):
        return self.fields


class RoundTripTests(SynchronousTestCase):
    def test_everyFormRoundTrips(self):
        for message, obj in CHORD_WIRE_FORMS:
            self.assertEqual(json.loads(wire.encode(message)), obj)
            self.assertEqual(wire.decode(wire.encode(message)), message)
        self.assertEqual({type(m) for m, _ in CHORD_WIRE_FORMS}, set(CHORD_STRATEGIES))

    def test_optionalFieldsAreLeftOut(self):
        self.assertEqual(wire.encode(ChordState(2, None, ())),
                         b'{"type":"chordState","nonce":2,"succs":[]}')
        self.assertEqual(wire.encode(ChordTransfer(())),
                         b'{"type":"chordTransfer","records":[]}')

    def test_answersArePathRoutedRequestsAreNot(self):
        self.assertEqual([m.TYPE for m, _ in CHORD_WIRE_FORMS if m.ROUTED],
                         ["chordFound", "chordRecords", "chordStored"])
        self.assertEqual({m.BUCKET for m in (ChordPing(1), ChordFind(1, 1, (1,)),
                                             ChordTransfer(()))}, {"chord"})

    def test_aRecordTravelsWithItsLifetimeLeft(self):
        held = Held(PLAIN, 12.5, 0.0, "")
        self.assertEqual(Handed.of(held, 10.0), Handed(2500, PLAIN))
        self.assertEqual(Handed.of(held, 12.4999).lifetime, 1)
        self.assertEqual(Handed.of(held, 13.0).lifetime, 0)


class BadValueTests(SynchronousTestCase):
    """Each bad value, with the words of its reason."""

    CASES = [
        (dict(type="chordState", nonce=1, succs=[["1", "h"]]), "[id, host, port]"),
        (dict(type="chordState", nonce=1, succs=[[1, "h", 1]]), "node id"),
        (dict(type="chordState", nonce=1, succs=[["-1", "h", 1]]), "node id"),
        (dict(type="chordState", nonce=1, succs=[["1", "h", 1], ["1", "g", 2]]),
         "must not repeat"),
        (dict(type="chordState", nonce=1, succs=[[str(i), "h", 1] for i in range(33)]),
         "at most 32"),
        (dict(type="chordState", nonce=1, succs={}), "list"),
        (dict(type="chordState", nonce=1, succs=[], pred="me"), "[id, host, port]"),
        (dict(type="chordFind", id=1, key="1" + "0" * 32, returnPath=["1"]),
         "ring position"),
        (dict(type="chordFind", id=1, key=3, returnPath=["1"]), "ring position"),
        (dict(type="chordFind", id=1, key="A" * 32, returnPath=["1"]), "ring position"),
        (dict(type="chordFind", id=1, key=KEY_77, returnPath=[]), "1 to 64 ids"),
        (dict(type="chordStore", id=1, item="a", lifetime=MAX_LIFETIME_MS + 1,
              returnPath=["1"], record=PLAIN_WIRE), "milliseconds"),
        (dict(type="chordStore", id=1, item="", lifetime=1, returnPath=["1"],
              record=PLAIN_WIRE), "bytes"),
        (dict(type="chordStore", id=1, item="a", lifetime=1, returnPath=["1"]),
         "lacks the field record"),
        (dict(type="chordStore", id=1, item="a", lifetime=1, returnPath=["1"],
              record=dict(PLAIN_WIRE, sig=None)), "chordStore.record lacks sig"),
        (dict(type="chordTransfer", records=[[1, PLAIN_WIRE, 1]]), "[lifetime, record]"),
        (dict(type="chordTransfer", records=[["a", 1, "h", 1, 1]]), "[lifetime, record]"),
        (dict(type="chordTransfer", records=[[-5, PLAIN_WIRE]]), "milliseconds"),
        (dict(type="chordTransfer", records=[[1, dict(PLAIN_WIRE, port=-1)]]),
         "chordTransfer.records entry record.port must be from 0 to 65535"),
        (dict(type="chordTransfer", records=[[1, PLAIN_WIRE]] * (MAX_TRANSFER + 1)),
         "at most 64 records"),
        (dict(type="chordRecords", id=1, item="a", path=["1"], hops=1, holder="1",
              sellers=[PLAIN_WIRE, PLAIN_WIRE]), "must not repeat a seller"),
        (dict(type="chordRecords", id=1, item="a", path=["1"], hops=1, holder="1",
              sellers=[[3, "h", 1]]), "chordRecords.sellers entry must be a record"),
        (dict(type="chordRecords", id=1, item="a", path=["1"], hops=65, holder="1",
              sellers=[]), "from 0 to 64"),
        (dict(type="chordFound", id=1, key=KEY_77, path=["1"], hops=0, succs=[]),
         "lacks the field node"),
        (dict(type="chordNearIs", nonce=1,
              nodes=[[str(i), "h", 1] for i in range(MAX_FINGERS + 1)]), "at most 64"),
        (dict(type="chordNearIs", nonce=1, nodes=[["1", "h", 1], ["1", "g", 2]]),
         "must not repeat"),
        (dict(type="chordNearIs", nonce=1), "lacks the field nodes"),
        (dict(type="chordNear", nonce=1, fingers="yes"), "fingers"),
        (dict(type="chordPredIs", nonce=1, pred=["1", "h"]), "[id, host, port]"),
    ]

    def test_eachIsRefusedWithItsReason(self):
        for fields, reason in self.CASES:
            with self.assertRaises(wire.ProtocolError, msg=fields) as caught:
                decode(**fields)
            self.assertIn(reason, caught.exception.info, fields)
            self.assertEqual(caught.exception.code, "wtf")


class ProtocolExampleTests(SynchronousTestCase):
    """The example of docs/protocol.md §20 is what this code sends."""

    def frames(self):
        path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs",
                            "protocol.md")
        with open(path, encoding="utf-8") as f:
            section = f.read().split("## 20.")[1].split("\n## ")[0]
        return re.findall(r"^(\w+) → (\w+)\s+(\d+):(\{.*\}),$", section, re.M)

    def test_everyFrameIsTheCodecsOwn(self):
        """Each frame decodes, its length is right, and encoding what it
        decodes to gives the same bytes."""
        frames = self.frames()
        self.assertEqual(len(frames), 7)
        for _, _, length, payload in frames:
            data = payload.encode("utf-8")
            self.assertEqual(int(length), len(data))
            self.assertEqual(wire.encode(wire.decode(data)), data)

    def test_theRingOfTheExample(self):
        """apple's key lies in (R, H], so H holds it; each request's path
        grows by the node that passed it on; each answer goes back along
        the reversed returnPath; the record is S's own, and every node
        passes it on as it came."""
        seller, buyer, relay, holder = (
            KEYED | int(text, 16) for text in ("7ba2183e6c3b2301a2fb4f577d019a22",
                                               "7a7bd3e2360a3d29eea436fcfb7e44c7",
                                               "397bd3e2360a3d29eea436fcfb7e44c7",
                                               "3a7bd3e3360a3d29eea436fcfb7e44c7"))
        self.assertEqual(format(keyOf("apple"), "032x"), "3a7bd3e2360a3d29eea436fcfb7e44c7")
        self.assertTrue(between(keyOf("apple"), relay, holder))
        sent = [wire.decode(payload.encode("utf-8"))
                for _, _, _, payload in self.frames()]
        store, relayed, transfer, stored, request, passed, records = sent
        self.assertEqual((store.return_path, relayed.return_path),
                         ((seller,), (seller, relay)))
        record = store.record
        self.assertEqual((record.seller, record.item, record.host, record.port),
                         (seller, "apple", "10.0.0.4", 9004))
        self.assertTrue(verified(record))
        self.assertEqual(relayed.record, record)
        self.assertEqual(transfer.records, (Handed(store.lifetime, record),))
        self.assertEqual((stored.path, stored.hops, stored.holder),
                         ((holder, relay, seller), 2, holder))
        self.assertEqual((request.return_path, passed.return_path),
                         ((buyer,), (buyer, relay)))
        self.assertEqual((records.path, records.hops, records.holder, records.sellers),
                         ((holder, relay, buyer), 2, holder, (record,)))
