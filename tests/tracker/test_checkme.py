"""
``checkme`` (docs/protocol.md §5, "Checking again"): a node whose router
maps its port since its check failed has the tracker check it again at
once, reserved at a relay or not; once that check passes, the tracker
names it at its address, through no relay.  At most one ``checkme`` a
node each RECHECK_FIRST seconds is taken.
"""

import random

from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import WiredLink, feed, sent
from tests.tracker.checking import checkingTracker
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.identity.proofs import CHECK, REGISTER, Handshake
from twisted_bazaar.tracker.checks import RECHECK_FIRST
from twisted_bazaar.wire.ids import parseWireId, wireId

SEED = 9


class CheckMeTests(SynchronousTestCase):
    def setUp(self):
        checkingTracker(self, relayPort=7701)
        self.identity = Identity.fromRandom(random.Random(SEED))
        handshake = Handshake(self.identity, REGISTER)
        self.peer = WiredLink(self.factory, "203.0.113.5")
        self.peer.say({"type": "thisisme", "id": "", "port": 4001, "host": "",
                       "key": self.identity.key, "nonce": handshake.nonce, "reach": True})
        [you] = self.peer.heard()
        self.peer.say({"type": "proof", "sig": handshake.prove(you["key"], you["nonce"])})
        self.node_id = self.identity.id
        self.connector.failLast(ConnectionRefusedError())
        self.assertFalse(self.peer.heard()[0]["reachable"])

    def passCheck(self):
        """The tracker's last check reaches the node, which proves its key."""
        probe = self.connector.connectLast()
        [ask] = sent(probe)
        answer = Handshake(self.identity, CHECK)
        feed(probe, wire.ThisIsMe(self.node_id, 4001, key=self.identity.key,
                                  nonce=answer.nonce, sig=answer.prove(ask.key, ask.nonce)))

    def whereis(self):
        asker = WiredLink(self.factory, "198.51.100.1")
        asker.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        asker.heard()
        asker.say({"type": "whereis", "id": wireId(self.node_id)})
        [reply] = asker.heard()
        return reply

    def test_checkedAgainAtOnce(self):
        """A failed check waits 5 s to be tried again; checkme tries it
        now, and the node is told it passed."""
        self.peer.say({"type": "checkme"})
        self.assertEqual(len(self.connector.requests), 2)
        self.passCheck()
        self.assertTrue(self.peer.heard()[0]["reachable"])
        self.clock.advance(60)
        self.assertEqual(len(self.connector.requests), 2)

    def test_reservedNodeNamedDirectly(self):
        """
        A node held at the tracker's relay (its checks stopped) asks to
        be checked: the check dials its address, passes, and from then on
        the tracker names it there with no relay, and its relay lets go.
        On the code before, checkme was refused (``wtf``: the tracker did
        not handle it) and the node stayed behind the relay.
        """
        self.peer.say({"type": "relayReserve"})
        self.assertEqual(self.peer.heard()[0]["type"], "relayReserved")
        self.assertEqual(self.whereis()["paths"][0]["kind"], "relayed")
        self.peer.say({"type": "checkme"})
        self.assertEqual(self.connector.requests[-1][:2], ("203.0.113.5", 4001))
        self.passCheck()
        self.assertTrue(self.peer.heard()[0]["reachable"])
        self.assertEqual(self.whereis(), {"type": "nodereply", "id": wireId(self.node_id),
                                          "host": "203.0.113.5", "port": 4001})
        self.assertFalse(self.tracker.relay.holds(self.node_id))
        self.assertIn(self.node_id, self.tracker.registry.checked)

    def test_rated(self):
        """A second checkme within RECHECK_FIRST s of the first is not
        taken (a node cannot make the tracker dial faster than failing
        does); one after is."""
        self.peer.say({"type": "checkme"})
        self.connector.failLast(ConnectionRefusedError())
        self.peer.say({"type": "checkme"})
        self.assertEqual(len(self.connector.requests), 2)
        self.clock.advance(RECHECK_FIRST - 0.5)
        self.peer.say({"type": "checkme"})
        self.assertEqual(len(self.connector.requests), 2)
        self.clock.advance(0.5)
        self.peer.say({"type": "checkme"})
        self.assertEqual(len(self.connector.requests), 3)

    def test_notRepeated(self):
        """A check in flight, or one that passed, is not started again."""
        self.clock.advance(RECHECK_FIRST)
        self.peer.say({"type": "checkme"})
        self.assertEqual(len(self.connector.requests), 2)
        self.passCheck()
        self.clock.advance(RECHECK_FIRST)
        self.peer.say({"type": "checkme"})
        self.assertEqual(len(self.connector.requests), 2)

    def test_portZero(self):
        """A node of port 0 is never checked, asked or not."""
        other = WiredLink(self.factory, "198.51.100.1")
        other.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        parseWireId(other.heard()[0]["id"])
        other.say({"type": "checkme"})
        self.assertEqual(len(self.connector.requests), 1)
        self.assertEqual(other.heard(), [])
