"""
Tests for twisted_bazaar.core.membership: a real Node's session with the
tracker (registering, keeping its id, questions and answers, leaving),
played byte for byte on a fake transport.  Keeping neighbours is the
topology's business: see tests/core/test_topology.py.
"""

import random

from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import FakeConnector, Recorder, WiredLink, parseJSONNetstrings, wirePaths
from twisted_bazaar.transports.path import NAMED, RELAYED, Path
from twisted_bazaar.daemon.build import plugMembership, punchingOf
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity, decode, keyId
from twisted_bazaar.testing.capabilities import secured
from twisted_bazaar.identity.proofs import REGISTER, Handshake
from twisted_bazaar.net.keepalive import DEFAULT_HANDSHAKE_TIMEOUT
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.timers import deadlinesFor
from twisted_bazaar.base.logthrottle import PEER_BURST
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.core.membership import (IDLE, INTRODUCING, REGISTERED, STOPPED, Membership,
                                            NoMove)
from twisted_bazaar.reach.asking import TrackerGone, TrackerSilent
from twisted_bazaar.core.topology import RandomNeighbours
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC, UNKNOWN, Reachability
from twisted_bazaar.reach.reachable.advertising import ADVERTISE_INTERVAL
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.schemes.index.messages import Found

NODE_PORT = 4100
NODE_ID = 77


#: Where a test's tracker connection leaves from (a StringTransport's
#: own address): a local address, which the node tells the tracker.
LOCAL_HOST = "10.0.0.1"


def thisisme(node_id=-1, host="", udp=None, **extra):
    """The thisisme a node sends the tracker: it asks to be told what the
    tracker's checks of its address find (``reach``), and names its local
    address (a path of kind ``lan``), and its QUIC port, if it serves it
    (``udp``)."""
    return dict({"type": "thisisme", "id": wireId(node_id), "port": NODE_PORT, "host": host,
                 "reach": True, "paths": wirePaths(lan=[LOCAL_HOST], udp=udp)}, **extra)


THISISYOU = {"type": "thisisyou", "id": wireId(NODE_ID), "port": NODE_PORT}


def nodereply(peer_id, port=None):
    """The tracker naming node peer_id at host h<id>, port 5000+id."""
    return {"type": "nodereply", "id": wireId(peer_id), "host": f"h{peer_id}",
            "port": 5000 + peer_id if port is None else port}



class _Finds:
    """A part that takes the tracker's ``found`` (as a scheme takes its
    answers), noting them."""

    def __init__(self):
        self.handled = []

    def found(self, link, message):
        self.handled.append(message)

    fromTracker = {Found: found}

class _Scheme:
    """Stands in for node.discovery: what membership tells the tracker."""

    def __init__(self, name, superpeer=None):
        self.name = name
        self.superpeer = superpeer


class MembershipCase(SynchronousTestCase):
    """
    A node with no topology (nobody asks for neighbours), so the tracker
    link carries only what the test makes the session say.  Link timers
    are off.
    """

    def setUp(self):
        self.clock = Clock()
        config = NodeConfig(link=LinkSettings(handshake_timeout=0, ping_interval=0))
        self.node = Node(self.clock, random.Random(0), self.makeConnector(), config,
                         transports=self.makeTransports())
        self.node.setAddress("", NODE_PORT)
        self.membership = plugMembership(self.node, self.makeMembership())
        self.recorder = Recorder()
        self.node.addObserver(self.recorder)
        self.tracker = self.connectTracker()

    def makeConnector(self):
        """The node's connector: a memory network's kind, whose hosts are
        labels its dialer checks none of."""
        return FakeConnector()

    def makeTransports(self):
        """The node's transports: None, those over its connector."""
        return None

    def makeMembership(self):
        """The node's tracker session."""
        return Membership(self.node)

    def connectTracker(self):
        return WiredLink(self.membership.factory, "192.0.2.1", 7700)

    def register(self):
        """Complete the handshake (a node whose thisisme named a key is
        named that key's id, as a tracker names it)."""
        keys = [said["key"] for said in self.tracker.heard() if said.get("key")]
        self.tracker.say(dict(THISISYOU, id=wireId(keyId(keys[-1]))) if keys
                         else THISISYOU)
        self.assertEqual(self.tracker.heard(), [])

    def answers(self, d):
        """What d fires with, collected in a list (failures as Failures)."""
        results = []
        d.addBoth(results.append)
        return results


