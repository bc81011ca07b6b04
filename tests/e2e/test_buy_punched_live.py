"""
``bazaar buy --punch-wait S`` from home, of a file a seller shares at
another home, in network namespaces (L{twisted_bazaar.testing.netns}):
the one-shot buyer hole-punches as a daemon does (over TCP; with
``--quic-port``, over UDP where the seller's router draws a port for
each flow), so the file's bytes come straight, not through the
tracker's relay (its ``bazaar_tracker_relayed_bytes_total`` counts only
the few KiB of the link's handshake and the buy before the punch).

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.
"""

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from unittest import SkipTest

from tests.e2e.helpers import (
    BED_TRACKER_PORT,
    HomeMarketCase,
    listeningPort,
    waitSharing,
)
from tests.e2e.test_punched_live import RELAYED
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN, TERMINATED, nodeId

TIMEOUT = 60.0
SIZE = 16 * 1024 * 1024
#: Bytes the relay may carry: the link's handshake and the buy, not the
#: file.
HANDSHAKE_BYTES = 64 * 1024


class BuyPunchedTests(HomeMarketCase):
    folder_prefix = "bazaar-buypunched-"


    def buys(self, symmetric, *options):
        """A seller at one home (its router drawing ports, ``symmetric``),
        ``bazaar buy`` with options at another: the file whole, and the
        bytes the relay copied."""
        seller_home = self.bed.home("bsa", symmetric=symmetric)
        buyer_home = self.bed.home("bsb")
        tracker = self.startTracker(TIMEOUT, "--metrics", LOOPBACK_LISTEN, "--udp-port",
                                    "3478")
        metrics = listeningPort(tracker, "metrics", TIMEOUT)
        shared, content = self.shareFile("home.bin", SIZE)
        seller = self.node("seller", seller_home.host, "--role", "seller", "--share",
                           shared, "--quic-port", "0")
        nodeId(seller, TIMEOUT)
        seller.waitFor(RELAYED.format(host=re.escape(self.tracker_host.address)), TIMEOUT)
        waitSharing(seller, "home.bin", TIMEOUT)
        downloads = self.folder("downloads")
        started = time.monotonic()
        done = subprocess.run(
            [*buyer_home.host.wrapper, str(Path(sys.executable).with_name("bazaar")),
             "--tracker", f"{self.tracker_host.address}:{BED_TRACKER_PORT}", "buy",
             "home.bin", "--downloads", downloads, "--punch-wait", "10", *options],
            capture_output=True, text=True, timeout=3 * TIMEOUT)
        took = time.monotonic() - started
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(),
                             hashlib.sha256(content).digest())
        relayed = self.relayed(metrics)
        print(f"\nbazaar buy {' '.join(options)} of {SIZE >> 20} MiB from another home "
              f"in {took:.2f} s, {relayed:.0f} bytes relayed")
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        return relayed

    def test_punchedOverTcp(self):
        """Both routers keep ports: a TCP punch."""
        self.assertLess(self.buys(False), HANDSHAKE_BYTES)

    def test_punchedOverUdp(self):
        """The seller's router draws a port for each flow: no TCP punch
        meets it, and with --quic-port the buyer punches over UDP (a
        birthday punch, which misses with odds about 0.02: then the file
        comes through the relay, whole all the same)."""
        relayed = self.buys(True, "--quic-port", "0")
        if relayed >= HANDSHAKE_BYTES:
            self.assertGreater(relayed, SIZE)
            raise SkipTest(f"the birthday punch missed: {relayed:.0f} bytes relayed")
