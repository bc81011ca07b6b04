"""
Tests for L{twisted_bazaar.reach.punch.udp.service}: a punch over UDP
between two nodes in memory (L{tests.reach.punch.helpers}), the go taken
or not, its plan, its sockets, its budget and its asks again.
"""

from twisted.logger import capturedLogs, formatEvent

from twisted_bazaar import wire
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.transports.path import Path, SEEN, UDP
from twisted_bazaar.reach.punch.udp.mapping import KNOWN
from twisted_bazaar.reach.reachable.reachability import PUBLIC, Reachability
from twisted_bazaar.reach.punch.udp.earlygo import WAIT
from twisted_bazaar.reach.punch.udp.service import LINGER
from twisted_bazaar.reach.punch.udp.wanted import ASK_AGAIN, ASKS
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.testing.udpnat import RANDOM
from twisted_bazaar.wire.udpreach import UdpCheck, UdpPunchAsk, UdpPunchGo
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.budgets.dials import PER_PEER, PunchLimits
from twisted_bazaar.reach.punch.udp.plan import (
    BIRTHDAY_PROBES,
    datagram,
    HARD_SOCKETS,
    SOUND,
    TIMEOUT,
)

from tests import records
from tests.helpers import linkPeer
from tests.reach.punch.helpers import HOME, QUIC_PORT, Side, UdpPunchingTestCase
from tests.reach.test_punchnews import NewsHeard
from tests.helpers import clockStartMs


