"""Stand-ins for the UDP sockets and HTTP requests of port mapping: what
was sent is recorded, and the test answers as the router would."""

from twisted.internet import defer

from twisted_bazaar.reach.reachable.portmap.exchange import Datagrams


class FakeUDP:
    """A UDP socket: what is written where, whether it still listens."""

    def __init__(self, protocol):
        self.protocol = protocol
        self.sent = []
        self.listening = True

    def write(self, data, address):
        self.sent.append((data, address))

    def stopListening(self):
        self.listening = False

    def answer(self, data, source):
        """A datagram arrives from source."""
        self.protocol.datagramReceived(data, source)


class FakeSockets:
    """listenUDP for the code under test: each socket it opens, in order
    (L{datagrams} gives the code its L{Datagrams} on them)."""

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

    def datagrams(self, clock):
        return Datagrams(clock, self)


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
