"""
Tests for twisted_bazaar.status.tracker: ``members`` answered with
``memberlist``, spoken to over real Links on fake transports and a Clock.
"""

from twisted.logger import Logger, formatEvent

from twisted_bazaar import wire
from twisted_bazaar.identity.proofs import REGISTER, Handshake
from twisted_bazaar.metrics.tracker import TrackerMetrics
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.status.messages import MemberList, Members
from twisted_bazaar.status.tracker import MEMBERS_RATE
from twisted_bazaar.reach.ownpaths import ownPaths
from twisted_bazaar.transports.path import CLAIMED, NAMED, RELAYED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET

from tests import records
from tests.schemes.test_index_tracker import Peer, TrackerIndexCase



def askMembers(case, peer):
    """What peer is answered to ``members``, asked a second after the
    last question (within MEMBERS_RATE: one a second from its group)."""
    case.tracker.clock.advance(1)
    peer.say(Members())
    [answer] = peer.heard()
    case.assertIsInstance(answer, MemberList)
    return answer

class MemberQuestionTests(TrackerIndexCase):
    """
    Building a memberlist of 700 nodes took the tracker about 4 ms, and a
    ``members`` costs its sender 20 bytes: one registered connection
    asking at its query rate (200 a second) took 80 % of the tracker's
    time, two all of it, and no node could register.  The answer is now
    built once for every asker until the registry changes.
    """

    def makeTracker(self, **settings):
        return super().makeTracker(ping_interval=0, **settings)

    def setUp(self):
        super().setUp()
        self.built = []
        extension = self.tracker.extensions["status"]
        members = extension.members
        self.patch(extension, "members", lambda: self.built.append(1) or members())

    def ask(self, peer):
        return askMembers(self, peer)

    def test_questionsCostOneBuild(self):
        first, first_id = self.join(4001, peer_host="10.1.0.1")
        asker, _ = self.join(0, peer_host="10.2.0.1")
        answers = [self.ask(asker) for _ in range(100)]
        self.assertEqual({answer.nodes for answer in answers},
                         {((first_id, "10.1.0.1", 4001, ""),)})
        self.assertEqual(len(self.built), 1)

    def test_aChangeIsAnsweredAtOnce(self):
        asker, _ = self.join(0, peer_host="10.2.0.1")
        self.assertEqual(self.ask(asker).nodes, ())
        _, joined = self.join(4001, peer_host="10.1.0.1")
        self.assertEqual([row[0] for row in self.ask(asker).nodes], [joined])
        self.tracker.registry.leave(joined)
        self.assertEqual(self.ask(asker).nodes, ())
        self.assertEqual(len(self.built), 3)


    def test_oneGroupsQuestionsGetAFewFramesASecond(self):
        """
        A market of 700 nodes: a memberlist is a frame (about 60 KB) for
        a 20-byte ``members``.  One connection asking 400 times in a
        second (its group's question rate) was sent 400 frames, 24 MB of
        the tracker's uplink a second; now its group is answered
        MEMBERS_RATE a second, in bursts of twice that, the rest dropped
        (said once in the log), and another group still gets its answer.
        """
        registry = self.tracker.registry
        for number in range(700):
            registry.join(number + 1, f"10.{number // 200}.{number % 200}.1", 4001)
        asker, _ = self.join(0, peer_host="10.2.0.1")
        sent, busy = 0, []
        for _ in range(400):
            asker.say(Members())
            for answer in asker.heard():
                if type(answer) is wire.Error:
                    busy.append(answer)
                else:
                    sent += len(wire.encode(answer))
        self.assertLessEqual(sent, 2 * MEMBERS_RATE * 65536)
        self.assertGreater(sent, 0)
        self.assertEqual(len(busy), 400 - 2 * MEMBERS_RATE)
        self.assertLess(max(len(wire.encode(answer)) for answer in busy), 128)
        other, _ = self.join(0, peer_host="10.9.0.1")
        other.say(Members())
        [answer] = other.heard()
        self.assertEqual(answer.total, 700)


    def test_pastTheRateIsAnsweredBusy(self):
        """
        Eight ``bazaar status`` at once from one machine: four were
        answered (a burst) and four dropped unsaid, failing after 10 s.
        A question past the rate is now answered ``busy`` with the
        milliseconds until one would be answered, and is, then: about a
        hundred bytes, nothing built, for a twenty-byte question.
        """
        self.join(4001, peer_host="10.1.0.1")
        askers = [self.join(0, peer_host=f"10.2.0.{n + 1}")[0] for n in range(8)]
        first = [type(asker.say(Members()) or asker.heard()[0]) for asker in askers]
        self.assertEqual(first, [MemberList] * 4 + [wire.Error] * 4)
        self.tracker.clock.advance(0.2)
        askers[4].say(Members())
        [busy] = askers[4].heard()
        self.assertEqual((busy.code, busy.retry_after), ("busy", 300))
        self.assertIn("members: 2 a second for your address group; ask again in 300 ms",
                      busy.info)
        self.assertLess(len(wire.encode(busy)), 128)
        self.assertEqual(len(self.built), 1)
        self.tracker.clock.advance(0.3)
        askers[4].say(Members())
        self.assertEqual([type(answer) for answer in askers[4].heard()], [MemberList])


