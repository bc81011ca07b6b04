"""
End to end at IPv6 loopback: every address form a reader types back
from the daemons' lines, an IPv6 address in brackets (`[::1]:PORT`),
reaches a tracker there: a node's `--tracker ws:[::1]:PORT` and
`--listen tcp6:0:interface=[::1]`, `bazaar --tracker ws:[::1]:PORT` and
`tls:[::1]:PORT:trustRoots=DIR`.  Each failed before (a WebSocket Host
without brackets, 400; "port 'db8' is not a number"; "interface=[2001 is
not an IP address"; Twisted's tls: reading the address as a name).

Every wait is on a log line or a command's end, bounded.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.e2e.helpers import freePort
from tests.e2e.test_tls_live import selfSigned
from tests.files.test_transfer_live import NO_IPV6
from twisted_bazaar.testing.daemons import LiveMarket, runCommand

#: Each wait ends on its event; the bound is for a machine at load.
TIMEOUT = 90.0


def bazaar(*args):
    script = str(Path(sys.executable).with_name("bazaar"))
    return runCommand([script, *args], capture_output=True, text=True, timeout=TIMEOUT)


class IPv6AddressFormsTests(SynchronousTestCase):
    def setUp(self):
        if NO_IPV6 is not None:
            raise SkipTest(NO_IPV6)
        self.folder = tempfile.mkdtemp(prefix="bazaar-ipv6-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder)
        self.addCleanup(self.market.stop)

    def tracker(self, listen, *args):
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", listen, "--no-udp",
            "--data-dir", f"{self.folder}/tracker", *args])
        tracker.waitFor(r"tracker listening on \[::1\]:\d+", TIMEOUT)
        return tracker

    def test_aWebSocketTrackerInBrackets(self):
        port, ws = freePort(), freePort()
        tracker = self.tracker(f"tcp6:{port}:interface=[::1]", "--ws-port", str(ws))
        tracker.waitFor(rf"websocket listening on \[::1\]:{ws}", TIMEOUT)
        asked = bazaar("--tracker", f"ws:[::1]:{ws}", "status")
        self.assertEqual((asked.returncode, asked.stdout), (0, "0 live nodes\n"), asked.stderr)
        node = self.market.start("node", [
            "bazaar-node", "--tracker", f"ws:[::1]:{ws}", "--no-quic",
            "--listen", "tcp6:0:interface=[::1]", "--host", "[::1]"])
        node.waitFor(r"registered with the tracker as node", TIMEOUT)
        self.assertEqual(node.problems(), [], node.tail())

    def test_aTlsTrackerInBrackets(self):
        key, cert, trust = selfSigned(self.folder, host="::1")
        port = freePort()
        self.tracker(rf"ssl:{port}:interface=\:\:1:privateKey={key}:certKey={cert}")
        asked = bazaar("--tracker", f"tls:[::1]:{port}:trustRoots={trust}", "status")
        self.assertEqual((asked.returncode, asked.stdout), (0, "0 live nodes\n"), asked.stderr)