class RegistrationTests(MembershipCase):

    def test_connectSaysThisismeWithNoIdAndNodePort(self):
        self.assertEqual(self.tracker.heard(), [thisisme()])

    def test_aSilentTrackerIsRefusedForNoThisisyou(self):
        """A tracker that never answers the node's thisisme is refused
        once the handshake's time is up, with what the node waited for:
        thisisyou (it said 'no thisisme', which the node had sent)."""
        config = NodeConfig(link=LinkSettings(handshake_timeout=2.5, ping_interval=0))
        node = Node(self.clock, random.Random(0), FakeConnector(), config)
        node.setAddress("", NODE_PORT)
        tracker = WiredLink(plugMembership(node, Membership(node)).factory)
        self.assertEqual(tracker.heard(), [thisisme()])
        self.clock.advance(2.5)
        self.assertEqual(tracker.heard(), [{"type": "error", "code": "notim",
                                            "info": "no thisisyou within 2.5 s"}])
        self.assertTrue(tracker.closed)

    def test_configuredHostIsAdvertised(self):
        node = Node(self.clock, random.Random(0), FakeConnector(),
                    NodeConfig(host="seller.example"))
        node.setAddress("", NODE_PORT)
        tracker = WiredLink(plugMembership(node, Membership(node)).factory)
        self.assertEqual(tracker.heard(), [thisisme(host="seller.example")])
        self.assertEqual(node.host, "seller.example")

    def test_thisismeNamesTheSchemeAndSuperPeerOffer(self):
        """The tracker learns the node's scheme (and, for schemes that
        have them, whether it offers to be a super-peer)."""
        for scheme, extra in ((_Scheme("flood"), {"scheme": "flood"}),
                              (_Scheme("leafy", True), {"scheme": "leafy",
                                                        "super": True})):
            node = Node(self.clock, random.Random(0), FakeConnector())
            node.setAddress("", NODE_PORT)
            node.discovery = scheme
            tracker = WiredLink(plugMembership(node, Membership(node)).factory)
            self.assertEqual(tracker.heard(), [thisisme(**extra)])

    def test_thisismeNamesTheQuicPort(self):
        """A node that serves QUIC names its UDP port to the tracker
        (udp); one that serves none names none."""
        node = Node(self.clock, random.Random(0), FakeConnector())
        node.setAddress("", NODE_PORT)
        node.udpPort = 4433
        tracker = WiredLink(plugMembership(node, Membership(node)).factory)
        self.assertEqual(tracker.heard(), [thisisme(udp=4433)])

    def test_noLocalAddressThatIsPublic(self):
        """A node whose tracker connection leaves from a public address
        (it is not at home) names no local address."""
        node = Node(self.clock, random.Random(0), FakeConnector())
        node.setAddress("", NODE_PORT)
        membership = plugMembership(node, Membership(node))
        link = membership.factory.buildProtocol(None)
        transport = StringTransport(hostAddress=IPv4Address("TCP", "192.0.2.8", 5555))
        link.makeConnection(transport)
        [hello] = parseJSONNetstrings(transport.value())
        self.assertNotIn("paths", hello)

    def test_aNodeAtHomeTellsNobodyItsLocalAddress(self):
        """Without --host, a node whose tracker connection leaves from a
        local address (at home) tells everyone (its records, its thisisme
        to peers, its public state: all read node.host) no host until the
        tracker says where it sees it, then that host; never its local
        address, which it names to the tracker alone (lan).  Its next
        tracker connection keeps the host the tracker saw."""
        self.assertEqual(self.tracker.transport.getHost().host, LOCAL_HOST)
        self.assertEqual(self.node.host, "")
        self.assertEqual(self.node.introduction().host, "")
        self.register()
        self.tracker.say(seenAt("203.0.113.7"))
        self.assertEqual(self.node.host, "203.0.113.7")
        self.assertEqual(self.node.introduction().host, "203.0.113.7")
        # The parts that advertise the node's address are told.
        self.assertIn(("relayChanged",), self.recorder.events)
        self.tracker.transport.loseConnection()
        again = self.connectTracker()
        [hello] = again.heard()
        self.assertEqual((hello["host"], hello["paths"]), ("", wirePaths(lan=[LOCAL_HOST])))
        self.assertEqual(self.node.host, "203.0.113.7")

    def test_aTrackerNamingANewHostInEachReachHasItAdvertisedAtMostEvery5s(self):
        """
        A lying tracker whose every reach names another host it sees the
        node at home at: each had every part advertise the node again
        (every item registered again, each record signed anew): 100
        reach, 100 rounds.  Now a new host is advertised at most once in
        ADVERTISE_INTERVAL, the latest then (2 rounds of the 100), the host
        told at once; the wait after a round doubles, as a relay's does
        (the next host, 5 s after, waits 5 s more); none waits once the
        node stops.
        """
        self.register()
        del self.recorder.events[:]
        for i in range(100):
            self.tracker.say(seenAt(f"203.0.113.{i}"))
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 1)
        self.assertEqual(self.node.host, "203.0.113.99")
        self.clock.advance(ADVERTISE_INTERVAL)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 2)
        self.clock.advance(ADVERTISE_INTERVAL)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 2)
        self.tracker.say(seenAt("203.0.113.7"))
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 2)
        self.clock.advance(ADVERTISE_INTERVAL)
        self.assertEqual(self.recorder.events.count(("relayChanged",)), 3)
        self.tracker.say(seenAt("203.0.113.8"))
        self.membership.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aReachNamingNoNewHostLeavesNothingHeld(self):
        """A reach that gives the node no new host to advertise leaves its
        session holding nothing for it (a Reaching and its closures, 632
        bytes a node of a cold simulated run, was kept for a reach heard
        once); one that does is kept while the new host waits on the
        node's pace, and withdrawn from it when the session stops."""
        config = NodeConfig(host="198.51.100.9",
                            link=LinkSettings(handshake_timeout=0, ping_interval=0))
        self.node = Node(self.clock, random.Random(0), FakeConnector(), config)
        self.node.setAddress("", NODE_PORT)
        told = plugMembership(self.node, Membership(self.node))
        self.tracker = WiredLink(told.factory)
        self.register()
        self.tracker.say(reach(True))
        self.tracker.say(reach(False))
        self.assertEqual(self.node.reach.state, PRIVATE)
        self.assertIsNone(told._reaching)
        self.setUp()
        self.register()
        self.tracker.say(seenAt("203.0.113.7"))
        self.assertIsNotNone(self.membership._reaching)
        self.assertEqual(self.node.host, "203.0.113.7")
        self.membership.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stoppingMakesNoAdvertisingPace(self):
        """A node made its pace of advertising (Node.advertising, made at
        its first new host or relay: 577 bytes) as its session stopped,
        though it never had a new host; now only one that had one."""
        self.register()
        self.membership.stopService()
        self.assertNotIn("advertising", vars(self.node))

    def test_aNodeOnAPublicAddressTellsIt(self):
        """A node whose tracker connection leaves from an address that is
        not local tells everyone that one, as the tracker sees it."""
        node = Node(self.clock, random.Random(0), FakeConnector())
        node.setAddress("", NODE_PORT)
        membership = plugMembership(node, Membership(node))
        link = membership.factory.buildProtocol(None)
        link.makeConnection(
            StringTransport(hostAddress=IPv4Address("TCP", "192.0.2.8", 5555)))
        self.assertEqual(node.host, "192.0.2.8")

    def test_thisisyouSetsIdAndTellsObservers(self):
        self.assertIsNone(self.node.id)
        self.assertFalse(self.membership.isRegistered)
        self.assertEqual(self.recorder.events, [])
        self.register()
        self.assertEqual(self.node.id, NODE_ID)
        self.assertTrue(self.membership.isRegistered)
        self.assertEqual(self.recorder.events, [("nodeReady",), ("trackerRegistered",)])

    def test_keyedNodeProvesItsKeyToTheTracker(self):
        """A node with a key sends it and a nonce; to the tracker's
        thisisyou it answers with its proof to the tracker's key, for a
        registration, with both nonces; a thisisyou that names only one of
        the tracker's key and nonce is refused."""
        me, tracker_key = (Identity.fromRandom(random.Random(n)) for n in (1, 2))
        node = Node(self.clock, random.Random(0), FakeConnector(), identity=me)
        node.setAddress("", NODE_PORT)
        tracker = WiredLink(plugMembership(node, Membership(node)).factory)
        [hello] = tracker.heard()
        self.assertEqual(hello["key"], me.key)
        registration = Handshake(tracker_key, REGISTER)
        tracker.say(dict(THISISYOU, id=wireId(me.id), key=tracker_key.key,
                         nonce=registration.nonce))
        [proof, ping] = tracker.heard()
        self.assertEqual(proof["type"], "proof")
        self.assertTrue(registration.proven(me.key, hello["nonce"], proof["sig"]))
        self.assertEqual(ping["type"], "ping")
        self.assertEqual(node.id, me.id)
        for half in ({"key": tracker_key.key}, {"nonce": "n"}):
            node = Node(self.clock, random.Random(0), FakeConnector(), identity=me)
            tracker = WiredLink(plugMembership(node, Membership(node)).factory)
            tracker.heard()
            tracker.say(dict(THISISYOU, **half))
            self.assertEqual([m["code"] for m in tracker.heard()], ["wtf"])
            self.assertTrue(tracker.closed)
            self.assertIsNone(node.id)

    def provingNode(self):
        """A node with a key whose tracker named it and was sent its proof,
        and the ping behind the proof: the node, the tracker's side
        (L{WiredLink}), its events, its lines, the ping."""
        me, tracker_key = (Identity.fromRandom(random.Random(n)) for n in (1, 2))
        node = Node(self.clock, random.Random(0), FakeConnector(), identity=me)
        node.setAddress("", NODE_PORT)
        recorder = Recorder()
        node.addObserver(recorder)
        tracker = WiredLink(plugMembership(node, Membership(node)).factory)
        tracker.heard()
        with capturedLogs() as events:
            tracker.say(dict(THISISYOU, id=wireId(me.id), key=tracker_key.key,
                             nonce=Handshake(tracker_key, REGISTER).nonce))
        proof, ping = tracker.heard()
        self.assertEqual((proof["type"], ping["type"]), ("proof", "ping"))
        return node, tracker, recorder, [formatEvent(event) for event in events], ping

    def test_aProvenNodeIsRegisteredOnceTheTrackerShowsIt(self):
        """The tracker says nothing when it takes a node's proof, and
        answers pings only on a connection it registered: a node says it
        is registered and ready once the pong of the ping it sent behind
        its proof comes, not when it sent the proof."""
        node, tracker, recorder, lines, ping = self.provingNode()
        self.assertEqual([line for line in lines if "registered" in line
                          or "ready" in line], [])
        self.assertNotIn(("nodeReady",), recorder.events)
        with capturedLogs() as events:
            tracker.say({"type": "pong", "nonce": ping["nonce"]})
        lines = [formatEvent(event) for event in events]
        self.assertEqual(lines, [
            f"registered with the tracker as node {wireId(node.id)[:8]} (id "
            f"{wireId(node.id)})",
            f"node {wireId(node.id)[:8]} ready, listening on port {NODE_PORT} (id "
            f"{wireId(node.id)})"])
        self.assertEqual(recorder.events.count(("nodeReady",)), 1)

    def test_aPongThatNeverComesEndsTheLink(self):
        """A tracker that took the proof but whose pong never comes (a
        lost ping or pong in a Market's or bazaar-sim's faults): the node
        refuses the link at the handshake's deadline, and so dials again.
        Before, it stayed on the open link, never registered and never
        trying again (a buyer of a Market with Faults(drop=0.05) never
        searched)."""
        node, tracker, recorder, _, ping = self.provingNode()
        self.clock.advance(DEFAULT_HANDSHAKE_TIMEOUT - 0.1)
        self.assertFalse(tracker.closed)
        self.clock.advance(0.1)
        self.assertEqual([(m["code"], m["info"]) for m in tracker.heard()
                          if m["type"] == "error"],
                         [("notim", "no pong to the proof's ping within "
                           f"{DEFAULT_HANDSHAKE_TIMEOUT:g} s")])
        self.assertTrue(tracker.closed)
        self.assertNotIn(("nodeReady",), recorder.events)

    def test_aPongInTimeLeavesNoDeadline(self):
        node, tracker, recorder, _, ping = self.provingNode()
        tracker.say({"type": "pong", "nonce": ping["nonce"]})
        self.clock.advance(DEFAULT_HANDSHAKE_TIMEOUT)
        self.assertFalse(tracker.closed)
        self.assertIn(("nodeReady",), recorder.events)

    def test_aProofTheTrackerRefusesIsNeverSaidRegistered(self):
        """A tracker that refuses the proof (error, and a close): the node
        never says it is registered, nor ready."""
        node, tracker, recorder, lines, _ = self.provingNode()
        with capturedLogs() as events:
            tracker.say({"type": "error", "code": "wtf", "info": "that proof does "
                         "not prove your key to this tracker in this registration"})
            tracker.transport.loseConnection()
        lines += [formatEvent(event) for event in events]
        self.assertEqual([line for line in lines if "registered with" in line
                          or "ready" in line], [])
        self.assertNotIn(("nodeReady",), recorder.events)

    def provingNodeAsking(self):
        """L{provingNode}, with a topology that wants a neighbour: what the
        node, the tracker's side, its events and the topology are."""
        me, tracker_key = (Identity.fromRandom(random.Random(n)) for n in (1, 2))
        node = Node(self.clock, random.Random(0), FakeConnector(), identity=me)
        node.setAddress("", NODE_PORT)
        membership = plugMembership(node, Membership(node))
        topology = RandomNeighbours(node, 1)
        topology.startService()
        self.addCleanup(topology.stopService)
        recorder = Recorder()
        node.addObserver(recorder)
        tracker = WiredLink(membership.factory)
        tracker.heard()
        tracker.say(dict(THISISYOU, id=wireId(me.id), key=tracker_key.key,
                         nonce=Handshake(tracker_key, REGISTER).nonce))
        return node, membership, tracker, recorder

    def test_aNamedNodeStartsNothingUntilTheTrackerShowsItTookIt(self):
        """
        Named, its proof sent, the tracker yet to answer the ping behind
        it: the parts were told trackerRegistered and started (a topology
        asked for a peer, a buyer searched: node.ready) on being named.
        Now they wait for the pong: nothing but the proof and the ping is
        sent, the node is not ready, the session carries nothing
        (isRegistered, send); on the pong, all start.
        """
        node, membership, tracker, recorder = self.provingNodeAsking()
        proof, ping = tracker.heard()
        self.assertEqual((proof["type"], ping["type"]), ("proof", "ping"))
        self.assertEqual(recorder.events, [])
        self.assertFalse(node.ready)
        self.assertFalse(membership.isRegistered)
        self.assertFalse(membership.send(wire.WhereIs(5)))
        tracker.say({"type": "pong", "nonce": ping["nonce"]})
        self.assertEqual(recorder.events, [("nodeReady",), ("trackerRegistered",)])
        self.assertTrue(node.ready)
        self.assertTrue(membership.isRegistered)
        self.assertEqual([said["type"] for said in tracker.heard()], ["nodereq"])

    def test_aReachBeforeThePongWaitsForIt(self):
        """A tracker may send its check's reach before the pong: the
        node's parts are told it (they reserve at a relay, offer one) only
        once the tracker showed it took the node, the latest one."""
        node, membership, tracker, recorder = self.provingNodeAsking()
        _, ping = tracker.heard()
        told = []
        node.addObserver(type("Told", (NodeObserver,), {
            "reachChanged": lambda _, reach, port: told.append(reach.seen_host)})())
        tracker.say(seenAt("203.0.113.7"))
        tracker.say(seenAt("203.0.113.8"))
        self.assertEqual(told, [])
        tracker.say({"type": "pong", "nonce": ping["nonce"]})
        self.assertEqual(told, ["203.0.113.8"])
        self.assertEqual(node.host, "203.0.113.8")

    def test_aRefusedProofStartsNothing(self):
        """A tracker that refuses the proof: no part is told the node is
        registered, none asks or says anything, the node is never ready."""
        node, membership, tracker, recorder = self.provingNodeAsking()
        tracker.heard()
        tracker.say({"type": "error", "code": "wtf", "info": "that proof does not "
                     "prove your key to this tracker in this registration"})
        tracker.transport.loseConnection()
        self.assertEqual(recorder.events, [])
        self.assertEqual(tracker.heard(), [])
        self.assertFalse(node.ready)

    def test_otherMessagesBeforeThisisyouAreWtf(self):
        self.tracker.heard()
        self.tracker.say(nodereply(11))
        self.assertEqual(self.tracker.heard(), [{
            "type": "error", "code": "wtf",
            "info": "a node does not expect nodereply from the tracker before "
                    "thisisyou"}])
        self.assertFalse(self.membership.isRegistered)

    def test_reconnectSaysThisismeWithKnownId(self):
        self.register()
        self.tracker.transport.loseConnection()
        self.assertIsNone(self.membership.link)
        self.assertFalse(self.membership.isRegistered)
        self.tracker = self.connectTracker()
        self.assertEqual(self.tracker.heard(), [thisisme(NODE_ID)])
        self.tracker.say(THISISYOU)
        self.assertTrue(self.membership.isRegistered)
        self.assertEqual(self.recorder.events, [("nodeReady",), ("trackerRegistered",),
                                                ("trackerRegistered",)])

    def test_trackerDcClosesTheLink(self):
        self.register()
        self.tracker.say({"type": "dc"})
        self.assertTrue(self.tracker.closed)
        self.assertIsNone(self.membership.link)


