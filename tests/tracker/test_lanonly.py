"""
LAN-only nodes (docs/protocol.md §5, "LAN-only nodes"): many machines
behind one router (a class) with the tracker outside.  The tracker cannot
dial them, and its relay holds 8 of one address group; each node past
them, refused a reservation, is introduced to the nodes behind the same
router on its subnet (a ``nodereq``, a ``whereis``, a ``memberlist``, an
index's ``found``), with its local address, and to nobody else.
"""

import random

from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from tests import records
from tests.helpers import WiredLink, wirePaths
from tests.tracker.checking import checkingTracker
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.identity.proofs import REGISTER, Handshake
from twisted_bazaar.schemes.index.tracker import IndexExtension
from twisted_bazaar.status.tracker import StatusExtension
from twisted_bazaar.tracker.reserving import LAN_ONLY_SAID
from twisted_bazaar.transports.relay.limits import RelayLimits
from twisted_bazaar.transports.relay.relay import Relay
from twisted_bazaar.wire.ids import wireId

RELAY_PORT = 7701
CLASS = "203.0.113.5"
ELSEWHERE = "198.51.100.9"


class LanOnlyTests(SynchronousTestCase):
    def setUp(self):
        checkingTracker(self, relayPort=RELAY_PORT)
        # One reservation for the class's address group: the second node
        # of the class is refused one.
        self.tracker.relay = Relay(self.clock, PeerLog(self.clock),
                                   RelayLimits(group_reservations=1))
        self.tracker.relay.port = RELAY_PORT
        self.seed = 0
        self.identities = {}

    def keyed(self, host, lan=None, scheme=None):
        """A node at host (naming local addresses lan) that proved its
        key and whose check failed: (connection, id)."""
        self.seed += 1
        identity = Identity.fromRandom(random.Random(self.seed))
        handshake = Handshake(identity, REGISTER)
        peer = WiredLink(self.factory, host)
        more = {} if lan is None else {"paths": wirePaths(lan=lan)}
        if scheme is not None:
            more["scheme"] = scheme
        peer.say({"type": "thisisme", "id": "", "port": 4000 + self.seed, "host": "",
                  "key": identity.key, "nonce": handshake.nonce, **more})
        [you] = peer.heard()
        peer.say({"type": "proof", "sig": handshake.prove(you["key"], you["nonce"])})
        self.connector.failLast(ConnectionRefusedError())
        peer.heard()
        self.identities[identity.id] = identity
        return peer, identity.id

    def reserve(self, peer):
        peer.say({"type": "relayReserve"})
        return peer.heard()

    def aClass(self, scheme=None):
        """Two nodes of a class, the first held at the relay, the second
        refused: (held, its id, refused, its id)."""
        held, held_id = self.keyed(CLASS, ["192.168.1.2"], scheme)
        [reserved] = self.reserve(held)
        self.assertEqual(reserved["type"], "relayReserved")
        refused, refused_id = self.keyed(CLASS, ["192.168.1.3"], scheme)
        [error] = self.reserve(refused)
        self.assertEqual(error["code"], "noslots")
        # It is told what it is, now and when it asks again.
        self.assertTrue(error["info"].endswith(LAN_ONLY_SAID), error["info"])
        self.assertTrue(self.reserve(refused)[0]["info"].endswith(LAN_ONLY_SAID))
        return held, held_id, refused, refused_id

    def whereis(self, asker, node_id):
        asker.say({"type": "whereis", "id": wireId(node_id)})
        [answer] = asker.heard()
        return answer

    def test_introducedToItsNeighbours(self):
        """The node refused a reservation is introduced to its neighbour
        behind the router (nodereq, whereis) at the router's address, with
        its local address; it was introduced to nobody."""
        held, _, _, refused_id = self.aClass()
        expected = {"type": "nodereply", "id": wireId(refused_id), "host": CLASS,
                    "port": 4002,
                    "paths": wirePaths(lan=["192.168.1.3"], port=4002, tracker=True)}
        self.assertEqual(self.whereis(held, refused_id), expected)
        held.say({"type": "nodereq", "exclude": []})
        self.assertEqual(held.heard(), [expected])
        self.assertNotIn(refused_id, self.tracker.registry.verified)

    def test_drawnOnlyForItsScheme(self):
        """A nodereq for another scheme, or for super-peers, does not draw
        it; one for its scheme does."""
        held, _, _, refused_id = self.aClass("index")
        for ask, drawn in (({"scheme": "flood"}, []),
                           ({"scheme": "index", "super": True}, []),
                           ({"scheme": "index"}, [wireId(refused_id)])):
            held.say({"type": "nodereq", "exclude": [], **ask})
            self.assertEqual([m["id"] for m in held.heard() if m["port"]], drawn, ask)

    def test_toNobodyElse(self):
        """Not to a node elsewhere, nor to one behind the router on
        another subnet, nor to one that named no local address."""
        _, _, _, refused_id = self.aClass()
        for host, lan in ((ELSEWHERE, ["192.168.1.9"]), (CLASS, ["192.168.2.9"]),
                          (CLASS, None)):
            asker, _ = self.keyed(host, lan)
            self.assertEqual(self.whereis(asker, refused_id),
                             {"type": "nodereply", "id": wireId(refused_id), "host": "",
                              "port": 0})
            asker.say({"type": "nodereq", "exclude": []})
            self.assertNotIn(wireId(refused_id), [m["id"] for m in asker.heard()])

    def test_inTheMemberlistOfItsNeighboursOnly(self):
        self.tracker.addExtension("status", StatusExtension(self.tracker))
        held, held_id, _, refused_id = self.aClass()
        stranger, _ = self.keyed(ELSEWHERE, ["192.168.1.9"])
        held.say({"type": "members"})
        [mine] = held.heard()
        self.assertEqual(sorted(node["id"] for node in mine["nodes"]),
                         sorted([wireId(held_id), wireId(refused_id)]))
        self.assertEqual(mine["lans"][wireId(refused_id)], ["192.168.1.3"])
        self.assertNotIn("lanOnly", mine)
        stranger.say({"type": "members"})
        [theirs] = stranger.heard()
        self.assertEqual([node["id"] for node in theirs["nodes"]], [wireId(held_id)])
        # Counted, not named: live, reached only over a LAN not its own.
        self.assertEqual((theirs["total"], theirs["lanOnly"]), (1, 1))

    def test_foundByItsNeighbours(self):
        """index: a LAN-only seller is found by a buyer behind its router,
        and by nobody else."""
        self.tracker.addExtension("index", IndexExtension(self.tracker))
        held, _, refused, refused_id = self.aClass("index")
        refused.say({"type": "register", "item": "apple",
                     "record": records.signed(self.identities[refused_id], "apple").asDict()})
        refused.heard()
        stranger, _ = self.keyed(ELSEWHERE, ["192.168.1.9"], "index")
        for asker, found in ((held, [wireId(refused_id)]), (stranger, [])):
            asker.say({"type": "lookup", "item": "apple"})
            [answer] = asker.heard()
            self.assertEqual([seller["id"] for seller in answer["sellers"]], found)

    def test_aReservationLaterIntroducesItToAll(self):
        """Once it holds a reservation (the relay has room again), it is
        introduced to everyone through the relay, and LAN-only no more."""
        held, _, refused, refused_id = self.aClass()
        held.say({"type": "dc"})
        self.assertEqual(self.reserve(refused)[0]["type"], "relayReserved")
        self.assertIn(refused_id, self.tracker.registry.verified)
        self.assertEqual(self.tracker.registry.lanOnlyAt, {})
        stranger, _ = self.keyed(ELSEWHERE, ["192.168.1.9"])
        self.assertEqual(self.whereis(stranger, refused_id)["host"], CLASS)

    def test_forgottenWhenItLeaves(self):
        _, _, refused, _ = self.aClass()
        refused.say({"type": "dc"})
        self.assertEqual(self.tracker.registry.lanOnlyAt, {})

    def test_notWithoutALocalAddress(self):
        """A node refused a reservation that named no local address stays
        introduced to nobody, as before."""
        held, _ = self.keyed(CLASS, ["192.168.1.2"])
        self.reserve(held)
        refused, refused_id = self.keyed(CLASS)
        [error] = self.reserve(refused)
        self.assertNotIn(LAN_ONLY_SAID, error["info"])
        self.assertEqual(self.whereis(held, refused_id)["port"], 0)
        self.assertEqual(self.tracker.registry.lanOnlyAt, {})
