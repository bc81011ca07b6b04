"""
Tests for L{twisted_bazaar.reach.punch.witness}: the host a punch may
aim at is the tracker's answer for the peer's id, asked once, and a
relay's word only compared with it.
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.witness import (
    AGAIN_LIMIT,
    TrackerWitness,
    whyNot,
)

PEER = 7


class WhyNotTests(SynchronousTestCase):
    def test_agree(self):
        self.assertIsNone(whyNot(PEER, "203.0.113.9", "203.0.113.9"))

    def test_noneNamed(self):
        self.assertIn("the tracker names no address for node",
                      whyNot(PEER, "", "203.0.113.9"))

    def test_noneNamedForSilence(self):
        """The tracker did not answer: said so, with why, not that it
        names no address."""
        why = whyNot(PEER, "", "203.0.113.9", unanswered="the tracker did not answer "
                     "in 10 s")
        self.assertEqual(why, "the tracker did not say where node 7 is (the tracker did "
                         "not answer in 10 s): a punch dials only a host the tracker saw")

    def test_relaySaysElsewhere(self):
        self.assertIn("at 203.0.113.9, not at 192.0.2.66 where its relay says it is",
                      whyNot(PEER, "203.0.113.9", "192.0.2.66"))


    def test_oneAddressSpeltTwoWays(self):
        """A dual-stack socket's ``::ffff:a.b.c.d`` is a.b.c.d; IPv6 in
        any case and compression is one address."""
        self.assertIsNone(whyNot(PEER, "203.0.113.9", "::ffff:203.0.113.9"))
        self.assertIsNone(whyNot(PEER, "::FFFF:CB00:7109", "203.0.113.9"))
        self.assertIsNone(whyNot(PEER, "2001:db8::9", "2001:DB8:0:0::9"))

    def test_otherSpellingsAreOtherHosts(self):
        """What is no address, or another one, stays another host: a zone,
        leading zeros, a trailing dot, a space, an IPv4-compatible IPv6."""
        for relayed in ("203.0.113.9%eth0", "203.0.113.09", "203.0.113.9.",
                        " 203.0.113.9", "::203.0.113.9", "fe80::1%eth0"):
            self.assertIsNotNone(whyNot(PEER, "203.0.113.9", relayed), relayed)
        self.assertIsNotNone(whyNot(PEER, "fe80::1", "fe80::1%eth0"))

    def test_aNameIsNoPlaceToPunch(self):
        """A name the tracker names, even as the relay names it too, is
        no host to punch to; a memory network's labels are."""
        self.assertIn("at s.attacker.example, a name: a punch dials only an IP address",
                      whyNot(PEER, "s.attacker.example", "s.attacker.example"))
        self.assertIn("a name", whyNot(PEER, "fe80::1%eth0", "fe80::1%eth0"))
        self.assertIsNone(whyNot(PEER, "n5", "n5", labels=True))

class WitnessTests(SynchronousTestCase):
    """The witness's questions; the hosts the tracker names are the
    book's (here ``hosts``: what its answer wrote), read back."""

    def setUp(self):
        self.questions = []
        self.told = []
        self.hosts = {}
        self.witness = TrackerWitness(self.whereIs, self.hosts.get, self.told.append)

    def whereIs(self, peer_id):
        d = defer.Deferred()
        self.questions.append((peer_id, d))
        return d

    def answer(self, index, host=None):
        """The tracker answers question index, naming host (None: none),
        written in the book first, as its answer is."""
        peer_id, d = self.questions[index]
        if host is None:
            self.hosts.pop(peer_id, None)
        else:
            self.hosts[peer_id] = host
        d.callback(None)

    def test_askedOnce(self):
        """One question per peer, whoever asks again meanwhile or after."""
        self.witness.ask(PEER)
        self.witness.ask(PEER)
        self.assertTrue(self.witness.asking(PEER))
        self.assertIsNone(self.witness.named(PEER))
        self.assertEqual(len(self.questions), 1)
        self.answer(0, "203.0.113.9")
        self.witness.ask(PEER)
        self.assertEqual(len(self.questions), 1)
        self.assertEqual((self.witness.named(PEER), self.told), ("203.0.113.9", [PEER]))

    def test_theBooksWordIsRead(self):
        """It keeps no host of its own: what the book holds now is named
        (the tracker's later word, written there by another question)."""
        self.witness.ask(PEER)
        self.answer(0, "203.0.113.9")
        self.hosts[PEER] = "203.0.113.10"
        self.assertEqual(self.witness.named(PEER), "203.0.113.10")

    def test_unknownOrGone(self):
        """The tracker names nobody (None), or cannot answer: "" named,
        whatever the book holds from before for the silent one."""
        self.witness.ask(PEER)
        self.witness.ask(PEER + 1)
        self.hosts[PEER + 1] = "198.51.100.7"
        self.answer(0)
        self.questions[1][1].errback(RuntimeError("tracker gone"))
        self.assertEqual((self.witness.named(PEER), self.witness.named(PEER + 1)),
                         ("", ""))
        self.assertEqual((self.witness.unanswered(PEER), self.witness.unanswered(PEER + 1)),
                         (None, "tracker gone"))
        # Asked again and answered, it is no longer silence; forgotten, neither.
        self.witness.ask(PEER + 1, again=True)
        self.answer(2)
        self.assertIsNone(self.witness.unanswered(PEER + 1))
        self.witness.ask(PEER + 1, again=True)
        self.questions[3][1].errback(RuntimeError("tracker gone"))
        self.witness.forget(PEER + 1)
        self.assertIsNone(self.witness.unanswered(PEER + 1))

    def test_forgetDropsTheQuestion(self):
        """A forgotten peer's question is cancelled, and tells nothing."""
        self.witness.ask(PEER)
        self.witness.forget(PEER)
        self.assertFalse(self.witness.asking(PEER))
        self.assertIsNone(self.witness.named(PEER))
        self.assertEqual(self.told, [])
        self.witness.ask(PEER + 1)
        self.answer(1, "198.51.100.7")
        self.witness.stop()
        self.assertIsNone(self.witness.named(PEER + 1))

    def test_askedAgainBounded(self):
        """A peer named nowhere is asked of again at most AGAIN_LIMIT
        times while its link lasts; forgetting it (its link gone) starts
        the count afresh."""
        for _ in range(10):
            self.witness.ask(PEER, again=True)
            if self.witness.asking(PEER):
                self.answer(-1)
        self.assertEqual(len(self.questions), 1 + AGAIN_LIMIT)
        self.assertFalse(self.witness.asking(PEER))
        self.assertEqual(self.witness.named(PEER), "")
        self.witness.forget(PEER)
        self.witness.ask(PEER, again=True)
        self.assertEqual(len(self.questions), 2 + AGAIN_LIMIT)
