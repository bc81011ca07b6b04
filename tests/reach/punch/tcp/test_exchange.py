"""
Tests for L{twisted_bazaar.reach.punch.tcp.exchange}: the coordination of a hole
punch between two nodes over a link they share (here links on fake
transports, their messages carried by the test at the times it chooses),
on a fake clock, with a dialer that records each dial and lets the test
say how it went.
"""

import random

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectError
from twisted.logger import capturedLogs, formatEvent
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.reach.punch.tcp.exchange import (
    ANSWER_TIMEOUT,
    ATTEMPTS,
    DIAL_DEADLINE,
    PUNCH_PORTS,
    PunchFailed,
    Puncher,
    directPeer,
)
from twisted_bazaar.reach.punch.budgets.dials import PER_GROUP, PER_PEER, WINDOW
from twisted_bazaar.reach.punch.tcp.mapping import mappingOf
from twisted_bazaar.reach.punch.tcp.messages import PunchConnect, PunchReply, PunchSync
from twisted_bazaar.transports.path import DIRECT, SEEN
from twisted_bazaar.testing.memory import stepClock
from twisted_bazaar.wire.ids import shortId

from tests import records
from tests.helpers import closeLink, feed, linkPeer, makeNode, sent

#: The public hosts the two nodes' routers have, as a third party saw them.
HOST_A = "198.51.100.7"
HOST_B = "203.0.113.9"
#: One way across the shared link, in seconds.
TRANSIT = 0.05


class Dial:
    """One dial a L{FakeDialer} was asked for, and its Deferred."""

    def __init__(self, at, local_port, host, port, protocol, opener, expected):
        self.at = at
        self.local_port = local_port
        self.host = host
        self.port = port
        self.protocol = protocol
        self.opener = opener
        self.expected = expected
        self.cancelled = False
        self.deferred = defer.Deferred(self._cancel)

    def _cancel(self, _):
        self.cancelled = True


class FakeDialer:
    """The node's dialer as a puncher announces its paths to it
    (L{Sources.found <twisted_bazaar.reach.sources.Sources.found>}):
    records each dial, its peer, path, key and options (the port it is
    made from, the opener)."""

    def __init__(self, clock):
        self.clock = clock
        self.dials = []
        self.paths = []
        self.peers = []

    def found(self, found):
        path, options = found.path, found.options
        self.peers.append(found.peer_id)
        self.paths.append((path.kind, path.word, path.relay))
        dial = Dial(self.clock.seconds(), options.fromPort, path.host, path.port,
                    found.protocol(), options.opener, found.key)
        self.dials.append(dial)
        return dial.deferred


class Side:
    """One node, its link to the other, and its puncher."""

    def __init__(self, clock, identity, other, public, inbound, seed):
        self.identity = identity
        self.node = makeNode(identity.id, seed=seed, identity=identity)
        self.link = linkPeer(self.node, other, inbound=inbound)
        self.dialer = FakeDialer(clock)
        #: link -> the host a third party saw its peer connect from.
        self.witnessed = {}
        self.puncher = Puncher(clock, random.Random(seed), self.dialer.found,
                               lambda link: ("protocol", link.inbound),
                               self.witnessed.get)
        self.puncher.setMapping(mappingOf(public, 40000, 40000))
        self.node.takeFrom(self.puncher)