def reach(reachable, host="198.51.100.9", port=NODE_PORT, seen_port=40123,
          seen_host="198.51.100.9"):
    """What the tracker tells of a check of the node's address."""
    return {"type": "reach", "host": host, "port": port, "reachable": reachable,
            "seenHost": seen_host, "seenPort": seen_port}


def seenAt(host):
    """A reach of a node at home that the tracker saw come from host."""
    return reach(False, host, seen_port=40312, seen_host=host)


class ReachTests(MembershipCase):
    """
    The tracker tells the node what each check of its address found
    (``reach``): the node keeps it as its reachability, and logs a line
    when that changes, through its peer log.
    """

    def setUp(self):
        super().setUp()
        self.lines = []
        observer = lambda event: self.lines.append(formatEvent(event))
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.register()

    def reachLines(self):
        return [line for line in self.lines if "reachable from outside" in line]

    def test_unknownUntilTold(self):
        self.assertEqual(self.node.reach, Reachability(UNKNOWN))

    def test_behindNAT(self):
        """Not reachable: the node is private, knows the address it was
        seen from, and says so once, however often it is told."""
        self.tracker.say(reach(False))
        self.assertEqual(self.node.reach, Reachability(
            PRIVATE, "198.51.100.9", NODE_PORT, "198.51.100.9", 40123, "10.0.0.1"))
        self.assertEqual(self.reachLines(), [
            f"this node is not reachable from outside at 198.51.100.9:{NODE_PORT} "
            "(behind NAT?): other nodes cannot dial it; the tracker saw it connect "
            "from 198.51.100.9:40123"])
        self.tracker.say(reach(False, seen_port=40999))
        self.assertEqual(self.node.reach.seen_port, 40999)
        self.assertEqual(len(self.reachLines()), 1)
        self.assertEqual(self.tracker.heard(), [])

    def test_behindAFirewall(self):
        """Seen coming from the very address its tracker connection leaves
        from (an IPv6 home's routed prefix behind a stateful firewall):
        no NAT rewrote it, so the line guesses a firewall (it said
        "behind NAT?")."""
        home = "2001:db8:1:200::2"
        self.tracker.transport.hostAddr = IPv6Address("TCP", home, 40123)
        self.tracker.say(reach(False, host=home, seen_host=home))
        self.assertEqual(self.reachLines(), [
            f"this node is not reachable from outside at [{home}]:{NODE_PORT} "
            "(behind a firewall?): other nodes cannot dial it; the tracker saw it "
            f"connect from [{home}]:40123"])
        # Where it leaves from is kept with the reach, for its status
        # answer: bazaar node guesses as this line does.
        self.assertEqual(self.node.reach.local_host, home)

    def test_reachableLater(self):
        """A change is logged: private, then public (a port forwarded)."""
        self.tracker.say(reach(False))
        self.tracker.say(reach(True))
        self.assertEqual(self.node.reach.state, PUBLIC)
        self.assertEqual(self.reachLines()[1:], [
            f"this node is reachable from outside at 198.51.100.9:{NODE_PORT}: the "
            "tracker dialled it there"])

    def test_anotherAddressIsAChange(self):
        self.tracker.say(reach(True))
        self.tracker.say(reach(True, host="198.51.100.10"))
        self.assertEqual(len(self.reachLines()), 2)

    def test_punchMapping(self):
        """The node's punches are told what the check says of its router
        (the reachChanged event, which they observe): the port its
        tracker connection left from (12345 here) seen unchanged, it can
        punch from the public host seen; seen changed, it cannot, and
        says why."""
        punching = punchingOf(self.node)
        self.node.addObserver(punching)
        puncher = punching.puncher
        self.tracker.say(reach(False, seen_port=12345))
        self.assertEqual((puncher.mapping.host, puncher.mapping.punchable),
                         ("198.51.100.9", True))
        self.tracker.say(reach(False, seen_port=40123))
        self.assertFalse(puncher.mapping.punchable)
        self.assertIn("its router changed the source port", puncher.mapping.why)

    def test_reachChangedOnEachCheck(self):
        """Every part observing the node is told each check's word, the
        same as before or not, with the tracker connection's local port."""
        told = []

        class Watcher(NodeObserver):
            def reachChanged(self, reach, local_port):
                told.append((reach.state, local_port))

        self.node.addObserver(Watcher())
        self.tracker.say(reach(False, seen_port=12345))
        self.tracker.say(reach(False, seen_port=12345))
        self.tracker.say(reach(True))
        self.assertEqual(told, [(PRIVATE, 12345), (PRIVATE, 12345), (PUBLIC, 12345)])

    def test_linesBoundedByThePeerLog(self):
        """A tracker that changes its mind on every message cannot make
        the node log a line for each."""
        for _ in range(50):
            self.tracker.say(reach(False))
            self.tracker.say(reach(True))
        self.assertEqual(len(self.reachLines()), PEER_BURST * 2)



