"""
Issue 21 at the tracker: connections still to register are a pooled
resource, capped overall and per address group and shared fairly; and
well-formed ``error`` messages, before registration or after, cost their
sender its error budget and get a bounded number of log lines.

The tracker is spoken to over real Links on fake transports and a Clock
(L{WiredLink}), as a node or an attacker would on the wire.
"""

import random

from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from twisted.internet.address import IPv4Address
from twisted_bazaar import tracker as tracker_module_, wire
from twisted_bazaar.wire.ids import NO_ID
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.logthrottle import PEER_BURST, PEERS_BURST
from twisted_bazaar.net.link import (
    DEFAULT_ERROR_LIMIT,
    DEFAULT_HANDSHAKE_TIMEOUT,
    LinkSettings,
)
from twisted_bazaar.schemes.index import messages as indexmsg
from twisted_bazaar.tap import tracker as tap
from twisted_bazaar.tap.exitstatus import ExitStatus
from twisted_bazaar.transports.relay.limits import GROUP_CIRCUITS, PENDING as RELAY_PENDING
from twisted_bazaar.transports.relay.messages import RelayConnect
from twisted_bazaar.transports.relay.relay import RelayEnd
from twisted_bazaar.wire.framing import frame
from twisted_bazaar.transports.websocket.limits import OPENING
from twisted_bazaar.tap.tracker import Options as TrackerOptions, makeService
from twisted_bazaar.testing import Market
from twisted_bazaar.tracker import (
    CHECK_GROUP_LIMIT,
    CHECK_LIMIT,
    GROUP_LIMIT,
    RECHECK_FIRST,
    PENDING_GROUP_LIMIT,
    PENDING_LIMIT,
    RESERVED_DESCRIPTORS,
    Tracker,
    TrackerFactory,
)

from tests.helpers import WiredLink
from tests.tracker.checking import checkingTracker
from tests.schemes.test_index_tracker import TrackerIndexCase

ERROR = {"type": "error", "code": "wtf", "info": "x" * 1000}


def trackerService(options):
    """The tracker daemon's service as ``options`` say, on a reactor of
    its own: on the global one, which pytest-twisted runs once a test of
    its has, each would mark its state directory as running (the default
    one, the same for each), and the second then stop that reactor."""
    return makeService(options, reactor=MemoryReactorClock())


class PendingConnectionTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(4))
        self.factory = TrackerFactory(self.tracker)

    def connect(self, host):
        return WiredLink(self.factory, host)

    def assertRefused(self, peer, why):
        [answer] = peer.heard()
        self.assertEqual((answer["type"], answer["code"]), ("error", "noslots"))
        self.assertIn(why, answer["info"])
        self.assertTrue(peer.closed)

    def test_perAddressGroup(self):
        """A group's silent connections past its share are refused at once,
        and cost nothing more; other groups still connect and register."""
        silent = [self.connect(f"198.51.{n % 200}.{n // 200 + 1}")
                  for n in range(PENDING_GROUP_LIMIT)]
        self.assertFalse(any(peer.closed for peer in silent))
        self.assertRefused(self.connect("198.51.7.7"),
                           f"{PENDING_GROUP_LIMIT} connections from your address group")
        other = self.connect("203.0.113.5")
        other.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        self.assertEqual(other.heard()[0]["type"], "thisisyou")

    def test_registeredConnectionsAreNoLongerPending(self):
        """Registration frees the connection's place: a group may keep many
        nodes registered, only few connections waiting."""
        for n in range(PENDING_GROUP_LIMIT * 2):
            peer = self.connect(f"198.51.100.{n % 250 + 1}")
            peer.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
            self.assertEqual(peer.heard()[0]["type"], "thisisyou")
        self.assertEqual(len(self.tracker.registry), PENDING_GROUP_LIMIT * 2)
        waiting = [self.connect(f"198.51.100.{n + 1}")
                   for n in range(PENDING_GROUP_LIMIT)]
        self.assertFalse(any(peer.closed for peer in waiting))

    def test_fullPoolMakesRoomForAnotherGroup(self):
        """The tracker's pending connections all taken, by groups each at
        their own cap: a connection from a new group takes the place of the
        oldest one of a group holding the most."""
        groups = PENDING_LIMIT // PENDING_GROUP_LIMIT
        waiting = [[self.connect(f"10.{g}.0.{n + 1}") for n in range(PENDING_GROUP_LIMIT)]
                   for g in range(groups)]
        self.assertFalse(any(peer.closed for group in waiting for peer in group))
        newcomer = self.connect("203.0.113.5")
        self.assertFalse(newcomer.closed)
        self.assertRefused(waiting[0][0], "evicted")
        self.assertEqual(sum(peer.closed for group in waiting for peer in group), 1)

    def test_connectionFloodHoldsBoundedDescriptors(self):
        """
        Issue 21: 500 silent connections a second from one address for 10 s
        ran the tracker out of descriptors.  Now it holds at most the
        group's share of them open at any time, and a node still registers.
        """
        opened = []
        most = 0
        for tick in range(100):
            opened += [self.connect("198.51.100.9") for _ in range(50)]
            most = max(most, sum(not peer.closed for peer in opened))
            self.clock.advance(0.1)
        self.assertEqual(most, PENDING_GROUP_LIMIT)
        node = self.connect("203.0.113.5")
        node.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        self.assertEqual(node.heard()[0]["type"], "thisisyou")
        self.clock.advance(DEFAULT_HANDSHAKE_TIMEOUT)
        self.assertTrue(all(peer.closed for peer in opened))


class ConnectionRateTests(SynchronousTestCase):
    def test_floodClosedBeforeTheHandshake(self):
        """
        With a connection rate, a group's connections past it get no link
        (closed before the channel's handshake), logged through the peer
        log; another group's still do, and the group again as its rate
        allows.
        """
        clock = Clock()
        tracker = Tracker(clock, random.Random(4), connection_rate=10)
        factory = TrackerFactory(tracker)
        flood = IPv4Address("TCP", "203.0.113.7", 4000)
        built = [factory.buildProtocol(flood) for _ in range(50)]
        self.assertEqual(sum(link is not None for link in built), 10)
        self.assertIsNotNone(factory.buildProtocol(IPv4Address("TCP", "198.51.100.1", 1)))
        clock.advance(0.5)
        self.assertEqual(sum(factory.buildProtocol(flood) is not None
                             for _ in range(50)), 5)


