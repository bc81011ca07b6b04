"""Stand-ins for the UDP sockets and HTTP requests of port mapping: what
was sent is recorded, and the test answers as the router would."""

from twisted.internet import defer


class FakeUDP:
    """A UDP socket: what is written, where it is connected, whether it
    still listens."""

    def __init__(self, protocol):
        self.protocol = protocol
        self.sent = []
        self.connected = None
        self.listening = True

    def connect(self, host, port):
        self.connected = (host, port)

    def write(self, data, address=None):
        self.sent.append((data, address or self.connected))

    def stopListening(self):
        self.listening = False

    def answer(self, data, source=None):
        """A datagram arrives (from where it is connected, by default)."""
        self.protocol.datagramReceived(data, source or self.connected)


class FakeSockets:
    """listenUDP for the code under test: each socket it opens, in order."""

    def __init__(self):
        self.opened = []

    def __call__(self, protocol):
        socket = FakeUDP(protocol)
        self.opened.append(socket)
        protocol.makeConnection(socket)
        return socket

    @property
    def last(self):
        return self.opened[-1]


class FakeHttp:
    """The ``http`` function UPnP takes: each request kept with its
    Deferred, answered by the test."""

    def __init__(self):
        self.requests = []

    def __call__(self, method, url, headers, body):
        d = defer.Deferred()
        self.requests.append((method, url, headers, body, d))
        return d

    def answer(self, status, body, index=-1):
        self.requests[index][4].callback((status, body))
