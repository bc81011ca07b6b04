"""
A link's reading: the frames that arrive, each decoded, held to its
kind's rate, and handed on (L{Reading}, a part of
L{twisted_bazaar.net.link.Link}).

A broken frame closes the link; a message that does not decode is
answered with ``error{wtf}`` (and, before the handshake is done, ends the
link); a ping gets a pong, and a pong fires the wait of the ping it
answers.  A peer's mistakes cost it: each bad message, and each ``error``
it sends about the link itself (one without a ``path``), counts toward
its error budget (L{twisted_bazaar.net.limits.spend}), and the link is cut
when the budget is spent.  Every other message goes to the link's owner.

Its frames are split by L{twisted_bazaar.net.framed.FrameLoop}, the one
frame loop of every connection, with the link's frame limit (the
registry's ``link.frame``).
"""

from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.logger import LogLevel

from twisted_bazaar import wire
from twisted_bazaar.net.framed import FrameLoop
from twisted_bazaar.net.limits import ERROR_WINDOW, TokenBucket, bucketRate, spend
from twisted_bazaar.net.recent import IN, STATUS_PURPOSES

_Ping, _Pong, _Error = wire.Ping, wire.Pong, wire.Error


class Reading(FrameLoop):
    """
    What a L{twisted_bazaar.net.link.Link} does with what its peer sends
    (a part of it, kept apart for what it does, with no state of its own):
    it uses the link's context (owner, clock, settings, write batch,
    recent messages: L{twisted_bazaar.net.link.LinkContext}), its slots
    for a frame not yet whole (C{_partial}), the rate buckets of its
    peer (C{_buckets}), the times it last heard and traded, its ping
    nonce, and, in the link's seldom things (C{_seldomThings}), its
    peer's recent errors, its drops and its pings waiting for their
    pongs.
    """

    __slots__ = ()

    def dataReceived(self, data):
        """
        Read a burst: split it into messages (L{FrameLoop.readFrames});
        with a write batch, what is sent meanwhile goes out when the
        outermost read is done (see L{twisted_bazaar.net.batch.WriteBatch}).
        """
        batch = self._context.batch
        if batch is None:
            self.readFrames(data)
            return
        batch.depth += 1
        try:
            self.readFrames(data)
        finally:
            batch.depth -= 1
            if not batch.depth and batch.dirty:
                batch.flush()

    @property
    def MAX_LENGTH(self):  # noqa: N802 (the frame loop's name, Twisted's)
        """The link's frame limit (the registry's ``link.frame``)."""
        return self._context.settings.frame_limit

    def unframed(self, data, start):
        """A deaf link reads nothing more (L{FrameLoop})."""
        return None

    def framingBroken(self, reason):
        self.peerLine(LogLevel.warn, "broken netstring from {peer}: {reason}",
                      reason=reason)
        self.close()

    def stringReceived(self, data):
        """
        One frame from the peer, in steps: decoded (L{_undecodable} if
        not), counted (--metrics), noted as heard, held to its kind's
        rate, logged with --verbose; then a ping or a pong is answered
        here, a complaint about the link itself is charged to the error
        budget, and every other message goes to the link's owner.  The
        steps every message takes are inline: this runs once a frame.
        """
        if self.deaf:
            return
        try:
            message = wire.decode(data)
        except wire.ProtocolError as e:
            self._undecodable(e)
            return
        context = self._context
        settings = context.settings
        if settings.traffic is not None:
            settings.traffic.messageReceived(message.TYPE, len(data))
        # Only a message that makes sense shows the peer is alive: garbage
        # must not keep a dead peer's link open.
        now = self._last_heard = context.clock.seconds()
        if message.BUCKET is not None:
            buckets = self._buckets
            bucket = None if buckets is None else buckets.get(message.BUCKET)
            if bucket is None:
                bucket = self._newBucket(message.BUCKET, now)
            if not bucket.take(now):
                self.dropOverRate(message.TYPE, bucket.rate)
                return
        if settings.verbose:
            self.log.info("<- {peer} {frame}", peer=self.describe(),
                          frame=data.decode("utf-8"))
        kind = type(message)
        if kind in _OWN and _OWN[kind](self, message):
            # A test of the table, no call: every message a node relays
            # comes this way (docs/architecture.md, "Taking a message").
            return
        # To the link's owner, noting the traffic (and, but on a status
        # link, the recent messages seen): inline, since every relayed
        # message comes this way.
        self._last_traffic = now
        recent = context.recent
        if recent is not None and self.purpose not in STATUS_PURPOSES:
            recent.note((now, IN, self.peer_id, message.TYPE))
        self.payload = data
        context.owner.messageReceived(self, message)
        # Not kept past its handling: a quiet link would hold its last
        # message for as long as it lives.
        self.payload = None

    def _undecodable(self, error):
        """A frame that does not decode (a L{wire.ProtocolError}) is
        refused, and before the handshake is done ends the link (after
        it, the link stays open: docs/protocol.md §14)."""
        if self._context.settings.verbose:
            self.log.info("<- {peer} undecodable: {info}", peer=self.describe(),
                          info=error.info)
        self.protocolError(error.code, error.info, answer=error.answerable,
                           close=self.peer_id is None)

    def _newBucket(self, name, now):
        """The token bucket of a rated kind of message on this link, made
        at its first message: a message over its bucket's rate is dropped
        (L{dropOverRate})."""
        buckets = self._buckets
        if buckets is None:
            buckets = self._buckets = {}
        rate = bucketRate(self._context.settings.rates, name)
        bucket = buckets[name] = TokenBucket(rate, now)
        return bucket

    def _pinged(self, message):
        """A ping is answered with its pong, once the peer has said who
        it is (before that, it ends the link)."""
        if self.peer_id is not None:
            self.send(wire.Pong(message.nonce))
        else:
            self.protocolError("wtf", "say thisisme before ping", close=True)
        return True

    def _ponged(self, message):
        """A pong fires the wait of the ping it answers, if any (before
        the peer has said who it is, it ends the link)."""
        if self.peer_id is None:
            self.protocolError("wtf", "say thisisme before pong", close=True)
            return True
        seldom = self._seldom
        pongs = None if seldom is None else seldom.pongs
        waiting = pongs.pop(message.nonce, None) if pongs else None
        if waiting is not None:
            waiting.callback(None)
        return True

    def _erred(self, error):
        """An error about the link itself costs its sender as a bad
        message would (L{_earn}): a flood of well-formed errors is cut off
        (taken here); one within the budget, or one with a path, goes to
        the owner."""
        return error.path is None and self._earn()

    def dropOverRate(self, kind, rate):
        """A message over its rate (this link's, or one its owner keeps
        for many links): dropped, counted, and logged once."""
        seldom = self._seldomThings()
        dropped = seldom.dropped
        if dropped is None:
            dropped = seldom.dropped = {}
        count = dropped.get(kind, 0)
        if not count:
            self.peerLine(LogLevel.warn, "{peer} sends {kind} faster than {rate:g}/s; "
                          "dropping the excess", kind=kind, rate=rate)
        dropped[kind] = count + 1
        total = self.settings.dropped
        total[kind] = total.get(kind, 0) + 1
        if self.settings.traffic is not None:
            self.settings.traffic.messageDropped("rate", kind)

    def protocolError(self, code, info, answer=True, close=False):
        """
        The peer sent something wrong: answer it (unless it was an error
        itself), and cut the peer off if it closes or keeps doing so.
        """
        if answer:
            self.send(wire.Error(code, info))
        if self.settings.traffic is not None:
            self.settings.traffic.protocolError(code)
        if close:
            self.close(f"{code}: {info}")
        else:
            self._earn()

    def _earn(self):
        """
        The peer spent one more of its error budget (``error_limit`` in
        ERROR_WINDOW seconds): True if that was one too many, and the link
        is closed.
        """
        seldom = self._seldomThings()
        over, errors = spend(seldom.errors, self.clock.seconds(),
                             self.settings.error_limit)
        seldom.errors = errors
        if over:
            self.close(f"{len(errors)} bad messages in {ERROR_WINDOW:g} s")
            return True
        return False

    @property
    def dropped(self):
        """message type -> number this peer sent past its rate limit."""
        seldom = self._seldom
        return {} if seldom is None or seldom.dropped is None else seldom.dropped

    def ping(self):
        """
        Ping the peer now.  The Deferred fires when its pong comes back:
        the stream is in order, so the peer has then read everything sent
        on this link before the ping.  It fails if the link closes first,
        and never fires if the peer does not answer (cancel it).
        """
        if self.closing or self.transport is None or self.peer_id is None:
            return defer.fail(ConnectionDone("the link is closing"))
        self._nonce += 1
        nonce = self._nonce
        seldom = self._seldomThings()
        if seldom.pongs is None:
            seldom.pongs = {}
        waiting = seldom.pongs[nonce] = defer.Deferred(
            lambda d: seldom.pongs and seldom.pongs.pop(nonce, None))
        self.send(wire.Ping(nonce))
        return waiting


#: What a link takes itself, before its owner: message class ->
#: function(link, message), true if the link took it (else the owner
#: gets it too).
_OWN = {_Ping: Reading._pinged, _Pong: Reading._ponged, _Error: Reading._erred}
