"""
Tests for L{twisted_bazaar.transports.quic.errors}: a failed dial says why in its
own words (the dialer's line and a race's reasons quote it), and a
silent one is a refusal's kind, told apart.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.transports.quic.errors import QuicSilent, QuicUnanswered


class ErrorTests(SynchronousTestCase):
    def test_saysWhy(self):
        self.assertEqual(str(QuicUnanswered(string="the peer refused it")),
                         "the peer refused it")
        self.assertEqual(str(QuicSilent(string="no QUIC answer from 10.0.0.2:4433 "
                                               "within 5 s")),
                         "no QUIC answer from 10.0.0.2:4433 within 5 s")
        self.assertEqual(str(QuicUnanswered()), "no QUIC answer")

    def test_silenceIsUnanswered(self):
        self.assertTrue(issubclass(QuicSilent, QuicUnanswered))
