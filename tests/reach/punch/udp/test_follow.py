"""
Tests for L{twisted_bazaar.reach.punch.udp.follow}: the early punch and
its follow-up, and which punches hold a relayed download
(L{UdpPunching.runs}), between two nodes in memory
(L{tests.reach.punch.helpers}).
"""

from twisted.logger import capturedLogs, formatEvent

from twisted_bazaar import wire
from twisted_bazaar.transports.path import UDP, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.reach.punch.udp.earlygo import MOST, WAIT
from twisted_bazaar.reach.punch.udp.wanted import ASK_AGAIN, ASKS
from twisted_bazaar.reach.reachable.reachability import PRIVATE, Reachability
from twisted_bazaar.testing.udpnat import PORT_RESTRICTED, RANDOM
from twisted_bazaar.wire.udpreach import UdpCheck, UdpPunchAsk, UdpPunchGo
from twisted_bazaar.reach.punch.udp.plan import OUTLAST, TIMEOUT

from tests import records
from tests.reach.punch.helpers import HOME, Side, UdpPunchingTestCase


class EarlyTests(UdpPunchingTestCase):
    """A relayed link opened before the tracker's address check told the
    node what its router does (a node just registered: its TCP punch
    waits for that check, 5 s at home) is punched over UDP at once."""

    def early(self, kind_a=PORT_RESTRICTED, kind_b=RANDOM):
        """A opened the relayed link to B, neither told yet what its router
        does; both checked."""
        self.a = Side(self.network, "a", self.alice, self.bob, False, kind_a,
                      reached=False)
        self.b = Side(self.network, "b", self.bob, self.alice, True, kind_b,
                      reached=False)
        self.a.linkUp()
        self.b.linkUp()
        self.reach = {"a": self.check(self.a, 11), "b": self.check(self.b, 12)}

    def test_askedOnceChecked(self):
        """The opener asks the tracker as soon as its mapping is checked,
        with no TCP punch failed; the punch runs on the go, and meets; a
        TCP punch that fails later asks nothing more."""
        self.early()
        self.assertTrue(self.a.punching.waitsFor(self.bob.id))
        self.go()
        self.assertTrue(self.a.punching.runs(self.bob.id))
        self.tcpFailed()
        self.assertEqual(self.a.membership.take(), [])
        self.elapse(5.0)
        self.assertEqual(len(self.a.sockets.links[self.a.sockets.main].dials), 1)

    def wayOut(self):
        """A, which reaches its tracker by ws:, opened the relayed link to
        B; neither told yet what its router does."""
        self.a = Side(self.network, "a", self.alice, self.bob, False, PORT_RESTRICTED,
                      reached=False)
        self.b = Side(self.network, "b", self.bob, self.alice, True, RANDOM,
                      reached=False)
        self.a.membership.trackerWay = Path(WEBSOCKET, "203.0.113.1", 80)
        self.a.linkUp()
        self.b.linkUp()

    def test_noneFromAPluginsWayOut(self):
        """A node that reaches its tracker by a transport plugin's way
        (a network that lets only HTTP(S) out) asks no UDP punch at
        once: it punches with nobody, and the early ask held its
        file to a taste for 10 s, until the tracker said it saw none of
        its datagrams (issue 96, s57-user2)."""
        self.wayOut()
        self.reach = {"b": self.check(self.b, 12)}
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual(self.a.membership.take(), [])

    def test_noCheckNorAskFromAPluginsWayOut(self):
        """Nor does it ask a check of its UDP mapping, or a punch after its
        TCP punch failed, ever: its datagrams do not leave, and each ask
        the tracker refused said so at info, again and again ("the
        tracker refused a UDP check or punch: ... saw no datagram", issue
        96, s57-user2's HTTP-only home).  Before, it asked a udpcheck at
        each relayed link."""
        self.wayOut()
        self.check(self.b, 12)
        self.tcpFailed()
        self.a.punching.reachChanged(Reachability(PRIVATE), 0)
        self.elapse(60.0)
        self.assertEqual(self.a.membership.take(), [])
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))

    def saidNoUdp(self, reached):
        """A opened the relayed link to B, told what its router does or
        not (``reached``); B refuses a punch saying no UDP punch can work
        with it either once A's C{noUdp} says so (B reaches its tracker by
        ws:, and never has the tracker check its datagrams)."""
        self.said = set()
        self.a = Side(self.network, "a", self.alice, self.bob, False, PORT_RESTRICTED,
                      reached=reached, noUdp=self.said.__contains__)
        self.b = Side(self.network, "b", self.bob, self.alice, True, RANDOM,
                      reached=False)
        self.a.linkUp()
        self.b.linkUp()
        self.b.membership.take()

    def test_noneAskedOfAPeerWithNoUdpWay(self):
        """A TCP punch the peer refused saying no UDP punch can work with it
        either is followed by no ask of the tracker, nor a line at info:
        the tracker, which never saw the peer's datagrams, refused each,
        3 a link, each said at info twice (issue 96, s58-left)."""
        self.saidNoUdp(reached=True)
        self.check(self.a, 11)
        self.said.add(self.bob.id)
        with capturedLogs() as events:
            self.tcpFailed()
            self.elapse(60.0)
        self.assertEqual(self.a.membership.take(), [])
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual([formatEvent(e) for e in events
                          if e["log_level"].name != "debug"], [])

    def test_theEarlyAskEndsOnceThePeerSaidNoUdp(self):
        """An early ask the tracker refused (it has no datagram of the
        peer's) is not asked again once the peer's refusal of the TCP
        punch said no UDP punch can work with it."""
        self.saidNoUdp(reached=False)
        self.check(self.a, 11)
        self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])
        self.a.membership.hear(wire.Error("noudp", "not seen"))
        self.said.add(self.bob.id)
        self.tcpFailed()
        self.clock.advance(ASK_AGAIN)
        self.elapse(60.0)
        self.assertEqual(self.a.membership.take(), [])
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))

    def test_theOtherSideWaits(self):
        """The side that accepted the relayed link asks nothing: the opener
        does."""
        self.early()
        self.assertEqual(self.b.membership.take(), [])

    def test_askedOnce(self):
        """A TCP punch that fails while the early ask is unanswered sends
        no second ask."""
        self.early()
        self.tcpFailed()
        self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])

    def test_onceCheckedItFollowsTheTcpPunch(self):
        """Once the tracker's address check told the node what its router
        does, a relayed link waits for its TCP punch to fail first."""
        self.a = Side(self.network, "a", self.alice, self.bob, False, PORT_RESTRICTED,
                      reached=False)
        self.b = Side(self.network, "b", self.bob, self.alice, True, RANDOM)
        self.a.node.events.reachChanged(Reachability(PRIVATE, "198.51.100.7", 9000), 40000)
        self.a.linkUp()
        self.b.linkUp()
        self.reach = {"a": self.check(self.a, 11), "b": self.check(self.b, 12)}
        self.assertEqual(self.a.membership.take(), [])
        self.tcpFailed()
        self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])

    def test_theEarlyAskHolds(self):
        """Asked at once, the punch holds a relayed download from the check
        on (the one-shot node fetches as its link comes up: the relay
        carried 0.28 MB before the go), then while its probes are out;
        met, no more."""
        self.a = Side(self.network, "a", self.alice, self.bob, False, PORT_RESTRICTED,
                      reached=False)
        self.b = Side(self.network, "b", self.bob, self.alice, True, PORT_RESTRICTED,
                      reached=False)
        self.a.linkUp()
        self.b.linkUp()
        self.assertTrue(self.a.punching.runs(self.bob.id))
        self.assertFalse(self.b.punching.runs(self.alice.id))
        self.reach = {"a": self.check(self.a, 11), "b": self.check(self.b, 12)}
        self.assertTrue(self.a.punching.runs(self.bob.id))
        self.go()
        self.assertTrue(self.a.punching.runs(self.bob.id))
        self.elapse(1.0)
        self.assertIsNotNone(self.a.punching.table.get(self.bob.id).path)
        # Then while its QUIC link is dialled (RunsTests).
        [(_, _, link, _, _)] = self.a.sockets.links[self.a.sockets.main].dials
        self.a.node.links[self.bob.id] = link
        self.a.node.events.linkReplaced(self.bob.id)
        self.assertFalse(self.a.punching.runs(self.bob.id))

    def test_theEarlyAskRefusedHoldsNot(self):
        """Refused by the tracker, the early ask holds nothing while it
        waits to be asked again, holds again once asked, and nothing once
        its asks are spent."""
        self.early()
        for _ in range(ASKS):
            self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])
            self.assertTrue(self.a.punching.runs(self.bob.id))
            self.a.membership.hear(wire.Error("noudp", "not seen"))
            self.assertFalse(self.a.punching.runs(self.bob.id))
            self.clock.advance(ASK_AGAIN)
        self.assertFalse(self.a.punching.runs(self.bob.id))

    def test_theEarlyAskWithNoPlanHoldsNot(self):
        """Two random routers: the go brings no plan, and the early ask
        holds nothing more (a relayed file between such homes comes at the
        relay's rate)."""
        self.early(RANDOM, RANDOM)
        self.go()
        self.assertFalse(self.a.punching.runs(self.bob.id))
        self.assertFalse(self.b.punching.runs(self.alice.id))

    def beforeItsLink(self):
        """The early punch's go comes to B before B has the link: its
        handshake ends there only once A's proof came through the relay,
        and the go came over B's tracker connection."""
        self.early()
        self.b.node.links.pop(self.alice.id)
        self.go()

    def test_aGoBeforeItsLinkRunsWhenTheLinkComes(self):
        """A go that came before its relayed link is kept for it, and its
        punch runs when the link comes: the two meet (dropped, A's probes
        went unanswered, and its punch was asked again a minute later)."""
        self.beforeItsLink()
        self.elapse(0.5)
        self.assertNotIn(self.alice.id, self.b.punching.table)
        self.b.node.links[self.alice.id] = self.b.link
        self.b.linkUp()
        self.assertIn(self.alice.id, self.b.punching.table)
        self.elapse(5.0)
        self.assertEqual(len(self.a.sockets.links[self.a.sockets.main].dials), 1)
        self.assertEqual(len(self.b.node.whereabouts.book.pathsOf(self.alice.id, UDP)), 1)

    def test_aGoWhoseLinkNeverComes(self):
        """With no link within WAIT s, the go is not taken, and its line
        says so; no timer of it is left."""
        with capturedLogs() as events:
            self.beforeItsLink()
            self.clock.advance(WAIT - 0.01)
            self.assertEqual([event for event in events if "why" in event], [])
            self.clock.advance(0.01)
        [line] = [formatEvent(event) for event in events if "why" in event]
        self.assertIn("is not taken: this node holds no relayed link to it now", line)
        self.b.node.links[self.alice.id] = self.b.link
        self.b.linkUp()
        self.assertNotIn(self.alice.id, self.b.punching.table)
        self.assertEqual(len(self.b.punching.earlyGoes._goes), 0)

    def test_goesKeptAtMost(self):
        """At most MOST goes wait for their links; one past them is not
        taken at once, and the node stopping leaves no timer of them."""
        self.early()
        for number in range(MOST + 1):
            peer = records.identity(10 + number)
            with capturedLogs() as events:
                self.b.membership.hear(UdpPunchGo(peer.id, HOME["a"][1], 5000, 5000,
                                                  100 + number))
            self.assertEqual(len([event for event in events if "why" in event]),
                             number == MOST)
        self.assertEqual(len(self.b.punching.earlyGoes._goes), MOST)
        self.b.punching.nodeStopping()
        self.assertEqual(self.b.punching.earlyGoes._goes, {})
        self.assertEqual([call for call in self.clock.getDelayedCalls()
                          if call.func == self.b.punching.earlyGoes._expire], [])

    def asks(self, seconds):
        """What A asks the tracker in ``seconds``, a second at a time, its
        checks answered."""
        asked = []
        for token in range(seconds):
            self.clock.advance(1)
            for sent in self.a.membership.take():
                if isinstance(sent, UdpCheck):
                    self.a.membership.sent.insert(0, sent)
                    self.reach["a"] = self.check(self.a, 200 + token)
                else:
                    asked.append(sent)
        return asked

    def earlyEasy(self):
        """Both routers keep one mapping; A's early punch asked, the
        tracker's go heard by A alone (B's side of it never runs)."""
        self.early(PORT_RESTRICTED, PORT_RESTRICTED)
        self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])
        seen = self.reach["b"]
        self.a.membership.hear(UdpPunchGo(self.bob.id, seen.seen_host, seen.seen_port,
                                          seen.seen_second, 77))

    def test_aTcpPunchFailedMeanwhileIsFollowedUp(self):
        """The TCP punch failed while the early punch ran, and that punch
        then got nothing back: the punch the TCP punch's failure would
        have asked is asked then, once (before, nothing followed, and a
        `bazaar buy` stayed on the relay): as the missed punch asked again,
        patient, once the routers forgot its datagrams (35 s)."""
        self.earlyEasy()
        self.tcpFailed()
        self.assertEqual(self.a.membership.take(), [])
        self.elapse(TIMEOUT + 0.5)
        self.assertNotIn(self.bob.id, self.a.punching.table)
        self.assertEqual(self.asks(34), [])
        self.assertEqual(self.asks(2), [UdpPunchAsk(self.bob.id)])
        self.assertTrue(self.a.punching.retries.patient(self.bob.id))

    def test_followedUpOnce(self):
        """The follow-up that fails too asks nothing more."""
        self.earlyEasy()
        self.tcpFailed()
        self.elapse(TIMEOUT + 0.5)
        self.assertEqual(self.asks(36), [UdpPunchAsk(self.bob.id)])
        seen = self.reach["b"]
        self.a.membership.hear(UdpPunchGo(self.bob.id, seen.seen_host, seen.seen_port,
                                          seen.seen_second, 78))
        self.elapse(OUTLAST + TIMEOUT + 0.5)
        # (Its mapping is kept fresh for B's ask again: checks, no ask.)
        self.assertEqual([sent for sent in self.a.membership.take()
                          if not isinstance(sent, UdpCheck)], [])
        self.assertFalse(self.a.punching.followUps.followed(self.bob.id))

    def test_asksSpentAreFollowedUp(self):
        """The early punch's asks all refused (the tracker had not yet the
        seller's datagrams) after its TCP punch failed: asked once more,
        a new round of asks; spent again, nothing more."""
        self.early()
        self.tcpFailed()
        for _ in range(2):
            for _ in range(ASKS):
                self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])
                self.a.membership.hear(wire.Error("noudp", "not seen"))
                self.clock.advance(ASK_AGAIN)
        self.assertEqual(self.a.membership.take(), [])
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))

    def test_noTcpFailureNoFollowUp(self):
        """An early punch that fails with its TCP punch still under way
        asks nothing: that punch's failure asks, later."""
        self.earlyEasy()
        self.elapse(TIMEOUT + 0.5)
        self.assertEqual(self.a.membership.take(), [])
        self.tcpFailed()
        self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])

    def test_theLaterAskHoldsNot(self):
        """Once the check told the node what its router does, a punch
        asked after a TCP one failed holds nothing until its go."""
        self.checked()
        self.tcpFailed()
        self.assertFalse(self.a.punching.runs(self.bob.id))


