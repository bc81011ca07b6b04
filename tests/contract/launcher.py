"""
Start the daemons as the README says (``twistd -n bazaar-tracker``,
``twistd -n bazaar-node ...``) on loopback, free ports, and wait on their
log lines; stop them all afterwards. Standard library only.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")
LISTEN = "tcp:0:interface=127.0.0.1"
#: Seconds a daemon gets to say what it is awaited to say.
START_TIMEOUT = 30.0


class Daemon:
    """One ``twistd -n`` process whose merged output a thread collects."""

    def __init__(self, args, cwd):
        self.lines = []
        self.changed = threading.Condition()
        self.process = subprocess.Popen(
            [TWISTD, "-n", *args], cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", start_new_session=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append(None)
            self.changed.notify_all()

    def waitFor(self, pattern, timeout=START_TIMEOUT):
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    if line is None:
                        raise RuntimeError(f"daemon ended before {pattern!r}:\n"
                                           + "\n".join(self.lines[-15:-1]))
                    match = regex.search(line)
                    if match:
                        return match
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {pattern!r} within {timeout} s:\n"
                                       + "\n".join(self.lines[-15:]))
                self.changed.wait(left)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.thread.join(5)
        self.process.stdout.close()


class Market:
    """A tracker and nodes in one folder; L{stop} ends them all."""

    def __init__(self, cwd):
        self.cwd = str(cwd)
        self.daemons = []
        self.tracker = self.start("bazaar-tracker", "--listen", LISTEN)
        self.trackerPort = int(self.tracker.waitFor(
            r"tracker listening on \S+:(\d+)").group(1))

    def start(self, *args):
        daemon = Daemon(args, self.cwd)
        self.daemons.append(daemon)
        return daemon

    def node(self, *args):
        """Start a node, wait until the tracker has checked its address
        (§5 step 3) and so introduces it; return (daemon, id, port)."""
        daemon = self.start("bazaar-node", "--tracker",
                            f"tcp:127.0.0.1:{self.trackerPort}",
                            "--listen", LISTEN, *args)
        ready = daemon.waitFor(r"node \S+ ready, listening on port (\d+) \(id (\w+)\)")
        nodeId, port = ready.group(2), int(ready.group(1))
        self.tracker.waitFor(rf"node {nodeId[:8]} listens at \S+ as it said")
        return daemon, nodeId, port

    def stop(self):
        for daemon in reversed(self.daemons):
            daemon.stop()
