"""
Hole punching run by the daemons, in network namespaces
(L{twisted_bazaar.testing.netns}): a seller at home A and a buyer at home
B, each behind its own NAT router, started with only the tracker's
address (flood), over TCP alone (``--no-quic``: with UDP on, a node
just started punches its first relayed links over UDP at once,
tests/e2e/test_udppunched_live.py).  The buyer reaches the seller
through the tracker's relay and buys over it at once, nothing waiting
for a punch; both routers keeping ports, it punches a direct connection in the
background, which takes the relayed link's place, the relay's circuit
closed, and a file it fetches moves from the relay to a connection
punched to the seller's transfer port; with B's router drawing a port
for each connection, it does not punch, says why, and buys through the
relay.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.
"""

import hashlib
import os
import re

from twisted_bazaar.testing.daemons import TERMINATED, nodeId
from tests.e2e.helpers import HomeMarketCase, short, waitBought, waitDownloaded, waitSold

TIMEOUT = 30.0
#: Seconds a buyer at home is waited for to buy from a seller at home: a
#: generous bound for a loaded machine (the goal is the buy and the punch,
#: not how fast).
BUY_WITHIN = 60.0
#: The line of a node that holds a reservation at its tracker's relay.
RELAYED = r"holds a reservation at the relay at {host}:(?P<port>\d+)"


class PunchedBuyTests(HomeMarketCase):
    folder_prefix = "bazaar-punched-"

    def buy(self, symmetric, sell=(), want=(), tracker=()):
        """
        The seller at home A (a port-keeping router) and the buyer at
        home B (``symmetric``: a router drawing ports): the buyer buys the
        seller's pear (the tracker started with ``tracker``'s options).  (seller, buyer, their ids,
        home A, home B, the relay's port.)
        """
        home_a = self.bed.home("homea")
        home_b = self.bed.home("homeb", symmetric=symmetric)
        self.startTracker(TIMEOUT, *tracker)
        seller = self.node("home-seller", home_a.host, "--role", "seller", "--sell",
                           "pear=1", *sell)
        seller_id = nodeId(seller, TIMEOUT)
        relay_port = int(seller.waitFor(RELAYED.format(
            host=re.escape(self.tracker_host.address)), TIMEOUT)["port"])
        buyer = self.node("home-buyer", home_b.host, "--role", "buyer", "--want",
                          "pear", *want)
        buyer_id = nodeId(buyer, TIMEOUT)
        waitBought(buyer, "pear", BUY_WITHIN, seller=seller_id, n=1, q=1)
        waitSold(seller, "pear", TIMEOUT, buyer=buyer_id, left=0)
        return seller, buyer, seller_id, buyer_id, home_a, home_b, relay_port

    def test_punchedBuy(self):
        """Both routers keep ports, over TCP alone (--no-quic: with UDP on,
        the buyer, just started, punches over UDP at once, and meets
        before its TCP punch would start): the buyer buys at once through
        the relay and punches a direct connection to the seller in the
        background, which replaces the relayed link: the seller's
        connection to the buyer's router is a direct one, and the relay
        holds no circuit any more."""
        seller, buyer, seller_id, _, home_a, home_b, relay_port = self.buy(
            symmetric=False, sell=("--no-quic",), want=("--no-quic",))
        buyer.waitFor(rf"punched a direct connection to node {short(seller_id)} at "
                      r"[\d.:]+ \(attempt 1 of 3", TIMEOUT)
        seller.waitFor(r"punched a direct connection to node .* \(its punch\)", TIMEOUT)
        punched = buyer.matches(rf"punched a direct connection to node "
                                rf"{short(seller_id)} at [\d.:]+ \(attempt 1 of 3")
        self.assertEqual(len(punched), 1, buyer.tail())
        self.assertEqual(len(seller.matches(r"punched a direct connection to node .* "
                                            r"\(its punch\)")), 1)
        direct = [peer for _, peer in self.established(home_a.host)
                  if peer.startswith(f"{home_b.public_address}:")]
        self.assertEqual(len(direct), 1, direct)
        # The relayed link was closed as the punched one replaced it; the
        # relay closes the circuit as it notices (a loaded machine: later).
        self.circuitsClosed(relay_port, TIMEOUT)
        self.stopCleanly()

    def test_punchedFile(self):
        """Both routers keep ports, over TCP alone (--no-quic, as above):
        the file starts through the relay (its
        rate a public node's, so the file outlasts the punch), and once
        the punched link replaced the relayed one, the buyer punches a
        connection to the seller's transfer port (once) and moves the rest
        of the file to it: the file whole, the relay holding no circuit
        at the end."""
        shared = os.path.join(self.market.cwd, "shared")
        os.makedirs(shared)
        content = os.urandom(3 * 1024 * 1024 + 17)
        with open(os.path.join(shared, "home.bin"), "wb") as f:
            f.write(content)
        downloads = os.path.join(self.market.cwd, "downloads")
        os.makedirs(downloads)
        seller, buyer, seller_id, _, _, _, relay_port = self.buy(
            symmetric=False, sell=("--share", shared, "--no-quic"),
            want=("--want", "home.bin", "--downloads", downloads, "--no-quic"),
            tracker=("--relay-rate", str(256 * 1024)))
        buyer.waitFor(rf"home\.bin: moving the rest from seller {short(seller_id)} to a "
                      r"direct connection", TIMEOUT)
        waitDownloaded(buyer, "home.bin", TIMEOUT)
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                             hashlib.sha256(content).hexdigest())
        self.assertEqual(len(buyer.matches(
            rf"punched a transfer connection to node {short(seller_id)} at [\d.:]+ "
            r"\(attempt 1 of 1")), 1, buyer.tail())
        self.assertEqual(len(seller.matches(r"punched a transfer connection to node .* "
                                            r"\(its punch\)")), 1)
        self.assertEqual(buyer.matches("no transfer connection punched"), [])
        # The buyer closed the file's circuit at the move; the relay's end
        # toward the seller was seen open once (of 3 runs) as the download
        # ended, and closes after.
        print(f"\nthe relay's circuits closed {self.circuitsClosed(relay_port, TIMEOUT):.1f} "
              "s after the download")
        self.stopCleanly()

    def test_symmetricRouterStaysOnTheRelay(self):
        """The buyer's router draws ports: over TCP alone (--no-quic) it
        says it will not punch, and why, and buys through the relay, whose
        circuit stays open.  (With UDP on, the two meet over UDP:
        tests/e2e/test_udppunched_live.py.)"""
        seller, buyer, seller_id, _, _, _, relay_port = self.buy(
            symmetric=True, sell=("--no-quic",), want=("--no-quic",))
        buyer.waitFor(r"this node will not hole-punch: its router changed the source "
                      r"port of its tracker connection", TIMEOUT)
        buyer.waitFor(rf"no hole punched to node {short(seller_id)} .*: this node "
                      r"cannot punch", TIMEOUT)
        self.assertEqual(buyer.matches("punched a direct connection"), [])
        self.assertEqual(seller.matches("punched a direct connection"), [])
        self.assertGreaterEqual(len(self.circuits(relay_port)), 2)
        self.stopCleanly()

    def stopCleanly(self):
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
