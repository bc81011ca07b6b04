"""
What the shards of a sharded run hand each other, shard to shard: each
window's messages go straight to the shards they are for (on Dask, on a
stream from one worker to another, L{twisted_bazaar.sim.shardstream};
in one process, on the L{Board} they share), not through the client.

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


class _Posts:
    """One window's posts on a L{Board}: who posted, the earliest due of
    all, each receiver's messages by sender, and how many shards took
    theirs."""

    __slots__ = ("senders", "earliest", "inbox", "taken")

    def __init__(self):
        self.senders = set()
        self.earliest = math.inf
        #: receiver -> sender -> messages.
        self.inbox = {}
        self.taken = 0

    def add(self, sender, outbox, earliest):
        """sender's messages (outbox: shard -> messages), and its earliest
        due."""
        self.senders.add(sender)
        self.earliest = min(self.earliest, earliest)
        for number, messages in outbox.items():
            self.inbox.setdefault(number, {})[sender] = messages

    def takeFor(self, shard):
        """shard's messages (sender -> messages), and whether every one of
        the shards has now taken its own."""
        self.taken += 1
        return self.inbox.pop(shard, {}), self.taken == len(self.senders)


class Board:
    """
    The posts of the shards of one process (C{--shard-engine local}, and
    the tests), window by window: each window's messages by the shard
    they are for, and the earliest due of all its posts; a window is whole
    once every shard has posted it.  A post costs the messages it holds,
    not the shards: one post to each peer's mailbox a window, as streams
    between workers must be, cost the square of the shards (a run's 483
    windows at 64 shards, 1.95 million posts).  Posts may arrive on
    another thread than the one that takes them (shards each on a thread
    of its own, in the tests), in any order.
    """

    def __init__(self, shards):
        self.shards = shards
        #: window -> its L{_Posts}, until every shard has taken it.
        self._windows = {}
        self._changed = threading.Condition()
        #: Why the run was given up (L{abort}), or None.
        self._broken = None

    def post(self, window, sender, outbox, earliest):
        """sender's messages for window (outbox: shard -> messages), and
        its earliest due."""
        with self._changed:
            posts = self._windows.get(window)
            if posts is None:
                posts = self._windows[window] = _Posts()
            posts.add(sender, outbox, earliest)
            if len(posts.senders) == self.shards:
                self._changed.notify_all()

    def abort(self, why):
        """Give the run up: a L{take} waiting, or to come, raises why."""
        with self._changed:
            self._broken = why
            self._changed.notify_all()

    def _whole(self, window):
        posts = self._windows.get(window)
        return posts is not None and len(posts.senders) == self.shards

    def take(self, window, shard, wait):
        """
        What shard's peers posted it for window, as (messages, earliest)
        in the order of the peers' numbers, and the earliest due of all,
        once every shard has posted.

        @raise RuntimeError: once aborted, or if they are not all in
            within wait seconds.
        """
        with self._changed:
            complete = self._changed.wait_for(
                lambda: self._broken is not None or self._whole(window), wait)
            if self._broken is not None:
                raise RuntimeError(self._broken)
            if not complete:
                posts = self._windows.get(window)
                heard = sorted(posts.senders) if posts is not None else []
                raise RuntimeError(f"window {window}: {self.shards - len(heard)} "
                                   f"shard(s) sent nothing in {wait:g} s (heard from "
                                   f"{heard or 'none'})")
            posts = self._windows[window]
            mine, done = posts.takeFor(shard)
            if done:
                del self._windows[window]
        return [(mine[sender], posts.earliest) for sender in sorted(mine)] + [
            ([], posts.earliest)]


class Local:
    """
    The posts of shards of one process (C{--shard-engine local}, and the
    tests): each on the one L{Board} they share.  What L{Exchange} posts
    through, as it does through L{twisted_bazaar.sim.shardstream}'s
    streams between workers.
    """

    def __init__(self, shard, board, peers):
        """
        @param board: the L{Board} of every shard of the process.
        @param peers: the peers' numbers.
        """
        self.shard = shard
        self.peers = sorted(peers)
        self._board = board

    def hand(self, window, outbox, earliest):
        """This shard's post for its peers' window."""
        self._board.post(window, self.shard, outbox, earliest)

    def take(self, window, wait):
        """Every peer's post for window (L{Board.take})."""
        return self._board.take(window, self.shard, wait)

    def abort(self, why):
        self._board.abort(why)

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
        @param wait: seconds a window's posts may take (L{Board.take}).
        @param now: a wall clock (seconds) for L{waited}, or None.
        """
        self.shard = shard
        self.shards = shards
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
        #: The L{Board} of the shards of this process, if this shard is
        #: the first of them (L{board}).
        self._board = None

    def meet(self, peers):
        """Each shard's L{Exchange}, in shard order, all of this process:
        posted to through the first one's L{board}."""
        if len(peers) != self.shards:
            raise ValueError(f"shard {self.shard} of {self.shards} met {len(peers)} shards")
        self.join(Local(self.shard, peers[0].board(),
                        [number for number in range(self.shards) if number != self.shard]))

    def board(self):
        """The L{Board} the shards of this process post on, kept by the
        first of them (made at the first call)."""
        if self._board is None:
            self._board = Board(self.shards)
        return self._board

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
        self._wire.hand(self.window, outbox, earliest)
        self._earliest = earliest

    def step(self, run):
        """
        Run one window: wait for every peer's post, work out the window,
        call run(end, messages, at_second) -> (outbox, next_due), and hand
        its results on (L{hand}); whether the window ended at a whole
        second.

        @raise RuntimeError: if a peer's post did not come (L{Board.take}),
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
        if self._wire is not None:
            self._wire.abort(why)

    def close(self):
        """The wire's streams closed."""
        if self._wire is not None:
            self._wire.close()
