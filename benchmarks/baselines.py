"""
The bare Twisted servers the daemons are measured against: no codec, no
validation, no routing, just NetstringReceiver.  Each runs under
``twistd -n -y`` from a small .tac file next to this module, and logs
``<what> listening on 127.0.0.1:PORT`` once it listens.
"""

from twisted.application.service import Application, Service
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import NetstringReceiver

#: As large as the node's default frame limit.
FRAME_LIMIT = 64 * 1024


class Echo(NetstringReceiver):
    """Sends every netstring straight back: a request/response round trip."""

    MAX_LENGTH = FRAME_LIMIT

    def stringReceived(self, data):
        self.sendString(data)


class Relay(NetstringReceiver):
    """
    Connections pair up in the order they arrive; every netstring received
    on one is sent on the other.  Strings that arrive before the partner
    connects wait for it.
    """

    MAX_LENGTH = FRAME_LIMIT

    def connectionMade(self):
        self.partner = None
        self.waiting = []
        lonely = self.factory.lonely
        if lonely is None:
            self.factory.lonely = self
        else:
            self.factory.lonely = None
            lonely.partner, self.partner = self, lonely
            for data in lonely.waiting:
                self.sendString(data)
            lonely.waiting = None

    def stringReceived(self, data):
        if self.partner is None:
            self.waiting.append(data)
        else:
            self.partner.sendString(data)

    def connectionLost(self, reason):
        if self.factory.lonely is self:
            self.factory.lonely = None
        partner, self.partner = self.partner, None
        if partner is not None:
            partner.partner = None
            partner.transport.loseConnection()


class RelayFactory(Factory):
    protocol = Relay
    lonely = None


class _Listen(Service):
    """Listen on a free loopback port and log which."""

    log = Logger()

    def __init__(self, factory, what):
        self.factory = factory
        self.what = what

    def startService(self):
        from twisted.internet import reactor

        super().startService()
        endpoint = serverFromString(reactor, "tcp:0:interface=127.0.0.1")
        return endpoint.listen(self.factory).addCallback(self._listening)

    def _listening(self, port):
        self.log.info("{what} listening on 127.0.0.1:{port}", what=self.what,
                      port=port.getHost().port)


def application(what):
    """The twistd application serving the named baseline."""
    factories = {"echo": Factory.forProtocol(Echo), "relay": RelayFactory()}
    app = Application(f"{what} baseline")
    _Listen(factories[what], what).setServiceParent(app)
    return app