class StoppingTests(MembershipCase):

    def test_stoppingSaysDc(self):
        self.register()
        self.node.shutdown()
        self.membership.stopService()
        self.assertEqual(self.tracker.heard(), [{"type": "dc"}])
        self.assertTrue(self.tracker.closed)
        self.assertIsNone(self.membership.link)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stoppingWhileIntroducingSaysDc(self):
        self.tracker.heard()
        self.membership.stopService()
        self.assertEqual(self.tracker.heard(), [{"type": "dc"}])
        self.assertTrue(self.tracker.closed)

    def test_questionOutAtStopFailsWithTrackerGone(self):
        self.register()
        asked = self.answers(self.membership.ask(wire.NodeReq()))
        self.membership.stopService()
        [failure] = asked
        failure.trap(TrackerGone)

    def test_questionsTimerGoesAtStopThoughTheLinkLingers(self):
        """Stopping fails the questions out and cancels their timer at
        once, though the tracker's connection is still closing."""
        self.register()
        self.tracker.transport.loseConnection = lambda: None
        asked = self.answers(self.membership.ask(wire.WhereIs(41)))
        self.membership.stopService()
        [failure] = asked
        failure.trap(TrackerGone)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_thisisyouAfterStopIsIgnored(self):
        """The tracker's answer arrives after the node began stopping: the
        session (stopped) takes no id from it and tells nobody."""
        link = self.tracker.link
        self.membership.stop()
        self.membership.messageReceived(link, wire.ThisIsYou(NODE_ID, NODE_PORT))
        self.assertIsNone(self.node.id)
        self.assertFalse(self.node.ready)
        self.assertFalse(self.membership.isRegistered)
        self.assertEqual(self.recorder.events, [])

    def test_thisisyouAfterStopIsIgnoredWhenTheLinkStays(self):
        """The same over the wire: the session says dc when it stops, and
        a thisisyou that comes after registers nothing."""
        self.tracker.heard()
        self.membership.stop()
        self.assertEqual(self.tracker.heard(), [{"type": "dc"}])
        # The link is closing; whatever the tracker still says is dropped.
        self.tracker.say(THISISYOU)
        self.assertIsNone(self.node.id)
        self.assertFalse(self.membership.isRegistered)
        self.assertEqual(self.recorder.events, [])

    def test_noNewSessionOnceStopped(self):
        self.register()
        self.membership.stopService()
        self.tracker = self.connectTracker()
        self.assertEqual(self.tracker.heard(), [])
        self.assertTrue(self.tracker.closed)
        self.assertFalse(self.membership.isRegistered)


