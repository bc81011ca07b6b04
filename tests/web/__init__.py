"""
Helpers for the web view's tests: a request that plays one viewer's
connection, and the events written on it.
"""

import json

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionLost
from twisted.web.test.requesthelper import DummyRequest


class _Transport:
    def __init__(self, request):
        self.request = request
        self.aborted = False

    def abortConnection(self):
        if not self.aborted:
            self.aborted = True
            self.request.processingFailed(ConnectionLost("aborted"))


class _Channel:
    def __init__(self, request):
        self.transport = _Transport(request)


class StreamRequest(DummyRequest):
    """
    A DummyRequest from ``host`` that keeps the push producer registered
    on it (DummyRequest would pull from it for ever), as the viewer's
    connection does: ``producer.pauseProducing()`` is a viewer that stops
    reading.
    """

    def __init__(self, postpath=(b"",), host="127.0.0.1", args=None):
        super().__init__(list(postpath))
        self.client = IPv4Address("TCP", host, 50000)
        self.args = args or {}
        self.channel = _Channel(self)
        self.producer = None
        # The view answers only to its own names (web/access.py).
        self.requestHeaders.setRawHeaders(b"host", [b"127.0.0.1:8080"])

    def registerProducer(self, producer, streaming):
        assert streaming
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None

    @property
    def aborted(self):
        return self.channel.transport.aborted

    def sent(self):
        """Bytes written so far."""
        return sum(len(chunk) for chunk in self.written)


def events(request):
    """The (event, data) pairs written on a stream so far."""
    text = b"".join(request.written).decode("utf-8")
    found = []
    for block in text.split("\n\n")[:-1]:
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((lines["event"], json.loads(lines["data"])))
    return found
