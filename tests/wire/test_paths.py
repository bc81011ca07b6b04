"""
Tests of L{twisted_bazaar.wire.paths}: a list of paths travels as its
kinds' forms say, kinds the reader does not know are left out, each kind
is bounded, and a message of protocol version 1 (a field a way) is
refused with a reason that names the version expected.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.transports.path import LAN, NAMED, RELAYED, SEEN, UDP, Path
from twisted_bazaar.wire.codec import ProtocolError
from twisted_bazaar.wire.paths import Form, Kinds, checkPaths, firstOf, ofKind


def decode(obj):
    return wire.decode(wire.encode(wire.NodeReply(7, "", 0)).replace(
        b'"port":0}', b'"port":0,' + obj + b"}"))


class ReadTests(SynchronousTestCase):
    def test_eachKindItsForm(self):
        """Each kind's entry reads into its path, its word as said (a
        claim when it says none)."""
        self.assertEqual(checkPaths([
            {"kind": "relayed", "relay": "203.0.113.1:7701", "word": "named"},
            {"kind": "lan", "host": "192.168.1.2", "port": 9001},
            {"kind": "udp", "host": "203.0.113.7", "port": 9002, "word": "seen"}], "p"), (
            Path(RELAYED, relay="203.0.113.1:7701", word=NAMED),
            Path(LAN, "192.168.1.2", 9001),
            Path(UDP, "203.0.113.7", 9002, word=SEEN)))

    def test_anUnknownKindIsLeftOut(self):
        """A kind a newer node may name is skipped, as an unknown field
        is; it still counts towards the bound."""
        self.assertEqual(checkPaths([{"kind": "carrier-pigeon", "loft": 3},
                                     {"kind": "udp", "port": 9002}], "p"),
                         (Path(UDP, port=9002),))
        with self.assertRaises(ProtocolError):
            checkPaths([{"kind": "carrier-pigeon"}] * 17, "p")

    def test_refusedWithWhy(self):
        for paths, why in (
                ([{"kind": "relayed"}], "p entry.relay must be a string"),
                ([{"kind": "udp"}], "p entry.port must be an integer"),
                ([{"kind": "udp", "port": 1, "word": "rumour"}], "p entry.word must be one of"),
                ([{"kind": "udp", "port": 1}] * 2, "p names 2 paths of kind udp: at most 1"),
                ([{"kind": "lan", "host": "10.0.0.1"}, {"kind": "lan", "host": "::ffff:10.0.0.1"}],
                 "p names an address twice"),
                ([{"host": "10.0.0.1"}], "p entry.kind must be a string"),
                ({"kind": "udp"}, "p must be a list of at most 16 paths")):
            with self.assertRaises(ProtocolError) as caught:
                checkPaths(paths, "p")
            self.assertIn(why, caught.exception.info)

    def test_aKindWithoutAFormNeverTravels(self):
        """A kind only this node notes (no form) is left out of the wire."""
        kinds = Kinds()
        self.assertIsNone(kinds.formOf(kinds.register("mine")))
        self.assertEqual(checkPaths.toWire((Path(UDP, port=9002),)),
                         [{"kind": "udp", "port": 9002, "word": "claimed"}])

    def test_aFormsDefaults(self):
        """The base form carries host and port, each left out when empty."""
        self.assertEqual(Form().write(Path(UDP, port=9002)), {"port": 9002})


class VersionTests(SynchronousTestCase):
    def test_versionOneRefused(self):
        """A thisisme or nodereply with a field of version 1 is refused,
        naming the version this node speaks; with paths, it is read."""
        for field in (b'"relay":"203.0.113.1:7701"', b'"lan":["10.0.0.2"]', b'"udp":9002'):
            with self.assertRaises(ProtocolError) as caught:
                decode(field)
            name = field.split(b'"')[1].decode()
            self.assertEqual(caught.exception.info,
                             f"nodereply.{name} is a field of protocol version 1: this "
                             "end speaks version 2, where a node's ways to be reached "
                             "travel as its paths (docs/protocol.md §3, Paths)")
        self.assertEqual(decode(b'"paths":[{"kind":"udp","port":9002}]').paths,
                         (Path(UDP, port=9002),))


class LookupTests(SynchronousTestCase):
    def test_ofKindAndFirstOf(self):
        paths = (Path(LAN, "10.0.0.2"), Path(UDP, port=1), Path(LAN, "10.0.0.3"))
        self.assertEqual(ofKind(paths, LAN), (paths[0], paths[2]))
        self.assertEqual(firstOf(paths, UDP), paths[1])
        self.assertIsNone(firstOf(None, UDP))
        self.assertEqual(ofKind(None, UDP), ())
