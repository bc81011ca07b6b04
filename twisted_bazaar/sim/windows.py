"""
Conservative synchronisation of a sharded run: the shards
(L{twisted_bazaar.sim.shard.ShardSimulation}, or anything with its
C{drawKeys}, C{open}, C{meet} or C{listen} and C{dial}, C{settle},
C{step}, C{runSecond}, C{tally}, C{close} and C{abort}) are built (every
shard's C{drawKeys}, a stripe of the nodes' keys each, then every
shard's C{open} given them all, then each given what the builds placed
on it, its C{settle}),
then run alone for a window no longer than the lookahead, the smallest
delay of a message from one shard to another; after each window every
shard hands what it sent the others straight to them
(L{twisted_bazaar.sim.exchange}).  A message
sent in a window is due after its end, so no shard ever receives one in
its past, and every shard runs every entry in the order of (time, key)
that one process would (L{ShardClock}).

Windows stop at every whole virtual second, where the run is checked as
a single process checks it (every buyer done, or the time up) and its
progress told: that, and the build, is all this driver does.  Shards in
processes of their own (Dask's actors) run each second's windows alone
(C{runSecond}), one call a second; shards in this process are stepped a
window at a time, each in turn (C{step}).

The shards' methods may return their results or futures of them (Dask's
actors do): every shard is asked before any is waited on.
"""

import time

from twisted_bazaar.sim.exchange import lookahead
from twisted_bazaar.sim.metrics import combine, summary
from twisted_bazaar.sim.shard import ShardSimulation

__all__ = ["Windows", "lookahead", "merged", "runLocal"]


def _result(value):
    """A value, or what a future of one holds."""
    result = getattr(value, "result", None)
    return value if result is None else result()


#: Seconds the driver waits on one shard's call before it looks whether
#: another shard's has failed (L{_results}).
LOOK_S = 0.25


def _results(pending, look=LOOK_S):
    """
    The values of ``pending`` (values, or futures of them), in order; a
    future that failed raises at once, whichever shard's it is.  Waited on
    in order, a failure of any shard but the first came only once the
    first, waiting for the failed one's posts, gave up waiting (up to
    L{PEER_WAIT_S<twisted_bazaar.sim.exchange.PEER_WAIT_S>}, half an hour).
    """
    waiting = [each for each in pending if hasattr(each, "done")]
    while waiting:
        for each in waiting:
            if each.done():
                each.result()
        waiting = [each for each in waiting if not each.done()]
        if waiting:
            try:
                waiting[0].result(timeout=look)
            except TimeoutError:
                pass
    return [_result(each) for each in pending]


class Windows:
    """
    Runs a run's shards window by window (see the module).

    @ivar windows: windows run.
    """

    def __init__(self, config, shards, progress=None, quiet=False, hosts=None):
        """
        @param shards: a handle on each shard, in shard order.
        @param progress: called as progress(purchases, virtual seconds)
            at each whole second, or None.
        @param quiet: whether the shards run in processes of their own,
            whose nodes' log events they drop (L{ShardSimulation.open}).
        @param hosts: each shard's host, for shards that each run a
            second's windows alone, posting each other on streams each
            C{listen}s for on its host and C{dial}s (Dask's actors: their
            workers' hosts); or None for shards of this process, stepped
            a window at a time in turn, each posting the others'
            C{exchange} (their C{meet}).
        """
        self.config = config
        self.quiet = quiet
        self.shards = shards
        self.progress = progress
        self.hosts = hosts
        self.alone = hosts is not None
        self.windows = 0

    def _all(self, method, *args_of):
        """method of every shard, called with args_of[i] for shard i (or no
        arguments), all asked before any is waited on."""
        pending = [getattr(shard, method)(*(args_of[0][i] if args_of else ()))
                   for i, shard in enumerate(self.shards)]
        return _results(pending)

    def run(self):
        """Build every shard, run the windows until the run is over, and
        return the shards' L{tally}s (each with its own ``shard``)."""
        config = self.config
        count = len(self.shards)
        placed = [[] for _ in range(count)]
        failed = True
        try:
            stripes = self._all("drawKeys")
            opened = self._all("open", [(stripes, self.quiet)] * count)
            # 32 bytes a node of the run, not kept through the run.
            del stripes
            for placements in opened:
                for target, each in placements.items():
                    placed[target].extend(each)
            if self.alone:
                addresses = self._all("listen", [(host,) for host in self.hosts])
                self._all("dial", [(addresses,)] * count)
            else:
                exchanges = [shard.exchange for shard in self.shards]
                self._all("meet", [(exchanges,)] * count)
            self._all("settle", [(placed[i],) for i in range(count)])
            advance = "runSecond" if self.alone else "step"
            second = 1.0
            while True:
                results = self._all(advance)
                at_second, self.windows = results[0][0], results[0][3]
                if not at_second:
                    continue
                done = all(result[1] for result in results)
                if self.progress is not None:
                    self.progress(sum(result[2] for result in results), second)
                if second >= config.max_time or (
                        second >= config.warmup + config.spread and done):
                    break
                second += 1.0
            tallies = self._all("tally")
            failed = False
            return tallies
        except BaseException as e:
            if self.alone:
                self._abort(f"the run was given up: {type(e).__name__}: {e}")
            raise
        finally:
            unclosed = None
            for shard in reversed(self.shards):
                try:
                    _result(shard.close())
                except Exception as e:
                    unclosed = unclosed or e
            # After a failure (a Ctrl-C reaches the workers too, and ends
            # them), a shard that cannot be closed must not hide what
            # brought the run down; after a run, it is said.
            if unclosed is not None and not failed:
                raise unclosed

    def _abort(self, why):
        """Every shard told to give up (a window of it may wait for a peer
        that failed), each as best it can: a shard whose worker is gone
        cannot be told, and the failure that brought this on is what the
        run raises."""
        for shard in self.shards:
            try:
                _result(shard.abort(why))
            except Exception:
                pass


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
