"""
Twisted application services that put a tracker or a node on the network.

They take the reactor and endpoints as parameters, so the daemons (see
:mod:`twisted_bazaar.tap`) and the in-memory network of
:mod:`twisted_bazaar.testing` run exactly the same start-up and shutdown.
"""

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from twisted_bazaar.membership import Membership
from twisted_bazaar.node import NodeFactory
from twisted_bazaar.tracker import TrackerFactory

#: Seconds a node waits for its links to close politely on shutdown.
SHUTDOWN_GRACE = 2.0
#: Seconds an outgoing connection attempt may take.
CONNECT_TIMEOUT = 5.0


class EndpointConnector:
    """Opens node-to-node links over TCP, to the host/port peers advertise."""

    def __init__(self, reactor, timeout=CONNECT_TIMEOUT):
        self.reactor = reactor
        self.timeout = timeout

    def connect(self, host, port, protocol):
        endpoint = HostnameEndpoint(self.reactor, host, port, timeout=self.timeout)
        return endpoint.connect(_OneLink(protocol))


class _OneLink(Factory):
    """A quiet factory that hands out one prepared protocol."""

    noisy = False

    def __init__(self, protocol):
        self.protocol_instance = protocol

    def buildProtocol(self, addr):
        return self.protocol_instance


class ListeningService(Service):
    """
    Listen on an endpoint; log where, and tell ``onListening(port)``.

    A failure to listen is logged with its reason and stops the reactor,
    rather than leaving a daemon that serves nothing.
    """

    log = Logger()

    def __init__(self, reactor, endpoint, factory, what, onListening=None):
        self.reactor = reactor
        self.endpoint = endpoint
        self.factory = factory
        self.what = what
        self.onListening = onListening
        self.port = None

    def startService(self):
        super().startService()
        d = self.endpoint.listen(self.factory)
        d.addCallbacks(self._listening, self._failed)
        return d

    def _listening(self, port):
        self.port = port
        address = port.getHost()
        self.log.info("{what} listening on {host}:{port}", what=self.what,
                      host=getattr(address, "host", "?"),
                      port=getattr(address, "port", "?"))
        if self.onListening is not None:
            self.onListening(port)

    def _failed(self, reason):
        self.log.critical("{what} cannot listen: {why}", what=self.what,
                          why=reason.getErrorMessage())
        if getattr(self.reactor, "running", False):
            self.reactor.stop()
        elif hasattr(self.reactor, "callWhenRunning"):
            # twistd starts services before the reactor runs.
            self.reactor.callWhenRunning(self.reactor.stop)

    def stopService(self):
        super().stopService()
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()


class NodeService(MultiService):
    """
    A node on the network: listen for peers, then register with the
    tracker (reconnecting with backoff whenever it goes away).
    On stop, say ``dc`` on every link and wait briefly for them to close.
    """

    def __init__(self, reactor, node, listen_endpoint, tracker_endpoint):
        super().__init__()
        self.reactor = reactor
        self.node = node
        self.membership = Membership(node)
        self.listener = ListeningService(reactor, listen_endpoint, NodeFactory(node),
                                         "node", self._listening)
        self.listener.setServiceParent(self)
        policy = backoffPolicy(initialDelay=0.5, maxDelay=30.0, factor=2.0,
                               jitter=node.rng.random)
        self.tracker_client = ClientService(tracker_endpoint, self.membership.factory,
                                            retryPolicy=policy, clock=reactor)

    def _listening(self, port):
        self.node.setAddress(self.node.host, port.getHost().port)
        if self.running:
            self.tracker_client.startService()

    @defer.inlineCallbacks
    def stopService(self):
        self.node.shutdown()
        closed = self.node.whenClosed()
        timeout = self.reactor.callLater(SHUTDOWN_GRACE, closed.cancel)
        try:
            yield closed
        except defer.CancelledError:
            pass
        else:
            timeout.cancel()
        if self.tracker_client.running:
            yield self.tracker_client.stopService()
        yield super().stopService()
        yield self.node.store.close()


def trackerService(reactor, tracker, listen_endpoint):
    """The tracker daemon's service."""
    return ListeningService(reactor, listen_endpoint, TrackerFactory(tracker),
                            "tracker")