class PunchTests(UdpPunchingTestCase):
    def test_easyRouters(self):
        """Two routers that keep one mapping: after A's TCP punch failed,
        A asks the tracker, both punch from their QUIC sockets, and A
        dials the QUIC link over the met 5-tuple from its own socket, the
        peer's key expected; both book the path as the tracker's seen
        UDP path, routed through that socket; A's dialer waits until the
        QUIC link replaces the relayed one."""
        self.checked()
        self.tcpFailed()
        self.assertTrue(self.a.punching.waitsFor(self.bob.id))
        self.go()
        self.elapse(1.0)
        [(host, port, link, expected, _)] = self.a.sockets.links[self.a.sockets.main].dials
        self.assertEqual((host, port), (HOME["b"][1], self.reach["b"].seen_port))
        self.assertEqual(expected, decode(self.bob.key))
        self.assertFalse(link.inbound)
        self.assertEqual(self.b.sockets.links[self.b.sockets.main].dials, [])
        [path] = self.a.node.whereabouts.book.pathsOf(self.bob.id, UDP)
        self.assertEqual(path, Path(UDP, host, port, word=SEEN))
        self.assertIs(path.via, self.a.sockets.main)
        self.assertTrue(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual(self.a.released, [])
        # The QUIC link replaces the relayed one: whoever waited goes on.
        self.a.node.links[self.bob.id] = link
        self.a.node.events.linkReplaced(self.bob.id)
        self.assertEqual(self.a.released, [self.bob.id])
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))

    def test_goNotTakenIsSaid(self):
        """A go the node does not take (its relayed link to the peer gone,
        or a punch with it running already) says so, naming the peer:
        the other side's probes go unanswered, and only this line says
        why."""
        self.checked()
        self.tcpFailed()
        [asked] = self.a.membership.take()
        self.assertEqual(asked, UdpPunchAsk(self.bob.id))
        seen = self.reach["b"]
        go = UdpPunchGo(self.bob.id, seen.seen_host, seen.seen_port, seen.seen_second, 77)
        with capturedLogs() as events:
            self.a.membership.hear(go)
            self.a.membership.hear(go)
        whys = [event["why"] for event in events if "why" in event]
        self.assertEqual(whys, ["a punch with it runs already"])
        self.b.node.links.pop(self.alice.id)
        go = UdpPunchGo(self.alice.id, seen.seen_host, seen.seen_port, seen.seen_second, 78)
        with capturedLogs() as events:
            self.b.membership.hear(go)
            # Kept that long for its link (EarlyTests).
            self.clock.advance(WAIT)
        [line] = [formatEvent(event) for event in events if "why" in event]
        self.assertEqual(line, "the tracker's go for a UDP punch with node "
                         f"{shortId(self.alice.id)} is not taken: this node holds no "
                         "relayed link to it now")
        self.assertNotIn(self.alice.id, self.b.punching.table)

    def test_birthday(self):
        """B's router draws a port for each destination: B opens 255 more
        sockets; once the punch meets, the one it met on is kept (its
        5-tuple is the path) and the others are closed."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        self.elapse(5.0)
        sockets = self.b.sockets
        self.assertEqual(len(sockets.closed), HARD_SOCKETS - 2)
        [kept] = [socket for socket in sockets.links if socket is not sockets.main]
        [(host, port, _, _, _)] = self.a.sockets.links[self.a.sockets.main].dials
        [path] = self.b.node.whereabouts.book.pathsOf(self.alice.id, UDP)
        self.assertEqual((path.host, path.port), (HOME["a"][1], self.reach["a"].seen_port))
        self.assertIs(path.via, kept)

    def test_bothRandom(self):
        """Two random routers: no plan; A says why and its link stays on
        the relay, nothing waiting."""
        self.checked(kind_a=RANDOM, kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))
        self.assertEqual(self.a.released, [self.bob.id])
        self.assertEqual(self.a.sockets.closed, [])
        self.assertNoTimers()

    def test_socketsRefused(self):
        """Sockets the system will not open: the punch fails saying so,
        the ones opened closed."""
        self.checked(kind_b=RANDOM)
        self.b.sockets.refuse = True
        self.tcpFailed()
        with capturedLogs() as events:
            self.go()
        self.assertEqual(len(self.b.punching.table), 0)
        self.assertIn("cannot open 256 UDP sockets: Too many open files",
                      [event.get("why") for event in events])

    def test_refusedByTheBudgetOpensNoSocket(self):
        """A punch past the probe budget (a tracker that says udppunchgo
        again and again) is refused before any socket opens."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        self.b.punching.budget.admit = lambda host, sends, peer=None: "past the budget"
        self.go()
        self.assertEqual(self.b.sockets.next, QUIC_PORT + 1)
        self.assertEqual(len(self.b.punching.table), 0)

    def test_descriptorsKeptForTheNode(self):
        """The process's descriptors near their limit: B's birthday punch
        opens no socket (255 more took every descriptor of a process at
        1,024 before) and says why; the budgets are not spent on it."""
        self.checked(kind_b=RANDOM)
        self.b.punching.opened.descriptors = lambda: (800, 1024)
        self.tcpFailed()
        with capturedLogs() as events:
            self.go()
        self.assertEqual(self.b.sockets.next, QUIC_PORT + 1)
        self.assertEqual(len(self.b.punching.table), 0)
        self.assertIn("the process has 800 of its 1024 descriptors open: 255 more "
                      "would leave fewer than 64; asked again in 11 s (try 1 of 3)",
                      [event.get("why") for event in events])
        self.assertEqual(self.b.punching.budget._sent, [])

    def test_socketsCharged(self):
        """The sockets a birthday punch opens are charged to the address
        group it probes while it is under way; once it met, the one kept
        is its path's, charged to nobody (it counted against the next
        punch to the same home: issue 85's `bazaar buy` beside a daemon
        that met, refused at 1 + 255 of 255), and it stays open."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        opened = self.b.punching.opened.account
        self.assertEqual(opened.used, HARD_SOCKETS - 1)
        self.elapse(5.0)
        self.assertEqual(opened.used, 0)
        self.assertEqual(len(self.b.sockets.links), 2)
        self.assertIsNone(self.b.punching.opened.whyNot(
            "next", addressGroup(HOME["a"][1]), HARD_SOCKETS - 1))
        self.b.punching.nodeStopping()
        self.assertEqual(len(self.b.sockets.links), 1)

    def test_noAnswer(self):
        """The peer never answers: the punch fails after its timeout and
        A's dialer goes on over the relay."""
        self.checked()
        self.tcpFailed()
        [asked] = self.a.membership.take()
        seen = self.reach["b"]
        self.a.membership.hear(UdpPunchGo(self.bob.id, seen.seen_host, seen.seen_port,
                                          seen.seen_second, 77))
        self.elapse(11.0)
        self.assertEqual(self.a.released, [self.bob.id])
        self.assertEqual(len(self.a.punching.table), 0)
        self.assertEqual(list(self.a.node.whereabouts.book.pathsOf(self.bob.id, UDP)), [])

    def test_askedAgain(self):
        """A udppunch refused (the tracker has not seen the peer yet) is
        asked again ASK_AGAIN seconds later, ASKS times in all; then A
        gives up.  Each refusal asked again is routine (its line a debug
        one, L{SessionParts.routine}); the last is not."""
        self.checked()
        self.tcpFailed()
        routine = []
        for _ in range(ASKS):
            self.assertEqual(self.a.membership.take(), [UdpPunchAsk(self.bob.id)])
            refusal = wire.Error("noudp", "not seen")
            routine.append(self.a.membership.parts.routine(refusal))
            self.a.membership.hear(refusal)
            self.clock.advance(ASK_AGAIN)
        self.assertEqual(self.a.membership.take(), [])
        self.assertEqual(self.a.released, [self.bob.id])
        self.assertEqual(routine, [True] * (ASKS - 1) + [False])

    def test_strangersIgnored(self):
        """Only a punch datagram with a punch's nonce, to one of its
        sockets, reaches that punch: not one with another nonce, nor bytes
        that are no punch datagram, nor one to a socket of no punch."""
        self.checked()
        self.tcpFailed()
        self.go(nonce=77)
        run = self.a.punching.table.get(self.bob.id)
        heard = []
        run.punch.datagramReceived = lambda *args: heard.append(args)
        main, source = self.a.sockets.main, (HOME["b"][1], 5000)
        main.foreign(main, datagram(1, 78), source)
        main.foreign(main, b"short", source)
        other = self.a.sockets.open()
        other.foreign(other, datagram(1, 77), source)
        self.assertEqual(heard, [])
        main.foreign(main, datagram(1, 77), source)
        self.assertEqual(heard, [(0, HOME["b"][1], 5000, datagram(1, 77))])

    def test_aHostTheRelayDidNotSee(self):
        """A udppunchgo naming a host where the relay of the link did not
        see the peer (a lying tracker's victim) sends it no probe: the
        punch is refused, saying why, as a TCP punch's would be."""
        self.checked()
        self.tcpFailed()
        self.a.membership.take()
        sent = self.network.sent
        with capturedLogs() as events:
            self.a.membership.hear(UdpPunchGo(self.bob.id, "192.0.2.66", 4433, 4433, 77))
        self.elapse(1.0)
        self.assertEqual(self.network.sent, sent)
        self.assertEqual(len(self.a.punching.table), 0)
        [why] = [event["why"] for event in events if "why" in event]
        self.assertIn("not at 203.0.113.9 where its relay says it is", why)
        self.assertEqual(self.a.released, [self.bob.id])

    def test_noRelayedLink(self):
        """A udppunchgo naming a node this one has no link to, or only a
        direct one (a tracker's, or a stranger's through it, word alone),
        starts nothing: no probe, no socket, no run."""
        self.checked()
        carol, dave = records.identity(3), records.identity(4)
        linkPeer(self.a.node, dave, inbound=False)
        sent = self.network.sent
        for peer in (carol, dave):
            self.a.membership.hear(UdpPunchGo(peer.id, HOME["b"][1], 5000, 5000, 78))
        self.elapse(WAIT + 1.0)
        self.assertEqual(self.network.sent, sent)
        self.assertEqual((len(self.a.punching.table), self.a.sockets.next), (0, QUIC_PORT + 1))

    def test_linger(self):
        """A met path outlives the relayed link LINGER seconds (the QUIC
        link may replace it late at this end); with no link then, it is
        forgotten and its socket closed."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        self.elapse(5.0)
        sockets = self.b.sockets
        [kept] = [socket for socket in sockets.links if socket is not sockets.main]
        del self.b.node.links[self.alice.id]
        self.b.node.events.linkRemoved(self.alice.id)
        self.clock.advance(LINGER - 1)
        self.assertEqual(len(self.b.node.whereabouts.book.pathsOf(self.alice.id, UDP)), 1)
        self.clock.advance(1)
        self.assertEqual(list(self.b.node.whereabouts.book.pathsOf(self.alice.id, UDP)), [])
        self.assertIn(kept, sockets.closed)

    def test_stopping(self):
        """The node stops: every punch ends, every socket opened closed,
        no timer left."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        self.elapse(0.05)
        for side in (self.a, self.b):
            side.punching.nodeStopping()
        self.assertEqual(len(self.b.sockets.closed), HARD_SOCKETS - 1)
        self.assertNoTimers()

    def test_aReachHeardWhileStoppingAsksNoCheck(self):
        """The tracker's reach heard as the node stops (its links closing)
        asked a check: its timer outlived the stop, and its answer logged
        this node's mapping after "shutting down"."""
        self.checked()
        for side in (self.a, self.b):
            side.punching.nodeStopping()
            side.membership.take()
        self.elapse(KNOWN)
        self.b.node.setUdpPort(QUIC_PORT)
        self.b.node.events.reachChanged(Reachability(PUBLIC, "198.51.100.7", 9000),
                                        40000)
        self.assertEqual(self.b.membership.take(), [])
        self.assertNoTimers()


