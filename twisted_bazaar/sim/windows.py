"""
Conservative synchronisation of a sharded run: the shards
(L{twisted_bazaar.sim.shard.ShardSimulation}, or anything with its
C{open}, C{settle}, C{window}, C{tally} and C{close}) are built (every
shard's C{open}, then each given what the builds placed on it, its
C{settle}), then run alone for a window no longer than the lookahead,
the smallest delay of a message from one shard to another; between
windows what each sent the others is handed over.  A message sent in
a window is due after its end, so no shard ever receives one in its
past, and every shard runs every entry in the order of (time, key) that
one process would (L{ShardClock}).

Windows stop at every whole virtual second, where the run is checked as
a single process checks it (every buyer done, or the time up) and its
progress told.  A window starts where the earliest entry of any shard,
or message between them, is due, so a quiet stretch costs one window,
not one a lookahead.

The shards' methods may return their results or futures of them (Dask's
actors do): every shard's window is asked for before any is waited on.
"""

import math
import time

from twisted_bazaar.sim.metrics import combine, summary
from twisted_bazaar.sim.shard import ShardSimulation

#: A window is the lookahead less this fraction: a message sent at the
#: start of a window is due a whole minimum delay later, past the window's
#: end however the sums round.
MARGIN = 1e-6


def lookahead(config):
    """The longest window of a run: its smallest delay (L{MARGIN} aside)."""
    return config.latency_ms[0] / 1000.0 * (1 - MARGIN)


def _result(value):
    """A value, or what a future of one holds."""
    result = getattr(value, "result", None)
    return value if result is None else result()


class Windows:
    """
    Runs a run's shards window by window (see the module).

    @ivar windows: windows run.
    @ivar shard_messages: messages handed from one shard to another.
    """

    def __init__(self, config, shards, progress=None, quiet=False):
        """
        @param shards: a handle on each shard, in shard order.
        @param progress: called as progress(purchases, virtual seconds)
            at each whole second, or None.
        @param quiet: whether the shards run in processes of their own,
            whose nodes' log events they drop (L{ShardSimulation.open}).
        """
        self.config = config
        self.quiet = quiet
        self.shards = shards
        self.progress = progress
        self.window_s = lookahead(config)
        self.windows = 0
        self.shard_messages = 0

    def _all(self, method, *args_of):
        """method of every shard, called with args_of[i] for shard i (or no
        arguments), all asked before any is waited on."""
        pending = [getattr(shard, method)(*(args_of[0][i] if args_of else ()))
                   for i, shard in enumerate(self.shards)]
        return [_result(each) for each in pending]

    def _hand(self, outbox, inboxes):
        """What a shard sent (shard -> messages), into the inboxes of the
        shards it is for."""
        for target, messages in outbox.items():
            inboxes[target].extend(messages)
            self.shard_messages += len(messages)

    def run(self):
        """Build every shard, run the windows until the run is over, and
        return the shards' L{tally}s (each with its own ``shard``)."""
        config = self.config
        count = len(self.shards)
        inboxes = [[] for _ in range(count)]
        placed = [[] for _ in range(count)]
        for placements in self._all("open", [(self.quiet,)] * count):
            for target, each in placements.items():
                placed[target].extend(each)
        nexts = []
        for outbox, next_due in self._all("settle", [(placed[i],) for i in range(count)]):
            nexts.append(next_due)
            self._hand(outbox, inboxes)
        now, second = 0.0, 1.0
        try:
            while True:
                due = [t for t in nexts if t is not None]
                due += [message[0] for inbox in inboxes for message in inbox]
                start = max(now, min(min(due, default=math.inf), second))
                end = min(start + self.window_s, second)
                at_second = end == second
                results = self._all("window", [(end, inboxes[i], at_second)
                                               for i in range(count)])
                self.windows += 1
                inboxes = [[] for _ in range(count)]
                nexts = []
                done, purchases = True, 0
                for outbox, next_due, (shard_done, shard_purchases) in results:
                    nexts.append(next_due)
                    done = done and shard_done
                    purchases += shard_purchases
                    self._hand(outbox, inboxes)
                now = end
                if not at_second:
                    continue
                if self.progress is not None:
                    self.progress(purchases, now)
                if now >= config.max_time or (
                        now >= config.warmup + config.spread and done):
                    break
                second += 1.0
            return self._all("tally")
        finally:
            for shard in reversed(self.shards):
                _result(shard.close())


def merged(config, tallies, wall_s, engine):
    """
    The metrics of a sharded run from its shards' L{tally}s: what a single
    process would count (L{summary}), and under ``shards`` each shard's
    own figures.  Its ``peak_rss_mb`` is the largest shard's.
    """
    each = [dict(counted) for counted in tallies]
    figures = [counted.pop("shard") for counted in each]
    metrics = summary(config, combine(each), wall_s,
                      max(shard["peak_rss_mb"] for shard in figures))
    metrics["shards"] = {"count": len(figures), "engine": engine,
                         "lookahead_s": round(lookahead(config), 9), "each": figures}
    return metrics


def runLocal(config, shards, progress=None):
    """
    A sharded run in this process, its shards one after the other in each
    window (``--shard-engine local``, and the tests); its merged metrics.
    """
    started = time.perf_counter()
    handles = [ShardSimulation(config, shard, shards) for shard in range(shards)]
    driver = Windows(config, handles, progress)
    tallies = driver.run()
    metrics = merged(config, tallies, time.perf_counter() - started, "in-process")
    metrics["shards"]["windows"] = driver.windows
    return metrics
