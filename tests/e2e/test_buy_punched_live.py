"""
``bazaar buy`` from home, with its default flags, of a file a seller
shares at another home, in network namespaces
(L{twisted_bazaar.testing.netns}): the buy and the file start at once
through the seller's relay, the buying node punches in the background
(over UDP at once, its router not yet known; over TCP alone with
``--no-quic``), and the file's remaining pieces move to the punched
path mid-file, with no restart (``bazaar --json buy``: the seller's
``moved_after`` and ``relayed_bytes``), or the path met before the
file started carries all of it; the relay then carries at most
L{AFTER_MOVE} bytes more.

``BAZAAR_MOVE_SIZE`` sets the file's size in MiB (16 by default; 64 for
the issue's figures).  The tracker's relay copies L{RELAY_RATE} bytes a
second, as a public node's does; ``BAZAAR_MOVE_PUBLIC=1`` puts a public
node in the market, whose relay the seller then holds its reservation
at, as the issue's market had.  Each run prints its figures:
the seconds to the first byte, to the move, and in all, and the bytes
through the relay.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.
"""

import hashlib
import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from unittest import SkipTest

from tests.e2e.helpers import (
    BED_TRACKER_PORT,
    HomeMarketCase,
    listeningPort,
    runCommand,
    waitSharing,
)
from tests.e2e.test_punched_live import RELAYED
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN, TERMINATED, nodeId

TIMEOUT = 60.0
SIZE = int(os.environ.get("BAZAAR_MOVE_SIZE", "16")) * 1024 * 1024
PUBLIC = os.environ.get("BAZAAR_MOVE_PUBLIC") == "1"
#: Bytes a second the tracker's relay copies: a public node's relay's
#: (so that the punch comes while most of the file is still to come).
RELAY_RATE = 256 * 1024
#: Bytes the relay may copy beyond those the buyer took through it: the
#: link's handshake and the buy, the circuits' own, and what was on its
#: way through the relay when the buyer closed the circuit.
AFTER_MOVE = 1024 * 1024


class FirstByte:
    """Watches the downloads folder for the part file's first byte: when
    it came, from the buy's start (a thread: the buy is another
    process)."""

    def __init__(self, downloads, started):
        self.folder = os.path.join(downloads, ".bazaar-downloads")
        self.started = started
        self.at = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        while not self._done.is_set():
            try:
                names = os.listdir(self.folder)
            except OSError:
                names = ()
            for name in names:
                try:
                    if name.endswith(".part") and os.path.getsize(
                            os.path.join(self.folder, name)) > 0:
                        self.at = time.monotonic() - self.started
                        return
                except OSError:
                    pass
            time.sleep(0.02)

    def stop(self):
        self._done.set()
        self._thread.join()


