"""NAT-PMP (RFC 6886): the request's bytes, the answer's, and what a
hostile router's answers get (a reason, never a traceback)."""

import struct

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.reach.reachable.portmap.fakes import FakeSockets
from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed, Unsupported
from twisted_bazaar.reach.reachable.portmap.natpmp import Mapped, NatPmp, mapRequest, parseMapReply


GATEWAY = ("10.9.0.1", 5351)


def reply(port=5555, external=5555, lifetime=3600, result=0, op=130, version=0):
    return struct.pack("!BBHIHHI", version, op, result, 1000, port, external, lifetime)


class NatPmpTests(SynchronousTestCase):
    def test_request(self):
        """Version 0, opcode 2 (TCP), reserved, the ports, the lifetime."""
        self.assertEqual(mapRequest(5555, 5555, 3600),
                         bytes.fromhex("0002 0000 15b3 15b3 00000e10"))

    def test_answer(self):
        self.assertEqual(parseMapReply(reply(), 5555), Mapped(5555, 5555, 3600))
        self.assertEqual(parseMapReply(reply(external=6000), 5555).external, 6000)
        self.assertIsNone(parseMapReply(reply(port=7000), 5555))

    def test_hostileAnswers(self):
        """Wrong sizes, another version, a refusal, external port 0: each
        a MappingFailed with the reason."""
        cases = [(reply()[:15], "an answer of 15 bytes, not 16"),
                 (reply() + b"x", "an answer of 17 bytes, not 16"),
                 (b"", "an answer of 0 bytes"),
                 (reply(version=2), "answered version 2, not 0"),
                 (reply(result=2)[:8], "not authorized/refused (2)"),
                 (reply(result=99), "unknown result (99)"),
                 (reply(external=0), "external port 0")]
        for data, why in cases:
            with self.assertRaises(MappingFailed) as raised:
                parseMapReply(data, 5555)
            self.assertIn(why, str(raised.exception))
        with self.assertRaises(Unsupported):
            parseMapReply(reply(result=1), 5555)

    def test_mapAndUnmap(self):
        """To the gateway's port 5351; the deletion asks lifetime 0 and
        external port 0 (RFC 6886 §3.4)."""
        sockets = FakeSockets()
        client = NatPmp(Clock(), sockets.datagrams(Clock()), "10.9.0.1")
        d = client.map(5555, 5555, 3600)
        self.assertEqual(sockets.last.sent, [(mapRequest(5555, 5555, 3600),
                                              ("10.9.0.1", 5351))])
        sockets.last.answer(reply(), GATEWAY)
        mapped = self.successResultOf(d)
        d = client.unmap(mapped)
        self.assertEqual(sockets.last.sent[-1][0], mapRequest(5555, 0, 0))
        sockets.last.answer(reply(external=0, lifetime=0), GATEWAY)
        self.assertEqual(self.successResultOf(d), Mapped(5555, 0, 0))