class PunchTestCase(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.start = self.clock.seconds()
        alice, bob = records.identity(1), records.identity(2)
        # A opened the shared link; B accepted it.
        self.a = Side(self.clock, alice, bob, HOST_A, inbound=False, seed=1)
        self.b = Side(self.clock, bob, alice, HOST_B, inbound=True, seed=2)
        self.a.witnessed[self.a.link] = HOST_B
        self.b.witnessed[self.b.link] = HOST_A

    def carry(self, source, target):
        """What source sent on its link reaches target, TRANSIT seconds
        later."""
        messages = sent(source.link)
        self.clock.advance(TRANSIT)
        feed(target.link, *messages)
        return messages

    def exchange(self):
        """A starts a punch; it goes as far as both sides' dials."""
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        return (punched, *self.attempt())

    def attempt(self):
        """One more attempt of A's punch, until both dial."""
        [connect] = self.carry(self.a, self.b)
        [reply] = self.carry(self.b, self.a)
        [sync] = self.carry(self.a, self.b)
        return connect, reply, sync

    def assertNothingHeld(self):
        self.assertEqual(self.clock.getDelayedCalls(), [])
        for side in (self.a, self.b):
            self.assertEqual(side.puncher._punches, {})
            self.assertEqual(side.puncher._answers, {})

    def refusalsOn(self, side):
        """The (code, info, id) of the errors side sent on its link."""
        return [(m.code, m.info, m.id) for m in sent(side.link)
                if isinstance(m, wire.Error)]


class ExchangeTests(PunchTestCase):
    def test_messages(self):
        """The initiator names its public host and a punch port; the other
        side answers with its own for the same nonce; the sync names it
        too."""
        _, connect, reply, sync = self.exchange()
        self.assertIsInstance(connect, PunchConnect)
        self.assertEqual(connect.host, HOST_A)
        self.assertIn(connect.port, range(*PUNCH_PORTS))
        self.assertIsInstance(reply, PunchReply)
        self.assertEqual((reply.nonce, reply.host), (connect.nonce, HOST_B))
        self.assertIn(reply.port, range(*PUNCH_PORTS))
        self.assertIsInstance(sync, PunchSync)
        self.assertEqual(sync.nonce, connect.nonce)

    def test_simultaneousDials(self):
        """The initiator dials half its measured round trip after its
        sync, the other side as the sync arrives: at the same moment,
        each from its punch port to the other's, at the host a third
        party saw, to prove the other's key; the end that opened the
        shared link opens the punched one."""
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        [connect] = self.carry(self.a, self.b)
        [reply] = self.carry(self.b, self.a)
        # The sync leaves after a round trip of 2 * TRANSIT, and arrives
        # TRANSIT later: then both dial.
        self.assertAlmostEqual(self.clock.seconds() - self.start, 2 * TRANSIT, places=6)
        self.assertEqual(self.a.dialer.dials, [])
        self.clock.advance(TRANSIT - 0.001)
        self.assertEqual(self.a.dialer.dials, [])
        # The two steps fall a rounding short of TRANSIT at an epoch.
        stepClock(self.clock, 0.001)
        [a_dial] = self.a.dialer.dials
        [sync] = sent(self.a.link)
        self.assertEqual(sync, PunchSync(connect.nonce))
        feed(self.b.link, sync)
        [b_dial] = self.b.dialer.dials
        self.assertEqual(a_dial.at, b_dial.at)
        self.assertEqual((a_dial.local_port, a_dial.host, a_dial.port),
                         (connect.port, HOST_B, reply.port))
        self.assertEqual((b_dial.local_port, b_dial.host, b_dial.port),
                         (reply.port, HOST_A, connect.port))
        self.assertEqual((a_dial.opener, a_dial.protocol), (True, ("protocol", False)))
        self.assertEqual((b_dial.opener, b_dial.protocol), (False, ("protocol", True)))
        self.assertEqual(a_dial.expected, decode(self.b.identity.key))
        self.assertEqual(self.a.dialer.paths, [(DIRECT, SEEN, None)],
                         "a direct path, where a third party saw the peer")
        self.assertEqual((self.a.dialer.peers, self.b.dialer.peers),
                         ([self.b.identity.id], [self.a.identity.id]),
                         "each announced as found to its peer")
        self.assertEqual(b_dial.expected, decode(self.a.identity.key))
        punched.cancel()
        self.failureResultOf(punched, defer.CancelledError)

    def test_success(self):
        """A dial whose channel proved the key ends the punch: its
        Deferred fires with the protocol on the punched connection, a
        line on each side says so, naming the address the punch dialled
        (not the shared link's, which is the relay's), and nothing is left
        behind."""
        punched, connect, reply, _ = self.exchange()
        self.clock.advance(TRANSIT)
        with capturedLogs() as events:
            self.a.dialer.dials[0].deferred.callback("direct link")
            self.b.dialer.dials[0].deferred.callback("direct link")
        self.assertEqual(self.successResultOf(punched), "direct link")
        lines = [formatEvent(e) for e in events]
        self.assertIn(f"punched a direct connection to node {shortId(self.b.identity.id)} "
                      f"at {HOST_B}:{reply.port} (attempt 1 of 3, round trip 100 ms)",
                      lines)
        self.assertIn(f"punched a direct connection to node {shortId(self.a.identity.id)} "
                      f"at {HOST_A}:{connect.port} (its punch)", lines)
        self.assertNothingHeld()

    def test_retries(self):
        """A dial that fails is tried again with a new exchange (a new
        nonce, a new port), at most three times in all; then the punch
        fails, saying why, and nothing is left."""
        punched, first, _, _ = self.exchange()
        self.clock.advance(TRANSIT)
        nonces, ports = {first.nonce}, {first.port}
        for attempt in range(1, ATTEMPTS + 1):
            self.assertEqual(len(self.a.dialer.dials), attempt)
            self.a.dialer.dials[-1].deferred.errback(ConnectionRefusedError("refused"))
            self.b.dialer.dials[-1].deferred.errback(ConnectionRefusedError("refused"))
            if attempt < ATTEMPTS:
                connect, _, _ = self.attempt()
                self.clock.advance(TRANSIT)
                nonces.add(connect.nonce)
                ports.add(connect.port)
        self.assertEqual((len(nonces), len(ports)), (ATTEMPTS, ATTEMPTS))
        self.assertEqual(len(self.b.dialer.dials), ATTEMPTS)
        failure = self.failureResultOf(punched, PunchFailed)
        self.assertEqual(str(failure.value),
                         "no direct connection after 3 attempts (the last: refused)")
        self.assertEqual(sent(self.a.link), [])
        self.assertNothingHeld()

    def test_reasonEndsOnce(self):
        """The last dial's reason ends without its full stop, so the line
        has one stop, not two ('lost in a non-clean fashion..)', as
        Twisted's ConnectError put one after its own reason's)."""
        punched, _, _, _ = self.exchange()
        self.clock.advance(TRANSIT)
        lost = ConnectError(string="Connection to the other side was lost in a "
                            "non-clean fashion.")
        for attempt in range(1, ATTEMPTS + 1):
            self.a.dialer.dials[-1].deferred.errback(lost)
            self.b.dialer.dials[-1].deferred.errback(lost)
            if attempt < ATTEMPTS:
                self.attempt()
                self.clock.advance(TRANSIT)
        self.assertEqual(str(self.failureResultOf(punched, PunchFailed).value),
                         "no direct connection after 3 attempts (the last: An error "
                         "occurred while connecting: Connection to the other side was "
                         "lost in a non-clean fashion)")

    def test_dialDeadline(self):
        """A dial that neither connects nor fails is given up after
        DIAL_DEADLINE seconds (cancelled) and tried again."""
        self.exchange()
        self.clock.advance(TRANSIT)
        [dial] = self.a.dialer.dials
        self.clock.advance(DIAL_DEADLINE)
        self.assertTrue(dial.cancelled)
        [connect] = sent(self.a.link)
        self.assertIsInstance(connect, PunchConnect)

    def test_noReply(self):
        """No punchReply within ANSWER_TIMEOUT: the punch fails, saying so,
        without another try."""
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        sent(self.a.link)
        self.clock.advance(ANSWER_TIMEOUT)
        failure = self.failureResultOf(punched, PunchFailed)
        self.assertEqual(str(failure.value), "no punchReply within 10 s")
        self.assertEqual(sent(self.a.link), [])
        self.assertNothingHeld()

    def test_noSync(self):
        """The answering side keeps its answer only until ANSWER_TIMEOUT
        without a sync."""
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        self.carry(self.a, self.b)
        self.assertEqual(len(self.b.puncher._answers), 1)
        self.clock.advance(ANSWER_TIMEOUT)
        self.assertEqual(self.b.puncher._answers, {})
        self.assertEqual(self.b.dialer.dials, [])
        self.failureResultOf(punched, PunchFailed)
        self.assertNothingHeld()

    def test_refusedByPeer(self):
        """The peer's error{nopunch} for the punch's nonce ends it, with
        the peer's reason; one for another nonce does not."""
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        [connect] = sent(self.a.link)
        self.assertFalse(self.a.puncher.refused(
            self.a.link, wire.Error("nopunch", "no", id=connect.nonce + 1)))
        self.assertTrue(self.a.puncher.refused(
            self.a.link, wire.Error("nopunch", "busy", id=connect.nonce)))
        failure = self.failureResultOf(punched, PunchFailed)
        self.assertEqual(str(failure.value), "the peer refused: busy")
        self.assertNothingHeld()

    def test_refusedForItsCountSaidAsHeard(self):
        """The peer's refusal for its count of dials to this node (its
        words: "this node dialled you …") is said in this node's words:
        the dials were the peer's, its UDP and TCP punches' alike."""
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        [connect] = sent(self.a.link)
        with capturedLogs() as events:
            self.a.puncher.refused(self.a.link, wire.Error(
                "nopunch", "this node dialled you 3 times for punches in the last 60 s, "
                "its most for one peer", id=connect.nonce))
        failure = self.failureResultOf(punched, PunchFailed)
        why = ("the peer refused: it dialled this node 3 times in the last 60 s for "
               "punches, over UDP and TCP together (one count), its most for one peer")
        self.assertEqual(str(failure.value), why)
        self.assertTrue(any(why in formatEvent(e) for e in events))

    def test_linkLost(self):
        """The shared link closing ends the punches it carried: their
        timers and dials are cancelled."""
        punched, *_ = self.exchange()
        self.clock.advance(TRANSIT)
        dial = self.b.dialer.dials[0]
        closeLink(self.a.link)
        self.a.puncher.linkLost(self.a.link)
        self.failureResultOf(punched, PunchFailed)
        self.assertTrue(self.a.dialer.dials[0].cancelled)
        self.b.puncher.stop()
        self.assertTrue(dial.cancelled)
        self.assertNothingHeld()

    def test_cancel(self):
        """Cancelling a punch ends it: its timer is cancelled."""
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        punched.cancel()
        self.failureResultOf(punched, defer.CancelledError)
        self.assertNothingHeld()

    def test_onePunchPerLink(self):
        """A second punch over a link whose first is under way fails at
        once."""
        self.a.puncher.punch(self.a.link, HOST_B)
        failure = self.failureResultOf(self.a.puncher.punch(self.a.link, HOST_B),
                                       PunchFailed)
        self.assertEqual(str(failure.value), "a punch with this peer is under way "
                         "already")


class RefusalTests(PunchTestCase):
    """Every refusal is an error{nopunch} with the reason and the nonce,
    one line through the peer log, no dial and nothing kept."""

    def assertRefused(self, message, info, side=None):
        side = side or self.b
        with capturedLogs() as events:
            feed(side.link, message)
        self.assertEqual(self.refusalsOn(side), [("nopunch", info, message.nonce)])
        lines = [formatEvent(e) for e in events]
        self.assertEqual(len([line for line in lines if "refused a punch of" in line]),
                         1, lines)
        self.assertEqual(side.dialer.dials, [])
        self.assertEqual(side.puncher._answers, {})
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_madeUpHost(self):
        """A punchConnect naming another host than the one a third party
        saw the peer come from is refused: nothing dials the host
        named."""
        self.assertRefused(
            PunchConnect(5, "192.0.2.66", 30000),
            f"the host named, '192.0.2.66', is not where your connection was seen "
            f"from ({HOST_A}): a punch dials only that host")

    def test_hostSpeltOtherwise(self):
        """A punchConnect naming the witnessed host in another spelling
        (a dual-stack socket's ``::ffff:a.b.c.d``) is answered, and the
        host dialled is the witness's, never the message's text."""
        feed(self.b.link, PunchConnect(5, f"::ffff:{HOST_A}", 30000))
        [reply] = sent(self.b.link)
        self.assertIsInstance(reply, PunchReply)
        feed(self.b.link, PunchSync(5))
        self.assertEqual([(d.host, d.port) for d in self.b.dialer.dials],
                         [(HOST_A, 30000)])

    def test_replySpeltOtherwise(self):
        """The initiator's side of the same: a punchReply naming the
        witnessed host as ``::ffff:a.b.c.d`` is synced and dialled at the
        witness's host."""
        self.a.puncher.punch(self.a.link, HOST_B)
        [connect] = sent(self.a.link)
        feed(self.a.link, PunchReply(connect.nonce, f"::ffff:{HOST_B}", 30000))
        [sync] = sent(self.a.link)
        self.assertIsInstance(sync, PunchSync)
        self.clock.advance(ANSWER_TIMEOUT)
        self.assertEqual([(d.host, d.port) for d in self.a.dialer.dials],
                         [(HOST_B, 30000)])

    def test_noWitness(self):
        """Without a third party's word of where the peer's connection
        comes from, nothing is dialled."""
        del self.b.witnessed[self.b.link]
        self.assertRefused(PunchConnect(5, HOST_A, 30000),
                           "no third party has told this node where your connection "
                           "comes from")

    def test_lowPort(self):
        """A well-known port is never dialled."""
        self.assertRefused(PunchConnect(5, HOST_A, 22),
                           "a punch dials no port below 1024, not 22")

    def test_unprovenPeer(self):
        """A peer whose key its link did not prove gets no punch."""
        stranger = linkPeer(self.b.node, 77, inbound=True)
        self.b.witnessed[stranger] = HOST_A
        feed(stranger, PunchConnect(5, HOST_A, 30000))
        self.assertEqual([(m.code, m.info) for m in sent(stranger)],
                         [("nopunch", "this node punches only with a peer whose key "
                           "its link proved")])
        self.assertEqual(self.b.dialer.dials, [])

    def test_symmetricNAT(self):
        """A node whose router draws ports refuses a punch, and starts
        none (without a message), saying why; it says so in its log
        once."""
        with capturedLogs() as events:
            self.b.puncher.setMapping(mappingOf(HOST_B, 51234, 40000))
            self.b.puncher.setMapping(mappingOf(HOST_B, 61234, 40000))
        lines = [formatEvent(e) for e in events]
        self.assertEqual(len([line for line in lines
                              if "this node will not hole-punch" in line]), 1, lines)
        why = ("this node cannot punch: its router changed the source port of its "
               "tracker connection (sent from port 40000, seen from "
               f"{HOST_B}:61234): it draws a port for each connection (a symmetric "
               "NAT), so no peer could aim a punch at it; it stays on relayed links")
        self.assertRefused(PunchConnect(5, HOST_A, 30000), why)
        failure = self.failureResultOf(self.b.puncher.punch(self.b.link, HOST_A),
                                       PunchFailed)
        self.assertEqual(str(failure.value), why)
        self.assertEqual(sent(self.b.link), [])

    def test_strayReplyAndSync(self):
        """A punchReply or punchSync that answers nothing waiting is
        refused."""
        self.assertRefused(PunchReply(9, HOST_A, 30000),
                           "no punch of this node with that nonce waits for a "
                           "punchReply")
        self.assertRefused(PunchSync(9), "no punch of yours with that nonce waits for "
                           "a punchSync here")

    def test_wrongNonce(self):
        """A punchReply or punchSync for another nonce than the one waiting
        is refused, and the punch waiting goes on."""
        self.a.puncher.punch(self.a.link, HOST_B)
        [connect] = self.carry(self.a, self.b)
        [reply] = sent(self.b.link)
        feed(self.b.link, PunchSync(connect.nonce + 1))
        self.assertEqual(self.refusalsOn(self.b), [(
            "nopunch", "no punch of yours with that nonce waits for a punchSync here",
            connect.nonce + 1)])
        self.assertEqual(self.b.dialer.dials, [])
        feed(self.a.link, PunchReply(connect.nonce + 1, HOST_B, reply.port))
        self.assertEqual(self.refusalsOn(self.a), [(
            "nopunch", "no punch of this node with that nonce waits for a punchReply",
            connect.nonce + 1)])
        feed(self.a.link, reply)
        [sync] = sent(self.a.link)
        self.assertEqual(sync, PunchSync(connect.nonce))

    def test_answeredOnce(self):
        """A second punchReply or punchSync of one attempt is refused: one
        attempt makes one dial at each end."""
        self.a.puncher.punch(self.a.link, HOST_B)
        [connect] = self.carry(self.a, self.b)
        [reply] = self.carry(self.b, self.a)
        [sync] = self.carry(self.a, self.b)
        feed(self.a.link, reply)
        self.assertEqual([m.code for m in sent(self.a.link)], ["nopunch"])
        feed(self.b.link, sync)
        self.assertEqual([m.code for m in sent(self.b.link)], ["nopunch"])
        self.clock.advance(TRANSIT)
        self.assertEqual((len(self.a.dialer.dials), len(self.b.dialer.dials)), (1, 1))

    def test_replyWithMadeUpHost(self):
        """The initiator too dials only where a third party saw the peer:
        a reply naming another host is refused and ends the punch."""
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        [connect] = sent(self.a.link)
        feed(self.a.link, PunchReply(connect.nonce, "192.0.2.66", 30000))
        self.assertEqual(self.refusalsOn(self.a), [(
            "nopunch", "the host named, '192.0.2.66', is not where your connection "
            f"was seen from ({HOST_B}): a punch dials only that host", connect.nonce)])
        self.failureResultOf(punched, PunchFailed)
        self.clock.advance(ANSWER_TIMEOUT)
        self.assertEqual(self.a.dialer.dials, [])
        self.assertNothingHeld()


class RateTests(PunchTestCase):
    def test_perPeer(self):
        """A peer gets PER_PEER punches answered per WINDOW, however it
        asks; then it is refused until the window has passed."""
        for nonce in range(1, PER_PEER + 1):
            feed(self.b.link, PunchConnect(nonce, HOST_A, 30000))
            [reply] = sent(self.b.link)
            self.assertIsInstance(reply, PunchReply)
        feed(self.b.link, PunchConnect(99, HOST_A, 30000))
        self.assertEqual(self.refusalsOn(self.b), [(
            "nopunch", "this node dialled you 3 times for punches in the last 60 s, "
            "its most for one peer", 99)])
        self.clock.advance(WINDOW)
        feed(self.b.link, PunchConnect(100, HOST_A, 30000))
        [reply] = sent(self.b.link)
        self.assertIsInstance(reply, PunchReply)

    def test_perGroup(self):
        """Peers of one address group, each with a key of its own, get
        PER_GROUP punches answered in all per WINDOW."""
        for seed in range(10, 10 + PER_GROUP + 1):
            identity = records.identity(seed)
            link = linkPeer(self.b.node, identity, inbound=True)
            self.b.witnessed[link] = HOST_A
            feed(link, PunchConnect(seed, HOST_A, 30000))
            [answer] = sent(link)
            if seed < 10 + PER_GROUP:
                self.assertIsInstance(answer, PunchReply)
            else:
                self.assertEqual((answer.code, answer.info), (
                    "nopunch", "this node dialled 6 punches to your address group in "
                    "the last 60 s, its most for one group"))

    def test_initiatorCounts(self):
        """The punches a node starts count too: the fourth within the
        window fails before it sends anything."""
        for _ in range(PER_PEER):
            punched = self.a.puncher.punch(self.a.link, HOST_B)
            punched.cancel()
            self.failureResultOf(punched)
        sent(self.a.link)
        punched = self.a.puncher.punch(self.a.link, HOST_B)
        failure = self.failureResultOf(punched, PunchFailed)
        self.assertIn("its most for one peer", str(failure.value))
        self.assertEqual(sent(self.a.link), [])


class OverlayTests(PunchTestCase):
    def test_directLinkReplacesShared(self):
        """A punched connection runs a node's ordinary link handshake, in
        the shared link's direction, so the overlay's duplicate rule keeps
        the newer link on both sides: the direct one; the shared one is
        retired."""
        shared_a, shared_b = self.a.link, self.b.link

        def build(side):
            def buildProtocol(shared):
                link = side.node.buildLink(inbound=shared.inbound)
                link.purpose = shared.purpose
                return link
            return buildProtocol

        self.a.puncher.buildProtocol = build(self.a)
        self.b.puncher.buildProtocol = build(self.b)
        punched, *_ = self.exchange()
        self.clock.advance(TRANSIT)
        [a_dial], [b_dial] = self.a.dialer.dials, self.b.dialer.dials
        _, _, pump = connectedServerAndClient(lambda: b_dial.protocol,
                                              lambda: a_dial.protocol)
        pump.flush()
        a_dial.deferred.callback(a_dial.protocol)
        b_dial.deferred.callback(b_dial.protocol)
        self.assertIs(self.successResultOf(punched), a_dial.protocol)
        self.assertIs(self.a.node.links[self.b.identity.id], a_dial.protocol)
        self.assertIs(self.b.node.links[self.a.identity.id], b_dial.protocol)
        for shared in (shared_a, shared_b):
            self.assertEqual([type(m) for m in sent(shared)], [wire.Dc])
        self.assertNothingHeld()


class TransferFactory:
    """A transfer port's factory: the address of each connection built,
    and None (its rate refused) once ``full``."""

    def __init__(self):
        self.built = []
        self.full = False

    def buildProtocol(self, addr):
        self.built.append((addr.host, addr.port))
        return None if self.full else ("transfer server", addr.host)


class FilesPunchTests(PunchTestCase):
    """A punch for files opens a connection to the other side's transfer
    port: the initiator (a buyer) runs the protocol it gives and opens the
    channel; the other side runs its transfer port's protocol, built as
    for a connection from the initiator's public address (its rate and
    slots apply); one attempt, then the caller goes through the relay."""

    def setUp(self):
        super().setUp()
        self.factory = TransferFactory()
        self.b.puncher.transfers = lambda: self.factory

    def test_transferConnection(self):
        punched = self.a.puncher.punch(self.a.link, HOST_B, "files", "transfer client")
        connect, reply, _ = self.attempt()
        self.assertEqual(connect.purpose, "files")
        self.clock.advance(TRANSIT)
        [a_dial], [b_dial] = self.a.dialer.dials, self.b.dialer.dials
        self.assertEqual((a_dial.opener, a_dial.protocol), (True, "transfer client"))
        self.assertEqual((b_dial.opener, b_dial.protocol),
                         (False, ("transfer server", HOST_A)))
        self.assertEqual(self.factory.built, [(HOST_A, connect.port)])
        self.assertEqual(a_dial.expected, decode(self.b.identity.key))
        self.assertEqual(self.a.dialer.paths, [(DIRECT, SEEN, None)],
                         "a direct path, where a third party saw the peer")
        self.assertEqual(b_dial.expected, decode(self.a.identity.key))
        with capturedLogs() as events:
            a_dial.deferred.callback("transfer client")
            b_dial.deferred.callback(("transfer server", HOST_A))
        self.assertEqual(self.successResultOf(punched), "transfer client")
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any("punched a transfer connection to node" in line
                            and "attempt 1 of 1" in line for line in lines), lines)
        self.assertTrue(any("punched a transfer connection to node" in line
                            and "(its punch)" in line for line in lines), lines)
        self.assertNothingHeld()

    def test_oneAttempt(self):
        """A failed dial ends a punch for files at once: the caller goes
        through the relay."""
        punched = self.a.puncher.punch(self.a.link, HOST_B, "files", "transfer client")
        self.attempt()
        self.clock.advance(TRANSIT)
        with capturedLogs() as events:
            self.a.dialer.dials[0].deferred.errback(ConnectionRefusedError("refused"))
            self.b.dialer.dials[0].deferred.errback(ConnectionRefusedError("refused"))
        failure = self.failureResultOf(punched, PunchFailed)
        self.assertEqual(str(failure.value),
                         "no direct connection after 1 attempt (the last: refused)")
        lines = [formatEvent(e) for e in events]
        self.assertTrue(any("no transfer connection punched to node" in line
                            and "the files go through the relay" in line
                            for line in lines), lines)
        self.assertEqual(sent(self.a.link), [])
        self.assertNothingHeld()

    def test_overADirectLink(self):
        """Over a direct link no third party saw the peer's connection: a
        punch for files dials where this node sees it come from (its
        router's address)."""
        del self.b.witnessed[self.b.link]
        self.b.link.transport.peerAddr = IPv4Address("TCP", HOST_A, 41000)
        self.a.puncher.punch(self.a.link, HOST_B, "files", "transfer client")
        self.attempt()
        self.assertEqual(self.b.dialer.dials[0].host, HOST_A)

    def test_overADirectLinkAtAMappedAddress(self):
        """A direct link's connection that a dual-stack socket saw come
        from an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``): the punch
        for files dials its IPv4 form, as a punch through a relay dials
        the tracker's word (L{twisted_bazaar.base.lan.oneSpelling}), on
        either side.  It used to dial the mapped text as it was."""
        del self.b.witnessed[self.b.link]
        self.a.link.transport.peerAddr = IPv6Address("TCP", "::ffff:" + HOST_B, 9001)
        self.b.link.transport.peerAddr = IPv6Address("TCP", "::ffff:" + HOST_A, 41000)
        self.a.puncher.punch(self.a.link, directPeer(self.a.link), "files",
                             "transfer client")
        self.attempt()
        self.clock.advance(TRANSIT)
        self.assertEqual((self.a.dialer.dials[0].host, self.b.dialer.dials[0].host),
                         (HOST_B, HOST_A))

    def test_linkPunchOverADirectLink(self):
        """A punch for a link over a direct link is refused still."""
        del self.b.witnessed[self.b.link]
        self.b.link.transport.peerAddr = IPv4Address("TCP", HOST_A, 41000)
        RefusalTests.assertRefused(self, PunchConnect(6, HOST_A, 30000),
                                   "no third party has told this node where your "
                                   "connection comes from")

    def test_noFilesServed(self):
        self.b.puncher.transfers = lambda: None
        RefusalTests.assertRefused(self, PunchConnect(5, HOST_A, 30000, "files"),
                                   "this node serves no files")

    def test_otherPurpose(self):
        RefusalTests.assertRefused(self, PunchConnect(5, HOST_A, 30000, "mail"),
                                   "a punch is for a link or for 'files', not 'mail'")

    def test_transferPortFull(self):
        """A transfer port that takes no more connections from the
        initiator's address group now dials nothing, and keeps nothing."""
        self.factory.full = True
        self.a.puncher.punch(self.a.link, HOST_B, "files", "transfer client")
        self.attempt()
        self.assertEqual(self.b.dialer.dials, [])
        self.assertEqual(self.b.puncher._answers, {})

    def test_notAnsweringALinkPunch(self):
        """A punch for files under way is none a dialler waits for."""
        self.a.puncher.punch(self.a.link, HOST_B, "files", "transfer client")
        self.carry(self.a, self.b)
        self.assertFalse(self.b.puncher.answering(self.b.link))
