"""
A local cluster's workers ignore Ctrl-C (a Dask worker preload, named
in L{twisted_bazaar.cli.simshards.QUIET_CLUSTER} and by the sweep's
cluster).  A Ctrl-C at the terminal reaches every process of its group;
the command that started the cluster stops and closes it, and without
this each worker printed its own KeyboardInterrupt traceback after the
command's one line.
"""

import signal


def dask_setup(worker):
    """Called by Dask in the worker's process, on its main thread."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
