"""Tests for L{twisted_bazaar.wire.udpreach}: the UDP punch's
tracker messages on the wire (protocol.md, "Over UDP")."""

import json

from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.wire.udpreach import (
    UdpCheck, UdpProbe, UdpPunchAsk, UdpPunchGo, UdpPunchNear, UdpReached, probeDatagram,
    tokenOf)
from twisted_bazaar.wire.ids import KEYED

#: Each message next to the exact JSON object it travels as (checked with
#: every other message's in tests/wire/test_wire.py too).
UDP_WIRE_FORMS = [
    (UdpCheck(), {"type": "udpcheck"}),
    (UdpProbe(7, 3478, 3479), {"type": "udpprobe", "token": 7, "port": 3478,
                               "second": 3479}),
    (UdpReached("203.0.113.5", 40001, 0),
     {"type": "udpreach", "seenHost": "203.0.113.5", "seenPort": 40001, "seenSecond": 0}),
    (UdpPunchAsk(7), {"type": "udppunch", "id": "7"}),
    (UdpPunchGo(KEYED | 5, "198.51.100.9", 40001, 40002, -5),
     {"type": "udppunchgo", "id": format(5, "032x"), "host": "198.51.100.9",
      "port": 40001, "second": 40002, "nonce": -5}),
    (UdpPunchNear(KEYED | 5, 9), {"type": "udppunchnear", "id": format(5, "032x"),
                                  "nonce": 9}),
]
_tokens = st.integers(-2**63 + 1, 2**63 - 1)
_hosts = st.text(max_size=40)
_ports = st.integers(0, 65535)
_nodeIds = st.integers(0, 10**10 - 1) | st.integers(0, 2**128 - 1).map(
    lambda bits: KEYED | bits)
#: A strategy for each message, for the codec's round-trip property.
UDP_STRATEGIES = {
    UdpCheck: st.just(UdpCheck()),
    UdpProbe: st.builds(UdpProbe, _tokens, _ports, _ports),
    UdpReached: st.builds(UdpReached, _hosts, _ports, _ports),
    UdpPunchAsk: st.builds(UdpPunchAsk, _nodeIds),
    UdpPunchGo: st.builds(UdpPunchGo, _nodeIds, _hosts, _ports, _ports, _tokens),
    UdpPunchNear: st.builds(UdpPunchNear, _nodeIds, _tokens),
}


class WireTests(SynchronousTestCase):
    def test_wireForms(self):
        """Each message travels as the JSON object protocol.md shows, and
        decodes back to itself."""
        for message, obj in UDP_WIRE_FORMS:
            self.assertEqual(json.loads(wire.encode(message)), obj)
            self.assertEqual(wire.decode(wire.encode(message)), message)
        self.assertEqual({type(m) for m, _ in UDP_WIRE_FORMS}, set(UDP_STRATEGIES))

    def test_strict(self):
        """A port out of range is no udpprobe."""
        with self.assertRaises(wire.ProtocolError) as caught:
            wire.decode(b'{"type": "udpprobe", "token": 7, "port": 70000, "second": 1}')
        self.assertIn("udpprobe.port must be from 0 to 65535", caught.exception.info)

    def test_errorCode(self):
        """A refusal's code is known to the wire."""
        self.assertEqual(wire.Error("noudp", "why").code, "noudp")

    def test_probeDatagram(self):
        """A probe datagram carries its token back; other bytes carry none."""
        self.assertEqual(tokenOf(probeDatagram(-42)), -42)
        self.assertIsNone(tokenOf(b"BZT2" + probeDatagram(1)[4:]))
        self.assertIsNone(tokenOf(probeDatagram(1) + b"x"))
