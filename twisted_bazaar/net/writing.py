"""
A link's writing: the messages it sends, counted and framed, coalesced
during a burst of reads (L{twisted_bazaar.net.batch.WriteBatch}), and
the transport's push back (L{Writing}, a part of
L{twisted_bazaar.net.link.Link}).

A frame over the limit is not sent.  A peer that does not read is
noticed when the transport pauses the link (it is the transport's
producer): what is written meanwhile is counted and charged to the
process's account of unsent bytes
(L{twisted_bazaar.net.link.LinkSettings.unsent}, shared fairly among
address groups), and the link is dropped when what waits for it is over
the write limit, or when the account has no room for it (its group
holds the most) or gives its room to a group holding fewer.  What the
transport queues for the peer of its own accord (a pong to a ping) is
counted so too (L{Writing.queuedBeside}): every byte that waits for a
peer is in its link's account, whoever wrote it.
"""

from twisted.logger import LogLevel

from twisted_bazaar import wire
from twisted_bazaar.net.batch import FLUSH_BYTES
from twisted_bazaar.net.capabilities import IHeldWrites
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.recent import OUT, STATUS_PURPOSES


class Writing:
    """
    How a L{twisted_bazaar.net.link.Link} sends (a part of it, kept apart
    for what it does: what it keeps is the link's, every link writes on
    the hot path), and its side of
    C{IPushProducer}: it uses the link's context (clock, settings, write
    batch, recent messages: L{twisted_bazaar.net.link.LinkContext}), the
    time it last traded, and, in the link's seldom things
    (C{_seldomThings}), the bytes sent while its transport paused it, how
    many of them are charged, and the frames it holds back during a burst.
    """

    __slots__ = ()

    def send(self, message):
        """Encode and send one message; a closing link drops it quietly."""
        if not self.closing and self.transport is not None:
            self.sendPayload(wire.encode(message), message.TYPE)

    def sendPayload(self, payload, kind):
        """
        Send a message already encoded: one relayed unchanged, or one
        encoded once for many links.  ``kind`` is its type, for counting.
        """
        if self.closing or self.transport is None:
            return
        context = self._context
        settings = context.settings
        if len(payload) > settings.frame_limit:
            # What a peer asks for (or sends on to be relayed) can make
            # this happen again and again: bounded as a peer's lines are.
            self.peerLine(LogLevel.error, "not sending {type} to {peer}: {size} bytes "
                          "is over the frame limit", type=kind, size=len(payload))
            if settings.traffic is not None:
                settings.traffic.messageDropped("oversize", kind)
            return
        seldom = self._seldom
        if seldom is not None and seldom.waiting is not None and self._waits(
                seldom, len(payload), kind):
            return
        if kind != "ping" and kind != "pong":
            now = self._last_traffic = context.clock.seconds()
            recent = context.recent
            if recent is not None and self.purpose not in STATUS_PURPOSES:
                recent.note((now, OUT, self.peer_id, kind))
        stats = context.stats
        if stats is not None:
            stats[kind] = stats.get(kind, 0) + 1
        traffic = settings.traffic
        if traffic is not None:
            traffic.messageSent(kind, len(payload))
        if settings.verbose:
            self.log.info("-> {peer} {frame}", peer=self.describe(),
                          frame=payload.decode("utf-8"))
        batch = context.batch
        if batch is None or not batch.depth:
            self.transport.write(b"%d:%b," % (len(payload), payload))  # frame(), inline
            return
        if seldom is None:
            seldom = self._seldomThings()
        held = seldom.held
        if not held:
            batch.dirty.append(self)
            held = seldom.held = [0]
        framed = b"%d:%b," % (len(payload), payload)  # frame(payload), inline
        held.append(framed)
        held[0] += len(framed)
        if held[0] >= FLUSH_BYTES:
            self.flushWrites()

    def queuedBeside(self, size):
        """
        The transport queues ``size`` bytes of its own for the peer (a
        pong to the peer's ping): while it has paused this link they wait as what
        the link writes does, charged alike (L{IQueuedBeside
        <twisted_bazaar.net.capabilities.IQueuedBeside>}); False if the
        link is dropped for them, or is closing.
        """
        if self.closing or self.transport is None:
            return False
        seldom = self._seldom
        if seldom is None or seldom.waiting is None:
            return True
        return not self._waits(seldom, size, None)

    def _waits(self, seldom, size, kind):
        """``size`` more bytes wait for the peer of a paused link: counted
        against the write limit and charged to the account; True if the
        link is dropped for them."""
        settings = self._context.settings
        seldom.waiting += size
        if seldom.waiting > settings.write_limit:
            self._notReading(f"over {settings.write_limit} bytes waiting", kind)
            return True
        return seldom.waiting > seldom.charged and self._charge(seldom, kind)

    def _charge(self, seldom, kind):
        """
        Charge what waits for the peer to the process's account of unsent
        bytes, a sixteenth of the write limit ahead, so that a paused link
        goes to the account a few times a spell, not once a message.  The
        links that give way for it are dropped; True if this one is.
        """
        settings = self._context.settings
        charge = seldom.waiting + (settings.write_limit >> 4)
        victims = settings.unsent.take(self, groupOf(self), charge)
        if victims is None:
            self._notReading("its address group holds the most of the "
                             f"{settings.unsent.capacity} bytes this process keeps "
                             "for peers that do not read", kind)
            return True
        seldom.charged = charge
        for victim in victims:
            victim._notReading("its bytes waiting gave way to those of a peer of an "
                               "address group holding fewer", None)
        return False

    def _notReading(self, why, kind):
        """The peer does not read, and what waits for it is over a bound:
        the link goes at once, with what it had unsent."""
        settings = self._context.settings
        self.peerLine(LogLevel.warn, "{peer} is not reading: {why}; dropping the link",
                      why=why)
        self.closing = self.deaf = True
        seldom = self._seldom
        seldom.held = ()
        seldom.waiting = None
        seldom.charged = 0
        settings.unsent.release(self)
        self.transport.abortConnection()
        if settings.traffic is not None and kind is not None:
            settings.traffic.messageDropped("slow-reader", kind)

    def flushWrites(self):
        """Hand the frames held back during a burst to the transport, in
        one write."""
        seldom = self._seldom
        held = () if seldom is None else seldom.held
        if not held:
            return
        seldom.held = ()
        if self.transport is None:
            return
        data = held[1] if len(held) == 2 else b"".join(held[1:])
        batch = self._context.batch
        if batch is not None and batch.depth:
            # In the middle of a burst (FLUSH_BYTES held): more follows on
            # this turn, so the transport gathers it and sends once, at
            # the turn's end, not a send each FLUSH_BYTES (a relayed
            # stream: net/sendnow.py).
            transport = self.transport
            if IHeldWrites.providedBy(transport):
                transport.writeLater(data)
            else:
                transport.write(data)
        else:
            self.transport.write(data)

    # -- IPushProducer: the transport's view of our sending -------------------

    def pauseProducing(self):
        """
        The send buffer is full: count what we add to it from now on.

        A reactor's transport calls this again on every write while its
        buffer stays full, so only the first call of a paused spell starts
        the count.
        """
        seldom = self._seldomThings()
        if seldom.waiting is None:
            seldom.waiting = 0

    def resumeProducing(self):
        self._drained()

    def stopProducing(self):
        self._drained()

    def _drained(self):
        """Nothing waits for the peer any more: its bytes are uncharged."""
        seldom = self._seldom
        if seldom is not None and seldom.waiting is not None:
            seldom.waiting = None
            seldom.charged = 0
            self._context.settings.unsent.release(self)
