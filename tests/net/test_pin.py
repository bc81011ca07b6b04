"""Tests for L{twisted_bazaar.net.pin}: the key a dialled peer must prove,
pinned or remembered on first contact, and the words of a refusal."""

from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.net.pin import KeyPin, shortKey


class KeyPinTests(SynchronousTestCase):

    def setUp(self):
        self.first = Identity.generate()
        self.other = Identity.generate()

    def test_firstKeyProvenIsKept(self):
        pin = KeyPin("the tracker")
        pin.proved(None)
        self.assertIsNone(pin.key)
        pin.proved(decode(self.first.key))
        pin.proved(decode(self.other.key))
        self.assertEqual(pin.key, decode(self.first.key))

    def test_aPinnedKeyIsNeverReplaced(self):
        pin = KeyPin("the tracker", decode(self.first.key), "--tracker-key")
        pin.proved(decode(self.other.key))
        self.assertEqual(pin.key, decode(self.first.key))
        self.assertEqual(
            pin.refusal(decode(self.other.key)),
            f"the tracker proved {self.other.key[:8]}…, not {self.first.key[:8]}…, "
            "the key pinned by --tracker-key; refused before this node said "
            "anything.")

    def test_refusalInMemory(self):
        pin = KeyPin("the tracker", fix="Restart it.")
        pin.proved(decode(self.first.key))
        self.assertEqual(
            pin.refusal(None),
            f"the tracker proved no key, not {self.first.key[:8]}…, the key it "
            "proved on first contact since this node started; refused before "
            "this node said anything. Restart it.")

    def test_keptWhereItCannotBeWritten(self):
        """A key that cannot be written is known in memory, said once."""
        def broken(key):
            raise PermissionError(13, "Permission denied")

        pin = KeyPin("the tracker", remember=broken, where="D/known_tracker")
        with capturedLogs() as events:
            pin.proved(decode(self.first.key))
        self.assertEqual(pin.key, decode(self.first.key))
        [line] = [formatEvent(event) for event in events]
        self.assertIn("cannot be kept", line)
        self.assertIn("known in memory only", line)
        self.assertIn("since this node started", pin.refusal(None))

    def test_refusedSaysNothing(self):
        """A key refused is the channel's failure, with what to do: the
        owner of the connection (the node's tracker client, a command)
        says it, once an attempt; the pin says nothing of it (issue 96:
        a wrong --tracker-key made three lines an attempt)."""
        pin = KeyPin("the tracker", decode(self.first.key), fix="Remove F.")
        with capturedLogs() as events:
            why = pin.refused(decode(self.other.key))
            self.assertEqual(pin.refused(decode(self.other.key)), why)
        self.assertEqual(why, pin.refusal(decode(self.other.key)))
        self.assertIn(f"the tracker proved {self.other.key[:8]}…", why)
        self.assertIn("Remove F.", why)
        self.assertEqual(pin.impostor, decode(self.other.key))
        self.assertEqual(list(events), [])

    def test_shortKey(self):
        self.assertEqual(shortKey(decode(self.first.key)), self.first.key[:8] + "…")
        self.assertEqual(shortKey(None), "no key")
