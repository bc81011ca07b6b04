"""
End to end behind NAT routers, in network namespaces
(L{twisted_bazaar.testing.netns}): the tracker and a seller on a public
net, a seller at home A and a buyer at home B, each home behind a router
of its own doing NAT (home A's keeps source ports, home B's draws a
random one per connection, as a symmetric NAT).  Every daemon is started
with only the flags a user types: the tracker's address, and a role.

The tracker's address check tells each node whether it can be dialled
from outside: the public seller can, the nodes at home cannot, and each
learns the router's public address it was seen from.  A buyer at home
buys from the public seller; and, through the tracker's relay, from the
seller at home, in every scheme, and fetches the file it shares; and so with both homes behind symmetric NATs; and
through the public seller's relay, which the tracker names to the seller
at home.  `bazaar node` asks the seller at home through the relay, and
the seller names its relay in its ``thisisme``.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Every namespace goes when the test ends, passed or not.
"""

import hashlib
import json
import os
import re
import sys
from pathlib import Path

from twisted_bazaar.testing.daemons import TERMINATED, nodeId
from twisted_bazaar.wire.ids import wireId
from tests.e2e.helpers import (
    BED_TRACKER_PORT as TRACKER_PORT,
    HomeMarketCase,
    listeningPort,
    runCommand,
    short,
    waitBought,
    waitDownloaded,
    waitSharing,
    waitSold,
)

TIMEOUT = 30.0
#: The port a router forwards to the seller at its home.
FORWARDED_PORT = 7701
#: Seconds a buyer at home is waited for to buy from a seller at home: a
#: generous bound for a loaded machine (the goal is that the buy goes
#: through the relay, not how fast).
RELAYED_BUY = 60.0
#: The line of a node that holds a reservation at its tracker's relay.
RELAYED = r"holds a reservation at the relay at {host}:\d+"
#: The same, the relay's HOST:PORT kept.
RELAYED_AT = r"holds a reservation at the relay at (?P<relay>{host}:\d+)"
#: The line of a node the tracker found it could dial.
REACHABLE = r"this node is reachable from outside at {host}:\d+: the tracker dialled it"
#: The line of a node the tracker could not dial, with where it was seen.
UNREACHABLE = (r"this node is not reachable from outside at {host}:\d+ \(behind NAT\?\): "
               r"other nodes cannot dial it; the tracker saw it connect from "
               r"{host}:(?P<port>\d+)")


