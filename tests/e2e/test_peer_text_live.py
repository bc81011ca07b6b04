"""
End to end: hostile text and a stray scheme claim against live daemons
(issue 34): an item name holding an OSC 52 clipboard write, shown by
``bazaar list``; a stranger's ``error`` whose ``info`` starts with a
``\\r`` and a line like the tracker's own; a scheme name holding a
screen erase and an OSC 52 write, shown by ``bazaar status``; a node
claiming ``chord`` in a flood market, which ``bazaar buy`` takes for a
stray claim.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, startMarket, startSeller
from tests.e2e.test_bazaar_live import bazaar
from tests.e2e.test_raw_client import CheckedStranger, RawClient
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN

TIMEOUT = 30.0
#: An OSC 52 sequence: "write 'hi!' to the clipboard" (no "=": --sell splits there).
OSC52 = "\x1b]52;c;aGkh\x07"
#: A CSI erasing the screen and moving the cursor home, then OSC52: a
#: scheme name (at most 32 bytes) an operator's terminal would obey.
ERASE = "\x1b[2J\x1b[H" + OSC52
#: What a stranger would have the tracker's terminal show as its own line.
FORGED = "2026-11-24T00:00:00+0000 [Tracker#info] node 1 joined from 10.0.0.1:1"


class PeerTextLiveTests(SynchronousTestCase):
    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)
        self.address = f"127.0.0.1:{self.market.tracker_port}"
        startSeller(self.market, f"{OSC52}apple=3", TIMEOUT, "--sell", "apple=2")

    def test_hostileItemAndForgedLine(self):
        """bazaar list shows the item's name escaped; the tracker's log
        shows the stranger's \\r escaped, and no line of it starts with the
        forged text."""
        stranger = RawClient(self.market.tracker_port)
        self.addCleanup(stranger.close)
        stranger.send("thisisme", id="", port=0, host="")
        self.assertEqual(stranger.receive()["type"], "thisisyou")
        stranger.send("error", code="wtf", info="\r" + FORGED)
        self.tracker.waitFor(r"says wtf: \\r2026-11-24T00:00:00\+0000 \[Tracker#info\]",
                             TIMEOUT)
        self.assertEqual(self.tracker.matches(r"^2026-11-24T00:00:00\+0000"), [])
        self.assertEqual([line for line in self.tracker.lines
                          if "\x1b" in line or "\r" in line], [])
        result = bazaar("--tracker", self.address, "list")
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertNotIn("\x1b", result.stdout)
        self.assertIn("  \\x1b]52;c;aGkh\\x07apple: 3 units, sellers: ", result.stdout)

    def test_hostileSchemeInStatus(self):
        """
        A keyed stranger registers at an address of its own that passes
        the tracker's check, saying its scheme is ERASE: bazaar status
        shows the scheme escaped beside the honest seller, and --json
        writes no raw escape either
        (before, the erase and the clipboard write reached the terminal
        raw).
        """
        stranger = CheckedStranger(self.market.tracker_port, scheme=ERASE)
        self.addCleanup(stranger.close)
        self.market.waitIntroduced(stranger.keys.id, TIMEOUT)
        text = bazaar("--tracker", self.address, "status")
        self.assertEqual((text.returncode, text.stderr), (0, ""))
        self.assertNotIn("\x1b", text.stdout)
        self.assertIn(f"127.0.0.1:{stranger.port}  \\x1b[2J\\x1b[H\\x1b]52;c;aGkh\\x07",
                      text.stdout)
        self.assertRegex(text.stdout, r"^2 live nodes\n")
        shown = bazaar("--tracker", self.address, "--json", "status")
        self.assertEqual((shown.returncode, shown.stderr), (0, ""))
        self.assertNotIn("\x1b", shown.stdout)
        schemes = {node["id"]: node["scheme"] for node in json.loads(shown.stdout)["nodes"]}
        # JSON writes every control character as an escape: the text is the
        # stranger's, and none of it reaches the terminal raw.
        self.assertEqual(schemes[stranger.keys.id], ERASE)

    def test_strayChordClaim(self):
        """A node running chord in a flood market of two nodes: bazaar buy
        buys through flood (it refused to run before)."""
        for name, args in (("relay", ()), ("stray", ("--discovery", "chord"))):
            ident, _ = nodeAddress(self.market.startNode(name, *args), TIMEOUT)
            self.market.waitIntroduced(ident, TIMEOUT)
        result = bazaar("--tracker", self.address, "buy", "apple", "--timeout",
                        str(TIMEOUT), "--listen", LOOPBACK_LISTEN)
        self.assertEqual((result.returncode, result.stderr), (0, ""), result.stdout)
        self.assertRegex(result.stdout, r"^bought apple from node \w+ \(1 of 1\)\n$")