class DirectTests(UdpPunchingTestCase):
    def publicAndHome(self, named=True):
        """A public node (no router) opened a relayed link to B, at home
        behind a router that draws a port per flow (as a public seller
        dials a home seller through its relay); the tracker named A to B
        at its host with no relay (``named``); both checked."""
        self.a = Side(self.network, "p", self.alice, self.bob, False, None, peer_name="b")
        self.b = Side(self.network, "b", self.bob, self.alice, True, RANDOM,
                      peer_name="p")
        self.a.linkUp()
        self.b.linkUp()
        [(asked, answer)] = self.b.membership.asked
        self.assertEqual(asked, self.alice.id)
        if named:
            answer.callback(wire.NodeReply(self.alice.id, HOME["p"][0], 9000))
        self.reach = {"a": self.check(self.a, 11), "b": self.check(self.b, 12)}

    def test_aPublicPeerIsDialledNotPunched(self):
        """B reaches A directly (the tracker names it at its host, no
        relay): its side sends the direct plan's few datagrams from its own
        socket to A's port, opens no socket, spends 6 probes of its budget
        where a birthday punch spent 1,024 (the issue: a home seller's
        punch of a public seller locked its buyer out), and the two meet;
        A, which opened the link, links over QUIC."""
        self.publicAndHome()
        self.tcpFailed()
        with capturedLogs() as events:
            self.go()
            self.elapse(5)
        self.assertEqual(self.b.sockets.next, QUIC_PORT + 1)
        self.assertEqual(sum(each[3] for each in self.b.punching.budget._sent), 6)
        self.assertIn("direct", [event.get("strategy") for event in events])
        [dial] = self.a.sockets.links[self.a.sockets.main].dials
        self.assertEqual(dial[:2], (HOME["b"][1], dial[1]))
        self.assertIsNotNone(self.b.punching.table.get(self.alice.id).path)

    def test_unnamedPeerIsPunched(self):
        """The tracker has not named A to B (no word, or a relay): B has no
        direct path, and runs the birthday plan as before."""
        self.publicAndHome(named=False)
        self.tcpFailed()
        self.go()
        self.assertEqual(self.b.sockets.next, QUIC_PORT + HARD_SOCKETS)

    def test_anotherPathIsNotPunched(self):
        """A peer the node reaches by a path at another host (a local
        address, a configured QUIC address) is not punched at all."""
        self.publicAndHome()
        self.b.node.whereabouts.book.add(self.alice.id, Path(UDP, "192.0.2.77", 4433,
                                                         word="configured"))
        self.b.node.whereabouts.book.trackerNamed(
            wire.NodeReply(self.alice.id, "192.0.2.88", 9000))
        self.tcpFailed()
        with capturedLogs() as events:
            self.go()
        self.assertEqual(len(self.b.punching.table), 0)
        self.assertEqual(self.b.punching.budget._sent, [])
        self.assertIn("this node reaches it by its direct path at 192.0.2.88:9000: no "
                      "punch", [event.get("why") for event in events])

    def test_theOpenerAsksNoneOfAPeerItReaches(self):
        """The side that opened the relayed link asks no UDP punch with a
        peer it reaches directly: its TCP punch failed, but nothing is
        sent to the tracker, nothing waits."""
        self.checked()
        self.a.node.whereabouts.book.trackerNamed(wire.NodeReply(self.bob.id, HOME["b"][1],
                                                            9000))
        self.tcpFailed()
        self.assertEqual(self.a.membership.take(), [])
        self.assertFalse(self.a.punching.waitsFor(self.bob.id))


