"""
How a daemon that cannot do its job ends: one line saying why, and a
non-zero exit status, so that scripts and service managers see failure.

twistd has no way for a service to choose the exit status: after its
reactor stops it exits 0 (or re-raises the signal that stopped it).  So:

- a failure while twistd is still starting its services (the reactor
  does not run yet; a port that is taken fails there) raises
  C{SystemExit} with the line, which twistd lets through: the line goes to
  stderr and the status is 1.  A daemon that forked into the background
  logs the line (its stderr is gone) and hands it to the twistd process
  that waits in the foreground for it to start, through twistd's status
  pipe: that process prints it and exits 1;
- a failure once the reactor runs logs the line, stops the reactor (so
  every service stops in order), and ends the process with the status
  at interpreter exit, after twistd has cleaned up.
"""

import atexit
import os
import sys

from twisted.logger import Logger


class ExitStatus:
    """
    The exit status of one daemon process; the first failure wins.

    @ivar code: 0 until L{fail} is called.
    """

    log = Logger()

    def __init__(self, reactor, prog, nodaemon=True, exit=os._exit,
                 atExit=atexit.register, twistdConfig=None):
        """
        @param prog: the daemon's name, which starts the line
            (``twistd bazaar-node``).
        @param nodaemon: False when twistd forks into the background (its
            stderr then goes nowhere, so the line is logged as well).
        @param exit: ends the process with a status (L{os._exit}).
        @param atExit: registers a function to run at interpreter exit.
        @param twistdConfig: twistd's own options, where it keeps the
            status pipe of a daemon in the background (``statusPipe``).
        """
        self.reactor = reactor
        self.prog = prog
        self.nodaemon = nodaemon
        self.code = 0
        self._exit = exit
        self._atExit = atExit
        self._twistdConfig = twistdConfig

    def line(self, why):
        return f"{self.prog}: error: {why}"

    def fail(self, why, code=1):
        """
        The daemon cannot go on: say why, and make it exit with ``code``.

        @raise SystemExit: when the reactor does not run yet (twistd is
            starting the services); the caller must not be inside a
            Deferred callback then.
        """
        if self.code:
            return
        self.code = code
        line = self.line(why)
        if not getattr(self.reactor, "running", False):
            if not self.nodaemon:
                self.log.critical("{line}", line=line)
                self._tellParent(line)
            self._removePidfile()
            raise SystemExit(line if self.nodaemon else code)
        self.log.critical("{line}", line=line)
        self._atExit(self._end)
        self.reactor.stop()

    def _tellParent(self, line):
        """Write the line to twistd's status pipe (read by the process
        that forked the daemon: it shows what follows the first two bytes,
        up to 100 bytes in all, and exits 1)."""
        config = self._twistdConfig
        pipe = None if config is None else config.get("statusPipe")
        if pipe is None:
            return
        del config["statusPipe"]
        message = ("1 " + line).encode("ascii", "backslashreplace")[:100]
        try:
            os.write(pipe, message)
            os.close(pipe)
        except OSError:
            pass

    def _removePidfile(self):
        """twistd removes its pid file only when the reactor ran; this
        process wrote it (if any), so it removes it."""
        config = self._twistdConfig
        pidfile = None if config is None else config.get("pidfile")
        if not pidfile:
            return
        try:
            with open(pidfile) as f:
                mine = f.read().strip() == str(os.getpid())
            if mine:
                os.unlink(pidfile)
        except OSError:
            pass

    def _end(self):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        self._exit(self.code)
