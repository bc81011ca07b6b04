"""
Issue 21: one address cannot hold a seller's transfer slots.  Buyers and
an attacker speak the transfer protocol to a seller's L{TransferService}
(connections built by its factory) over StringTransports on a fake clock;
the attacker's connections all come from one address group, the paying
buyer's from another.
"""

from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.eviction import GRACE
from twisted_bazaar.net.connections import ConnectionManager
from twisted_bazaar.base.logthrottle import PEER_BURST, PeerLog
from twisted_bazaar.files import hashing, server
from twisted_bazaar.files.messages import About, Data, Get, Head
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.files.server import (
    CONNECTIONS_PER_SLOT,
    DEFAULT_TRANSFER_SLOTS,
    RangeSender,
    TransferFactory,
    TransferServer,
    TransferService,
)

from tests.files.helpers import scratchDir, writeFile
from tests.files.test_transfer import DATA, SHA, FakeShare, frames
from tests.helpers import netstring

ATTACKER = "203.0.113.7"
BUYER = "198.51.100.20"
SLOTS = DEFAULT_TRANSFER_SLOTS


class FakeNode:
    """What a transfer service asks of its node before it listens."""

    def __init__(self, clock):
        self.clock = clock
        self.config = NodeConfig()
        self.connections = ConnectionManager(clock)


class Connection:
    """One connection to the service, from host."""

    def __init__(self, factory, host):
        address = IPv4Address("TCP", host, 40000)
        self.transport = StringTransport(peerAddress=address)
        self.server = factory.buildProtocol(address)
        self.server.makeConnection(self.transport)

    def send(self, *messages):
        self.server.dataReceived(b"".join(netstring(m) for m in messages))

    def pull(self):
        """Take every byte the server has for us."""
        while isinstance(self.transport.producer, RangeSender):
            self.transport.producer.resumeProducing()

    def answers(self):
        answers = frames(self.transport.value())
        self.transport.clear()
        return answers

    @property
    def closed(self):
        return self.transport.disconnecting or self.transport.disconnected


