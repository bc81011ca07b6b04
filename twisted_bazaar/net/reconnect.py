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

Given several peers (a node's several ``--tracker``), it keeps a
connection to one at a time, in the order given: a connection that fails,
is refused or is lost moves it on to the next (the first again after the
last).  While it is connected to one that is not the first, it asks the
ones named before it, every C{probe_interval} seconds, whether they take
a connection again, and moves back to the first that does, so that the
clients of a set of peers end up on the same one once it is back (a move
back that does not serve, the peer refusing this client or dropping it
before it has served L{PROBE_BACKOFF} times C{probe_interval} seconds,
makes the next probe wait twice as long, up to that many times the
interval: a peer that takes its clients only to drop them, crashing in a
loop or on purpose, would otherwise pull each of them off a working peer
every interval, or, dropping them once they had served one interval,
every other).
"""

import errno

from twisted.internet import defer, error, main
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger, LogLevel

from twisted_bazaar.net.link import ClosedHere
from twisted_bazaar.base.words import roundSeconds as roundDelay
from twisted_bazaar.net.timers import sleptLately


def inWords(failure):
    """A failure's message, without the full stop Twisted often ends it
    with (the log line goes on after it); a TLS handshake's failure (a
    tracker reached over ``tls:``) in words, not pyOpenSSL's list of
    (library, function, reason) tuples."""
    if failure.check("OpenSSL.SSL.Error"):
        why = f"the TLS handshake failed: {tlsReasons(failure.value)}"
        if spokeNoTLS(failure.value):
            why += f" ({NO_TLS})"
        return why
    if failure.check(OTHER_HOST):
        return otherHost(failure.value)
    if failure.check(error.ConnectionLost) and failure.value.args == _TLS_EOF:
        return _TLS_EOF_WORDS
    if failure.check(error.ConnectError) and failure.value.osError in _BY_ERRNO:
        return _BY_ERRNO[failure.value.osError]
    words = _IN_WORDS.get(type(failure.value))
    if words is not None and (failure.check(error.ConnectError)
                              or not failure.value.args):
        return words
    return failure.getErrorMessage().rstrip(". ")


#: Twisted's own reasons for a connection that ended or never came
#: (``Connection was closed cleanly``, ``Connection was refused by other
#: side: 111: ...``), in the project's words: what happened to the peer,
#: as a user reads it (a tracker killed with ``kill -9`` is a clean close
#: too: its kernel closes its sockets).  A failure to connect always; a
#: loss only when bare: one that carries a reason of its own (a QUIC
#: close's) says it.
_IN_WORDS = {
    error.ConnectionDone: "it closed the connection (it stopped, restarted or crashed)",
    error.ConnectionLost: "the connection broke (it crashed, or the network failed)",
    error.ConnectionRefusedError: "nothing listens there (connection refused)",
    error.TCPTimedOutError: "no answer (the connection timed out)",
    # An endpoint's own limit on the dial (Twisted: "User timeout caused
    # connection failure"): a firewall that drops the way there, often.
    error.TimeoutError: "no answer within the dial's time limit (a firewall may drop "
                        "the way there)",
    error.ConnectionAborted: "this node cut the connection",
    ClosedHere: "this node closed the connection",
}


#: Twisted's TLS reports its peer's end without TLS's close (its
#: close_notify) as its stock ``ConnectionLost("Connection lost")``, a
#: close and a reset alike (a tracker on ``ssl:`` stopped: "Connection to
#: the other side was lost in a non-clean fashion: Connection lost"); a
#: plain TCP port's loss is a bare one, in L{_IN_WORDS}.
_TLS_EOF = main.CONNECTION_LOST.args
_TLS_EOF_WORDS = ("the connection ended without TLS's close (it stopped, restarted or "
                  "crashed, or the network failed)")


#: A dial that failed by its errno: Twisted's words call ENETUNREACH "No
#: route to host" ("No route to host: 101: Network is unreachable"), and
#: EHOSTUNREACH and ECONNRESET "An error occurred while connecting" (a
#: reset: the far end closed a connection before this node had seen it
#: made, as a tracker does to one that says nothing for 10 s, this node
#: asleep meanwhile).
_BY_ERRNO = {
    errno.ENETUNREACH: "the network is unreachable (this machine has no route to it)",
    errno.EHOSTUNREACH: "no route to the host (it is down, or a firewall rejects the "
                        "dial)",
    errno.ECONNRESET: "the far end reset the connection as it was made (it closed it "
                      "before this node spoke)",
    # An IPv6 address dialled from a machine with IPv6 off (or the other
    # way round), or no local port left: Twisted's "99: Cannot assign
    # requested address".
    errno.EADDRNOTAVAIL: "this machine has no address to dial it from (none of its "
                         "family: an IPv6 address from a machine on IPv4 only, or the "
                         "other way round; or no free local port)",
}


def lasting(failure):
    """Whether trying again cannot cure a failure: the peer did not prove
    the key pinned for it (L{KeyRefused
    <twisted_bazaar.net.encrypted.KeyRefused>}), which only its operator
    can fix."""
    return bool(getattr(failure.value, "lasting", False))


#: The way out of a TLS handshake with a port that speaks no TLS.
NO_TLS = ("the port does not speak TLS: a tracker listening on plain TCP is "
          "reached at HOST:PORT, without tls:")
#: OpenSSL's reasons for bytes that are no TLS at all, or a close before
#: any came: what a plain port answers a handshake with.
_NOT_TLS = ("wrong version number", "packet length too long", "unexpected eof",
            "http request", "unknown protocol", "record layer failure")


def spokeNoTLS(error):
    """Whether a pyOpenSSL handshake error says the peer speaks no TLS
    (its answer is no TLS record), not that it was no peer to trust."""
    reasons = tlsReasons(error).lower()
    return any(kind in reasons for kind in _NOT_TLS)


#: service_identity's failure for a certificate trusted, but not for the
#: host a ``tls:`` address names.
OTHER_HOST = "service_identity.exceptions.VerificationError"


def otherHost(error):
    """A certificate for another host (L{OTHER_HOST}), in words: the
    names it was checked for, which it does not hold, and the way out
    (service_identity's repr, `VerificationError(errors=[IPAddressMismatch(
    mismatched_id=IPAddress_ID(ip=...))])`, was the line)."""
    names = []
    for mismatch in getattr(error, "errors", None) or ():
        wanted = getattr(mismatch, "mismatched_id", None)
        name = getattr(wanted, "hostname", None) or getattr(wanted, "ip", None)
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        if name is not None and str(name) not in names:
            names.append(str(name))
    if len(names) == 1:
        named = f"it does not name {names[0]}"
    elif len(names) == 2:
        named = f"it names neither {names[0]} nor {names[1]}"
    else:
        named = f"it names none of {', '.join(names) or 'the names asked'}"
    return (f"its TLS certificate is for another host: {named} (tls:HOST:PORT must "
            "name the tracker by a host name or address its certificate's "
            "subjectAltName holds)")


def tlsReasons(error):
    """The reasons of a pyOpenSSL error (``[('SSL routines', '',
    'certificate verify failed')]``), joined: ``certificate verify
    failed``; its text if it holds no such list."""
    errors = error.args[0] if error.args else None
    if isinstance(errors, list) and errors and all(
            isinstance(each, tuple) and len(each) == 3 for each in errors):
        return "; ".join(str(each[2]) for each in errors)
    return str(error).rstrip(". ")


#: How many times probe_interval the wait between probes grows to, at
#: most, while moves back do not serve; and how long a move back must
#: last to count as served: as long as that longest wait.  Counted as
#: served after one interval, a peer that dropped its clients once they
#: had served one held each of them half the time, and pulled it off a
#: working peer every other interval, for good.
PROBE_BACKOFF = 16


class _Probe(Protocol):
    """A connection that only shows its peer takes connections: closed
    as soon as it is made."""

    def connectionMade(self):
        self.transport.loseConnection()


class _ProbeFactory(Factory):
    protocol = _Probe
    noisy = False


class Reconnector:
    """
    Connects ``factory`` to ``endpoint`` (or to each of several peers in
    turn, see the module's docstring), and again after each failure or
    loss, waiting ``policy(attempt)`` seconds first (attempt counts from 1
    and starts again once the owner says a connection served, with
    L{succeeded}: a peer that takes connections only to refuse them, a
    tracker with no room, is tried less and less often).

    The owner calls L{lost} when the connection it was given closes.

    @ivar connected: the protocol of the connection that is up, or None.
    @ivar targets: (endpoint, whom, for the log) of each peer, in order.
    @ivar index: the peer of the connection up or being made.
    """

    log = Logger()

    def __init__(self, endpoint, factory, clock, policy, what, others=(),
                 probe_interval=None, onMove=None):
        """
        @param what: whom this connects to, for the log
            (``the tracker at 127.0.0.1:7700``).
        @param others: (endpoint, what) of the peers to move on to, in
            order, when the one before fails.
        @param probe_interval: seconds between the questions to the peers
            named before the one connected (None: none asked).
        @param onMove: told ``onMove(why)`` when a peer named before the
            one connected takes a connection again: it should close the
            connection up (L{lost} then connects to that peer).
        """
        self.targets = [(endpoint, what)] + list(others)
        self.index = 0
        self.factory = factory
        self.clock = clock
        self.policy = policy
        self.probe_interval = probe_interval
        self.onMove = onMove
        self.connected = None
        self.running = False
        self._attempts = 0
        self._connecting = None
        self._retry = None
        self._stopped = None
        #: The peer to connect to once the connection up closes (a peer
        #: named before it took a probe), or None.
        self._moveTo = None
        #: Whether the connection being made is a move back that has not
        #: served yet; and the seconds before the next probe, doubled
        #: (up to L{PROBE_BACKOFF} times probe_interval) each time a move
        #: back does not serve: a peer that takes connections only to
        #: refuse this client (no room, another key) is not moved back to
        #: every probe_interval.
        self._movingBack = False
        self._probeDelay = probe_interval
        self._probeTimer = None
        self._probing = None
        #: When the connection up, a move back, served (L{succeeded}),
        #: until it has served PROBE_BACKOFF times probe_interval seconds
        #: (then the wait between probes starts again from
        #: probe_interval), or None.
        self._servedSince = None
        #: index -> the last (line, reason) said of a failure there, until
        #: a connection serves: the same again is said shortly (a plugin
        #: transport's address at another port fails every try with a long reason).
        self._said = {}
        #: A callable saying whether the owner is stopping though it has
        #: not yet said so (a stop signal came, the reactor's shutdown not
        #: yet begun), or None: a loss then is neither said nor tried again.
        self.ownerStopping = None

    @property
    def endpoint(self):
        """The endpoint of the peer connected, or being tried."""
        return self.targets[self.index][0]

    @property
    def what(self):
        """The peer connected, or being tried, as the log names it."""
        return self.targets[self.index][1]

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
        self._schedule(f"cannot reach {self.what}", inWords(reason), lasting(reason))

    def succeeded(self):
        """The connection served (the peer took this client): the next
        loss is retried after the first delay again; connected to a peer
        that is not the first, ask those before it again in a while."""
        self._attempts = 0
        self._said.clear()
        if self._movingBack:
            self._movingBack = False
            self._servedSince = self.clock.seconds()
        if self.index > 0 and self.probe_interval and self._probeTimer is None:
            self._probeTimer = self.clock.callLater(self._probeDelay, self._probe, 0)

    def lost(self, reason, again=True):
        """
        The connection closed: try again after the first delay (the next
        peer, with several).

        @param again: False when the owner is shutting down: no more
            attempts, and nothing logged.
        """
        if not again or (self.ownerStopping is not None and self.ownerStopping()):
            self.running = False
        self.connected = None
        self._stopProbing()
        self._servedFor()
        if self._stopped is not None:
            waiters, self._stopped = self._stopped, None
            for d in waiters:
                d.callback(None)
            return
        if self.running:
            if self._moveTo is not None:
                # Closed by this client, to move back: no loss to tell.
                self._schedule(f"left {self.what} to move back")
            else:
                self._schedule(f"lost {self.what}", self._lostWhy(reason),
                               lasting(reason))

    def _lostWhy(self, reason):
        """Why the connection was lost, in words; a peer's close as this
        node resumes from a stop or a suspend is likely its cut of a link
        silent past its limit (the node's own silence), not its end."""
        slept = sleptLately(self.clock)
        if slept is not None and reason.check(error.ConnectionDone, error.ConnectionLost):
            return (f"it closed the connection, likely for this node's silence: this "
                    f"node did not run for at least {slept:.0f} s (the machine asleep, "
                    f"or the process stopped), past the time a peer waits on a silent "
                    f"link")
        return inWords(reason)

    def _schedule(self, what, reason=None, lasting=False):
        """Log what happened (and why, C{reason}: said in full the first
        time, shortly while it is the same; at warning level the first
        time when ``lasting``) and try again after the policy's delay."""
        why, level = what, LogLevel.info
        if reason is not None:
            said = self._said.get(self.index)
            self._said[self.index] = (what, reason)
            if said == (what, reason):
                why = f"{what}, for the same reason as before"
            else:
                why = f"{what}: {reason}"
                # A reason trying again cannot cure (a pinned key the peer
                # does not prove) is the operator's to fix: a warning when
                # first said, then the short retry lines at info.
                if lasting:
                    level = LogLevel.warn
        self._attempts += 1
        delay = self.policy(self._attempts)
        if len(self.targets) == 1:
            self.log.emit(level, "{why}; trying again in {delay} s", why=why,
                          delay=roundDelay(delay))
        else:
            moveTo, self._moveTo = self._moveTo, None
            if moveTo is None and self._movingBack:
                # Moved back, and refused there before it served.
                self._movingBack = False
                self._probeDelay = min(self._probeDelay * 2,
                                       self.probe_interval * PROBE_BACKOFF)
            self.index = (moveTo if moveTo is not None
                          else (self.index + 1) % len(self.targets))
            self.log.emit(level, "{why}; trying {what} in {delay} s", why=why,
                          what=self.what, delay=roundDelay(delay))
        self._retry = self.clock.callLater(delay, self._connect)

    # -- back to a peer named before -------------------------------------------

    def _servedFor(self):
        """The connection of a move back closed, or a probe is due: if it
        served PROBE_BACKOFF times probe_interval seconds (the longest
        wait between probes), the wait starts again from probe_interval;
        if the peer closed it sooner, that move back did not serve: the
        wait doubles (not when this client closed it to move on to a peer
        named before, which answered a probe)."""
        since = self._servedSince
        if since is None:
            return
        longest = self.probe_interval * PROBE_BACKOFF
        if self.clock.seconds() - since >= longest:
            self._servedSince = None
            self._probeDelay = self.probe_interval
        elif self.connected is None:
            self._servedSince = None
            if self._moveTo is None:
                self._probeDelay = min(self._probeDelay * 2, longest)

    def _probe(self, index):
        """Ask the peer at ``index`` (named before the one connected)
        whether it takes a connection again."""
        self._probeTimer = None
        self._servedFor()
        endpoint, _ = self.targets[index]
        d = self._probing = endpoint.connect(_ProbeFactory())
        d.addCallbacks(lambda protocol: self._answered(index),
                       lambda reason: self._unanswered(index))

    def _answered(self, index):
        self._probing = None
        if not self.running or self.connected is None:
            return
        self._moveTo = index
        self._movingBack = True
        why = (f"{self.targets[index][1]} takes connections again: moving back "
               f"to it from {self.what}")
        self.log.info("{why}", why=why)
        if self.onMove is not None:
            self.onMove(why)

    def _unanswered(self, index):
        self._probing = None
        if not self.running or self.connected is None:
            return
        if index + 1 < self.index:
            self._probe(index + 1)
        else:
            self._probeTimer = self.clock.callLater(self._probeDelay, self._probe, 0)

    def _stopProbing(self):
        timer, self._probeTimer = self._probeTimer, None
        if timer is not None and timer.active():
            timer.cancel()
        probing, self._probing = self._probing, None
        if probing is not None:
            probing.cancel()

    def stopsWhen(self, stopping):
        """``stopping()`` says whether the owner is stopping before it has
        said so (L{ownerStopping})."""
        self.ownerStopping = stopping

    def stopTrying(self):
        """
        No more attempts, nor probes, and a connection in progress is
        cancelled; the connection up is kept until L{stop}, and its loss
        meanwhile is neither said nor tried again (its owner is stopping
        its other parts first, which may still use it).
        """
        self.running = False
        self._stopProbing()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._connecting is not None:
            connecting, self._connecting = self._connecting, None
            connecting.cancel()

    def stop(self):
        """
        Stop: no more attempts (L{stopTrying}); a connection in progress is cancelled and
        one that is up is closed.

        @return: a Deferred firing once no connection is left.
        """
        self.stopTrying()
        if self.connected is None:
            return defer.succeed(None)
        d = defer.Deferred()
        if self._stopped is None:
            self._stopped = []
        self._stopped.append(d)
        transport = self.connected.transport
        if transport is not None:
            transport.loseConnection()
        return d