class StateTests(MembershipCase):
    """The session's states, as its inputs move it (L{Membership.state})."""

    def test_idleIntroducingRegisteredIdle(self):
        session = Membership(self.node)
        self.assertEqual(session.state, IDLE)
        self.assertEqual(self.membership.state, INTRODUCING)
        self.register()
        self.assertEqual(self.membership.state, REGISTERED)
        self.tracker.link.transport.loseConnection()
        self.assertEqual(self.membership.state, IDLE)
        self.membership.stopService()
        self.assertEqual(self.membership.state, STOPPED)

    def test_anInputTheStateDoesNotTakeIsABug(self):
        """A second link up while one is introducing: no state takes it."""
        self.assertEqual(self.membership.state, INTRODUCING)
        with self.assertRaises(NoMove) as raised:
            self.membership.connected(self.tracker.link)
        self.assertEqual(str(raised.exception),
                         "the tracker session takes no connected when introducing")

    def test_aSessionHoldsNoMachineOfItsOwn(self):
        """Its inputs can leave no attribute on it past its slots, which
        the session is built with: it has no dict (automat's held a
        transitioner a session, 0.2 kB of every simulated node with its
        inputs' closures; a dict of its fields was 40 bytes more than
        slots)."""
        self.register()
        self.assertFalse(hasattr(self.membership, "__dict__"))
        with self.assertRaises(AttributeError):
            self.membership._symbol_0 = None
        self.assertIs(self.membership.linkContext, self.membership.link._context)

    def test_aSessionIsItsLinksContext(self):
        """A session holds one link at a time, and is that link's context
        itself: no L{LinkContext} of its own (96 bytes of every simulated
        node, docs/simulator.md's twenty-fifth round), the link reading
        its node's clock, settings and deadlines through it."""
        self.register()
        link, node = self.membership.link, self.membership.node
        self.assertIs(link._context, self.membership)
        self.assertEqual((link.owner, link.clock, link.settings, link.timers),
                         (self.membership, node.clock, node.config.link,
                          deadlinesFor(node.clock)))


