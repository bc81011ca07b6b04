"""
End to end, against a live tracker's ``--web`` view and a live ``bazaar
web``: what docs/running.md says of the API's answers to what it does
not serve (another method than GET on the event stream, a HEAD there,
the page of an id the view never saw), and that ``bazaar --json web``
keeps stdout one JSON object.
"""

import json
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort, startCommand
from twisted_bazaar.testing.daemons import JSON, LiveMarket
from twisted_bazaar.web.stream import GROUP_STREAMS

TIMEOUT = 30.0
#: A whole id no node has.
NOBODY = "0123456789abcdef0123456789abcdef"


def ask(port, path, method="GET"):
    """(status, content type, body) of one request to the view."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return answer.status, answer.headers["content-type"], answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["content-type"], refused.read()


def openRaw(port, method):
    """A connection that asked for the event stream with method, and the
    first bytes of its answer."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    connection.sendall(f"{method} /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return connection, connection.recv(4096)


def lineWithin(stream, timeout):
    """The next line on a child's pipe, or None if none comes in time."""
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else None


class WebAPILiveTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-e2e-web-api-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        self.tracker = self.market.startTracker("tracker", TIMEOUT, "--web", "tcp:0")
        self.port = listeningPort(self.tracker, "web view", TIMEOUT)

    def test_whatTheAPIDoesNotServe(self):
        """Another method than GET on the event stream is a JSON 405 (it
        was twisted.web's HTML 405, or 501); a HEAD there holds no stream
        (16 left open took every stream of this machine's group); the page
        of an id the view never saw says no live node has it (it served
        the page, whose refused stream said nothing of why)."""
        for method in ("POST", "PUT", "DELETE"):
            for path in ("/api/events", f"/api/events?node={NOBODY}", "/api/node/zzz"):
                status, kind, body = ask(self.port, path, method)
                self.assertEqual((status, kind, json.loads(body)),
                                 (405, "application/json",
                                  {"error": "the web view's API is read with GET"}),
                                 (method, path))
        heads = [openRaw(self.port, "HEAD") for _ in range(GROUP_STREAMS)]
        for connection, answer in heads:
            self.addCleanup(connection.close)
            self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        stream, answer = openRaw(self.port, "GET")
        self.addCleanup(stream.close)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        status, kind, body = ask(self.port, f"/node/{NOBODY}")
        self.assertEqual((status, kind), (404, "text/html; charset=utf-8"))
        self.assertIn(b"No live node has this id", body)

    def test_bazaarWebJSONIsOneObject(self):
        """``bazaar --json web`` says where it listens on stderr, and
        stdout holds one JSON object, once stopped (SIGTERM: exit 0)."""
        script = str(Path(sys.executable).with_name("bazaar"))
        web = startCommand(
            [script, "--json", "--tracker", f"127.0.0.1:{self.market.tracker_port}",
             "web", "--listen", "tcp:0", "--poll", "0.5"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(web.kill)
        line = lineWithin(web.stderr, TIMEOUT)
        self.assertIsNotNone(line, "bazaar web never said where it listens")
        self.assertRegex(line, r"^web view listening on 127\.0\.0\.1:\d+, as a stranger")
        port = int(line.split(":")[1].split(",")[0])
        self.assertEqual(ask(port, "/api")[0], 200)
        web.send_signal(signal.SIGTERM)
        out, err = web.communicate(timeout=TIMEOUT)
        self.assertEqual((web.returncode, json.loads(out)),
                         (0, {"listened": f"127.0.0.1:{port}", "operator": None}), err)
        self.assertNotIn("Traceback", err)