class BudgetRetryTests(UdpPunchingTestCase):
    def refused(self):
        """B's budget holds 1,000 probes to A's host: the birthday punch
        A asks for is refused on B's side, and asked again by B."""
        self.checked(kind_b=RANDOM)
        self.b.punching.budget.admit(HOME["a"][1], 1000)
        self.tcpFailed()
        return self.whysOfAGo()

    def test_askedAgainWhenTheBudgetAllows(self):
        """The punch the budget refused is asked again by the refused side
        once the window forgot enough (its count in the line), its check
        freshened first; the punch then meets, and A, which opened the
        link, links over QUIC."""
        [why] = self.refused()
        self.assertEqual(why, "this node sent or is sending 1000 UDP punch probes to that host in "
                              "the last 60 s, and 1025 more would pass its 1088; asked "
                              "again in 61 s (try 1 of 3)")
        self.assertEqual(self.b.sockets.next, QUIC_PORT + 1)
        self.elapse(10)
        self.assertEqual(self.b.membership.take(), [])
        self.clock.advance(51)
        # A's link came again meanwhile: its mapping is fresh at the tracker.
        self.a.linkUp()
        self.reach["a"] = self.check(self.a, 13)
        self.reach["b"] = self.check(self.b, 14)
        self.go(asker=self.b, nonce=78)
        self.elapse(5)
        self.assertEqual(len(self.a.sockets.links[self.a.sockets.main].dials), 1)
        self.assertNotIn(self.alice.id, self.b.punching.retries._tries)

    def test_cancelledWithTheLink(self):
        """The link gone, or the node stopping: the timer is cancelled."""
        self.refused()
        self.assertTrue(self.b.punching.retries.waiting(self.alice.id))
        self.b.node.events.linkRemoved(self.alice.id)
        self.assertFalse(self.b.punching.retries.waiting(self.alice.id))
        self.refused()
        self.b.punching.nodeStopping()
        self.assertFalse(self.b.punching.retries.waiting(self.alice.id))


