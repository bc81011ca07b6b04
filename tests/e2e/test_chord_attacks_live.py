"""
End to end: attacks on the chord scheme by a keyed stranger speaking the
protocol (docs/protocol.md §20) to live ``twistd`` daemons, each held off
(docs/reliability.md, "Attacks tried").

 - Answers too big to send: 64 valid signed records of one item, stored
   by 64 fresh keys with hosts of 255 control characters (six bytes each
   on the wire), once made the holder's chordRecords over 100 kB: never
   sent, so the buyer found nobody.
 - Censorship by a chosen id: a node whose key was tried until its id
   fell between an item's key and the item's holder, which then answers
   every request for the item with nobody and drops its stores (the
   test plugin in tests/e2e/censor_root), once hid the item from every
   buyer.  Its id must now solve the ring's puzzle too (the tests run at
   the least a daemon takes, 8 bits, so that their keys are found in a
   few hundred tries); a daemon refuses a key that does not.
 - Log lines: requests that came round a loop and empty handovers
   (``chordTransfer`` of no records) were each a line of the node's log,
   about 0.8 bytes of log per byte sent.

Every wait is on a log line or a socket read, bounded by a generous
timeout; nothing sleeps.
"""

import os
import random
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import (
    ON_CHORD_RING,
    TEST_PUZZLE,
    nodeAddress,
    short,
    solvingKey,
    startMarket,
    waitBought,
    waitOnRing,
    waitStored,
)
from tests.e2e.test_raw_client import linkedStranger
from twisted_bazaar.core.records import signRecord
from twisted_bazaar.identity.keys import KEY_FILE, Identity
from twisted_bazaar.schemes.chord.ring import between, keyOf, place, solves
from twisted_bazaar.testing.daemons import runTwistd
from twisted_bazaar.wire.ids import parseWireId, wireId

#: Where the censoring test scheme lives (on PYTHONPATH for the daemons).
CENSOR_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "censor_root")
#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: A fast ring's options, its puzzle the test's to choose.
RING = ["--discovery", "chord", "--chord-stabilize", "0.25", "--chord-ping", "0.25",
        "--chord-fix-fingers", "0.2", "--chord-refresh", "5", "--chord-expiry", "20",
        "--chord-probe", "2", "--chord-lookup-timeout", "2", "--chord-max-period", "2"]
FAST = [*RING, "--chord-puzzle", str(TEST_PUZZLE)]


def holderOf(ids, key):
    """Which of these ids holds key on a ring of them."""
    ring = sorted(ids, key=place)
    return next((node for node in ring if place(node) >= key), ring[0])


def keysHolding(key, count, seed):
    """``count`` key pairs drawn from seed, the first of which holds key
    on a ring of them (so each run builds the same ring)."""
    rng = random.Random(seed)
    while True:
        drawn = [solvingKey(rng) for _ in range(count)]
        if holderOf([each.id for each in drawn], key) == drawn[0].id:
            return drawn


class ChordAttackCase(SynchronousTestCase):
    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)

    def start(self, name, identity, *options):
        """Start a chord node whose key is identity's (from its data dir)."""
        folder = os.path.join(self.market.cwd, f"{name}-data")
        os.mkdir(folder)
        identity.writeNew(os.path.join(folder, KEY_FILE))
        return self.market.startNode(name, *FAST, "--data-dir", folder, *options)

    def stranger(self, port):
        """A keyed stranger linked to the node listening on port: (keys,
        link)."""
        return linkedStranger(self, self.market.tracker_port, port)


class OversizedAnswerTests(ChordAttackCase):
    def test_aCrowdOfLargeRecordsDoesNotHideTheSeller(self):
        holder, buyer_key = keysHolding(keyOf("apple"), 2, seed=3)
        seller = self.start("seller", holder, "--role", "seller", "--sell", "apple=3")
        seller.waitForEvent(ON_CHORD_RING[1:], TIMEOUT)
        seller_id, port = nodeAddress(seller, TIMEOUT)
        waitStored(seller, "apple", TIMEOUT)
        keys, link = self.stranger(port)
        now = int(time.time() * 1000)
        rng = random.Random(5)
        for n in range(64):
            crowd = Identity.fromRandom(rng)
            record = signRecord(crowd, "apple", "\x01" * 255, 0, now, now + 600_000)
            link.send("chordStore", id=n + 1, item="apple", lifetime=600_000,
                      returnPath=[wireId(crowd.id), keys.id], record=record.asDict())
        stored = set()
        while len(stored) < 64:
            answer = link.receive()
            if answer["type"] == "chordStored":
                stored.add(answer["id"])
        buyer = self.start("buyer", buyer_key, "--role", "buyer", "--want", "apple")
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        self.assertEqual(seller.problems(), [])