class StatusClientsAreNoNodesTests(TrackerIndexCase):
    """A status client (a `bazaar status`, the web view's questions)
    registers for its question: it is no live node of the market in the
    tracker's `(N live)` lines or `bazaar_tracker_nodes`, as it is none
    in `memberlist`."""

    def setUp(self):
        super().setUp()
        self.metrics = TrackerMetrics(self.tracker)
        self.lines = []
        self.tracker.log = Logger(observer=lambda e: self.lines.append(formatEvent(e)))

    def nodes(self):
        return self.metrics.registry.get_sample_value("bazaar_tracker_nodes")

    def client(self, number):
        peer = Peer(self.tracker, "10.2.0.1", 50000 + number)
        peer.say(wire.ThisIsMe(2**31 + number, 0, "", purpose=STATUS))
        peer.heard()
        return peer

    def test_countedApart(self):
        """One node and two status clients: 1 live (it was 3), in the
        metric and the lines; a client leaving leaves the node counted."""
        self.join(4001, peer_host="10.1.0.1")
        clients = [self.client(number) for number in (1, 2)]
        self.assertEqual(self.nodes(), 1)
        self.assertEqual(len(self.tracker.registry), 3, "each holds its registration")
        clients[0].say(Members())
        self.assertEqual([answer.total for answer in clients[0].heard()], [1])
        clients[0].transport.loseConnection()
        self.assertEqual(self.nodes(), 1)
        self.join(4002, peer_host="10.1.0.2")
        self.assertEqual(self.nodes(), 2)
        self.assertEqual([line[-8:] for line in self.lines if " joined " in line
                          or " left " in line],
                         ["(1 live)", "(1 live)", "(1 live)", "(1 live)", "(2 live)"])


#: The public address of a home whose machines are behind one router, and
#: another's.
HOME = "203.0.113.5"
ELSEWHERE = "198.51.100.9"


class MemberLansTests(TrackerIndexCase):
    """
    A member's local addresses in ``memberlist.lans`` (protocol.md §12a):
    told to a status client at the member's home, as ``nodereply.lan`` is
    to a node there (§5, "Local addresses": the same public address, and
    only addresses on a subnet of the asker's own), to nobody else.  Before,
    a status client at home was told a housemate's relay and no local
    address, and asked it through the relay.
    """

    def makeTracker(self, **settings):
        return super().makeTracker(ping_interval=0, **settings)

    def member(self, port, seen, lan):
        """A node registered from seen, naming its local addresses."""
        identity = records.identity(next(self.keys))
        peer = Peer(self.tracker, seen)
        handshake = Handshake(identity, REGISTER)
        peer.say(wire.ThisIsMe(-1, port, "", key=identity.key, nonce=handshake.nonce,
                               paths=ownPaths(lan=lan)))
        [you] = peer.heard()
        peer.say(wire.Proof(handshake.prove(you.key, you.nonce)))
        return identity.id

    def client(self, seen, lan, number=1):
        """A status client registered from seen, naming lan."""
        peer = Peer(self.tracker, seen, 50000 + number)
        peer.say(wire.ThisIsMe(2**31 + number, 0, "", purpose=STATUS,
                               paths=ownPaths(lan=lan)))
        peer.heard()
        return peer

    def ask(self, peer):
        return askMembers(self, peer)

    def asker(self, seen, lan, number=1):
        return self.ask(self.client(seen, lan, number))

    def test_toAHousemate(self):
        seller = self.member(4001, HOME, ("192.168.1.2", "fd00::2"))
        self.member(4002, ELSEWHERE, ("192.168.1.7",))
        answer = self.asker(HOME, ("192.168.1.9",))
        self.assertEqual(answer.lans, {seller: ("192.168.1.2",)})
        self.assertEqual(len(answer.nodes), 2)
        self.assertEqual(wire.decode(wire.encode(answer)).lans, answer.lans)

    def test_toNobodyElse(self):
        """Not to an asker elsewhere on the same LAN addresses, nor at home
        without a local address of its own, nor behind the same public
        address on another subnet (two homes behind one carrier NAT): the
        list they are sent has no ``lans`` at all."""
        self.member(4001, HOME, ("192.168.1.2",))
        for number, (seen, lan) in enumerate([(ELSEWHERE, ("192.168.1.9",)),
                                              (HOME, None),
                                              (HOME, ("10.0.0.9",))]):
            answer = self.asker(seen, lan, number)
            self.assertIsNone(answer.lans, (seen, lan))
            self.assertNotIn("lans", wire.encode(answer).decode())

    def test_othersGetTheListBuiltOnce(self):
        """Askers told no local address share the one list built."""
        self.member(4001, HOME, ("192.168.1.2",))
        built = []
        extension = self.tracker.extensions["status"]
        members = extension.members
        self.patch(extension, "members", lambda: built.append(1) or members())
        home = self.client(HOME, ("192.168.1.9",), 1)
        others = [self.client(ELSEWHERE, None, number) for number in range(2, 5)]
        self.assertIsNotNone(self.ask(home).lans)
        self.assertEqual({self.ask(other).lans for other in others}, {None})
        self.assertEqual(len(built), 1)

    def test_theirLocalAddressesCountTowardsTheFrame(self):
        """A home of many members, each naming 4 local addresses: the
        housemate's list, ``lans`` and all, is cut to fit one frame."""
        registry = self.tracker.registry
        lan = tuple(f"192.168.1.{n}" for n in (2, 3, 4, 5))
        for n in range(1500):
            registry.join(10_000 + n, "h" * 100, 4001)
            registry.setLan(10_000 + n, HOME, lan)
        answer = self.asker(HOME, ("192.168.1.9",))
        self.assertEqual(answer.total, 1500)
        self.assertLess(len(answer.nodes), 1024)
        self.assertEqual(set(answer.lans), {row[0] for row in answer.nodes})
        self.assertLessEqual(len(wire.encode(answer)), self.tracker.settings.frame_limit)
        self.assertGreater(len(wire.encode(answer)),
                           self.tracker.settings.frame_limit - 400, "cut no shorter")


