"""
Tests for twisted_bazaar.core.topology: RandomNeighbours keeping a node's
overlay links, through its tracker session (the tracker played byte for
byte on a fake transport) and a fake connector standing in for the
network when the node links to the peers it is given.
"""

import random

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    wirePaths,
    FakeConnector,
    Recorder,
    WiredLink,
    closeLink,
    jsonNetstring,
    linkPeer,
)
from twisted_bazaar.daemon.build import plugMembership
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.core.node import DIRECT, Node, NodeConfig
from twisted_bazaar.core.topology import (
    RETRY_MAX,
    RETRY_MIN,
    UNLINKABLE_KEPT,
    RandomNeighbours,
)
from twisted_bazaar.testing.linking import linkAt

NODE_PORT = 4100
NODE_ID = 77


class SteadyRandom(random.Random):
    """No jitter: random() is always the midpoint, so backoff delays are
    exactly the nominal ones."""

    def random(self):
        return 0.5


class _Scheme:
    """Stands in for node.discovery: the topology names its scheme."""

    name = "flood"
    superpeer = None


def succeed(request, peer_id):
    """Play the peer answering a connect request: the connection comes up
    and the peer says thisisme.  Returns the transport of the new link."""
    address = IPv4Address("TCP", request.host, request.port)
    transport = StringTransportWithDisconnection(peerAddress=address)
    transport.protocol = request.link
    request.link.makeConnection(transport)
    request.deferred.callback(request.link)
    request.link.dataReceived(jsonNetstring(
        {"type": "thisisme", "id": wireId(peer_id), "port": request.port, "host": request.host}))
    return transport


def nodereq(*exclude, **extra):
    return dict({"type": "nodereq", "exclude": [wireId(each) for each in exclude]},
                **extra)


def nodereply(peer_id):
    """The tracker naming node peer_id at host h<id>, port 5000+id."""
    return {"type": "nodereply", "id": wireId(peer_id), "host": f"h{peer_id}",
            "port": 5000 + peer_id}


NOBODY = {"type": "nodereply", "id": "", "host": "", "port": 0}


