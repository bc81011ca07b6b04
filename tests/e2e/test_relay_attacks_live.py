"""
End to end, issue 93's ninth round (docs/reliability.md): a stranger
holding the most circuits the tracker's relay lets it hold, on a tracker
run with an operator's low ``ulimit -n``.  Its nodes at home, its
diallers and its silent connections are this test's raw clients, written
from docs/protocol.md alone (§5a); each comes from an address group of
its own on loopback.

Every wait is bounded: on a log line, or on a socket with a timeout;
nothing sleeps.
"""

import shutil
import tempfile
import threading
from contextlib import ExitStack

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import (
    JSON, LISTENING_EVENT, LOOPBACK_LISTEN, TRACKER_LISTENING, LiveMarket)

from tests.e2e import test_websocket_attacks_live as wsattacks
from tests.e2e.test_account_live import connectFrom
from tests.e2e.test_raw_client import Closed, Keys, RawClient, nonce, proofText

#: Seconds any one expected log line, or socket read, may take.
TIMEOUT = 30.0
#: The tracker's open-file limit (an operator's low ``ulimit -n``).
OPEN_FILES = 512
#: The stranger's nodes at home, its diallers' address groups and the
#: keys of each: 48 circuits asked for, 16 to each group of diallers,
#: within every bound but the relay's whole (16 from a group, 4 to one
#: node from a group, 12 from one key, 3 to one node from one key).
NODES, DIALLER_GROUPS, KEYS_A_GROUP, CIRCUITS_A_KEY_A_NODE = 4, 3, 2, 2
#: Groups of 32 silent connections each: the relay's 256 connections
#: still to say what they want.
SILENT_GROUPS = 8


class HomeNode:
    """A stranger's node at home: registered with its key, holding a
    reservation at the tracker's relay, accepting every circuit the relay
    announces (in a thread of its own) on a connection it holds open."""

    def __init__(self, case, tracker_port, relay_port, source):
        self.keys, mine = Keys(), nonce()
        self.relay_port, self.source, self.case = relay_port, source, case
        self.tracker = case.hold(RawClient(tracker_port, source=source))
        self.tracker.send("thisisme", id="", port=0, host="", key=self.keys.key,
                          nonce=mine)
        you = self.tracker.receive()
        case.assertEqual(you["type"], "thisisyou", you)
        self.id = you["id"]
        self.tracker.send("proof", sig=self.keys.sign(proofText(
            "register", self.keys.key, you["key"], mine, you["nonce"])))
        self.tracker.send("relayReserve")
        while True:
            said = self.tracker.receive()
            if said["type"] == "relayReserved":
                break
            case.assertNotEqual(said["type"], "error", said)
        self.thread = threading.Thread(target=self._accepting, daemon=True)
        self.thread.start()

    def _accepting(self):
        try:
            while True:
                said = self.tracker.receive()
                if said["type"] == "relayIncoming":
                    accept = self.case.hold(RawClient(self.relay_port, self.keys,
                                                      source=self.source))
                    accept.send("relayAccept", circuit=said["circuit"])
        except (Closed, OSError, ValueError):
            return


class RelayCircuitDescriptorTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-e2e-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        self.sockets = ExitStack()
        self.addCleanup(self.sockets.close)
        self.lock = threading.Lock()

    def hold(self, client):
        """client, closed when the test ends (from any thread)."""
        with self.lock:
            self.sockets.callback(client.close)
        return client

    #: A keyless port-0 registration from a host (the seventh round's).
    register = wsattacks.WebSocketAttackTests.register

    def test_circuitsHeldLeaveANodeItsDescriptor(self):
        """
        With ``ulimit -n`` 512: registrations up to what the tracker
        keeps, a stranger's circuits (48 asked for from 3 groups of
        diallers to its 4 nodes at home) and 256 silent connections to
        the relay; a registration from 127.0.0.1 is still answered
        ``thisisyou`` within 5 s.  The relay's 256 circuits, two
        descriptors each, were outside the budget: its circuits and the
        silent connections took every descriptor, and the registration
        got no answer.
        """
        tracker = self.market.start(
            "tracker", ["bazaar-tracker", "--listen", LOOPBACK_LISTEN, "--no-udp",
                        "--ping-interval", "600", "--pending-limit", "16"],
            wrapper=("prlimit", f"--nofile={OPEN_FILES}:{OPEN_FILES}", "--"))
        port = int(tracker.waitFor(TRACKER_LISTENING, TIMEOUT)["port"])
        relay = int(tracker.waitForEvent(LISTENING_EVENT, TIMEOUT, what="relay")["port"])
        answers = {}
        for n in range(50):
            for group in range(1, 5):
                answer = self.register(f"127.{group}.{n // 250}.{n % 250 + 1}", port)
                answers[answer] = answers.get(answer, 0) + 1
        self.assertGreater(answers.get(("thisisyou", None), 0), 100, answers)
        self.assertGreater(answers.get(("error", "noslots"), 0), 0, answers)

        nodes = [HomeNode(self, port, relay, f"127.201.0.{n + 1}") for n in range(NODES)]
        opened = refused = 0
        for group in range(DIALLER_GROUPS):
            for k in range(KEYS_A_GROUP):
                keys = Keys()
                for node in nodes:
                    for _ in range(CIRCUITS_A_KEY_A_NODE):
                        dialler = self.hold(RawClient(
                            relay, keys, source=f"127.{211 + group}.0.{k + 1}"))
                        dialler.send("relayConnect", to=node.id, purpose="node")
                        try:
                            said = dialler.receive()["type"]
                        except (Closed, OSError):
                            said = "closed"
                        opened += said == "relayOpen"
                        refused += said != "relayOpen"
        # The stranger holds circuits: at least one group's worth.
        self.assertGreaterEqual(opened, 16, (opened, refused))

        for group in range(SILENT_GROUPS):
            for n in range(32):
                self.sockets.enter_context(
                    connectFrom(f"127.{221 + group}.0.{n + 1}", relay))
        self.assertEqual(self.register("127.0.0.1", port, timeout=5.0),
                         ("thisisyou", None), (opened, refused, answers))
        self.assertNotIn("Too many open files", "\n".join(tracker.lines))