class TransferFairnessTests(SynchronousTestCase):
    def setUp(self):
        self.patch(server, "CHUNK", 4096)
        self.patch(server, "BULK_CHUNK", 4096)
        self.patch(hashing, "MIN_PIECE", 4096)
        self.share = FakeShare(writeFile(scratchDir(self), "f", DATA))
        self.clock = task.Clock()
        self.service = TransferService(FakeNode(self.clock), self.share)
        self.factory = TransferFactory(self.service)

    def connect(self, host):
        return Connection(self.factory, host)

    def assertPaidBuyerServed(self):
        """A buyer from another address gets the whole file."""
        buyer = self.connect(BUYER)
        self.assertFalse(buyer.closed, buyer.answers())
        buyer.send(Head(SHA), Get(SHA, 0, len(DATA)))
        buyer.pull()
        [(about, _), (data, body)] = buyer.answers()
        self.assertEqual((type(about), data, body),
                         (About, Data(SHA, 0, len(DATA)), DATA))
        return buyer

    def test_headsHoldNoSlot(self):
        """
        Issue 21's attack: a slot's worth of connections from one address,
        each sending a head every 30 s for 90 s, hold no transfer slot: a
        buyer gets its file.  (They held all 16 before.)
        """
        attackers = [self.connect(ATTACKER) for _ in range(SLOTS)]
        for _ in range(3):
            for attacker in attackers:
                attacker.send(Head(SHA))
            self.clock.advance(30)
        self.assertFalse(any(attacker.closed for attacker in attackers))
        self.assertPaidBuyerServed()

    def test_slotsHeldByOneAddressMakeRoomForAnother(self):
        """
        Every slot sending a range to one address that does not read it:
        a buyer from another address takes the newest of them (that
        connection is cut), and the attacker cannot take it back while
        the buyer's range is being sent.
        """
        attackers = [self.connect(ATTACKER) for _ in range(SLOTS)]
        for attacker in attackers:
            attacker.send(Get(SHA, 0, len(DATA)))
        buyer = self.connect(BUYER)
        buyer.send(Get(SHA, 0, len(DATA)))
        self.assertTrue(attackers[-1].transport.disconnected)  # aborted mid-range
        self.assertFalse(any(a.closed for a in attackers[:-1]))
        again = self.connect(ATTACKER)
        again.send(Get(SHA, 0, len(DATA)))
        [(error, _)] = again.answers()
        self.assertEqual((error.code, again.closed), ("busy", True))
        buyer.pull()
        self.assertEqual(buyer.answers(), [(Data(SHA, 0, len(DATA)), DATA)])

    def test_slotReleasedWhenNoRequestIsLeft(self):
        """A connection holds its slot while it has a range to send, not
        after: buyers that keep their connections open between pieces
        leave the slots to others."""
        buyers = [self.connect(BUYER) for _ in range(SLOTS)]
        for buyer in buyers:
            buyer.send(Get(SHA, 0, 10), Get(SHA, 10, 10))
            buyer.pull()
            self.assertEqual(len(buyer.answers()), 2)
        other = [self.connect(BUYER) for _ in range(SLOTS)]
        for buyer in other:
            buyer.send(Get(SHA, 0, len(DATA)))
        self.assertFalse(any(buyer.closed for buyer in buyers + other))

    def test_twoGroupsShareTheSlots(self):
        """Two address groups that each want every slot end up with half
        each, whoever came first."""
        first = [self.connect(ATTACKER) for _ in range(SLOTS)]
        for attacker in first:
            attacker.send(Get(SHA, 0, len(DATA)))
        second = [self.connect(BUYER) for _ in range(SLOTS)]
        for buyer in second:
            buyer.send(Get(SHA, 0, len(DATA)))
        self.assertEqual(sum(a.closed for a in first), SLOTS // 2)
        self.assertEqual(sum(b.closed for b in second), SLOTS // 2)

    def test_moreGroupsThanSlots(self):
        """
        One connection from each of as many address groups as there are
        slots, each sending a range: a buyer of a new group is refused
        while they are in their grace period, and then takes the slot of
        the group that has held one longest, even when every group
        replaces its connection before it is old.
        """
        hosts = [f"10.{n}.0.1" for n in range(SLOTS)]
        holders = {host: self.connect(host) for host in hosts}
        for holder in holders.values():
            holder.send(Get(SHA, 0, len(DATA)))
        early = self.connect(BUYER)
        early.send(Get(SHA, 0, len(DATA)))
        self.assertEqual((early.answers()[0][0].code, early.closed), ("busy", True))
        for _ in range(3):
            self.clock.advance(GRACE / 2)
            for host in hosts:
                holders[host].transport.loseConnection()
                holders[host].server.connectionLost(None)
                holders[host] = self.connect(host)
                holders[host].send(Get(SHA, 0, len(DATA)))
        buyer = self.connect(BUYER)
        buyer.send(Get(SHA, 0, len(DATA)))
        self.assertFalse(buyer.closed)
        self.assertTrue(holders[hosts[0]].transport.disconnected)
        self.assertEqual(sum(holder.closed for holder in holders.values()), 1)

    def test_connectionsHeldByOneAddressMakeRoomForAnother(self):
        """Every connection the seller keeps open taken by one address
        (asking only heads): a buyer from another address still connects,
        in place of the newest of them, and gets its file."""
        attackers = [self.connect(ATTACKER)
                     for _ in range(CONNECTIONS_PER_SLOT * SLOTS)]
        self.assertFalse(any(attacker.closed for attacker in attackers))
        extra = self.connect(ATTACKER)
        [(error, _)] = extra.answers()
        self.assertEqual((error.code, extra.closed), ("busy", True))
        self.assertPaidBuyerServed()
        self.assertTrue(attackers[-1].closed)
        self.assertEqual(attackers[-1].answers()[0][0].code, "busy")

    def test_linesOfOneAddressLoggedAFewAtATime(self):
        """However many of its connections are cut at once, an address gets
        a few lines logged, and the rest summed up in one."""
        events = []
        observer = Logger(observer=events.append)
        self.patch(TransferServer, "log", observer)
        self.patch(PeerLog, "log", observer)
        attackers = [self.connect(ATTACKER) for _ in range(SLOTS)]
        for attacker in attackers:
            attacker.send(Get(SHA, 0, len(DATA)))
        self.clock.advance(server.STALL_TIMEOUT)
        self.assertTrue(all(attacker.closed for attacker in attackers))
        self.clock.advance(10)
        lines = [formatEvent(event) for event in events]
        self.assertEqual(lines[:-1], [
            "dropping the transfer connection from 203.0.113.7: it took none of the "
            "bytes sent for 60 s"] * PEER_BURST)
        self.assertEqual(lines[-1], (
            f"{SLOTS - PEER_BURST} more lines like 'dropping the transfer connection "
            "from {host}: it took none of the bytes sent for {seconds:g} s' from "
            "203.0.0.0/16 in the last 10 s, not logged"))


class ListenFailureTests(SynchronousTestCase):
    def test_aPortTakenIsSaidOnceByTheDaemon(self):
        """A transfer port that cannot listen fails the service's start
        with the reason, and is not logged here above debug: the daemon
        ends saying it in one line (``--transfer-port N: cannot serve
        shared files: ...``); it was said twice (issue 96 new user)."""
        from twisted.internet.error import CannotListenError
        from twisted.logger import LogLevel, capturedLogs

        class Taken:
            def listen(self, factory, port):
                raise CannotListenError("", port, OSError(98, "Address already in use"))

        node = FakeNode(task.Clock())
        node.connector = Taken()
        service = TransferService(node, FakeShare(writeFile(scratchDir(self), "f", DATA)))
        with capturedLogs() as events:
            d = service.startService()
        self.failureResultOf(d, CannotListenError)
        self.assertEqual([formatEvent(e) for e in events
                          if e["log_level"] is not LogLevel.debug], [])
