"""Tests for L{twisted_bazaar.reach.punch.tcp.messages}: the punch messages
on the wire."""

import json
import os

from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.reach.punch.tcp.messages import PunchConnect, PunchReply, PunchSync

from tests.test_protocol_examples import FRAME

#: Each message next to the exact JSON object it travels as (checked with
#: every other message's in tests/wire/test_wire.py too).
PUNCH_WIRE_FORMS = [
    (PunchConnect(7, "198.51.100.7", 23456),
     {"type": "punchConnect", "nonce": 7, "host": "198.51.100.7", "port": 23456}),
    (PunchReply(-7, "", 0), {"type": "punchReply", "nonce": -7, "host": "", "port": 0}),
    (PunchSync(2**63 - 1), {"type": "punchSync", "nonce": 2**63 - 1}),
]
_nonces = st.integers(-2**63 + 1, 2**63 - 1)
_hosts = st.text(max_size=40)
_ports = st.integers(0, 65535)
#: A strategy for each punch message, for the codec's round-trip property.
PUNCH_STRATEGIES = {
    PunchConnect: st.builds(PunchConnect, _nonces, _hosts, _ports),
    PunchReply: st.builds(PunchReply, _nonces, _hosts, _ports),
    PunchSync: st.builds(PunchSync, _nonces),
}


class WireTests(SynchronousTestCase):
    def test_roundTrip(self):
        """Each message decodes from the JSON protocol.md shows."""
        for text, message in [
                ('{"type": "punchConnect", "nonce": 7, "host": "198.51.100.7", '
                 '"port": 23456}', PunchConnect(7, "198.51.100.7", 23456)),
                ('{"type": "punchReply", "nonce": 7, "host": "203.0.113.9", '
                 '"port": 31000}', PunchReply(7, "203.0.113.9", 31000)),
                ('{"type": "punchSync", "nonce": 7}', PunchSync(7))]:
            self.assertEqual(wire.decode(text.encode()), message)
            self.assertEqual(json.loads(wire.encode(message)), json.loads(text))

    def test_wireForms(self):
        """Each message travels as exactly its JSON object; every punch
        message has a form and a strategy."""
        for message, obj in PUNCH_WIRE_FORMS:
            self.assertEqual(json.loads(wire.encode(message)), obj)
            self.assertEqual(wire.decode(wire.encode(message)), message)
        self.assertEqual({type(m) for m, _ in PUNCH_WIRE_FORMS}, set(PUNCH_STRATEGIES))

    def test_strict(self):
        """A port out of range is no punchConnect."""
        with self.assertRaises(wire.ProtocolError) as caught:
            wire.decode(b'{"type": "punchConnect", "nonce": 7, "host": "h", '
                        b'"port": 70000}')
        self.assertEqual(caught.exception.info,
                         "punchConnect.port must be from 0 to 65535, not 70000")

    def test_errorCode(self):
        """A refusal's code is known to the wire."""
        self.assertEqual(wire.Error("nopunch", "why", id=7).code, "nopunch")
        self.assertIn("nopunch", wire.ERROR_CODES)

    def test_noUdp(self):
        """A refusal may say no UDP punch can work with its sender either
        (``udp`` false, left out when not said); a ``udp`` that is no flag
        makes no error."""
        refusal = wire.Error("nopunch", "why", id=7, udp=False)
        self.assertEqual(json.loads(wire.encode(refusal)), {
            "type": "error", "code": "nopunch", "info": "why", "id": 7, "udp": False})
        self.assertEqual(wire.decode(wire.encode(refusal)), refusal)
        self.assertNotIn(b"udp", wire.encode(wire.Error("nopunch", "why", id=7)))
        with self.assertRaises(wire.ProtocolError) as caught:
            wire.decode(b'{"type": "error", "code": "nopunch", "info": "", "udp": 0}')
        self.assertEqual(caught.exception.info, "error.udp must be true or false")


class DocumentTests(SynchronousTestCase):
    def test_examplesAreExact(self):
        """The frames of protocol.md's "Hole punching" are valid messages,
        as the codec writes them, each of the length it says."""
        path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "docs",
                            "protocol.md")
        with open(path, encoding="utf-8") as f:
            section = f.read().split("\n## Hole punching\n")[1].split("\n## ")[0]
        found = FRAME.findall(section)
        self.assertEqual([json.loads(payload)["type"] for *_, payload in found],
                         ["punchConnect", "punchReply", "punchSync", "punchConnect",
                          "error"])
        for _, _, length, payload in found:
            data = payload.encode("utf-8")
            self.assertEqual(int(length), len(data), payload)
            self.assertEqual(wire.encode(wire.decode(data)), data)
