"""
What the shards of a sharded run hand each other, shard to shard: each
window's messages go straight to the shards they are for (on Dask, on a
stream from one worker to another, L{twisted_bazaar.sim.shardstream};
in one process, into the peer's L{Mailbox}), not through the client.

Every shard keeps the same count of windows and works out each window
the same way from the same reports (L{Exchange.step}): after a window
each shard posts every other shard, for the next window, the messages it
sent it and the earliest time anything of its own is due (its next entry,
or a message it sent any shard); the next window starts where the
earliest report of all is due (a quiet stretch is one window), and is
no longer than the lookahead nor past the next whole second.  So the
shards need no one to tell them where a window ends, and run the windows
of a virtual second alone; the client only checks the run at each
second (L{twisted_bazaar.sim.windows}).
"""

import math
import threading

#: A window is the lookahead less this fraction: a message sent at the
#: start of a window is due a whole minimum delay later, past the window's
#: end however the sums round.
MARGIN = 1e-6
#: Seconds a shard waits for a window's posts from its peers before it
#: gives the run up (a peer whose worker died says nothing): longer than
#: any one window of the largest run made here takes.
PEER_WAIT_S = 1800.0


def lookahead(config):
    """The longest window of a run: its smallest delay (L{MARGIN} aside)."""
    return config.latency_ms[0] / 1000.0 * (1 - MARGIN)


class Mailbox:
    """
    The posts a shard's peers of this process sent it, window by window,
    until it takes them.  Posts may arrive on another thread than the one
    that takes them (shards each on a thread of its own, in the tests), in
    any order.
    """

    def __init__(self, senders):
        """
        @param senders: how many peers post each window (L{senders}).
        """
        self.senders = senders
        #: window -> sender -> (messages, earliest).
        self._posts = {}
        self._changed = threading.Condition()
        #: Why the run was given up (L{abort}), or None.
        self._broken = None

    def post(self, window, sender, messages, earliest):
        """sender's messages for this shard's window, and its earliest due."""
        with self._changed:
            self._posts.setdefault(window, {})[sender] = (messages, earliest)
            self._changed.notify_all()

    def abort(self, why):
        """Give the run up: a L{take} waiting, or to come, raises why."""
        with self._changed:
            self._broken = why
            self._changed.notify_all()

    def take(self, window, wait):
        """
        Every peer's post for that window, in the order of the peers'
        numbers, once all are in.

        @raise RuntimeError: once aborted, or if they are not all in
            within wait seconds.
        """
        with self._changed:
            complete = self._changed.wait_for(
                lambda: self._broken is not None
                or len(self._posts.get(window, ())) == self.senders, wait)
            if self._broken is not None:
                raise RuntimeError(self._broken)
            if not complete:
                heard = sorted(self._posts.get(window, ()))
                raise RuntimeError(f"window {window}: {self.senders - len(heard)} "
                                   f"shard(s) sent nothing in {wait:g} s (heard from "
                                   f"{heard or 'none'})")
            posts = self._posts.pop(window, {})
        return [posts[sender] for sender in sorted(posts)]


class Local:
    """
    The posts of shards of one process (C{--shard-engine local}, and the
    tests): each put straight into its peer's L{Mailbox}.  What L{Exchange}
    posts through, as it does through L{twisted_bazaar.sim.shardstream}'s
    streams between workers.
    """

    def __init__(self, shard, mailbox, peers):
        """
        @param mailbox: this shard's, which its peers post into.
        @param peers: peer's number -> its L{Exchange}.
        """
        self.shard = shard
        self.peers = sorted(peers)
        self._mailbox = mailbox
        self._exchanges = peers

    def post(self, number, window, messages, earliest):
        """This shard's post for a peer's window."""
        self._exchanges[number].mailbox.post(window, self.shard, messages, earliest)

    def take(self, window, wait):
        """Every peer's post for window (L{Mailbox.take})."""
        return self._mailbox.take(window, wait)

    def abort(self, why):
        self._mailbox.abort(why)

    def close(self):
        pass


class Exchange:
    """
    One shard's place in the run's windows, and its posts to its peers
    (see the module), through a L{Local} or a shard's streams
    (L{twisted_bazaar.sim.shardstream.Streams}).

    @ivar window: the windows this shard has run.
    @ivar now: where the last window ended.
    @ivar waited: wall seconds spent waiting for the peers' posts.
    """

    def __init__(self, shard, shards, window_s, wait=PEER_WAIT_S, now=None):
        """
        @param shard: this shard's number, of shards.
        @param window_s: the run's lookahead (L{lookahead}).
        @param wait: seconds a window's posts may take (L{Mailbox.take}).
        @param now: a wall clock (seconds) for L{waited}, or None.
        """
        self.shard = shard
        self.shards = shards
        self.mailbox = Mailbox(shards - 1)
        self.window_s = window_s
        self.wait = wait
        self.window = 0
        self.now = 0.0
        self.waited = 0.0
        self._clock = now
        #: The next whole second, where windows stop.
        self._second = 1.0
        #: What posts to the peers and takes their posts.
        self._wire = None
        #: What this shard reported of itself for the next window.
        self._earliest = math.inf

    def meet(self, peers):
        """Each shard's L{Exchange}, in shard order (this one's ignored),
        all of this process: posted to through their mailboxes."""
        if len(peers) != self.shards:
            raise ValueError(f"shard {self.shard} of {self.shards} met {len(peers)} shards")
        self.join(Local(self.shard, self.mailbox,
                        {number: peer for number, peer in enumerate(peers)
                         if number != self.shard}))

    def join(self, wire):
        """Post and take through wire: a L{Local}, or streams."""
        self._wire = wire

    def hand(self, outbox, next_due):
        """
        Post each peer what this shard sent it (outbox: shard -> messages,
        each due first) and the earliest time of this shard's (next_due,
        its next entry's, or None; or a message sent), for the next window.
        """
        peers = self._wire.peers
        earliest = math.inf if next_due is None else next_due
        for number, messages in outbox.items():
            if number not in peers or number == self.shard:
                raise ValueError(f"shard {self.shard} sent messages to shard {number}, "
                                 f"which it did not meet")
            earliest = min(earliest, min(message[0] for message in messages))
        for number in peers:
            self._wire.post(number, self.window, outbox.get(number, []), earliest)
        self._earliest = earliest

    def step(self, run):
        """
        Run one window: wait for every peer's post, work out the window,
        call run(end, messages, at_second) -> (outbox, next_due), and hand
        its results on (L{hand}); whether the window ended at a whole
        second.

        @raise RuntimeError: if a peer's post did not come (L{Mailbox.take}),
            or the run was given up.
        """
        began = self._clock() if self._clock else 0.0
        posts = self._wire.take(self.window, self.wait)
        if self._clock:
            self.waited += self._clock() - began
        earliest = min([self._earliest] + [each for _, each in posts])
        start = max(self.now, min(earliest, self._second))
        end = min(start + self.window_s, self._second)
        at_second = end == self._second
        outbox, next_due = run(end, [message for messages, _ in posts
                                     for message in messages], at_second)
        self.now = end
        self.window += 1
        if at_second:
            self._second += 1.0
        self.hand(outbox, next_due)
        return at_second

    def abort(self, why):
        """Give the run up: a window waiting for its peers' posts, or to
        come, raises why.  From any thread."""
        self.mailbox.abort(why)
        if self._wire is not None:
            self._wire.abort(why)

    def close(self):
        """The wire's streams closed."""
        if self._wire is not None:
            self._wire.close()