class MemberPathsTests(TrackerIndexCase):
    """
    A member's paths of a transport plugin's kind in ``memberlist.paths``
    (protocol.md §12a), as a ``nodereply`` names them (its WebSocket port,
    its claim, at the host the tracker names it at): a status client whose
    network lets only HTTP(S) out asks the member there.  Before, the list
    named none, and ``bazaar node`` from such a network waited out its
    timeout at the member's TCP port.
    """

    def makeTracker(self, **settings):
        return super().makeTracker(ping_interval=0, **settings)

    member = MemberLansTests.member
    client = MemberLansTests.client
    ask = MemberLansTests.ask
    asker = MemberLansTests.asker

    def test_named(self):
        node_id = self.member(4001, HOME, None)
        self.member(4002, ELSEWHERE, None)
        self.tracker.registry.said(node_id, HOME, (Path(WEBSOCKET, "10.9.9.9", 443),))
        answer = self.asker(ELSEWHERE, None)
        self.assertEqual(answer.paths,
                         {node_id: (Path(WEBSOCKET, HOME, 443, word=CLAIMED),)})
        self.assertEqual(wire.decode(wire.encode(answer)).paths, answer.paths)

    def test_theirRelaysWays(self):
        """A member held at a public node's relay that is reached over
        WebSocket too: its relayed path with the relay's ways, as a
        nodereply names it, so that ``bazaar node`` from a network that
        lets only HTTP(S) out opens its circuit there."""
        node_id = self.member(4001, HOME, None)
        ways = (Path(WEBSOCKET, "", 443, word=NAMED),)
        self.tracker.registry.setRelay(node_id, "198.51.100.9:7701", ways)
        answer = self.asker(ELSEWHERE, None)
        self.assertEqual(answer.relays, {node_id: "198.51.100.9:7701"})
        self.assertEqual(answer.paths, {node_id: (
            Path(RELAYED, relay="198.51.100.9:7701", word=NAMED, ways=ways),)})
        self.assertEqual(wire.decode(wire.encode(answer)).paths, answer.paths)

    def test_noneNamedNoPaths(self):
        self.member(4001, HOME, None)
        answer = self.asker(ELSEWHERE, None)
        self.assertIsNone(answer.paths)
        self.assertNotIn("paths", wire.encode(answer).decode())

    def test_theirPathsCountTowardsTheFrame(self):
        """Many members each with a path: the list, ``paths`` and all, is
        cut to fit one frame."""
        registry = self.tracker.registry
        for n in range(1500):
            registry.join(10_000 + n, "h" * 100, 4001)
            registry.said(10_000 + n, "h" * 100, (Path(WEBSOCKET, port=443),))
        answer = self.asker(ELSEWHERE, None)
        self.assertEqual(answer.total, 1500)
        self.assertLess(len(answer.nodes), 1024)
        self.assertEqual(set(answer.paths), {row[0] for row in answer.nodes})
        self.assertLessEqual(len(wire.encode(answer)), self.tracker.settings.frame_limit)
        self.assertGreater(len(wire.encode(answer)),
                           self.tracker.settings.frame_limit - 400, "cut no shorter")
