"""
Hole punching over UDP run by the daemons, in network namespaces
(L{twisted_bazaar.testing.netns}): a seller at home A behind a router
that draws a random port for each flow (``MASQUERADE --random-fully``:
no TCP punch meets it), a buyer at home B behind one that keeps ports,
the tracker on the public net with ``--udp-port``, both nodes with
``--quic-port 0``, started with only the tracker's address.  The buyer
reaches the seller through the tracker's relay (its rate a public
node's) and buys at once; its TCP punch fails (the seller's router), and
the two punch over UDP (the birthday plan: 256 sockets at the seller's,
1,024 probes from the buyer's); the buyer links over QUIC on the punched
path (``bazaar node`` tells its operator so: ``quic``), and the seller's
shared file, started through the relay, moves to QUIC, the relay's
circuit closed.

``BAZAAR_UDP_PUNCH_TRIES=10`` runs the issue's count of tries (each a
new pair of daemons) and ``BAZAAR_UDP_PUNCH_SIZE`` the file's size in
MiB (64 for the issue's goal); ``make test`` runs two tries of a 4 MiB
file, one of which must meet (and a third if neither did: a birthday
punch misses with odds about 0.02, so two of two missed once in some
3,400 runs).

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from unittest import SkipTest

from twisted_bazaar.testing.daemons import TERMINATED, nodeId
from twisted_bazaar.wire.ids import wireId
from tests.e2e.helpers import (
    BED_TRACKER_PORT,
    HomeMarketCase,
    listeningPort,
    runCommand,
    short,
    waitDownloaded,
)
from tests.e2e.test_punched_live import RELAYED

TIMEOUT = 60.0
#: Seconds from the buyer's start to the punched path (the issue's goal:
#: within 15 s).
PUNCHED_WITHIN = 15.0
UDP_PORT = 3478
TRIES = int(os.environ.get("BAZAAR_UDP_PUNCH_TRIES", "2"))
#: Tries that must meet: all but one in ten (the issue's 9 of 10), and
#: one of two (a birthday punch misses with odds about 0.02).
MEETS = max(1, TRIES - max(1, TRIES // 10))
#: Tries more, while fewer than MEETS met: one (all missed: 1 in 200,000).
SPARE = 1
#: The strategies of the buyer's and the seller's side of a birthday punch
#: (plan.py): "predicted-" theirs when the seller's random router showed
#: two ports near by chance (1 in 500 a try), judged sequential.
BUYER_BIRTHDAY = r"\((predicted-)?birthday-probes"
SELLER_BIRTHDAY = r"\((predicted-)?birthday-sockets"
SIZE = int(os.environ.get("BAZAAR_UDP_PUNCH_SIZE", "4")) * 1024 * 1024
#: Bytes a second the tracker's relay copies: a public node's relay's, so
#: that the file is still coming when the punch meets.
RELAY_RATE = 256 * 1024
#: The file whose path dies under it, and the seller's pace: it moves to
#: the punched path some 5 s after it starts, and the path dies then.
DYING_SIZE = 16 * 1024 * 1024
DYING_RATE = 1024 * 1024


class UdpPunchedBuyTests(HomeMarketCase):
    folder_prefix = "bazaar-udppunched-"

    def attempt(self, index, home_a, home_b, shared, content):
        """One try: a new seller and buyer; (whether the punch met within
        the goal, the seconds to its end, the seconds of the download
        (over QUIC if it met, else over the relay), the buyer's tail)."""
        seller = self.node(f"udp-seller-{index}", home_a.host, "--role", "seller",
                           "--share", shared, "--quic-port", "0")
        seller_id = nodeId(seller, TIMEOUT)
        relay_port = int(seller.waitFor(RELAYED.format(
            host=re.escape(self.tracker_host.address)), TIMEOUT)["port"])
        downloads = self.folder(f"downloads-{index}")
        data = self.folder(f"buyer-data-{index}")
        started = time.monotonic()
        buyer = self.node(f"udp-buyer-{index}", home_b.host, "--role", "buyer",
                          "--want", "home.bin", "--downloads", downloads,
                          "--quic-port", "0", "--data-dir", data)
        nodeId(buyer, TIMEOUT)
        buyer_port = listeningPort(buyer, "node", TIMEOUT)
        ended = buyer.waitFor(
            rf"(?P<met>punched a UDP path to node {short(seller_id)} .*, met at [\d.]+:\d+ "
            rf"{BUYER_BIRTHDAY}, [\d.]+ s\): linking over QUIC)|no UDP path punched to "
            rf"node {short(seller_id)}", TIMEOUT)
        punched = time.monotonic() - started
        fetching = buyer.waitFor(r"fetching home\.bin", TIMEOUT)
        began = time.monotonic()
        waitDownloaded(buyer, "home.bin", TIMEOUT)
        seconds = time.monotonic() - began
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(),
                             hashlib.sha256(content).digest())
        self.assertTrue(fetching)
        met = ended["met"] is not None
        if met:
            seller.waitFor(rf"punched a UDP path to node .*, met at .* {SELLER_BIRTHDAY}",
                           TIMEOUT)
            self.assertTrue(buyer.matches(rf"reached node {short(seller_id)} over QUIC at "
                                          r"[\d.]+:\d+ \(files\)"), buyer.tail())
            # The relayed link was replaced, and the file's circuit closed at
            # its move (the relay closing its other end as it notices): the
            # relay holds no circuit.
            print(f"\nthe relay's circuits closed "
                  f"{self.circuitsClosed(relay_port, TIMEOUT):.1f} s after the download")
            # ... and its operator is told the link runs over QUIC.
            links = self.operatorState(home_b, buyer_port, data)["links"]
            [link] = [link for link in links if link["id"] == wireId(seller_id)]
            self.assertEqual((link.get("quic"), link.get("relayed")), (True, None), links)
        self.assertEqual(buyer.matches(r"punched a (direct|transfer) connection"), [])
        tail = buyer.tail()
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in (seller, buyer):
            self.assertEqual(daemon.problems(), [], daemon.name)
        return met and punched < PUNCHED_WITHIN, punched, seconds, tail

    def operatorState(self, home, port, data):
        """``bazaar --json node`` of the node at home listening on port,
        asked by its operator (its --data-dir ``data``) from its host."""
        script = str(Path(sys.executable).with_name("bazaar"))
        done = runCommand([*home.host.wrapper, script, "--json", "node",
                           f"{home.host.address}:{port}", "--data-dir", data],
                          capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def test_randomPortRouter(self):
        """The seller's router draws a port for each flow: the buyer's TCP
        punch fails, the two punch over UDP within 15 s, and the buyer
        links over QUIC on that path and fetches the rest of the file over
        it, the relay's circuit closed."""
        home_a = self.bed.home("udpa", symmetric=True)
        home_b = self.bed.home("udpb")
        shared, content = self.shareFile("home.bin", SIZE)
        met, results = 0, []
        index = 0
        while index < TRIES or (met < MEETS and index < TRIES + SPARE):
            tracker = self.market.start(f"tracker-{index}", [
                "bazaar-tracker", "--listen", f"tcp:{BED_TRACKER_PORT}", "--udp-port",
                str(UDP_PORT), "--relay-rate", str(RELAY_RATE)],
                wrapper=self.tracker_host.wrapper)
            tracker.waitFor(rf"UDP reach listening on ports {UDP_PORT} and "
                            rf"{UDP_PORT + 1}", TIMEOUT)
            within, punched, seconds, tail = self.attempt(index, home_a, home_b,
                                                          shared, content)
            results.append((punched, seconds))
            met += within
            index += 1
        print(f"udp punches: {met} of {index} within {PUNCHED_WITHIN:g} s; "
              f"(seconds to the path, seconds of the download): {results}")
        self.assertGreaterEqual(met, MEETS, (results, tail))

    def test_pathDies(self):
        """The punched path dies mid-download, once the file is on it (moved
        to it, or fetched over it from the start; the seller's router
        drops every UDP datagram from then on): the
        buyer's transfer stalls, its dial over the path meets silence,
        the path is dropped and the QUIC link over it aborted at once, and
        the download ends whole through the relay, nothing lost."""
        home_a = self.bed.home("udpa", symmetric=True)
        home_b = self.bed.home("udpb")
        shared, content = self.shareFile("home.bin", DYING_SIZE)
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", f"tcp:{BED_TRACKER_PORT}", "--udp-port",
            str(UDP_PORT)], wrapper=self.tracker_host.wrapper)
        tracker.waitFor(r"UDP reach listening on ports", TIMEOUT)
        seller = self.node("udp-seller", home_a.host, "--role", "seller", "--share",
                           shared, "--quic-port", "0", "--transfer-rate", str(DYING_RATE))
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(RELAYED.format(host=re.escape(self.tracker_host.address)), TIMEOUT)
        downloads = self.folder("downloads")
        buyer = self.node("udp-buyer", home_b.host, "--role", "buyer", "--want",
                          "home.bin", "--downloads", downloads, "--quic-port", "0")
        ended = buyer.waitFor(
            rf"(?P<met>punched a UDP path to node {short(seller_id)} .*, met at "
            rf"(?P<host>[\d.]+):(?P<port>\d+))|no UDP path punched to node "
            rf"{short(seller_id)}", TIMEOUT)
        if ended["met"] is None:
            raise SkipTest(f"the birthday punch missed (odds about 0.02): {ended.string}")
        path = f"{ended['host']}:{ended['port']}"
        # The file on the path: moved to it, or (the buyer, just started,
        # punched at once) fetched over it from the start.
        buyer.waitFor(rf"home\.bin: moving the rest from seller {short(seller_id)}|"
                      rf"reached node {short(seller_id)} over QUIC at {re.escape(path)} "
                      r"\(files\)", TIMEOUT)
        subprocess.run([*home_a.router.wrapper, "iptables", "-I", "FORWARD", "-p", "udp",
                        "-j", "DROP"], check=True, timeout=TIMEOUT)
        broke = time.monotonic()
        buyer.waitFor(rf"the UDP path to node {short(seller_id)} at {re.escape(path)} "
                      r"carries nothing now \(no QUIC answer", TIMEOUT)
        buyer.waitFor(rf"closing link to node {short(seller_id)} at {re.escape(path)}: "
                      r"its UDP path carries nothing now", TIMEOUT)
        waitDownloaded(buyer, "home.bin", TIMEOUT)
        took = time.monotonic() - broke
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(),
                             hashlib.sha256(content).digest())
        print(f"\nthe punched path died as the file moved to it: the download ended "
              f"whole through the relay {took:.1f} s later")
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in (tracker, seller, buyer):
            self.assertEqual(daemon.problems(), [], daemon.name)