class LogLineTests(ChordAttackCase):
    """
    A keyed stranger linked to a chord seller sends it LINES requests that
    came round a loop (the seller's id inside their returnPath, not
    first) and LINES empty handovers: the seller logs a few of the loops
    and one summary, and none of the handovers (before, a line each),
    and still answers the stranger's request for apple with its record.
    """

    #: Messages of each kind: together within the link's burst of chord
    #: messages (twice --search-rate, 400), so none is dropped for rate.
    LINES = 150

    def test_loopsAndEmptyHandoversGrowTheLogABit(self):
        seller = self.start("seller", solvingKey(random.Random(3)), "--role", "seller", "--sell", "apple=3")
        seller_id, port = nodeAddress(seller, TIMEOUT)
        waitStored(seller, "apple", TIMEOUT)
        keys, link = self.stranger(port)
        for n in range(1, self.LINES + 1):
            link.send("chordFind", id=n, key="00" * 16,
                      returnPath=[wireId(Identity.fromRandom(random.Random(n)).id),
                                  seller_id, keys.id])
            link.send("chordTransfer", records=[], nonce=n)
        transferred = set()
        while len(transferred) < self.LINES:
            answer = link.receive()
            if answer["type"] == "chordTransferred":
                self.assertEqual(answer["count"], 0)
                transferred.add(answer["nonce"])
        seller.waitFor(r"more lines like 'dropping \{type\} \{id\}: it came round a "
                       r"loop' from 127\.0\.0\.0/16 in the last 10 s", TIMEOUT)
        self.assertLessEqual(len(seller.matches(r"came round a loop")), 6)
        self.assertEqual(seller.matches(r"took 0 records"), [])
        link.send("chordRequest", id=self.LINES + 1, item="apple", returnPath=[keys.id])
        answer = link.receive()
        self.assertEqual((answer["type"], [each["seller"] for each in answer["sellers"]]),
                         ("chordRecords", [seller_id]))
        self.assertEqual(seller.problems(), [])


class CensorshipTests(ChordAttackCase):
    def setUp(self):
        path = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [CENSOR_ROOT, path]))
        self.addCleanup(self._restore, path)
        super().setUp()

    def _restore(self, path):
        if path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = path

    def test_aCensorPlacedBeforeTheHolderDoesNotHideTheSeller(self):
        key = keyOf("apple")
        holder_key, seller_key, other_key = keysHolding(key, 3, seed=11)
        holder_place = place(holder_key.id)
        rng = random.Random(12)
        # Keys are free: try them until one falls just before the holder
        # (about N tries on a ring of N), and one for the buyer that
        # does not.
        censor_key = next(drawn for drawn in iter(lambda: solvingKey(rng), None)
                          if between(place(drawn.id), key - 1, holder_place - 1))
        buyer_key = next(drawn for drawn in iter(lambda: solvingKey(rng), None)
                         if not between(place(drawn.id), key - 1, holder_place))
        seller = self.start("seller", seller_key, "--role", "seller", "--sell", "apple=3")
        holder = self.start("holder", holder_key)
        other = self.start("other", other_key)
        for daemon in (seller, holder, other):
            waitOnRing(daemon, TIMEOUT)
        waitStored(seller, "apple", TIMEOUT, holder=holder_key.id)
        folder = os.path.join(self.market.cwd, "censor-data")
        os.mkdir(folder)
        censor_key.writeNew(os.path.join(folder, KEY_FILE))
        censor = self.market.startNode("censor", "--discovery", "chordcensor",
                                       "--data-dir", folder)
        waitOnRing(censor, TIMEOUT, how="joined")
        holder.waitFor(rf"ring neighbours: predecessor {short(censor_key.id)},", TIMEOUT)
        # The censor holds apple's key now: the seller's stores reach it.
        waitStored(seller, "apple", TIMEOUT, holder=censor_key.id)
        buyer = self.start("buyer", buyer_key, "--role", "buyer", "--want", "apple")
        waitBought(buyer, "apple", TIMEOUT, seller=seller_key.id, n=1, q=1)
        for daemon in (seller, holder, other, buyer):
            self.assertEqual(daemon.problems(), [], daemon.name)


class PuzzleTests(ChordAttackCase):
    """A chord daemon's id must solve the ring's puzzle: it makes a key
    that does, and refuses, with the reason, one that does not."""

    def test_aKeyThatDoesNotSolveIsRefusedWithTheReason(self):
        rng = random.Random(21)
        cheap = next(drawn for drawn in iter(lambda: Identity.fromRandom(rng), None)
                     if not solves(drawn.id, TEST_PUZZLE))
        folder = os.path.join(self.market.cwd, "cheap-data")
        os.mkdir(folder)
        cheap.writeNew(os.path.join(folder, KEY_FILE))
        result = runTwistd(["-n", "bazaar-node", "--tracker",
                            f"tcp:127.0.0.1:{self.market.tracker_port}", *FAST,
                            "--data-dir", folder], self.market.cwd, timeout=TIMEOUT)
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 1, output)
        self.assertNotIn("Traceback", output)
        self.assertIn(f"holds a key this node cannot use: its id does not solve the "
                      f"chord ring's puzzle of {TEST_PUZZLE} bits", result.stderr)

    def test_aNewKeySolvesThePuzzle(self):
        node = self.market.startNode("node", *RING, "--chord-puzzle", "12")
        self.assertTrue(solves(parseWireId(nodeAddress(node, TIMEOUT)[0]), 12))