class RandomNeighboursTests(SynchronousTestCase):
    """
    A node wanting two neighbours.  Link timers are off (no pings, no
    handshake clock) so the only delayed calls are the topology's retries.
    """

    def setUp(self):
        self.clock = Clock()
        self.connector = FakeConnector()
        config = NodeConfig(neighbours=2,
                            link=LinkSettings(handshake_timeout=0, ping_interval=0))
        self.node = Node(self.clock, SteadyRandom(0), self.connector, config)
        self.node.setAddress("", NODE_PORT)
        self.membership = plugMembership(self.node, Membership(self.node))
        self.topology = RandomNeighbours(self.node, config.neighbours)
        self.topology.startService()
        self.recorder = Recorder()
        self.node.addObserver(self.recorder)
        self.tracker = self.connectTracker()

    def connectTracker(self):
        return WiredLink(self.membership.factory, "192.0.2.1", 7700)

    def register(self):
        """Complete the handshake; the node then asks for its first peer."""
        self.tracker.heard()
        self.tracker.say({"type": "thisisyou", "id": wireId(NODE_ID), "port": NODE_PORT})
        self.assertEqual(self.tracker.heard(), [nodereq()])

    def link(self, peer_id):
        """Answer the pending nodereq with peer_id and let the connection
        succeed.  Returns the new link's transport."""
        self.tracker.say(nodereply(peer_id))
        request = self.connector.requests[-1]
        self.assertEqual((request.host, request.port), (f"h{peer_id}", 5000 + peer_id))
        return succeed(request, peer_id)

    def retryDelay(self):
        """The delay of the one pending retry, which is then let run."""
        [call] = self.clock.getDelayedCalls()
        delay = call.getTime() - self.clock.seconds()
        self.clock.advance(delay)
        return delay

    def stop(self):
        """Stop the node as NodeService does: scheme parts, links, tracker."""
        self.topology.stopService()
        self.node.shutdown()
        self.membership.stopService()

    # finding neighbours

    def test_registrationStartsTheSeeking(self):
        self.assertEqual(self.tracker.heard()[0]["type"], "thisisme")
        self.assertEqual(self.tracker.heard(), [], "nothing asked before thisisyou")
        self.tracker.say({"type": "thisisyou", "id": wireId(NODE_ID), "port": NODE_PORT})
        self.assertEqual(self.tracker.heard(), [nodereq()])
        self.assertEqual(self.recorder.events, [("nodeReady",), ("trackerRegistered",)])

    def test_notStartedAsksNothing(self):
        self.topology.stopService()
        self.tracker.heard()
        self.tracker.say({"type": "thisisyou", "id": wireId(NODE_ID), "port": NODE_PORT})
        self.assertEqual(self.tracker.heard(), [])

    def test_asksOneAtATimeUntilEnoughNeighbours(self):
        self.register()
        self.tracker.say(nodereply(11))
        self.assertEqual(len(self.connector.requests), 1)
        self.assertEqual(self.tracker.heard(), [], "no second nodereq while connecting")
        succeed(self.connector.requests[0], 11)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])
        self.link(12)
        self.assertEqual(self.tracker.heard(), [])
        self.assertEqual(sorted(self.node.links), [11, 12])
        self.assertEqual(sorted(self.topology.neighbours()), [11, 12])
        self.assertEqual(self.recorder.events,
                         [("nodeReady",), ("trackerRegistered",), ("linkAdded", 11),
                          ("linkAdded", 12)])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aNeighbourTheTrackerNamedIsChargedToIt(self):
        """A neighbour the tracker's nodereply names is dialled on the
        tracker's word: were its host refused, the line is charged to the
        tracker connection's address group (L{Peer.namedBy}; it was
        charged to no address group, with every other namer's)."""
        self.register()
        named = []
        dial = self.node.dialer.dial
        self.node.dialer.dial = lambda peer, purpose, protocol=None: (
            named.append(peer.namedBy), dial(peer, purpose, protocol))[1]
        self.tracker.say(nodereply(11))
        self.assertEqual(named, ["192.0.0.0/16"])

    def test_aQuestionUnansweredInTimeIsAskedAgain(self):
        """The tracker leaves the nodereq unanswered past its wait: the
        node asks again after its backoff, and links to whom the new one
        names (the late answer to the first is dropped)."""
        self.register()
        self.clock.advance(LinkSettings().handshake_timeout)
        self.assertEqual(self.tracker.heard(), [])
        self.retryDelay()
        # The order is unsure now: the question carries a number.
        self.assertEqual(self.tracker.heard(), [nodereq(q=2)])
        self.tracker.say(nodereply(11))
        self.assertEqual(self.connector.requests, [])
        # An answer without one (a tracker of a version before numbers)
        # goes to the oldest question out.
        self.link(12)
        self.assertEqual(sorted(self.node.links), [12])

    def test_aLostQuestionShiftsNoAnswer(self):
        """The first nodereq never reached the tracker (a link that drops
        messages): the second, numbered, has the answer the tracker gives
        it with that number, not the first's place.  Before, each answer
        went to the question before its own, dropped, for good."""
        self.register()
        self.clock.advance(LinkSettings().handshake_timeout)
        self.retryDelay()
        self.assertEqual(self.tracker.heard(), [nodereq(q=2)])
        self.tracker.say(dict(nodereply(12), q=2))
        [request] = self.connector.requests
        self.assertEqual((request.host, request.port), ("h12", 5012))

    def test_nodereqNamesTheScheme(self):
        """The tracker is asked for a peer of the node's own scheme."""
        self.node.discovery = _Scheme()
        self.tracker.heard()
        self.tracker.say({"type": "thisisyou", "id": wireId(NODE_ID), "port": NODE_PORT})
        self.assertEqual(self.tracker.heard(), [nodereq(scheme="flood")])
        self.link(11)
        self.assertEqual(self.tracker.heard(), [nodereq(11, scheme="flood")])

    def test_wantedIsCappedByMaxConnections(self):
        node = Node(Clock(), SteadyRandom(0), FakeConnector(),
                    NodeConfig(neighbours=10, max_connections=4))
        self.assertEqual(RandomNeighbours(node, 10).wanted, 4)

    def test_nobodyNewRetriesWithGrowingDelays(self):
        self.register()
        delays = []
        for _ in range(8):
            self.tracker.say(NOBODY)
            self.assertEqual(self.tracker.heard(), [])
            delays.append(self.retryDelay())
            self.assertEqual(self.tracker.heard(), [nodereq()])
        # Doubling from RETRY_MIN (1 s), capped at RETRY_MAX (60 s).
        self.assertEqual((RETRY_MIN, RETRY_MAX), (1.0, 60.0))
        self.assertEqual(delays, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0])
        self.assertEqual(self.connector.requests, [])

    def test_retryJitterStaysWithinHalfToOneAndAHalfSteps(self):
        self.node.rng = random.Random(6)
        self.register()
        for step in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
            self.tracker.say(NOBODY)
            delay = self.retryDelay()
            self.assertTrue(step / 2 <= delay < step * 1.5, (step, delay))
            self.assertEqual(self.tracker.heard(), [nodereq()])

    def test_alreadyLinkedPeerRetriesLater(self):
        self.register()
        self.link(11)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])
        self.tracker.say(nodereply(11))
        self.assertEqual(len(self.connector.requests), 1)
        self.assertEqual(self.tracker.heard(), [])
        self.assertEqual(self.retryDelay(), 1.0)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])

    def test_ownIdRetriesLater(self):
        self.register()
        self.tracker.say(nodereply(NODE_ID))
        self.assertEqual(self.connector.requests, [])
        self.assertEqual(self.retryDelay(), 1.0)
        self.assertEqual(self.tracker.heard(), [nodereq()])

    def test_backoffResetsAfterANewLink(self):
        self.register()
        for expected in (1.0, 2.0):
            self.tracker.say(NOBODY)
            self.assertEqual(self.retryDelay(), expected)
            self.tracker.heard()
        self.link(11)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])
        self.tracker.say(NOBODY)
        self.assertEqual(self.retryDelay(), 1.0)

    def test_failedConnectRetriesLater(self):
        self.register()
        self.tracker.say(nodereply(11))
        self.connector.requests[0].deferred.errback(ConnectionRefusedError())
        self.assertEqual(self.tracker.heard(), [])
        self.assertEqual(self.node.overlay.pending, {})
        self.assertEqual(self.retryDelay(), 1.0)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])
        self.link(12)
        self.assertEqual(len(self.connector.requests), 2)
        self.assertEqual(list(self.node.links), [12])

    def test_aPeerThatCouldNotBeLinkedIsLeftOutUntilNobodyElse(self):
        """The next asks leave out a peer the node could not link to (the
        tracker would pick it again at random); once the tracker has
        nobody else, it is forgotten and may be offered again."""
        self.register()
        for peer_id, asked in ((11, nodereq(11)), (12, nodereq(11, 12))):
            self.tracker.say(nodereply(peer_id))
            self.connector.requests[-1].deferred.errback(ConnectionRefusedError())
            self.retryDelay()
            self.assertEqual(self.tracker.heard(), [asked])
        self.tracker.say(NOBODY)
        self.retryDelay()
        self.assertEqual(self.tracker.heard(), [nodereq()])
        self.link(11)
        self.assertEqual(list(self.node.links), [11])

    def test_aPeerLeftOutThatLinkedSinceIsExcludedOnce(self):
        """A peer the node could not dial that then linked to it (a node
        at home dials out) is a neighbour and a peer left out at once: the
        next ask names it once.  Named twice, the tracker refused the ask
        (``nodereq.exclude must not repeat an id``, error{wtf}), as seen
        from a public buyer whose dial to a seller at home failed."""
        self.register()
        self.tracker.say(nodereply(11))
        self.connector.requests[-1].deferred.errback(ConnectionRefusedError())
        linkPeer(self.node, 11)
        self.retryDelay()
        self.assertEqual(self.tracker.heard(), [nodereq(11)])

    def test_peersOfOneGroupDiallingInAreNotAllItKnows(self):
        """Six peers of one address group that dialled the node do not
        keep it from replacing the peers it chose as they leave (an
        eclipse: before, with 7 overlay links it asked for none, and once
        its own were gone every peer it had was the group's): it asks
        for one of its own, naming those it has."""
        self.register()
        first, second = self.link(11), self.link(12)
        self.tracker.heard()
        crowd = list(range(20, 26))
        for peer in crowd:
            linkPeer(self.node, peer, source="203.0.113.9")
        first.loseConnection()
        self.assertEqual(self.tracker.heard(), [])
        second.loseConnection()
        self.assertEqual(self.tracker.heard(), [nodereq(*crowd)])
        self.link(30)
        self.assertEqual(self.tracker.heard(), [])
        self.assertIn(30, self.topology.neighbours())

    def crowded(self, count):
        """Register with nobody to link to, then have count peers of one
        /16 link to the node: it asks for a peer of its own, naming them.
        Returns their ids."""
        self.register()
        self.tracker.say(NOBODY)
        crowd = list(range(20, 20 + count))
        for peer in crowd:
            linkPeer(self.node, peer, source="203.0.113.9")
        self.clock.advance(30)
        self.assertEqual(self.tracker.heard(), [nodereq(*crowd)])
        return crowd

    def test_aPeerOfTheCrowdsGroupIsNotTakenForOneOfItsOwn(self):
        """Asking only for a peer of another group, the node does not dial
        one of the crowd's group the tracker names (the attacker's
        registrations): it names it in its next ask, so that the tracker
        knows which group to avoid."""
        crowd = self.crowded(3)
        self.tracker.say({"type": "nodereply", "id": wireId(40), "host": "203.0.113.10",
                          "port": 5040})
        self.assertEqual(self.connector.requests, [])
        self.retryDelay()
        self.assertEqual(self.tracker.heard(), [nodereq(*crowd, 40)])
        self.link(30)
        self.assertIn(30, self.topology.neighbours())

    def test_aClassmateIsNotTakenForAPeerOfAnotherGroup(self):
        """Crowded by classmates (their links come from the LAN behind one
        router), the node does not dial a classmate the tracker names at
        the router's public address, another group: its link would come
        from the crowd's LAN too (the tracker names its local address,
        which the LAN way dials first), and each such dial evicted a
        classmate to make room (a class of 30: 5,523 evictions a minute).
        It is left out of the next ask; a peer elsewhere is dialled."""
        self.register()
        self.tracker.say(NOBODY)
        crowd = list(range(20, 28))
        for peer in crowd:
            linkPeer(self.node, peer, source=f"192.168.5.{peer}")
        self.clock.advance(30)
        self.assertEqual(self.tracker.heard(), [nodereq(*crowd)])
        self.tracker.say({"type": "nodereply", "id": wireId(40), "host": "203.0.113.10",
                          "port": 5040, "paths": [{"kind": "lan", "host": "192.168.5.40",
                                                   "word": "named"}]})
        self.assertEqual(self.connector.requests, [])
        self.retryDelay()
        self.assertEqual(self.tracker.heard(), [nodereq(*crowd, 40)])
        self.link(30)
        self.assertIn(30, self.topology.neighbours())
        self.assertEqual(len([link for link in self.node.links.values()
                              if not link.closing]), 8)

    def test_aMarketOfOneGroupKeepsItsLinks(self):
        """Every peer of one group (a LAN, a test on loopback): the node
        asks for one of another group with its backoff, and links to no
        more of its own."""
        self.register()
        self.tracker.say(NOBODY)
        for peer in (20, 21):
            linkPeer(self.node, peer, source="127.0.0.1")
        for delay in (2.0, 4.0, 8.0):
            self.clock.advance(delay)
            [asked] = self.tracker.heard()
            self.tracker.say({"type": "nodereply", "id": wireId(50), "host": "127.0.0.1",
                              "port": 5050})
        self.assertEqual(self.connector.requests, [])
        self.assertEqual(sorted(self.topology.neighbours()), [20, 21])

    def test_aFullNodeMakesRoomForAPeerOfItsOwn(self):
        """Every overlay slot held by links one group opened: the node's
        own dial gives one of them up (before: `no free overlay slots`)."""
        self.crowded(8)
        self.link(30)
        held = [peer for peer, link in self.node.links.items() if not link.closing]
        self.assertIn(30, held)
        self.assertEqual(len(held), 8)

    def test_peersOfManyGroupsDiallingInAreEnough(self):
        """Peers of as many groups as links that dialled the node are
        neighbours enough, as ever: it asks for none of its own."""
        self.register()
        self.tracker.say(NOBODY)
        for peer in (20, 21):
            linkPeer(self.node, peer, source=f"10.{peer}.0.1")
        self.clock.advance(30)
        self.assertEqual(self.tracker.heard(), [])

    def test_peersLeftOutAreBounded(self):
        """Only the newest L{UNLINKABLE_KEPT} failures are left out."""
        self.register()
        for peer_id in range(100, 100 + UNLINKABLE_KEPT + 3):
            self.tracker.say(nodereply(peer_id))
            self.connector.requests[-1].deferred.errback(ConnectionRefusedError())
            self.retryDelay()
        [asked] = self.tracker.heard()[-1:]
        self.assertEqual(asked, nodereq(*range(103, 103 + UNLINKABLE_KEPT)))

    def test_aFailedDialNamesTheAddressOnce(self):
        """The line of a dial that failed names the peer's address once
        (it said `at h11:5011: h11:5011: Connection was refused …`), its
        reason in the project's words (issue 96: Twisted's)."""
        self.register()
        self.tracker.say(nodereply(11))
        with capturedLogs() as events:
            self.connector.requests[0].deferred.errback(ConnectionRefusedError())
        self.assertEqual([formatEvent(event) for event in events],
                         ["could not link to node 11 at h11:5011: nothing listens "
                          "there (connection refused)"])
        # Told the node's observers too: a buyer that gives up says it.
        self.assertEqual(self.recorder.events[-1],
                         ("linkFailed", 11, "h11", 5011, "nothing listens there "
                                                         "(connection refused)"))

    def test_removedLinkAsksForReplacement(self):
        self.register()
        lost = self.link(11)
        self.link(12)
        self.tracker.heard()
        lost.loseConnection()
        self.assertEqual(self.recorder.events[-1], ("linkRemoved", 11))
        self.assertEqual(self.tracker.heard(), [nodereq(12)])

    def test_linkLostWhileNobodyNewWaitsForTheRetry(self):
        """While the tracker has nobody new, a link lost does not make the
        node ask again before its retry: a peer that opens and closes
        links cannot make it ask the tracker once a link."""
        self.register()
        self.tracker.say(NOBODY)
        self.assertEqual(self.tracker.heard(), [])
        for _ in range(3):
            closeLink(linkPeer(self.node, 11))
            self.assertEqual(self.recorder.events[-1], ("linkRemoved", 11))
            self.assertEqual(self.tracker.heard(), [])
        self.assertEqual(self.retryDelay(), 1.0)
        self.assertEqual(self.tracker.heard(), [nodereq()])

    def test_linkLostAfterAFailedDialAsksAtOnce(self):
        """A retry after a dial that failed is no sign the tracker has
        nobody new: a link lost then asks at once, as ever."""
        self.register()
        lost = self.link(11)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])
        self.tracker.say(nodereply(12))
        self.connector.requests[-1].deferred.errback(ConnectionRefusedError())
        self.assertEqual(self.tracker.heard(), [])
        lost.loseConnection()
        self.assertEqual(self.tracker.heard(), [nodereq(12)])

    def test_linkLostWhileAskingDoesNotAskTwice(self):
        self.register()
        lost = self.link(11)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])
        lost.loseConnection()
        self.assertEqual(self.tracker.heard(), [], "the question is still out")
        self.tracker.say(NOBODY)
        self.assertEqual(self.retryDelay(), 1.0)
        self.assertEqual(self.tracker.heard(), [nodereq()])

    def test_excludeNamesOnlyNeighbours(self):
        """A direct (buyer-to-seller) link is no neighbour: it is neither
        counted nor excluded."""
        self.register()
        self.link(11)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])
        self.tracker.say(NOBODY)
        direct = linkAt(self.node, "h30", 5030, 30, DIRECT)
        succeed(self.connector.requests[-1], 30)
        self.assertEqual(self.successResultOf(direct), 30)
        self.assertEqual(sorted(self.node.links), [11, 30])
        self.assertEqual(self.topology.neighbours(), [11])
        # (The direct link's idle timer is pending too: no retryDelay().)
        self.assertEqual(self.tracker.heard(), [])
        self.clock.advance(1.0)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])

    # the tracker going away

    def test_questionLostWithTrackerIsAskedAgain(self):
        """A nodereq the old tracker never answered must not block the
        node from asking the new one."""
        self.register()
        self.link(11)
        self.assertEqual(self.tracker.heard(), [nodereq(11)])
        self.tracker.transport.loseConnection()
        self.tracker = self.connectTracker()
        self.tracker.say({"type": "thisisyou", "id": wireId(NODE_ID), "port": NODE_PORT})
        self.assertEqual(self.tracker.heard(), [
            {"type": "thisisme", "id": wireId(NODE_ID), "port": NODE_PORT, "host": "",
             "reach": True, "paths": wirePaths(lan=["10.0.0.1"])},
            nodereq(11)])

    def test_whereisAnswersMatchQuestionsInOrder(self):
        """Introductions and whereis questions share nodereply answers; the
        tracker answers in order, so each answer goes to its question."""
        self.register()
        answers = []
        self.node.whereabouts.book.whereIs(42).addCallback(answers.append)
        self.node.whereabouts.book.whereIs(43).addCallback(answers.append)
        self.assertEqual(self.tracker.heard(), [{"type": "whereis", "id": "42"},
                                                {"type": "whereis", "id": "43"}])
        self.tracker.say(nodereply(11))
        self.assertEqual(answers, [])
        self.assertEqual(self.connector.requests[-1][:2], ("h11", 5011))
        self.tracker.say({"type": "nodereply", "id": "42", "host": "h42", "port": 5042})
        self.tracker.say({"type": "nodereply", "id": "43", "host": "", "port": 0})
        self.assertEqual(answers, [("h42", 5042), None])

    # stopping

    def test_stoppingSaysDcAndCancelsRetry(self):
        self.register()
        self.tracker.say(NOBODY)
        [retry] = self.clock.getDelayedCalls()
        self.stop()
        self.assertEqual(self.tracker.heard(), [{"type": "dc"}])
        self.assertTrue(self.tracker.closed)
        self.assertFalse(retry.active())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_nodeStoppingAloneCancelsRetry(self):
        """The nodeStopping event stops the topology too."""
        self.register()
        self.tracker.say(NOBODY)
        [retry] = self.clock.getDelayedCalls()
        self.node.shutdown()
        self.assertFalse(self.topology.running)
        self.assertFalse(retry.active())

    def test_stoppingWithLinksAsksForNothing(self):
        self.register()
        self.link(11)
        self.link(12)
        self.tracker.heard()
        self.stop()
        self.assertEqual(self.tracker.heard(), [{"type": "dc"}])
        self.assertEqual(self.node.links, {})
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stopCancelsTheQuestionOut(self):
        """Stopped with a nodereq unanswered: the answer, when it comes, is
        dropped (no connection), and the next question's answer still
        reaches it."""
        self.register()
        self.topology.stopService()
        self.tracker.say(nodereply(11))
        self.assertEqual(self.connector.requests, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        where = []
        self.node.whereabouts.book.whereIs(42).addCallback(where.append)
        self.tracker.heard()
        self.tracker.say(nodereply(42))
        self.assertEqual(where, [("h42", 5042)])

    def test_stopCancelsTheConnectionAttempt(self):
        self.register()
        self.tracker.say(nodereply(11))
        [request] = self.connector.requests
        self.assertEqual(list(self.node.overlay.pending), [request.link])
        self.topology.stopService()
        self.assertEqual(self.node.overlay.pending, {})
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.tracker.heard(), [])

    def test_restartAfterStopSeeksAgain(self):
        self.register()
        self.tracker.say(NOBODY)
        self.topology.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.topology.startService()
        self.assertEqual(self.tracker.heard(), [nodereq()])