class BuyMovesTests(HomeMarketCase):
    folder_prefix = "bazaar-buymoves-"

    def buys(self, symmetric, *flags):
        """A seller at one home (its router drawing ports, ``symmetric``),
        ``bazaar --json buy`` with its default flags (and ``flags``, given
        the seller too) at another: the file whole; (the seller's row of
        the buy's ``files``, the bytes its relay copied)."""
        seller_home = self.bed.home("bsa", symmetric=symmetric)
        buyer_home = self.bed.home("bsb")
        tracker = self.startTracker(TIMEOUT, "--metrics", LOOPBACK_LISTEN,
                                    "--relay-rate", str(RELAY_RATE))
        metrics = listeningPort(tracker, "metrics", TIMEOUT)
        relay_host = self.tracker_host
        if PUBLIC:
            relay_host = self.bed.public("pub")
            public_data = self.folder("public-data")
            public = self.node("public", relay_host, "--data-dir", public_data)
            nodeId(public, TIMEOUT)
            public_port = listeningPort(public, "node", TIMEOUT)
        shared, content = self.shareFile("home.bin", SIZE)
        seller = self.node("seller", seller_home.host, "--role", "seller", "--share",
                           shared, *flags)
        nodeId(seller, TIMEOUT)
        seller.waitFor(RELAYED.format(host=re.escape(relay_host.address)), TIMEOUT)
        waitSharing(seller, "home.bin", TIMEOUT)
        downloads = self.folder("downloads")
        started = time.monotonic()
        first = FirstByte(downloads, started)
        try:
            done = runCommand(
                [*buyer_home.host.wrapper, str(Path(sys.executable).with_name("bazaar")),
                 "--json", "--tracker", f"{self.tracker_host.address}:{BED_TRACKER_PORT}",
                 "buy", "home.bin", "--downloads", downloads, *flags],
                capture_output=True, text=True, timeout=10 * TIMEOUT)
        finally:
            first.stop()
        took = time.monotonic() - started
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(),
                             hashlib.sha256(content).digest())
        [fetched] = json.loads(done.stdout)["files"]
        [row] = fetched["pieces"]
        if PUBLIC:
            relayed = self.operatorState(relay_host, public_port,
                                         public_data)["relaying"]["bytes"]
        else:
            relayed = self.relayed(metrics)
        moved = row["moved_after"]
        print(f"\nbazaar buy of {SIZE >> 20} MiB from a home behind a "
              f"{'random-port' if symmetric else 'port-keeping'} router, through "
              f"{'a public node' if PUBLIC else 'the tracker'}'s relay: first byte at "
              f"{first.at:.2f} s, moved "
              + ("never" if moved is None else f"{moved:.2f} s into the download")
              + f", {took:.2f} s in all ({SIZE / took / 2**20:.2f} MiB/s); "
              f"{row['relayed_bytes']} bytes of the file through the relay, "
              f"{relayed:.0f} copied by it")
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        return row, relayed

    def operatorState(self, host, port, data):
        """``bazaar --json node`` of the node on host listening on port,
        asked by its operator (its --data-dir ``data``)."""
        script = str(Path(sys.executable).with_name("bazaar"))
        done = runCommand([*host.wrapper, script, "--json", "node",
                           f"{host.address}:{port}", "--data-dir", data],
                          capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def assertMoved(self, row, relayed):
        """The file started through the relay and moved: the relay copied
        the bytes the buyer took through it, and at most AFTER_MOVE more."""
        self.assertIsNotNone(row["moved_after"], row)
        self.assertGreater(row["relayed_bytes"], 0, row)
        self.assertLess(row["relayed_bytes"], SIZE, row)
        self.assertLess(relayed - row["relayed_bytes"], AFTER_MOVE, (row, relayed))

    def test_movedToTcpPunch(self):
        """Both routers keep ports, over TCP alone (--no-quic): the file
        moves to a TCP punch."""
        self.assertMoved(*self.buys(False, "--no-quic"))

    def test_portKeepingHomesMeetOverUdp(self):
        """Both routers keep ports, default flags: `bazaar buy`, just
        started, punches over UDP at once, and the path met carries the
        file, all of it (it came before the file started) or all but the
        relayed connection's taste (the move): within issue 85's 64 KiB
        through the relay (before, the TCP punch came some 5 s in, and
        the relay carried what it could until then)."""
        row, relayed = self.buys(False)
        self.assertLessEqual(row["relayed_bytes"], 64 * 1024, row)
        self.assertLess(relayed, 64 * 1024 + AFTER_MOVE, (row, relayed))

    def test_movedToUdpPunch(self):
        """The seller's router draws a port for each flow: no TCP punch
        meets it, and the buyer punches over UDP, at once (a birthday
        punch, which misses with odds about 0.02: then the file comes
        through the relay, whole all the same).  The path met before the
        file started carries all of it; else the file moves to it, maybe
        before the relayed connection brought a byte of it (the early
        punch met within its first 0.1 s: nothing of the file through the
        relay, as when the path came first)."""
        row, relayed = self.buys(True)
        if row["relayed_bytes"] == 0:
            self.assertLess(relayed, AFTER_MOVE, (row, relayed))
            return
        if row["moved_after"] is None:
            self.assertEqual(row["relayed_bytes"], SIZE)
            raise SkipTest(f"the birthday punch missed: {relayed:.0f} bytes relayed")
        self.assertMoved(row, relayed)