class BehindNATTests(HomeMarketCase):
    def setUp(self):
        super().setUp()
        self.seller_host = self.bed.public("seller")
        self.home_a = self.bed.home("homea")
        self.home_b = self.bed.home("homeb", symmetric=True)

    def test_reachabilityAndABuyFromHome(self):
        """The public seller learns it is reachable; the seller at home A
        and the buyer at home B that they are not, each seen from its
        router's public address (B's from a port its router drew); the
        buyer at home buys from the public seller."""
        self.startTracker(TIMEOUT)
        seller = self.node("seller", self.seller_host, "--role", "seller", "--sell",
                           "apple=2")
        seller_id = nodeId(seller, TIMEOUT)
        at_home = self.node("home-seller", self.home_a.host, "--role", "seller",
                            "--sell", "pear=1")
        seller.waitFor(REACHABLE.format(host=re.escape(self.seller_host.address)),
                       TIMEOUT)
        at_home.waitFor(UNREACHABLE.format(host=re.escape(self.home_a.public_address)),
                        TIMEOUT)
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer", "--want",
                          "apple")
        buyer_id = nodeId(buyer, TIMEOUT)
        buyer.waitFor(UNREACHABLE.format(host=re.escape(self.home_b.public_address)),
                      TIMEOUT)
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=1)
        for daemon in (seller, at_home, buyer):
            self.assertEqual(len(daemon.matches("reachable from outside")), 1,
                             daemon.name)
        self.stopCleanly()

    def test_forwardedPort(self):
        """A seller at home whose router forwards its port, started with
        that port and its router's public address (--host), learns it is
        reachable there, and a buyer at another home buys from it."""
        forwarded = self.bed.home("homec", forward=FORWARDED_PORT)
        self.startTracker(TIMEOUT)
        seller = self.node("home-seller", forwarded.host, "--role", "seller", "--sell",
                           "pear=1", "--listen", f"tcp:{FORWARDED_PORT}", "--host",
                           forwarded.public_address)
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(REACHABLE.format(host=re.escape(forwarded.public_address)),
                       TIMEOUT)
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer", "--want",
                          "pear")
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "pear", TIMEOUT, seller=seller_id, n=1, q=1)
        waitSold(seller, "pear", TIMEOUT, buyer=buyer_id, left=0)
        self.stopCleanly()

    def relayedBuy(self, *scheme, public=()):
        """
        A seller at home A (a port-keeping router) and a buyer at home B
        (a router drawing random ports), both with ``scheme``'s flags
        (and a public node with ``public``, if given): the seller learns
        it is not reachable and takes a reservation at a relay (the
        tracker's, or the public node's), and the buyer buys from it
        through the relay.
        """
        self.startTracker(TIMEOUT)
        relays = [self.tracker_host.address]
        if public:
            # The public node relays too: the seller may hold its
            # reservation there.
            self.node("public", self.seller_host, *scheme, *public)
            relays.append(self.seller_host.address)
        seller = self.node("home-seller", self.home_a.host, *scheme, "--role", "seller",
                           "--sell", "pear=1")
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(RELAYED.format(host="(?:" + "|".join(map(re.escape, relays))
                                      + ")"), TIMEOUT)
        buyer = self.node("home-buyer", self.home_b.host, *scheme, "--role", "buyer",
                          "--want", "pear")
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "pear", RELAYED_BUY, seller=seller_id, n=1, q=1)
        waitSold(seller, "pear", TIMEOUT, buyer=buyer_id, left=0)
        self.stopCleanly()

    def test_relayedBuyFlood(self):
        """flood: the buyer at home buys from the seller at home through
        the tracker's relay."""
        self.relayedBuy()

    def test_relayedBuyIndex(self):
        """index: the tracker's index names the seller at home, whose
        record names its relay."""
        self.relayedBuy("--discovery", "index")

    def test_relayedBuySuperpeer(self):
        """superpeer: the leaf at home registers its records (naming its
        relay) with a public super-peer."""
        self.relayedBuy("--discovery", "superpeer", public=("--super",))

    def test_relayedBuyChord(self):
        """chord: the seller at home stores its records (naming its relay)
        on the ring."""
        self.relayedBuy("--discovery", "chord")

    def test_publicNodeRelays(self):
        """
        A public seller relays: the tracker names its relay to the seller
        at home A (which never holds a reservation at the tracker's relay,
        so that relay can hold no circuit to it), the seller at home
        advertises it, and the buyer at home B buys from the seller at
        home through it.
        """
        tracker = self.startTracker(TIMEOUT)
        public = self.node("seller", self.seller_host, "--role", "seller", "--sell",
                           "apple=2")
        public_id = nodeId(public, TIMEOUT)
        listeningPort(public, "relay", TIMEOUT)
        public.waitFor(REACHABLE.format(host=re.escape(self.seller_host.address)),
                       TIMEOUT)
        seller = self.node("home-seller", self.home_a.host, "--role", "seller",
                           "--sell", "pear=1")
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(RELAYED.format(host=re.escape(self.seller_host.address)),
                       TIMEOUT)
        tracker.waitFor(rf"node {short(seller_id)} holds a reservation at node "
                        rf"{short(public_id)}'s relay: introducing it through "
                        rf"{re.escape(self.seller_host.address)}:\d+", TIMEOUT)
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer", "--want",
                          "pear")
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "pear", RELAYED_BUY, seller=seller_id, n=1, q=1)
        waitSold(seller, "pear", TIMEOUT, buyer=buyer_id, left=0)
        self.assertEqual(seller.matches(RELAYED.format(
            host=re.escape(self.tracker_host.address))), [])
        self.assertEqual(tracker.matches(rf"node {short(seller_id)} holds a "
                                         "reservation at this tracker's relay"), [])
        self.stopCleanly()

    def test_relayedFile(self):
        """A file shared by the seller at home is fetched whole by the
        buyer at home, through the tracker's relay, its content id verified."""
        self.startTracker(TIMEOUT)
        shared = os.path.join(self.market.cwd, "shared")
        os.makedirs(shared)
        content = os.urandom(3 * 1024 * 1024 + 17)
        with open(os.path.join(shared, "home.bin"), "wb") as f:
            f.write(content)
        seller = self.node("home-seller", self.home_a.host, "--role", "seller",
                           "--share", shared)
        seller.waitFor(RELAYED.format(host=re.escape(self.tracker_host.address)),
                       TIMEOUT)
        waitSharing(seller, "home.bin", TIMEOUT)
        downloads = os.path.join(self.market.cwd, "downloads")
        os.makedirs(downloads)
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer",
                          "--want", "home.bin", "--downloads", downloads)
        waitDownloaded(buyer, "home.bin", TIMEOUT)
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                             hashlib.sha256(content).hexdigest())
        self.stopCleanly()

    def share(self):
        """The seller's shared folder, with one file in it: (folder, its
        content)."""
        shared = os.path.join(self.market.cwd, "shared")
        os.makedirs(shared)
        content = os.urandom(3 * 1024 * 1024 + 17)
        with open(os.path.join(shared, "home.bin"), "wb") as f:
            f.write(content)
        return shared, content

    def test_bothSymmetric(self):
        """Both homes behind routers that draw a port per connection (no
        punch can work): the buyer buys the seller's pear through the
        relay, and fetches its shared file whole;
        neither node punches, each says why."""
        home_c = self.bed.home("homec", symmetric=True)
        self.startTracker(TIMEOUT)
        shared, content = self.share()
        seller = self.node("home-seller", home_c.host, "--role", "seller", "--sell",
                           "pear=1", "--share", shared)
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(RELAYED.format(host=re.escape(self.tracker_host.address)),
                       TIMEOUT)
        waitSharing(seller, "home.bin", TIMEOUT)
        downloads = os.path.join(self.market.cwd, "downloads")
        os.makedirs(downloads)
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer", "--want",
                          "pear", "--want", "home.bin", "--downloads", downloads)
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "pear", RELAYED_BUY, seller=seller_id, n=1, q=1)
        waitSold(seller, "pear", TIMEOUT, buyer=buyer_id, left=0)
        waitDownloaded(buyer, "home.bin", TIMEOUT)
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                             hashlib.sha256(content).hexdigest())
        for daemon in (seller, buyer):
            daemon.waitFor(r"this node will not hole-punch: its router changed the "
                           r"source port", TIMEOUT)
            self.assertEqual(daemon.matches(r"punched a (direct|transfer) connection"),
                             [], daemon.name)
        self.stopCleanly()

    def test_relayedNode(self):
        """`bazaar node`, run at home B, asks the seller at home A for its
        state through the tracker's relay, named by its id or by the
        address the tracker lists it at (where nothing answers)."""
        seller_id, _ = self.pearSellerAtA()
        listed = self.bazaarAtB("status")
        [(host, port)] = [(entry["host"], entry["port"]) for entry in listed["nodes"]
                          if entry["id"] == wireId(seller_id)]
        self.assertEqual(host, self.home_a.public_address)
        for named in (wireId(seller_id)[:8], f"{host}:{port}"):
            state = self.bazaarAtB("node", named)
            self.assertEqual((state["id"], state["stock"]),
                             (wireId(seller_id), {"pear": 2}))
            self.assertRegex(state["relay"], rf"^{re.escape(self.tracker_host.address)}:")
        self.stopCleanly()

    def test_relayNamedInThisIsMe(self):
        """The seller at home names its relay in the thisisme it answers
        a link with (tests/e2e/hellopeer.py links to it from home B
        through the relay): whoever learns its address from a link can
        reach it again.  The script's own wait is 15 s; the bound here
        (runCommand's, at least COMMAND_BOUND) leaves its Python room to
        start at load (30 s was passed there once, with about 15
        processes busy on 2 cores, and 60 at -n 8 beside 25)."""
        seller_id, relay = self.pearSellerAtA()
        done = runCommand([*self.home_b.host.wrapper, sys.executable,
                           os.path.join(os.path.dirname(__file__), "hellopeer.py"),
                           relay, wireId(seller_id)],
                          capture_output=True, text=True, timeout=2 * TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        hello = json.loads(done.stdout)
        self.assertEqual((hello["type"], hello["id"], hello["paths"]),
                         ("thisisme", wireId(seller_id),
                          [{"kind": "relayed", "relay": relay, "word": "claimed"}]))
        self.stopCleanly()

    def test_relayedListing(self):
        """`bazaar list`, run at home B, asks the seller at home A for its
        stock through the tracker's relay: it is listed, and nobody is
        unreachable."""
        seller_id, _ = self.pearSellerAtA()
        listed = self.bazaarAtB("list")
        self.assertEqual((listed["items"], listed["unreachable"]),
                         ({"pear": {"units": 2, "sellers": [wireId(seller_id)]}}, []))
        self.stopCleanly()

    def pearSellerAtA(self):
        """The tracker, then a seller of 2 pears at home A, once it holds
        its reservation at the tracker's relay: (its id, the relay)."""
        self.startTracker(TIMEOUT)
        seller = self.node("home-seller", self.home_a.host, "--role", "seller",
                           "--sell", "pear=2")
        seller_id = nodeId(seller, TIMEOUT)
        relay = seller.waitFor(RELAYED_AT.format(
            host=re.escape(self.tracker_host.address)), TIMEOUT)["relay"]
        return seller_id, relay

    def bazaarAtB(self, *argv):
        """Run ``bazaar --json ARGV`` at home B against the tracker; its
        answer, once it exits 0."""
        script = str(Path(sys.executable).with_name("bazaar"))
        done = runCommand([*self.home_b.host.wrapper, script, "--tracker",
                           f"{self.tracker_host.address}:{TRACKER_PORT}", "--json",
                           *argv], capture_output=True, text=True, timeout=3 * TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def stopCleanly(self):
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
