"""
End to end: one address against a live seller's slots (docs/protocol.md
§6, "Eviction"), and its flood of new connections (§6, --connection-rate).

The attacker's connections come from 127.9.0.1, another address group
than the honest clients' 127.0.0.1: it holds every slot of a purpose,
replacing each link before it is 10 s old, and an honest client of
another group still gets one at once.
"""

import json
import select
import socket
import threading
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import startMarket, startSeller
from tests.e2e.test_bazaar_live import bazaar
from tests.e2e.test_raw_client import Closed, Keys, RawClient, nonce, proofText
from twisted_bazaar.net.eviction import GRACE
from twisted_bazaar.net.syngate import attachFilter, program
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN

TIMEOUT = 30.0
ATTACKER = "127.9.0.1"
#: Seconds between two of the attacker's links replaced: with 8 links,
#: each lives 8 s, under the grace.
REPLACE_EVERY = 1.0


def provenLink(port, purpose, source):
    """A keyed link from source to the node at port, proven (§6); or None
    when the node refused it."""
    keys, mine = Keys(), nonce()
    link = RawClient(port, source=source)
    try:
        link.send("thisisme", id=keys.id, port=0, host="", key=keys.key, nonce=mine,
                  purpose=purpose)
        answer = link.receive()
    except (Closed, OSError):
        link.close()
        return None
    if answer.get("type") != "thisisme":
        link.close()
        return None
    link.send("proof", sig=keys.sign(proofText("link", keys.key, answer["key"], mine,
                                               answer["nonce"], purpose)))
    return link


class ChurnedSlotsLiveTests(SynchronousTestCase):
    def setUp(self):
        self.market, _ = startMarket(self, TIMEOUT)
        # An index seller: its buyers buy over direct links only.
        self.seller, self.seller_id, self.port = startSeller(
            self.market, "apple=5", TIMEOUT, "--discovery", "index")
        self.held = []
        self.addCleanup(lambda: [link.close() for link in self.held])

    def churn(self, purpose, slots):
        """
        Hold ``slots`` links of purpose from ATTACKER, and go on (in a
        thread, until the test ends) replacing the oldest every
        REPLACE_EVERY s, so each lives less than the 10 s grace.
        """
        for _ in range(slots):
            link = provenLink(self.port, purpose, ATTACKER)
            self.assertIsNotNone(link, f"the seller refused the attacker's {purpose} link")
            self.held.append(link)
        stop = threading.Event()

        def replace():
            while not stop.wait(REPLACE_EVERY):
                self.held.pop(0).close()
                link = provenLink(self.port, purpose, ATTACKER)
                if link is not None:
                    self.held.append(link)

        thread = threading.Thread(target=replace, daemon=True)
        thread.start()
        self.addCleanup(thread.join, TIMEOUT)
        self.addCleanup(stop.set)
        # Past the grace: the group's tenure, not its links' ages, counts.
        stop.wait(GRACE + 2)

    def test_directSlots(self):
        """Every direct slot of an index seller held by one churning
        address: `bazaar buy` from another address group buys (an index
        buyer buys over a direct link only)."""
        self.churn("direct", 8)
        result = bazaar("--tracker", f"127.0.0.1:{self.market.tracker_port}", "buy",
                        "apple", "--discovery", "index", "--timeout", "15", "--listen",
                        LOOPBACK_LISTEN, "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        obj = json.loads(result.stdout)
        self.assertEqual([p["seller"] for p in obj["purchases"]], [self.seller_id])

    def test_statusSlots(self):
        """Both status slots held by one churning address: `bazaar node`
        from another address group is answered."""
        self.churn("status", 2)
        started = time.monotonic()
        result = bazaar("--json", "node", f"127.0.0.1:{self.port}")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["id"], self.seller_id)
        self.assertLess(time.monotonic() - started, TIMEOUT)


class ConnectionRateLiveTests(SynchronousTestCase):
    def test_floodClosedUnanswered(self):
        """
        A group opening connections faster than --connection-rate has the
        rest closed at once, with no byte of the channel's handshake; a
        client of another group is answered meanwhile.
        """
        market, _ = startMarket(self, TIMEOUT)
        seller, seller_id, port = startSeller(market, "apple=1", TIMEOUT,
                                              "--connection-rate", "5")
        socks = []
        self.addCleanup(lambda: [sock.close() for sock in socks])
        for _ in range(60):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                                  source_address=(ATTACKER, 0)))
        # A connection taken waits for the opener's first channel message;
        # one refused reads its end at once.
        closed = set()
        deadline = time.monotonic() + 5
        while len(closed) < 30 and time.monotonic() < deadline:
            readable, _, _ = select.select([s for s in socks if s not in closed], [], [],
                                           0.5)
            for sock in readable:
                try:
                    data = sock.recv(1)
                except ConnectionResetError:
                    data = b""
                self.assertEqual(data, b"", "the node wrote first on a connection")
                closed.add(sock)
        self.assertGreaterEqual(len(closed), 30)
        honest = provenLink(port, "direct", "127.0.0.1")
        self.assertIsNotNone(honest)
        honest.close()
        seller.waitFor(r"closed a connection from 127\.9\.0\.1: its address group opens "
                       r"more than 5 a second", TIMEOUT)

    def test_aFloodIsTurnedAwayByTheKernel(self):
        """
        A group refused 64 times in a row is a flood: its next connections
        go unanswered (the kernel drops them) until it may connect again,
        while another group connects at once (Linux, IPv4).  At one
        connection each 5 s, the group waits about 5 s.
        """
        probe = socket.socket()
        try:
            attachFilter(probe, program([]))
        except OSError as e:
            self.skipTest(f"this kernel takes no socket filter: {e}")
        finally:
            probe.close()
        market, _ = startMarket(self, TIMEOUT)
        seller, _, port = startSeller(market, "apple=1", TIMEOUT,
                                      "--connection-rate", "0.2")
        # One taken, then 64 refused in a row: each connects (the kernel
        # completes it) and is closed.
        for _ in range(1 + 64):
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                     source_address=(ATTACKER, 0)).close()
        seller.waitFor(r"turning away new connections from 127\.9\.0\.0/16 in the "
                       r"kernel for a while: 64 in a row were over its rate", TIMEOUT)
        with self.assertRaises(socket.timeout):
            socket.create_connection(("127.0.0.1", port), timeout=0.8,
                                     source_address=(ATTACKER, 0))
        socket.create_connection(("127.0.0.1", port), timeout=0.8).close()
        # Let in again once it may connect: a connect's SYN sent again is
        # answered.
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                 source_address=(ATTACKER, 0)).close()
