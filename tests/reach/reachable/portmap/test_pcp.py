"""PCP (RFC 6887): a MAP request's bytes, its answer's, and what a hostile
router's answers get."""

import ipaddress
import struct

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.reach.reachable.portmap.fakes import FakeSockets
from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed, Unsupported
from twisted_bazaar.reach.reachable.portmap.natpmp import Mapped
from twisted_bazaar.reach.reachable.portmap.pcp import Pcp, mapRequest, parseMapReply

NONCE = bytes(range(12))
GATEWAY = ("10.9.0.1", 5351)


def reply(nonce=NONCE, port=5555, external=5555, lifetime=3600, result=0, op=0x81,
          protocol=6):
    address = ipaddress.IPv6Address("::ffff:198.51.100.2").packed
    return (struct.pack("!BBxBII12x", 2, op, result, lifetime, 1000)
            + struct.pack("!12sB3xHH16s", nonce, protocol, port, external, address))


class PcpTests(SynchronousTestCase):
    def test_request(self):
        """60 bytes: the header (version 2, MAP, lifetime, the client's
        IPv4-mapped address), then MAP's nonce, TCP, the ports."""
        data = mapRequest("10.9.0.2", NONCE, 5555, 5555, 3600)
        self.assertEqual(len(data), 60)
        self.assertEqual(data[:8], bytes.fromhex("0201 0000 00000e10"))
        self.assertEqual(data[8:24], ipaddress.IPv6Address("::ffff:10.9.0.2").packed)
        self.assertEqual(data[24:36], NONCE)
        self.assertEqual(data[36], 6)
        self.assertEqual(data[40:44], bytes.fromhex("15b3 15b3"))

    def test_answer(self):
        self.assertEqual(parseMapReply(reply(), NONCE, 5555), Mapped(5555, 5555, 3600))
        self.assertIsNone(parseMapReply(reply(nonce=b"x" * 12), NONCE, 5555))
        self.assertIsNone(parseMapReply(reply(port=1), NONCE, 5555))
        # Options after the MAP answer are skipped.
        self.assertEqual(parseMapReply(reply() + bytes(8), NONCE, 5555).external, 5555)

    def test_hostileAnswers(self):
        cases = [(reply()[:59], "an answer of 59 bytes"),
                 (reply() + b"x", "an answer of 61 bytes"),
                 (reply(result=2), "NOT_AUTHORIZED (2)"),
                 (reply(result=200), "unknown result (200)"),
                 (reply(external=0), "external port 0")]
        for data, why in cases:
            with self.assertRaises(MappingFailed) as raised:
                parseMapReply(data, NONCE, 5555)
            self.assertIn(why, str(raised.exception))

    def test_natPmpRouter(self):
        """A NAT-PMP router answers PCP with its own version 0: the next
        protocol is tried at once, no wait."""
        with self.assertRaises(Unsupported):
            parseMapReply(bytes.fromhex("0081 0001 00000000"), NONCE, 5555)

    def test_mapAndUnmap(self):
        """One nonce for the mapping, its renewal and its deletion
        (lifetime 0)."""
        sockets = FakeSockets()
        client = Pcp(Clock(), sockets.datagrams(Clock()), "10.9.0.1", "10.9.0.2",
                     nonce=NONCE)
        d = client.map(5555, 5555, 3600)
        self.assertEqual(sockets.last.sent[0][1], GATEWAY)
        sockets.last.answer(reply(), GATEWAY)
        mapped = self.successResultOf(d)
        d = client.unmap(mapped)
        self.assertEqual(sockets.last.sent[-1][0],
                         mapRequest("10.9.0.2", NONCE, 5555, 5555, 0))
        sockets.last.answer(reply(lifetime=0), GATEWAY)
        self.assertEqual(self.successResultOf(d).lifetime, 0)
