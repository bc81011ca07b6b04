"""
Keep one client connection up, with backoff, and say in the log what is
going on: whom it tries to reach, why the last try failed, and when the
next one comes.

Twisted's C{ClientService} does the same job, but its log line names the
endpoint object (C{<TCP4ClientEndpoint object at 0x7f…>}) with the delay
to sixteen digits, and says neither why nor to whom; it cannot be told
otherwise.  This is the small part of it the tracker session needs; the
delays come from the policy it is given
(L{twisted_bazaar.base.backoff.exponential}).
"""

from twisted.internet import defer
from twisted.logger import Logger


def roundDelay(seconds):
    """A delay as a person reads it: tenths under 10 s, whole seconds
    above."""
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def _reason(failure):
    """A failure's message, without the full stop Twisted often ends it
    with (the log line goes on after it)."""
    return failure.getErrorMessage().rstrip(". ")


class Reconnector:
    """
    Connects ``factory`` to ``endpoint``, and again after each failure or
    loss, waiting ``policy(attempt)`` seconds first (attempt counts from 1
    and starts again once the owner says a connection served, with
    L{succeeded}: a peer that takes connections only to refuse them, a
    tracker with no room, is tried less and less often).

    The owner calls L{lost} when the connection it was given closes.

    @ivar connected: the protocol of the connection that is up, or None.
    """

    log = Logger()

    def __init__(self, endpoint, factory, clock, policy, what):
        """
        @param what: whom this connects to, for the log
            (``the tracker at 127.0.0.1:7700``).
        """
        self.endpoint = endpoint
        self.factory = factory
        self.clock = clock
        self.policy = policy
        self.what = what
        self.connected = None
        self.running = False
        self._attempts = 0
        self._connecting = None
        self._retry = None
        self._stopped = None

    def start(self):
        self.running = True
        self._connect()

    def _connect(self):
        self._retry = None
        d = self._connecting = self.endpoint.connect(self.factory)
        d.addCallbacks(self._madeConnection, self._failed)
        # An errback below swallows the failure: nothing is left unhandled.

    def _madeConnection(self, protocol):
        self._connecting = None
        if not self.running:
            protocol.transport.loseConnection()
            return
        self.connected = protocol

    def _failed(self, reason):
        self._connecting = None
        if not self.running:
            return
        self._schedule(f"cannot reach {self.what}: {_reason(reason)}")

    def succeeded(self):
        """The connection served (the peer took this client): the next
        loss is retried after the first delay again."""
        self._attempts = 0

    def lost(self, reason, again=True):
        """
        The connection closed: try again after the first delay.

        @param again: False when the owner is shutting down: no more
            attempts, and nothing logged.
        """
        if not again:
            self.running = False
        self.connected = None
        if self._stopped is not None:
            waiters, self._stopped = self._stopped, None
            for d in waiters:
                d.callback(None)
            return
        if self.running:
            self._schedule(f"lost {self.what}: {_reason(reason)}")

    def _schedule(self, why):
        self._attempts += 1
        delay = self.policy(self._attempts)
        self.log.info("{why}; trying again in {delay} s", why=why,
                      delay=roundDelay(delay))
        self._retry = self.clock.callLater(delay, self._connect)

    def stop(self):
        """
        Stop: no more attempts; a connection in progress is cancelled and
        one that is up is closed.

        @return: a Deferred firing once no connection is left.
        """
        self.running = False
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._connecting is not None:
            connecting, self._connecting = self._connecting, None
            connecting.cancel()
        if self.connected is None:
            return defer.succeed(None)
        d = defer.Deferred()
        if self._stopped is None:
            self._stopped = []
        self._stopped.append(d)
        transport = getattr(self.connected, "transport", None)
        if transport is not None:
            transport.loseConnection()
        return d
