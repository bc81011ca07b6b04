"""
End to end, in network namespaces (L{twisted_bazaar.testing.netns}): a
file relayed from a seller at home A to a buyer at home B, both behind
routers that draw a port per connection (so no punch can work and the
relay is the only path), through a public node's relay, moves at the
relay's rate: at least 0.9 of it, with no stall and no piece failed.

And so through the tracker's relay, whose circuits close after a few
MiB, each handing over to the next at once.  Its sizes are small, at
high rates (8 MiB at 1 or 2 MiB/s), so that `make test` stays fast;
``BAZAAR_RELAY_PACE_FULL=1`` runs the figures of issue 70 instead: 16
MiB at a public node's default 256 KiB/s (64 s), whose circuit runs out
of its 16 MiB on the way and hands over to a new one, and 64 MiB at the
tracker's default 8 MiB/s.
It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Run it under ``flock /tmp/netns.lock``, as every test of
the bed.
"""

import hashlib
import os
import re
import time

from twisted_bazaar.testing.daemons import TERMINATED, nodeId
from tests.e2e.helpers import HomeMarketCase, listeningPort, short, waitSharing
from tests.e2e.test_nat_live import REACHABLE, RELAYED

TIMEOUT = 60.0
MiB = 1024 * 1024
#: The share of the relay's rate a relayed file arrives at, at least,
#: and at most (the relay's first second's worth, saved up before the
#: transfer, aside).
GOAL = 0.9
CAP = 1.1
#: The buyer's line for a connection handed over to a new circuit.
HANDOVER = r"closed its connection after \d+ bytes .*; asking it again at once"


def full():
    """Whether to measure the figures of issue 70 (slow), not the quick
    ones."""
    return bool(os.environ.get("BAZAAR_RELAY_PACE_FULL"))


class RelayedFileTests(HomeMarketCase):
    def setUp(self):
        super().setUp()
        self.public_host = self.bed.public("relay")
        self.home_a = self.bed.home("homea", symmetric=True)
        self.home_b = self.bed.home("homeb", symmetric=True)

    def relayedFile(self, size, relay_host, tracker=()):
        """A file of ``size`` bytes shared at home A, fetched at home B
        through the relay on ``relay_host`` (the tracker's, started with
        ``tracker``, unless a public node was started): the seconds from
        the buyer's first ask to the file in place, and the buyer."""
        shared, content = self.shareFile("home.bin", size)
        seller = self.node("home-seller", self.home_a.host, "--role", "seller",
                           "--share", shared)
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(RELAYED.format(host=re.escape(relay_host.address)), TIMEOUT)
        waitSharing(seller, "home.bin", TIMEOUT)
        downloads = self.folder("downloads")
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer",
                          "--want", "home.bin", "--downloads", downloads)
        # Each line is seen as it is logged (L{waitUntil} never sleeps).
        buyer.waitFor(r"fetching home\.bin \(", TIMEOUT)
        started = time.monotonic()
        buyer.waitFor(rf"downloaded home\.bin into .*, content id verified "
                      rf"\(.*{short(seller_id)}", TIMEOUT + size / MiB)
        took = time.monotonic() - started
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                             hashlib.sha256(content).hexdigest())
        return took, buyer

    def assertSteady(self, size, rate, took, buyer):
        """The file arrived at the relay's rate, 0.9 of it or more, and
        not much faster (a second's worth saved up aside), no piece failed,
        never stalled; the daemons stop cleanly."""
        ratio = size / took / rate
        handovers = len(buyer.matches(HANDOVER))
        print(f"\n{size} bytes through a relay of {rate} bytes/s in {took:.1f} s: "
              f"{ratio:.2f} of its rate, {handovers} circuits handed over")
        self.assertEqual(buyer.matches(r"did not deliver|stalled|cannot reach"), [])
        self.assertGreaterEqual(ratio, GOAL)
        self.assertLessEqual((size - rate) / took / rate, CAP)
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        return handovers

    def test_throughAPublicNodesRelay(self):
        """
        Through a public node's relay: 8 MiB at 1 MiB/s (full: 16 MiB at
        its default 256 KiB/s, whose 16 MiB circuit runs out on the way).
        Before, a relay throttled at 1 MiB/s let 4 MiB through at once,
        then stopped for 3 s (at 256 KiB/s: 16 s, and the buyer gave the
        connection up after 10).
        """
        size, rate = (16 * MiB, 256 * 1024) if full() else (8 * MiB, MiB)
        self.startTracker(TIMEOUT)
        public = self.node("public", self.public_host, "--relay-rate", str(rate))
        listeningPort(public, "relay", TIMEOUT)
        public.waitFor(REACHABLE.format(host=re.escape(self.public_host.address)),
                       TIMEOUT)
        self.assertSteady(size, rate, *self.relayedFile(size, self.public_host))

    def test_throughTheTrackersRelayAcrossCircuits(self):
        """
        Through the tracker's relay, its circuits closed after 3 MiB: 8 MiB
        at 2 MiB/s, each circuit handed over to the next at once, with
        nothing fetched twice (full: 64 MiB at its default 8 MiB/s, whose
        64 MiB circuit runs out near the end).
        """
        if full():
            size, rate, tracker = 64 * MiB, 8 * MiB, ()
        else:
            size, rate = 8 * MiB, 2 * MiB
            tracker = ("--relay-rate", str(rate), "--relay-circuit-bytes", str(3 * MiB))
        self.startTracker(TIMEOUT, *tracker)
        handovers = self.assertSteady(size, rate, *self.relayedFile(
            size, self.tracker_host))
        self.assertGreaterEqual(handovers, 1)