class AgainTests(UdpPunchingTestCase):
    """A punch that missed, or that one side's bounds refused, is asked
    again, and the side that waits for it keeps its mapping fresh at the
    tracker meanwhile (issue 85: the retry was refused, the tracker saw
    no datagram of the waiting side in the last 30 s)."""

    def playTracker(self, seconds):
        """Play the tracker for ``seconds``, a second at a time: each
        udpcheck answered; returns each side's udppunch asks (the second
        they came), and the oldest its mapping at the tracker got."""
        last = {"a": self.clock.seconds(), "b": self.clock.seconds()}
        oldest = {"a": 0.0, "b": 0.0}
        asks = {"a": [], "b": []}
        token = 100
        for _ in range(seconds):
            self.clock.advance(1)
            for name, side in (("a", self.a), ("b", self.b)):
                oldest[name] = max(oldest[name], self.clock.seconds() - last[name])
                for message in side.membership.take():
                    if isinstance(message, UdpCheck):
                        token += 1
                        side.membership.sent.insert(0, message)
                        self.reach[name] = self.check(side, token)
                        last[name] = self.clock.seconds()
                    else:
                        asks[name].append((round(self.clock.seconds() - clockStartMs() / 1000),
                                            message))
        return asks, oldest

    def test_refusedSideAsksAgainWithTheOtherFresh(self):
        """A (random router, which opened the link) runs its birthday
        sockets; B's probe budget to A's host is spent (B's daemon punched
        that home a moment ago), so B sends nothing: A's punch gets
        nothing back.  A keeps its mapping fresh (never older than 30 s
        at the tracker) and asks again once the routers forgot its
        datagrams, 35 s after the miss, patient; B, whose probes would
        have met silence at A, is patient too, and its budget refuses
        again until its window has room."""
        self.checked(kind_a=RANDOM)
        self.b.punching.budget.admit(HOME["a"][1], 1000)
        self.tcpFailed()
        whys = self.whysOfAGo(seconds=TIMEOUT + SOUND + 0.1)
        self.assertEqual(whys, [
            "this node sent or is sending 1000 UDP punch probes to that host in the last 60 s, and "
            "1025 more would pass its 1088; asked again in 61 s (try 1 of 3)",
            "no datagram of the peer's came back within 10.25 s (birthday-sockets, 1024 "
            "probes); asked again in 35 s (try 1 of 3)"])
        self.assertTrue(self.a.punching.keptFresh.waiting(self.bob.id))
        for side in (self.a, self.b):
            self.assertTrue(side.punching.retries.patient(side.peer.id))
        asks, oldest = self.playTracker(35)
        self.assertLess(oldest["a"], KNOWN)
        self.assertEqual(asks, {"a": [(46, UdpPunchAsk(self.bob.id))], "b": []})
        self.a.membership.sent.append(UdpPunchAsk(self.bob.id))
        whys = self.whysOfAGo(nonce=79)
        self.assertEqual(whys, [
            "this node sent or is sending 1000 UDP punch probes to that host in the last 60 s, and "
            "1024 more would pass its 1088; asked again in 15 s (try 2 of 3)"])
        self.assertEqual(self.a.punching.table.get(self.bob.id).punch.plan.strategy,
                         "patient-birthday-sockets")

    def test_attemptsSpentAskedAgain(self):
        """A's punch past its count of attempts for B's key (its TCP punch's
        attempts and a first UDP punch in the last 60 s: issue 94's "this
        node dialled you 3 times") is asked again once the window has
        room, patient, not dropped."""
        limits = PunchLimits(self.clock)
        self.checked(limits_a=limits)
        for _ in range(PER_PEER):
            limits.admit(self.a.link.key, "elsewhere")
        self.tcpFailed()
        [why] = self.whysOfAGo()
        self.assertEqual(why, "this node dialled that peer 3 times for punches in the "
                              "last 60 s, its most for one peer; asked again in 61 s (try 1 of 3)")
        self.assertTrue(self.a.punching.retries.patient(self.bob.id))
        self.assertTrue(self.a.punching.retries.waiting(self.bob.id))

    def test_nothingKeptFreshWithoutAMiss(self):
        """A punch that met, or none at all: no check is asked beyond the
        relayed link's."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        asks, _ = self.playTracker(60)
        self.assertEqual(asks, {"a": [], "b": []})
        self.assertFalse(self.b.punching.keptFresh.waiting(self.alice.id))
        self.assertLess(self.a.punching.check._at - clockStartMs() / 1000, 1)

    def goUnanswered(self, **kinds):
        """A's TCP punch failed, the tracker says go for a UDP punch that
        nothing answers (B never heard the go), and the punch's time runs
        out."""
        self.checked(**kinds)
        self.tcpFailed()
        [asked] = self.a.membership.take()
        seen = self.reach["b"]
        self.a.membership.hear(UdpPunchGo(self.bob.id, seen.seen_host, seen.seen_port,
                                          seen.seen_second, 77))
        self.elapse(TIMEOUT + SOUND + 0.1)

    def test_missedBirthdayAskedAgainByItsOpener(self):
        """A birthday punch that missed (B never heard the go: as its
        probes miss, by the odds' 2 %) is asked again by A, which opened
        the link, once the routers forgot what its datagrams left there
        (its last probes 1.5 s in, forgotten 40 s later: 32.5 s after the
        miss, with the retry's slack), patient; it holds no relayed
        download meanwhile (issue 94: a download held through the punch
        asked again)."""
        self.goUnanswered(kind_b=RANDOM)
        self.assertFalse(self.a.punching.runs(self.bob.id))
        asks, _ = self.playTracker(32)
        self.assertEqual(asks["a"], [])
        self.assertFalse(self.a.punching.runs(self.bob.id))
        asks, _ = self.playTracker(1)
        self.assertEqual(asks["a"], [(44, UdpPunchAsk(self.bob.id))])
        self.assertTrue(self.a.punching.retries.patient(self.bob.id))

    def missBoth(self):
        """A's TCP punch failed, the tracker's go reaches both sides, and
        no datagram passes until their punches' time ran out."""
        self.checked()
        self.tcpFailed()
        send, self.network.send = self.network.send, lambda *args, **kwargs: None
        self.go()
        self.elapse(TIMEOUT + SOUND + 0.1)
        self.network.send = send

    def test_aMissAskedAgainPatient(self):
        """A punch that got no datagram back on either side (two routers
        on one segment, each taking the other's first datagrams) is asked
        again by A once the routers forgot what its datagrams left there
        (its last 4 s in, forgotten 40 s later: 35 s after the miss, with
        the retry's slack); both sides' plans are then patient, and the
        punch meets once B's wait is over; one that meets makes the next
        one fast again."""
        self.missBoth()
        for side in (self.a, self.b):
            self.assertTrue(side.punching.retries.patient(side.peer.id))
        asks, _ = self.playTracker(35)
        self.assertEqual(asks, {"a": [(46, UdpPunchAsk(self.bob.id))], "b": []})
        self.a.membership.sent.append(UdpPunchAsk(self.bob.id))
        self.go(nonce=78)
        plans = [side.punching.table.get(side.peer.id).punch.plan for side in (self.a, self.b)]
        self.assertEqual({plan.strategy for plan in plans}, {"patient-simultaneous"})
        # It holds no relayed download for its 32 s and more.
        self.assertFalse(self.a.punching.runs(self.bob.id))
        self.assertEqual(sorted(min(probe.at for probe in plan.probes) for plan in plans),
                         [0.0, udppunch.OUTLAST])
        self.elapse(udppunch.OUTLAST - 1)
        self.assertEqual(len(self.a.sockets.links[self.a.sockets.main].dials), 0)
        self.elapse(2)
        self.assertEqual(len(self.a.sockets.links[self.a.sockets.main].dials), 1)
        for side in (self.a, self.b):
            self.assertFalse(side.punching.retries.patient(side.peer.id))

    def test_missNewsComesAtOnce(self):
        """The dialer's news of a missed birthday punch: it started with the
        tracker's go, ended unmet at its timeout (a relayed download goes on
        at the relay's rate then, not held through the punch asked again:
        issue 94), and nothing runs until it is asked again."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        heard = NewsHeard()
        self.assertFalse(self.a.node.dialer.news.watch(self.bob.id, heard).running)
        [asked] = self.a.membership.take()
        seen = self.reach["b"]
        self.a.membership.hear(UdpPunchGo(self.bob.id, seen.seen_host, seen.seen_port,
                                          seen.seen_second, 77))
        self.assertEqual(heard.heard, [("started", self.bob.id)])
        self.elapse(TIMEOUT + SOUND - 0.5)
        self.assertEqual(heard.heard, [("started", self.bob.id)])
        self.elapse(0.6)
        self.assertEqual(heard.heard, [("started", self.bob.id),
                                       ("ended", self.bob.id, False)])

    def test_aMissedPatientPunchOfNoBirthdayIsNotAskedAgain(self):
        """Two routers that keep their mappings, and a patient punch that
        got nothing back too: no odds to try again (a firewall drops it),
        so no ask; the mapping is kept fresh in case B asks."""
        self.missBoth()
        self.playTracker(35)
        self.a.membership.sent.append(UdpPunchAsk(self.bob.id))
        send, self.network.send = self.network.send, lambda *args, **kwargs: None
        self.go(nonce=78)
        self.elapse(udppunch.OUTLAST + TIMEOUT + 0.1)
        self.network.send = send
        asks, oldest = self.playTracker(70)
        self.assertEqual(asks["a"], [])
        self.assertLess(oldest["a"], KNOWN)

    def test_socketsFullAskedAgain(self):
        """B's punches hold a punch's sockets to A's address group (another
        punch to that home under way): B's side is refused, and asked
        again once those have ended, TIMEOUT s at most."""
        self.checked(kind_b=RANDOM)
        self.b.punching.opened.hold("another", addressGroup(HOME["a"][1]), HARD_SOCKETS - 1)
        self.tcpFailed()
        [why] = self.whysOfAGo()
        self.assertEqual(why, "this node's punches hold 255 UDP sockets, and 255 more "
                              "would pass its 510 (or 255 to one address group); asked "
                              "again in 11 s (try 1 of 3)")
        self.b.punching.opened.release("another")
        asks, _ = self.playTracker(12)
        self.assertEqual(asks["b"], [(11, UdpPunchAsk(self.alice.id))])

    def test_aMetHostHasRoomForTheNextPunch(self):
        """Once a punch met, the budget to its host has room for another
        birthday punch this window (a `bazaar buy` beside the daemon that
        met); a host that did not meet does not."""
        self.checked(kind_b=RANDOM)
        self.tcpFailed()
        self.go()
        self.elapse(5)
        budget = self.a.punching.budget
        self.assertIsNone(budget.admit(HOME["b"][1], BIRTHDAY_PROBES))
        self.assertIsNotNone(budget.admit(HOME["b"][1], BIRTHDAY_PROBES))