class RegisteredNodeTests(SynchronousTestCase):
    """
    Issue 34, "Descriptors": about 1,000 keyless port-0 registrations from
    four /16s filled a tracker's 1,024 descriptors, and no node registered
    for 25 s.  Registered nodes are charged to the tracker's account of
    registrations: bounded in all by what its descriptors allow, and a
    node of a group holding fewer takes the place of the newest node of
    the group holding the most.
    """

    LIMIT = 600

    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(4), LinkSettings(ping_interval=0),
                               registered_limit=self.LIMIT)
        self.factory = TrackerFactory(self.tracker)

    def register(self, host, port=0):
        peer = WiredLink(self.factory, host)
        peer.say({"type": "thisisme", "id": "", "port": port, "host": ""})
        return peer

    def fill(self):
        """Four /16s register port-0 nodes until each has its share."""
        return [[self.register(f"10.{g}.{n % 250}.{n // 250 + 1}")
                 for n in range(GROUP_LIMIT)] for g in range(4)]

    def test_freshGroupRegistersWhenFull(self):
        attackers = self.fill()
        live = [peer for group in attackers for peer in group if not peer.closed]
        self.assertEqual(len(live), self.LIMIT)
        self.assertEqual(len(self.tracker.registry), self.LIMIT)
        node = self.register("203.0.113.5", port=4000)
        self.assertEqual(node.heard()[0]["type"], "thisisyou")
        self.assertFalse(node.closed)
        self.assertEqual(len(self.tracker.registry), self.LIMIT)
        [evicted] = [peer for peer in live if peer.closed]
        self.assertEqual([m.get("code") for m in evicted.heard()][-1:], ["noslots"])

    def test_groupsPresentKeepTheirShare(self):
        """However many more the first groups send, a group that registered
        its share keeps it, and the attackers' groups cannot push the
        newcomer out again."""
        self.fill()
        honest = [self.register(f"203.0.113.{n + 1}", port=4000) for n in range(20)]
        for _ in range(3):
            self.fill()
        self.assertFalse(any(peer.closed for peer in honest))
        self.assertEqual(self.tracker.registered.held("203.0.0.0/16"), 20)
        self.assertLessEqual(self.tracker.registered.used, self.LIMIT)

    def test_fullAndNoLargerGroup(self):
        """Refused, with the reason, when every group holds no more than the
        asker's would."""
        tracker = Tracker(self.clock, random.Random(4), LinkSettings(ping_interval=0),
                          registered_limit=2)
        self.factory = TrackerFactory(tracker)
        self.register("10.0.0.1")
        self.register("10.1.0.1")
        refused = self.register("10.1.0.2")
        [answer] = refused.heard()
        self.assertEqual(answer["code"], "noslots")
        self.assertIn("all 2 registrations are taken", answer["info"])
        self.assertTrue(refused.closed)

    def test_daemonBoundFromItsDescriptors(self):
        """The daemon keeps registered what its open-file limit leaves once
        its connections still to register, its web view's streams and its
        own files are counted out."""
        self.patch(tap, "openFiles", lambda: 1024)
        options = TrackerOptions()
        options.parseOptions(["--no-udp"])
        registered = trackerService(options).tracker.registered
        self.assertEqual(registered.capacity, withCircuits(
            1024 - PENDING_LIMIT - RELAY_PENDING - RESERVED_DESCRIPTORS))
        options = TrackerOptions()
        options.parseOptions(["--registered-limit", "9", "--no-udp"])
        self.assertEqual(trackerService(options).tracker.registered.capacity, 9)

    def test_theWebAndMetricsPortsDescriptorsAreKeptApart(self):
        """With --web and --metrics, the descriptors their ports' accounts
        may hold (96 and 8 connections: issue 72, 1,010 trickling
        connections held all 1,024) are counted out before the nodes'
        share, which --web halves (a status link to each node)."""
        self.patch(tap, "openFiles", lambda: 1024)
        options = TrackerOptions()
        options.parseOptions(["--web", "tcp:0", "--metrics", "tcp:0", "--no-udp"])
        [service] = [child for child in trackerService(options)
                     if hasattr(child, "tracker")]
        self.assertEqual(service.tracker.registered.capacity,
                         withCircuits(1024 - PENDING_LIMIT - RELAY_PENDING - 96 - 8
                                      - RESERVED_DESCRIPTORS) // 2)

    def test_everyPortsOpeningsAreKeptApart(self):
        """
        The openings of each port the tracker listens on are counted out
        (issue 93: with ``ulimit -n`` 512, 256 silent WebSocket openings
        and 256 pending connections held every descriptor): the relay's
        connections that have not said what they want, unless the relay
        is off, and each transport plugin's accounts, as it declares them
        (the WebSocket port's handshakes).
        """
        self.patch(tap, "openFiles", lambda: 1024)

        def capacity(*args):
            options = TrackerOptions()
            options.parseOptions(["--no-udp", *args])
            service = trackerService(options)
            [tracker] = ([service.tracker] if hasattr(service, "tracker") else
                         [child.tracker for child in service if hasattr(child, "tracker")])
            return tracker.registered.capacity

        self.assertEqual(capacity("--relay-reservations", "0"),
                         1024 - PENDING_LIMIT - RESERVED_DESCRIPTORS)
        self.assertEqual(capacity("--ws-port", "0"), withCircuits(
            1024 - PENDING_LIMIT - RELAY_PENDING - OPENING.default - RESERVED_DESCRIPTORS))
        self.assertEqual(OPENING.default, 256)

    def test_theRelaysCircuitsAreInTheBudget(self):
        """
        (Issue 93's ninth round.)  Each of the relay's circuits holds two
        descriptors (the dialler's connection and the node's accept):
        256 of them, outside the budget, let a stranger holding the most
        circuits take 512 descriptors past what the registrations left.
        By default the circuits are capped at what the open-file limit
        leaves (an eighth of what the connections still to register, the
        ports' openings and the tracker's own files leave, so that their
        descriptors take a quarter of it; 256 at most), and their two
        descriptors each are counted out of the nodes kept; an operator's
        --relay-circuits is counted as given.
        """
        def built(files, *args):
            self.patch(tap, "openFiles", lambda: files)
            options = TrackerOptions()
            options.parseOptions(["--no-udp", *args])
            tracker = trackerService(options).tracker
            return tracker.registered.capacity, tracker.relay.limits.circuits

        left = 1024 - PENDING_LIMIT - RELAY_PENDING - RESERVED_DESCRIPTORS
        self.assertEqual(built(1024), (left - 2 * (left // 8), left // 8))
        self.assertEqual(built(1024), (336, 56))
        left = 20000 - PENDING_LIMIT - RELAY_PENDING - RESERVED_DESCRIPTORS
        self.assertEqual(built(20000), (left - 2 * 256, 256))
        self.assertEqual(built(1024, "--relay-circuits", "100"), (448 - 200, 100))
        # An operator's count that leaves no room for nodes is refused
        # (it kept one node, without a word), with the way out.
        self.patch(tap, "openFiles", lambda: 512)
        with self.assertRaises(UsageError) as refused:
            TrackerOptions().parseOptions(["--no-udp", "--relay-circuits", "5000"])
        self.assertIn("--relay-circuits 5000 holds 10000 descriptors, and the "
                      "open-file limit (512) leaves no room for nodes", str(refused.exception))
        self.assertIn("ulimit -n", str(refused.exception))
        # Whatever the limit, each circuit's two descriptors are within it.
        # A default that keeps few nodes is said as the tracker starts.
        warned = []
        self.patch(ExitStatus, "warn", lambda status, why: warned.append(why))
        self.assertEqual(built(512), (1, 1))
        self.assertEqual(warned, ["the open-file limit (512) leaves room for 1 node "
                                  "registered at once, once the connections still to "
                                  "register and the ports' openings are counted out: "
                                  "raise it (ulimit -n) or give a lower --pending-limit"])
        built(20000)
        built(512, "--registered-limit", "5")
        self.assertEqual(len(warned), 1)
        for files in (512, 700, 1024, 3000, 5000, 20000):
            registered, circuits = built(files, "--pending-limit", "16")
            self.assertGreaterEqual(circuits, 1)
            self.assertLessEqual(16 + RELAY_PENDING + 2 * circuits + registered
                                 + RESERVED_DESCRIPTORS, files)


    def test_noGroupTakesEveryCircuitOfTheBudget(self):
        """
        (Issue 93 item 3, the ninth round's attack.)  The circuits the
        budget leaves are fewer than before (56 with ``ulimit -n`` 1024; 3
        with 700 and --web, fewer than one group's 16): one group of
        diallers, a new host of its /16 for each circuit (an origin each,
        so no origin's share stops it), asking for circuits to 16 nodes
        at home holds at most its share (all 3 of the smaller budget, while
        no other group asks); three more groups fill the 56; and a
        newcomer group's dialler still gets a circuit, the newest of a
        group holding most giving way.  (With fewer circuits than groups
        asking, each group holds one and a newcomer none: the budget's
        size, not a group, decides then.)
        """
        def relayOf(files, *args):
            self.patch(tap, "openFiles", lambda: files)
            options = TrackerOptions()
            options.parseOptions(["--no-udp", *args])
            service = trackerService(options)
            if not hasattr(service, "tracker"):
                [service] = [child for child in service if hasattr(child, "tracker")]
            relay = service.tracker.relay
            relay.port = 7000
            for node in range(16):
                relay.reserve(1000 + node, f"10.{node}", lambda message: None, "key",
                              "10.9.0.1")
            return relay

        def ask(relay, group, n, count):
            """Circuit n of group (its n-th host) asked for: whether it waits
            for its node now."""
            end = RelayEnd(relay)
            end.makeConnection(StringTransport(peerAddress=IPv4Address(
                "TCP", f"127.{group}.{n // 200}.{n % 200 + 1}", 40000)))
            end.dataReceived(frame(wire.encode(RelayConnect(1000 + count % 16, "files"))))
            self.last = end.transport.value()[-200:]
            return end.circuit is not None and not end.transport.disconnecting

        for files, args, total, others in ((1024, (), 56, (67, 68, 69)),
                                           (700, ("--web", "tcp:0"), 3, ())):
            relay = relayOf(files, *args)
            circuits = relay.circuits
            self.assertEqual(circuits.capacity, total)
            asked = 0
            for n in range(3 * total):
                ask(relay, 66, n, asked)
                asked += 1
            attacker = addressGroup("127.66.0.1")
            self.assertEqual(circuits.held(attacker), min(GROUP_CIRCUITS, total))
            for group in others:
                for n in range(GROUP_CIRCUITS):
                    ask(relay, group, n, asked)
                    asked += 1
            self.assertEqual(circuits.used, total)
            most = circuits.held(attacker)
            self.assertTrue(ask(relay, 71, 0, asked), (files, self.last))
            self.assertEqual(circuits.held(addressGroup("127.71.0.1")), 1)
            self.assertEqual(circuits.used, total)
            self.assertLessEqual(max(circuits.held(addressGroup(f"127.{group}.0.1"))
                                     for group in (66, *others)), most)

def withCircuits(left):
    """What ``left`` descriptors leave the nodes once the relay's default
    circuits, an eighth of them, hold two each."""
    return left - 2 * (left // 8)


class AddressCheckTests(SynchronousTestCase):
    """
    Each address check holds a descriptor until it ends: the checks in
    flight are charged to the nodes' address groups, bounded in all, and
    a group's registrations cannot hold every check.
    """

    def setUp(self):
        checkingTracker(self, check_limit=CHECK_LIMIT)

    def register(self, host):
        peer = WiredLink(self.factory, host)
        peer.say({"type": "thisisme", "id": "", "port": 4000, "host": ""})
        return peer

    def inFlight(self):
        return [request for request in self.connector.requests
                if not request.deferred.called]

    def test_checksBoundedAndShared(self):
        for g in range(5):
            for n in range(CHECK_LIMIT):
                self.register(f"10.{g}.0.{n + 1}")
            self.assertLessEqual(len(self.inFlight()), CHECK_LIMIT)
        # Five groups, at most CHECK_GROUP_LIMIT each: a group that came
        # later took its share from those holding the most.
        self.assertEqual(len(self.inFlight()), CHECK_LIMIT)
        held = [self.tracker.checking.held(f"10.{g}.0.0/16") for g in range(5)]
        self.assertEqual(sum(held), CHECK_LIMIT)
        self.assertTrue(all(CHECK_LIMIT // 5 <= n <= CHECK_GROUP_LIMIT for n in held), held)
        newcomer = self.register("203.0.113.5")
        [started] = [r for r in self.inFlight()
                     if r.link.owner.node_id == newcomer.link.peer_id]
        self.assertEqual(len(self.inFlight()), CHECK_LIMIT)
        # The checks that gave way, or waited, start once others end.
        for request in self.inFlight():
            request.deferred.errback(ConnectionRefusedError())
        self.assertEqual(self.tracker.checking.used, 0)
        self.clock.advance(RECHECK_FIRST)
        self.assertEqual(len(self.inFlight()), CHECK_LIMIT)


class ErrorFloodTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(4))
        self.factory = TrackerFactory(self.tracker)

    def flood(self, peer, count):
        for _ in range(count):
            if peer.closed:
                break
            peer.say(ERROR)

    def test_errorsBeforeRegistrationSpendTheBudget(self):
        """Well-formed errors are never answered, but each is counted: one
        past the error limit closes the connection."""
        peer = WiredLink(self.factory, "198.51.100.9")
        self.flood(peer, DEFAULT_ERROR_LIMIT)
        self.assertFalse(peer.closed)
        peer.say(ERROR)
        self.assertEqual(peer.heard(), [])
        self.assertTrue(peer.closed)

    def test_errorsAfterRegistrationSpendTheBudget(self):
        peer = WiredLink(self.factory, "198.51.100.9")
        peer.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        peer.heard()
        self.flood(peer, DEFAULT_ERROR_LIMIT + 1)
        self.assertTrue(peer.closed)
        self.assertEqual(len(self.tracker.registry), 0)

    def test_errorFloodLogsBoundedLines(self):
        """
        Issue 21: errors flooded before registration were each logged (a
        248 MB flood grew the log by 255 MB).  Now one address gets a few
        lines of each kind per 10 s, and a summary line: however many
        connections and errors it spends, the log grows by a bounded
        number of lines per interval.
        """
        with capturedLogs() as events:
            for _ in range(1000):
                self.flood(WiredLink(self.factory, "198.51.100.9"), 100)
            self.clock.advance(10)
        lines = [formatEvent(event) for event in events]
        says = [line for line in lines if " says wtf: " in line]
        closing = [line for line in lines if line.startswith("closing link to ")]
        summaries = [line for line in lines if " more lines like " in line]
        self.assertEqual((len(says), len(closing)), (PEER_BURST, PEER_BURST), lines)
        self.assertEqual(len(summaries), 2, summaries)
        self.assertIn(f"{1000 * DEFAULT_ERROR_LIMIT - PEER_BURST} more lines "
                      "like '{peer} says {code}: {info}' from 198.51.0.0/16",
                      "\n".join(summaries))
        self.assertLessEqual(len(lines), PEERS_BURST)

    def test_otherAddressesStillLogged(self):
        """One address's flood does not hide another's lines."""
        with capturedLogs() as events:
            for _ in range(50):
                self.flood(WiredLink(self.factory, "198.51.100.9"), 100)
            WiredLink(self.factory, "203.0.113.5").say(ERROR)
        lines = [formatEvent(event) for event in events]
        self.assertEqual(len([line for line in lines if "203.0.113.5" in line]), 1)


class RefusedNodeTests(SynchronousTestCase):
    def test_nodeRefusedByTheTrackerBacksOff(self):
        """
        A node the tracker refuses (noslots) at each connection tries less
        and less often: the delay doubles, since no connection served.  (It
        started over at every connection before: one try a second or two,
        for ever.)
        """
        stats = {}
        market = Market(link_settings=LinkSettings(stats=stats))
        market.tracker.pending.group_limit = 0
        market.addNode()
        market.run(60)
        self.assertGreaterEqual(stats["error"], 3)
        self.assertLessEqual(stats["error"], 8)


class OptionTests(SynchronousTestCase):
    def test_trackerDaemonOptions(self):
        """The daemon's tracker takes its caps from --pending-limit and
        --pending-group-limit, 256 and 64 by default."""
        for args, caps in (([], (PENDING_LIMIT, PENDING_GROUP_LIMIT)),
                           (["--pending-limit", "5", "--pending-group-limit", "2"],
                            (5, 2))):
            options = TrackerOptions()
            options.parseOptions(args + ["--no-udp"])
            pending = trackerService(options).tracker.pending
            self.assertEqual((pending.capacity, pending.group_limit), caps)

    def test_badValue(self):
        options = TrackerOptions()
        error = self.assertRaises(UsageError, options.parseOptions,
                                  ["--pending-limit", "0"])
        self.assertIn("--pending-limit", str(error))


class QuestionRateTests(TrackerIndexCase):
    """
    Questions to the tracker (``lookup``, ``list``, ``members``) were
    limited per connection only, and one address group may hold 256
    registered connections: one address asking at every connection's rate
    could take the tracker's whole time (a ``lookup`` among 700 sellers
    costs it about a millisecond).  The questions of an address group, all
    its connections together, now have a rate of their own; another
    group's are answered as before.
    """

    def makeTracker(self, **settings):
        return super().makeTracker(ping_interval=0, **settings)

    def answered(self, peer, count, question=indexmsg.Lookup("apple")):
        peer.say(*[question] * count)
        return len(peer.heard())

    def test_oneGroupsConnectionsShareOneRate(self):
        burst = int(tracker_module_.QUESTION_RATE * 2)
        askers = [self.join(0, peer_host=f"10.1.0.{n + 1}")[0] for n in range(4)]
        answered = sum(self.answered(peer, burst // 2) for peer in askers)
        self.assertEqual(answered, burst)
        # A list, though under its connection's own rate, is a question.
        fresh, _ = self.join(0, peer_host="10.1.0.5")
        self.assertEqual(self.answered(fresh, 1, indexmsg.List()), 0)
        other, _ = self.join(0, peer_host="10.2.0.1")
        self.assertEqual(self.answered(other, 10), 10)
        self.clock.advance(1)
        late, _ = self.join(0, peer_host="10.1.0.9")
        self.assertEqual(self.answered(late, burst // 2), tracker_module_.QUESTION_RATE)


class LookupRateTests(TrackerIndexCase):
    """
    ``nodereq`` and ``whereis`` had no rate but each connection's own, and
    one address group may hold 256 registered connections.  A node matches
    the answers to them by order, so none may be dropped: past its group's
    rate each is answered at once, in its turn, as if nobody were known;
    another group's are looked up as before.
    """

    def makeTracker(self, **settings):
        return super().makeTracker(ping_interval=0, **settings)

    def test_pastTheRateAnsweredInOrderAsNobody(self):
        burst = int(tracker_module_.LOOKUP_RATE * 2)
        seller, seller_id = self.join(5000, peer_host="10.3.0.1")
        self.tracker.registry.verify(seller_id)
        askers = [self.join(0, peer_host=f"10.1.0.{n + 1}")[0] for n in range(4)]
        answers = []
        for peer in askers:
            peer.say(*[wire.WhereIs(seller_id), wire.NodeReq()] * (burst // 4))
            answers.extend(peer.heard())
        # Every question answered, in order: whereis, nodereq, whereis...
        self.assertEqual({type(a) for a in answers}, {wire.NodeReply})
        self.assertEqual(len(answers), 2 * burst)
        self.assertEqual([a.id for a in answers[::2]], [seller_id] * burst)
        self.assertEqual(sum(a.port == 5000 for a in answers), burst)
        self.assertEqual({a.id for a in answers[1::2] if a.port == 0}, {NO_ID})
        # Another group's questions are looked up.
        other, _ = self.join(0, peer_host="10.2.0.1")
        other.say(wire.NodeReq())
        self.assertEqual(other.heard()[0].port, 5000)
        # And the group's own, once its bucket has filled again.
        self.clock.advance(1)
        askers[0].say(wire.NodeReq())
        self.assertEqual(askers[0].heard()[0].port, 5000)