class _WiredEndpoint:
    """A tracker's endpoint: each connect() is a L{WiredLink} the test
    plays, or refused while C{refusing}."""

    def __init__(self, host):
        self.host = host
        self.refusing = False
        self.links = []

    def connect(self, factory):
        from twisted.internet.error import ConnectionRefusedError

        if self.refusing:
            return defer.fail(ConnectionRefusedError())
        wired = WiredLink(factory, self.host, 7700)
        self.links.append(wired)
        return defer.succeed(wired.link)


class SeveralTrackersTests(SynchronousTestCase):
    """A node of two trackers registers with one at a time: with the
    second when the first refuses or is lost, with the first again once it
    answers (asked every retry_max seconds)."""

    def setUp(self):
        self.clock = Clock()
        config = NodeConfig(link=LinkSettings(handshake_timeout=0, ping_interval=0))
        self.node = Node(self.clock, random.Random(0), FakeConnector(), config)
        self.node.setAddress("", NODE_PORT)
        self.first, self.second = _WiredEndpoint("192.0.2.1"), _WiredEndpoint("192.0.2.2")
        self.membership = plugMembership(self.node, Membership(
            self.node, self.first, 0.5, 30.0, "192.0.2.1:7700",
            others=[(self.second, "192.0.2.2:7700")]))
        self.lines = []
        globalLogPublisher.addObserver(self.logged)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged)

    def logged(self, event):
        self.lines.append(formatEvent(event))

    def register(self, wired):
        [hello] = wired.heard()
        self.assertEqual(hello["type"], "thisisme")
        wired.say(THISISYOU)

    def test_lostTrackerMovesToTheNextAndBack(self):
        self.first.refusing = True
        self.membership.startService()
        self.addCleanup(self.membership.stopService)
        self.assertEqual(self.first.links, [])
        self.clock.advance(1)
        [onSecond] = self.second.links
        self.register(onSecond)
        self.assertTrue(self.membership.isRegistered)
        self.assertIn(f"registered with the tracker as node {NODE_ID} (id "
                      f"{wireId(NODE_ID)}) at 192.0.2.2:7700", self.lines)
        # The first answers again: the node leaves the second (dc) for it.
        self.first.refusing = False
        self.clock.advance(30)
        [probe] = self.first.links
        self.assertEqual(onSecond.heard(), [{"type": "dc"}])
        self.assertTrue(onSecond.closed)
        self.clock.advance(1)
        [_, onFirst] = self.first.links
        self.register(onFirst)
        self.assertIs(self.membership.link, onFirst.link)
        self.assertTrue(self.membership.isRegistered)
        # Lost for good: the second again.
        onFirst.transport.loseConnection()
        self.clock.advance(1)
        self.assertEqual(len(self.second.links), 2)


    def test_aSilentTrackerIsLeftForTheNext(self):
        """A tracker that registers the node and then leaves its questions
        unanswered: each fails when its wait ends (TrackerSilent), and
        after three in a row the node says one line, leaves it (dc) and
        registers with the next, where its questions are answered."""
        self.membership.startService()
        self.addCleanup(self.membership.stopService)
        [onFirst] = self.first.links
        self.register(onFirst)
        wait = LinkSettings().handshake_timeout
        answers = []
        for peer in (41, 42, 43):
            self.node.whereabouts.book.whereIs(peer).addBoth(answers.append)
            self.clock.advance(wait)
        self.assertEqual([failure.check(TrackerSilent) for failure in answers],
                         [TrackerSilent] * 3)
        self.assertEqual([said["type"] for said in onFirst.heard()],
                         ["whereis", "whereis", "whereis", "dc"])
        self.assertTrue(onFirst.closed)
        self.assertIn("leaving the tracker at 192.0.2.1:7700: the tracker left 3 "
                      "questions in a row unanswered (10 s each)", self.lines)
        self.clock.advance(1)
        [onSecond] = self.second.links
        self.register(onSecond)
        where = []
        self.node.whereabouts.book.whereIs(44).addCallback(where.append)
        self.assertEqual(onSecond.heard(), [{"type": "whereis", "id": "44"}])
        onSecond.say(nodereply(44))
        self.assertEqual(where, [("h44", 5044)])

    def test_aSilentOnlyTrackerIsConnectedToAgain(self):
        """A node of one tracker that leaves its questions unanswered
        leaves it the same way, and connects to it again."""
        membership = plugMembership(self.node, Membership(
            self.node, self.first, 0.5, 30.0, "192.0.2.1:7700"))
        membership.startService()
        self.addCleanup(membership.stopService)
        [first] = self.first.links
        self.register(first)
        for peer in (41, 42, 43):
            membership.ask(wire.WhereIs(peer)).addErrback(lambda f: f.trap(TrackerSilent))
            self.clock.advance(LinkSettings().handshake_timeout)
        self.assertTrue(first.closed)
        self.assertIn("leaving the tracker: the tracker left 3 questions in a row "
                      "unanswered (10 s each)", self.lines)
        self.clock.advance(1)
        [_, again] = self.first.links
        self.register(again)
        self.assertTrue(membership.isRegistered)

    def test_aTrackerNamingAnotherIdThanTheKeysIsLeft(self):
        """
        A lying tracker among several, named first, answers a node with a
        key thisisyou naming another id (an honest node's): the node took
        it (and stored it), and named it with its key in every thisisme
        from then on, which every peer and relay refuses (an id that is
        not the key's): out of the market, registered with a tracker that
        kept it.  Now it refuses that thisisyou (error{wtf}), and, the
        connection closed, registers with the next tracker as its key's
        id.
        """
        me, other = (Identity.fromRandom(random.Random(n)) for n in (1, 2))
        self.node.identity = me
        self.membership.startService()
        self.addCleanup(self.membership.stopService)
        [liar] = self.first.links
        [hello] = liar.heard()
        liar.say(dict(THISISYOU, id=wireId(other.id), key=other.key,
                      nonce=Handshake(other, REGISTER).nonce))
        [error] = liar.heard()
        self.assertEqual((error["type"], error.get("code")), ("error", "wtf"))
        self.assertIn(f"a node with a key is its key's id, {wireId(me.id)}",
                      error["info"])
        self.assertTrue(liar.closed)
        self.assertIsNone(self.node.id)
        self.clock.advance(1)
        [honest] = self.second.links
        [hello] = honest.heard()
        honest.say(dict(THISISYOU, id=wireId(me.id), key=other.key,
                        nonce=Handshake(other, REGISTER).nonce))
        self.assertEqual(self.node.id, me.id)
        proof, ping = honest.heard()
        honest.say({"type": "pong", "nonce": ping["nonce"]})
        self.assertTrue(self.membership.isRegistered)

    def test_aThisisyouNamingAKeyTheChannelDidNotProveIsRefused(self):
        """
        protocol.md §2.1 held a thisisme's key to the one its channel
        proved, and said nothing of the tracker's thisisyou: a node took
        any key it named, and signed its registration proof for it as
        verifier.  A thisisyou naming a key must now be the channel's
        (error{wtf} and a close otherwise, as for a thisisme); one naming
        none asks no proof and is taken as before.
        """
        me, tracker, stranger = (Identity.fromRandom(random.Random(n))
                                 for n in (1, 2, 3))
        self.node.identity = me
        self.membership.startService()
        self.addCleanup(self.membership.stopService)
        [first] = self.first.links
        secured(first.transport, decode(tracker.key))
        first.heard()
        first.say(dict(THISISYOU, id=wireId(me.id), key=stranger.key,
                       nonce=Handshake(stranger, REGISTER).nonce))
        [error] = first.heard()
        self.assertEqual((error["type"], error["code"]), ("error", "wtf"))
        self.assertEqual(error["info"], "thisisyou names a key that is not the one "
                                        "this connection's channel proved")
        self.assertTrue(first.closed)
        self.clock.advance(1)
        [second] = self.second.links
        secured(second.transport, decode(tracker.key))
        second.heard()
        second.say(dict(THISISYOU, id=wireId(me.id), key=tracker.key,
                        nonce=Handshake(tracker, REGISTER).nonce))
        proof, ping = second.heard()
        self.assertEqual(proof["type"], "proof")
        self.assertEqual(self.node.id, me.id)

    def test_aThisisyouNamingAKeyOnAKeylessChannelIsRefused(self):
        me, stranger = (Identity.fromRandom(random.Random(n)) for n in (1, 3))
        self.node.identity = me
        self.membership.startService()
        self.addCleanup(self.membership.stopService)
        [first] = self.first.links
        secured(first.transport, None)
        first.heard()
        first.say(dict(THISISYOU, id=wireId(me.id), key=stranger.key,
                       nonce=Handshake(stranger, REGISTER).nonce))
        [error] = first.heard()
        self.assertEqual(error["info"], "thisisyou names a key on a connection whose "
                                        "channel proved none")

    def test_whatATrackerNamedGoesWhenAnotherRegistersTheNode(self):
        """
        A lying (or stale) tracker among several, named first, names an
        honest peer with a relay of its own choosing and local addresses,
        then drops the node, which registers with the second.  Before, the
        first tracker's relay stayed vouched for that peer for good (and
        its local addresses for 600 s): the node dialled the peer through
        it without asking the tracker it is now with.  Now what a tracker
        named goes when the node registers with another, whose word is
        asked.
        """
        book = self.node.whereabouts.book
        self.membership.startService()
        self.addCleanup(self.membership.stopService)
        [onFirst] = self.first.links
        self.register(onFirst)

        def named(wired):
            self.membership.ask(wire.WhereIs(0x77))
            wired.heard()
            wired.say({"type": "nodereply", "id": "119", "host": "203.0.113.7",
                       "port": 9001, "paths": wirePaths(relay="198.51.100.66:41597", lan=["10.0.0.3"], tracker=True)})
            self.assertTrue(book.vouches("198.51.100.66:41597", 0x77))
            self.assertTrue(book.known(0x77))

        named(onFirst)
        # Until the node registers with another, the first's word stands
        # (a tracker that restarts names the same).
        self.first.refusing = True
        onFirst.transport.loseConnection()
        self.assertTrue(book.vouches("198.51.100.66:41597", 0x77))
        self.clock.advance(1)
        [onSecond] = self.second.links
        self.register(onSecond)
        self.assertFalse(book.vouches("198.51.100.66:41597", 0x77))
        self.assertFalse(book.known(0x77))
        named(onSecond)


