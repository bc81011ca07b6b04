"""
A plugin module that raises as it is imported, said in one line.

Twisted's plugin look-up logs such a module's traceback and goes on
without it, at every look-up (a daemon looks its plugins up several
times as it starts): a plugin's author saw the same traceback many times
in a log, among the daemon's lines, and a daemon that ran on.  Here the
look-up's failures are kept instead, and each module's is said once a
process, in one line to stderr naming the module, its file and the
error: its plugins are left out, as Twisted leaves them.  A plugin cache
(C{dropin.cache}) it cannot write is said once a process too.
"""

import os
import sys
from contextlib import contextmanager

from twisted import plugin as twistedPlugin
from twisted.python.failure import Failure

from twisted_bazaar.base.blame import why

#: Modules whose fault this process said already, and caches it said it
#: could not write.
_told = set()


class _Faults:
    """
    Stands for L{twisted.plugin}'s log during a look-up: a failure logged
    without words (an import that raised, or a cached plugin that could
    not be loaded) is kept; anything else goes to the log as before.
    """

    def __init__(self, log, out, folders):
        self._log = log
        self._out = out
        self._folders = folders
        self.failures = []

    def err(self, *args, **kwargs):
        if args or kwargs:
            return self._log.err(*args, **kwargs)
        self.failures.append(Failure())

    def msg(self, *args, **kwargs):
        # A cache it cannot write (a folder the daemon's user may not
        # write) is said once a process, not at each look-up.
        path = kwargs.get("path")
        if kwargs.get("format", "").startswith("Unable to write to plugin cache"):
            if path in _told:
                return None
            _told.add(path)
        return self._log.msg(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._log, name)

    def tell(self):
        """Say each module's fault not said yet, one line each."""
        for failure in self.failures:
            module = whereRaised(failure, self._folders)
            if module in _told:
                continue
            _told.add(module)
            self._out.write(f"twisted-bazaar: the plugin module {module} could not "
                            f"be imported, so its plugins are left out: "
                            f"{why(failure.value)}\n")
        self.failures = []


def whereRaised(failure, folders):
    """The plugin file a failed import raised in, as well as it is known:
    a syntax error's file, else that of the last frame in one of folders
    (the plugin package's)."""
    filename = getattr(failure.value, "filename", None)
    if isinstance(filename, str) and filename:
        return filename
    inPlugins = [frame[1] for frame in failure.frames
                 if os.path.dirname(os.path.abspath(frame[1])) in folders]
    return inPlugins[-1] if inPlugins else "(its file unknown)"


@contextmanager
def importFaults(package, out=None):
    """Within it, L{twisted.plugin}'s failures as it looks up the plugins
    of package are kept, not logged; yields them (L{_Faults}), to
    L{_Faults.tell} once out of it."""
    folders = {os.path.abspath(folder) for folder in package.__path__}
    faults = _Faults(twistedPlugin.log, sys.stderr if out is None else out, folders)
    twistedPlugin.log = faults
    try:
        yield faults
    finally:
        twistedPlugin.log = faults._log
