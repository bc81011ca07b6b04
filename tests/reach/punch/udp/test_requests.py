"""
Tests of L{twisted_bazaar.reach.punch.udp.requests}: a punch's requests to
the tracker, each answer matched to the oldest.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.udpreach import UdpCheck
from twisted_bazaar.reach.punch.udp.requests import CHECK, TrackerRequests


class Session:
    def __init__(self, sends=True):
        self.sent, self.sends = [], sends

    def send(self, message):
        self.sent.append(message)
        return self.sends


class TrackerRequestsTests(SynchronousTestCase):
    def test_aCheckSentIsOut(self):
        requests, session = TrackerRequests(), Session()
        self.assertTrue(requests.sendCheck(session))
        self.assertEqual((session.sent, requests.pending), ([UdpCheck()], [CHECK]))

    def test_noSessionNoCheck(self):
        requests = TrackerRequests()
        self.assertFalse(requests.sendCheck(None))
        self.assertFalse(requests.sendCheck(Session(sends=False)))
        self.assertEqual(requests.pending, [])

    def test_aProbeAnswersOnlyACheckOldest(self):
        """A tracker's udpprobe with no check of this node's oldest is no
        reason to send datagrams."""
        requests = TrackerRequests()
        self.assertFalse(requests.probeAsked())
        requests.asked(7)
        requests.sendCheck(Session())
        self.assertFalse(requests.probeAsked())
        requests.answered(7)
        self.assertTrue(requests.probeAsked())
        self.assertEqual(requests.pending, [])

    def test_answersByOrder(self):
        requests = TrackerRequests()
        requests.asked(7)
        requests.asked(8)
        requests.answered(8)
        self.assertEqual(requests.pending, [7, 8])
        self.assertEqual(requests.refused(), 7)
        self.assertEqual(requests.refused(), 8)
        self.assertIsNone(requests.refused())
        requests.asked(9)
        requests.lost()
        self.assertEqual(requests.pending, [])