class RelaysNamedTests(MembershipCase):
    """What the session tells the node's connector of relays: the ones
    the tracker named for each peer, and its own."""

    def setUp(self):
        super().setUp()
        self.register()

    def test_nodereplyVouchesItsRelay(self):
        """A nodereply's relay is the tracker's word for that peer: the
        connector dials it for that peer (and for no other)."""
        self.membership.ask(wire.WhereIs(0x77))
        self.tracker.heard()
        self.tracker.say({"type": "nodereply", "id": "119", "host": "203.0.113.7",
                          "port": 9001, "paths": wirePaths(relay="198.51.100.20:41597", tracker=True)})
        self.assertTrue(self.node.whereabouts.book.vouches("198.51.100.20:41597", 0x77))
        self.assertFalse(self.node.whereabouts.book.vouches("198.51.100.20:41597", 0x78))

    def test_nodereplyNamesItsLocalAddresses(self):
        """A nodereply's lan is the tracker's word on where the peer is on
        this node's network: the dialer tries it while the tracker names
        the peer behind this node's public address."""
        self.membership.ask(wire.WhereIs(0x77))
        self.tracker.heard()
        self.tracker.say({"type": "nodereply", "id": "119", "host": "203.0.113.7",
                          "port": 9001, "paths": wirePaths(relay="198.51.100.20:41597", lan=["10.0.0.3"], tracker=True)})
        book, lan = self.node.whereabouts.book, self.node.whereabouts.lan
        self.assertTrue(book.known(0x77))
        self.assertEqual(lan.targets(0x77, "203.0.113.7"), ("10.0.0.3",))
        self.assertEqual(lan.targets(0x77, "198.51.100.1"), ())

    def test_trackersOwnRelay(self):
        """The relay the tracker named at its own host (a nodereply's, or
        this node's reservation there) is the tracker's, whichever peer a
        record names it for; one elsewhere is not."""
        self.assertIs(self.node.membership, self.membership)
        self.membership.ask(wire.WhereIs(0x77))
        self.tracker.heard()
        self.tracker.say({"type": "nodereply", "id": "119", "host": "203.0.113.7",
                          "port": 9001, "paths": wirePaths(relay="192.0.2.1:7701", tracker=True)})
        self.assertTrue(self.membership.isTrackerRelay("192.0.2.1:7701"))
        self.assertTrue(self.node.whereabouts.book.vouches("192.0.2.1:7701", 0x78))
        self.assertFalse(self.membership.isTrackerRelay("192.0.2.66:7701"))

    def test_trackersHostAtAnyPort(self):
        """A stranger's thisisme (or record) names the tracker's host, at a
        port of its choosing (its SSH, say), as its relay: a relay at the
        tracker connection's host counted as the tracker's own, so every
        node that dialled the stranger connected to that port of the
        tracker's machine (where a guard against password guessing then
        banned the honest nodes' addresses).  Only the relay the tracker
        named at its host is its own: other ports are asked of the
        tracker, as any relay a peer names."""
        self.assertFalse(self.membership.isTrackerRelay("192.0.2.1:22"))
        self.assertFalse(self.node.whereabouts.book.vouches("192.0.2.1:22", 0x78))
        self.membership.ask(wire.WhereIs(0x77))
        self.tracker.heard()
        self.tracker.say({"type": "nodereply", "id": "119", "host": "203.0.113.7",
                          "port": 9001, "paths": wirePaths(relay="192.0.2.1:7701", tracker=True)})
        self.assertFalse(self.membership.isTrackerRelay("192.0.2.1:22"))
        # A relay named at another host is no tracker's own either.
        self.membership.ask(wire.WhereIs(0x79))
        self.tracker.say({"type": "nodereply", "id": "121", "host": "203.0.113.8",
                          "port": 9001, "paths": wirePaths(relay="198.51.100.20:41597", tracker=True)})
        self.assertFalse(self.membership.isTrackerRelay("198.51.100.20:41597"))

    def test_whereRelay(self):
        """whereRelay fires with the tracker's whole nodereply, relay and
        all; it fails with what became of the question when no answer
        comes, so that a refusal can say so: TrackerSilent (the tracker
        did not answer in time), TrackerGone (the tracker is gone).  It
        used to fire with None for both, which its askers took for the
        tracker naming no address."""
        answer = self.answers(self.membership.whereRelay(0x77))
        self.tracker.say({"type": "nodereply", "id": "119", "host": "203.0.113.7",
                          "port": 9001, "paths": wirePaths(relay="198.51.100.20:41597", tracker=True)})
        self.assertEqual(answer[0].paths,
                         (Path(RELAYED, relay="198.51.100.20:41597", word=NAMED),))
        silent = self.answers(self.membership.whereRelay(0x77))
        self.clock.advance(LinkSettings().handshake_timeout)
        [silent] = silent
        silent.trap(TrackerSilent)
        self.assertIn("the tracker did not answer in", silent.getErrorMessage())
        gone = self.answers(self.membership.whereRelay(0x77))
        self.tracker.transport.loseConnection()
        [gone] = gone
        gone.trap(TrackerGone)
        self.assertIn("the tracker connection ended before it answered",
                      gone.getErrorMessage())
