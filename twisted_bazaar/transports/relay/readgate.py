"""
The reading of one end of a relayed circuit, stopped for either of two
reasons that never lift each other: the relay's throttle (its bytes a
second, L{twisted_bazaar.transports.relay.throttle}) and flow control (the
other end's write buffer is full).

Before it, each end's transport was the other's producer directly: when
the other end's buffer drained, its C{resumeProducing} let a circuit the
throttle had stopped read at once, so on a fast link a throttled relay
read at line speed and ran up a debt of all the bytes in flight (a
transfer's 4 MiB), then stopped the circuit for the whole debt (16 s at
a public node's 256 KiB/s), longer than a buyer waits for a silent
seller.  Through the gate the throttle stops a circuit until its debt is
paid, a read's worth at a time, and flow control only as long as the
buffer is full.
"""

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer


@implementer(IPushProducer)
class ReadGate:
    """
    One end's reading (its C{transport}'s C{pauseProducing} and
    C{resumeProducing}), open only while neither the throttle
    (L{hold}/L{release}) nor flow control (the C{IPushProducer} methods,
    called by the other end's transport) stops it.
    """

    def __init__(self, transport):
        self.transport = transport
        #: Stopped by the relay's throttle.
        self.held = False
        #: Stopped by flow control (the other end's buffer is full).
        self.blocked = False

    @property
    def reading(self):
        return not (self.held or self.blocked)

    def hold(self):
        """The throttle stops this end reading until its debt is paid."""
        self._set(True, self.blocked)

    def release(self):
        """The throttle's debt is paid."""
        self._set(False, self.blocked)

    def pauseProducing(self):
        self._set(self.held, True)

    def resumeProducing(self):
        self._set(self.held, False)

    def stopProducing(self):
        self.transport.stopProducing()

    def _set(self, held, blocked):
        before = self.reading
        self.held, self.blocked = held, blocked
        if before and not self.reading:
            self.transport.pauseProducing()
        elif not before and self.reading:
            self.transport.resumeProducing()
