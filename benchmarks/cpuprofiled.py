"""
Run ``twistd`` (the arguments after this module's first) under cProfile
timed by the calling thread's CPU time (``time.thread_time``), for
L{benchmarks.sellercost}: SIGUSR1 clears the stats gathered so far,
SIGUSR2 writes them to the file named by the first argument and says
``profile saved`` on stdout.

    python benchmarks/cpuprofiled.py STATS TWISTD -n ARGS...
"""

import cProfile
import signal
import sys
import time


def main():
    stats, sys.argv = sys.argv[1], sys.argv[2:]
    profile = cProfile.Profile(time.thread_time)

    def clear(*_):
        profile.disable()
        profile.clear()
        profile.enable()

    def save(*_):
        profile.disable()
        profile.dump_stats(stats)
        print("profile saved", flush=True)
        profile.enable()

    signal.signal(signal.SIGUSR1, clear)
    signal.signal(signal.SIGUSR2, save)
    from twisted.scripts.twistd import run
    profile.enable()
    run()


if __name__ == "__main__":
    main()