class RunsTests(UdpPunchingTestCase):
    """Whether a punch with a plan runs (L{UdpPunching.runs}): what a
    relayed download's hold asks, not whether one may still follow
    (L{UdpPunching.waitsFor})."""

    def test_onlyOnceTheProbesAreOut(self):
        """Wanted and asked of the tracker, the punch does not run yet; the
        tracker's go with a plan starts it; met, it runs on the side that
        dials the QUIC link over its path until that link replaced the
        relayed one (the relay carries nothing meanwhile), and no more on
        the other."""
        self.checked()
        self.assertFalse(self.a.punching.runs(self.bob.id))
        self.tcpFailed()
        self.assertTrue(self.a.punching.waitsFor(self.bob.id))
        self.assertFalse(self.a.punching.runs(self.bob.id))
        self.go()
        self.assertTrue(self.a.punching.runs(self.bob.id))
        self.assertTrue(self.b.punching.runs(self.alice.id))
        self.elapse(1.0)
        self.assertIsNotNone(self.a.punching.table.get(self.bob.id).path)
        self.assertIsNotNone(self.b.punching.table.get(self.alice.id).path)
        self.assertTrue(self.a.punching.runs(self.bob.id))
        self.assertFalse(self.b.punching.runs(self.alice.id))
        [(_, _, link, _, _)] = self.a.sockets.links[self.a.sockets.main].dials
        self.a.node.links[self.bob.id] = link
        self.a.node.events.linkReplaced(self.bob.id)
        self.assertFalse(self.a.punching.runs(self.bob.id))

    def test_notOnceTheLinkOverThePathFailed(self):
        """Met, but the QUIC link over the path did not come: it runs no
        more."""
        self.checked()
        self.tcpFailed()
        self.go()
        self.elapse(1.0)
        self.assertTrue(self.a.punching.runs(self.bob.id))
        [(_, _, _, _, dialled)] = self.a.sockets.links[self.a.sockets.main].dials
        dialled.errback(ConnectionRefusedError("no answer"))
        self.assertFalse(self.a.punching.runs(self.bob.id))

    def test_noPlan(self):
        """Two random routers: the tracker's go brings no plan, and no
        punch runs on either side at any moment."""
        self.checked(kind_a=RANDOM, kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        self.assertFalse(self.a.punching.runs(self.bob.id))
        self.assertFalse(self.b.punching.runs(self.alice.id))

    def test_notAfterItFailed(self):
        """A punch nobody answers runs until its timeout, then no more."""
        self.checked()
        self.tcpFailed()
        self.a.membership.take()
        seen = self.reach["b"]
        self.a.membership.hear(UdpPunchGo(self.bob.id, seen.seen_host, seen.seen_port,
                                          seen.seen_second, 77))
        self.assertTrue(self.a.punching.runs(self.bob.id))
        self.elapse(11.0)
        self.assertFalse(self.a.punching.runs(self.bob.id))

    def test_notWhenTheBudgetRefused(self):
        """A punch this side's budget refused does not run while it waits
        to be asked again."""
        self.checked(kind_b=RANDOM)
        self.b.punching.budget.admit(HOME["a"][1], 1000)
        self.tcpFailed()
        self.go()
        self.assertTrue(self.b.punching.retries.waiting(self.alice.id))
        self.assertFalse(self.b.punching.runs(self.alice.id))
