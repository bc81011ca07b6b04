"""One relay end's reading, stopped by the throttle or by flow control,
each stop lifted only by its own cause."""

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject
from twisted.internet.interfaces import IPushProducer

from twisted_bazaar.transports.relay.readgate import ReadGate


class ReadGateTests(SynchronousTestCase):
    def setUp(self):
        self.transport = StringTransport()
        self.gate = ReadGate(self.transport)

    def test_aProducer(self):
        verifyObject(IPushProducer, self.gate)

    def test_flowControlDoesNotLiftTheThrottle(self):
        """Held by the throttle, the end stays stopped while flow control
        pauses and resumes it; released, it reads."""
        self.gate.hold()
        self.gate.pauseProducing()
        self.gate.resumeProducing()
        self.assertEqual(self.transport.producerState, "paused")
        self.gate.release()
        self.assertEqual(self.transport.producerState, "producing")

    def test_theThrottleDoesNotLiftFlowControl(self):
        """Stopped by flow control, the end stays stopped when the
        throttle's debt is paid; it reads once the other end drained."""
        self.gate.pauseProducing()
        self.gate.hold()
        self.gate.release()
        self.assertEqual(self.transport.producerState, "paused")
        self.gate.resumeProducing()
        self.assertEqual(self.transport.producerState, "producing")

    def test_eachStopOnce(self):
        """A stop said twice is one stop: the transport is paused once and
        resumed once."""
        calls = []
        self.transport.pauseProducing = lambda: calls.append("pause")
        self.transport.resumeProducing = lambda: calls.append("resume")
        self.gate.hold()
        self.gate.hold()
        self.gate.pauseProducing()
        self.gate.release()
        self.gate.resumeProducing()
        self.gate.resumeProducing()
        self.assertEqual(calls, ["pause", "resume"])

    def test_stopProducing(self):
        """The other end gone, this one stops producing for good."""
        self.gate.stopProducing()
        self.assertEqual(self.transport.producerState, "stopped")
