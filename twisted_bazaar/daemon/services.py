"""
Twisted application services that put a tracker or a node on the network.

They take the reactor and endpoints as parameters, so the daemons (see
L{twisted_bazaar.tap}) and the in-memory network of
L{twisted_bazaar.testing} run exactly the same start-up and shutdown.
"""

import sys

from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.internet.abstract import isIPv6Address
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
)
from twisted.internet.interfaces import IResolutionReceiver
from twisted.internet.protocol import Factory
from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.listenfault import LISTENING, listenFault
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.daemon.build import plugMembership
from twisted_bazaar.daemon.listenfamily import IPv4Only
from twisted_bazaar.daemon.twin import TwinWatch
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.reach.reachable.offering import RelayOffering
from twisted_bazaar.transports.connector import IConnector
from twisted_bazaar.net.encrypted import EncryptedClientEndpoint, EncryptedServerEndpoint
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.net.syngate import gatePort, ungate
from twisted_bazaar.status.node import NodeStatus
from twisted_bazaar.tracker import TrackerFactory

#: Seconds a node waits for its links to close politely on shutdown.
SHUTDOWN_GRACE = 2.0
#: Seconds an outgoing connection attempt may take.
CONNECT_TIMEOUT = 5.0


class StartupError(Exception):
    """A daemon cannot start: the option at fault, and why."""


@implementer(IResolutionReceiver)
class _Addresses:
    """Gathers the addresses a name resolves to; L{done} fires with them
    (text) once the resolution is complete."""

    def __init__(self):
        self.done = defer.Deferred()
        self._addresses = []

    def resolutionBegan(self, resolution):
        pass

    def addressResolved(self, address):
        self._addresses.append(address.host)

    def resolutionComplete(self):
        self.done.callback(self._addresses)


@implementer(IConnector)
class EndpointConnector:
    """Opens node-to-node links over TCP, to the host/port peers advertise,
    and listens for a node's other protocols (a role's own port) where the
    node itself listens."""

    #: A host is an IP address or a name DNS resolves: the dialer checks
    #: one a peer names (L{twisted_bazaar.reach.peerhosts}).
    addressed = True

    def __init__(self, reactor, timeout=CONNECT_TIMEOUT, interface="",
                 onListenFailure=None, channel=None):
        """
        @param interface: the address L{listen} listens on, the node's own
            (see L{twisted_bazaar.tap.endpoints.listenInterface}): an IPv4
            or IPv6 address, C{""} for every IPv4 interface, C{"::"} for
            every IPv6 one.
        @param onListenFailure: told ``onListenFailure(port, reason)``
            when L{listen} fails (a daemon ends with it, as when its own
            port is taken), or None.  It is told inside a Deferred's
            errback, where it must not raise.
        @param channel: the process's L{ChannelKey}: every connection it
            opens or accepts runs the encrypted channel (protocol.md §2.1).
            None only for tests that speak plaintext on purpose.
        """
        self.reactor = reactor
        self.channel = channel
        #: The lines of channels that failed, bounded per address group.
        self.peerLog = PeerLog(reactor)
        self.timeout = timeout
        self.interface = interface
        self.onListenFailure = onListenFailure
        #: Why the last L{listen} failed, if it did (the daemon ends).
        self.failure = None

    def connect(self, host, port, protocol, expected=None):
        """
        Connect protocol to host:port; a Deferred firing with it once TCP
        connects (what it writes before the channel is up waits for it).

        @param expected: the key (32 raw bytes) the peer must prove in the
            channel's handshake, when the dialler knows whom it dials
            outside the protocol above (a file's seller, by its record):
            another key, or none, fails the handshake before this side
            sends anything sealed, and protocol loses its connection with
            the reason.  None: any key, or none.
        """
        endpoint = HostnameEndpoint(self.reactor, host, port, timeout=self.timeout)
        if self.channel is not None:
            endpoint = EncryptedClientEndpoint(endpoint, self.channel, self.reactor,
                                               peerLog=self.peerLog, expected=expected)
        return endpoint.connect(_OneLink(protocol))

    def resolve(self, name, port):
        """See L{IConnector.resolve}: through the reactor's name resolver,
        as a dial by name would (IPv4 and IPv6)."""
        receiver = _Addresses()
        self.reactor.nameResolver.resolveHostName(receiver, name, port)
        return receiver.done

    def listen(self, factory, port=0):
        """Listen with factory on TCP port (0: any free one), on the
        interface given (IPv6 for an IPv6 address); a Deferred firing with
        the listening port."""
        kind = TCP6ServerEndpoint if isIPv6Address(self.interface) else TCP4ServerEndpoint
        endpoint = kind(self.reactor, port, interface=self.interface)
        if self.channel is not None:
            endpoint = EncryptedServerEndpoint(endpoint, self.channel, self.reactor,
                                               peerLog=self.peerLog)
        d = endpoint.listen(factory)
        if self.onListenFailure is not None:
            d.addErrback(self._notListening, port)
        return d

    def _notListening(self, reason, port):
        self.failure = reason
        self.onListenFailure(port, reason)
        return reason


def serviceNamed(service):
    """service's class name, and the file it came from for one not of
    this package (a plugin's role: its author looks for the file)."""
    cls = type(service)
    module = cls.__module__
    if module.startswith("twisted_bazaar.") and not module.startswith(
            "twisted_bazaar.plugins."):
        return cls.__name__
    return f"{cls.__name__} ({getattr(sys.modules.get(module), '__file__', None) or module})"


def startTold(service, onFailure, log):
    """
    Start ``service``; if it raises (a plugin's bug), tell
    ``onFailure`` one line naming it and the error, as a port that
    cannot listen is told, rather than leave it to twistd's traceback
    (the daemon then ends with status 1, what its start made removed).
    The traceback, for the plugin's author, is a debug line of ``log``
    (``-v``).  Without ``onFailure`` it is raised.

    @return: True if it started, False if it raised, or failed as it
        started (a L{ListeningService} whose port was taken at once, its
        C{failure} already told): the daemon ends, and the services after
        it need not start (a node's relay port, listening after its
        --listen port failed, logged so after the error line).
    """
    try:
        service.startService()
    except Exception as e:
        if onFailure is None:
            raise
        log.failure("{what} raised as it started", what=type(service).__name__,
                    level=LogLevel.debug)
        onFailure(f"{serviceNamed(service)} could not start: {type(e).__name__}: "
                  f"{e} (-v logs its traceback)")
        return False
    return getattr(service, "failure", None) is None


@defer.inlineCallbacks
def stopTold(service, log):
    """
    Stop ``service`` (a scheme or a role); if it raises (a plugin's bug),
    say so in one error line naming it, and go on: the node's stop, its
    C{dc} to its peers and tracker, its ports and its store's close, is
    not cut short by one part.  The traceback is a debug line (``-v``).
    """
    try:
        yield service.stopService()
    except Exception as e:
        log.failure("{what} raised as it stopped", what=type(service).__name__,
                    level=LogLevel.debug)
        log.error("{what} could not stop: {why} (-v logs its traceback); the node "
                  "stops all the same", what=serviceNamed(service),
                  why=f"{type(e).__name__}: {e}")


class DaemonServices(MultiService):
    """
    A daemon's services, beside its own: each started in order through
    L{startTold}, so that one that raises (a transport plugin's port
    service, say) ends the daemon in one line, and those after it are
    not started; each stopped if started.
    """

    log = Logger()

    def __init__(self, onFailure):
        super().__init__()
        self.onFailure = onFailure

    def startService(self):
        Service.startService(self)
        for service in self:
            if not startTold(service, self.onFailure, self.log):
                return  # the daemon ends: the rest need not start

    def stopService(self):
        Service.stopService(self)
        return defer.gatherResults([defer.maybeDeferred(service.stopService)
                                    for service in reversed(list(self))
                                    if service.running])


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

    A failure to listen is never left as a daemon that serves nothing.  It
    goes, as one line saying why, to ``onFailure(why)`` (a daemon's
    L{twisted_bazaar.tap.exitstatus.ExitStatus}, which stops the reactor
    and ends the process with a non-zero status; it never raises, so it
    is told in the errback, when the failure comes); without one it is
    logged and the reactor is stopped.

    @ivar failure: the reason listening failed, or None.
    """

    log = Logger()

    def __init__(self, reactor, endpoint, factory, what, onListening=None,
                 onFailure=None, description=None, rates=None):
        """
        @param description: the endpoint as the user wrote it, for the
            failure line (e.g. ``tcp:7700``).
        @param rates: the L{RateLimit
            <twisted_bazaar.net.connections.RateLimit>} of new connections
            the factory refuses by, if any: the port's socket then gets a
            kernel filter (L{twisted_bazaar.net.syngate}) that turns
            away the groups its refusals make floods.
        """
        self.reactor = reactor
        self.endpoint = endpoint
        self.factory = factory
        self.what = what
        self.onListening = onListening
        self.onFailure = onFailure
        self.description = description
        self.rates = rates
        self.port = None
        #: The port's kernel filter while it listens, or None.
        self.gate = None
        self.failure = None

    def startService(self):
        super().startService()
        d = self.endpoint.listen(self.factory)
        d.addCallbacks(self._listening, self._notListening)
        return d

    def _listening(self, port):
        self.port = port
        if self.rates is not None:
            self.gate = gatePort(self.reactor, port, self.rates)
        address = port.getHost()
        host, number = getattr(address, "host", "?"), getattr(address, "port", "?")
        self.log.info(LISTENING, what=self.what, where=hostPort(host, number),
                      host=host, port=number)
        if self.onListening is not None:
            self.onListening(port)

    def _notListening(self, reason):
        self.failure = reason
        self._report()

    def why(self):
        """The failure as one line: what could not listen, where, and why."""
        where = f" on {self.description}" if self.description else ""
        return f"{self.what} cannot listen{where}: {listenFault(self.failure.value)}"

    def _report(self):
        if self.onFailure is not None:
            self.onFailure(self.why())
            return
        self.log.critical("{line}", line=self.why())
        if getattr(self.reactor, "running", False):
            self.reactor.stop()
        elif hasattr(self.reactor, "callWhenRunning"):
            # twistd starts services before the reactor runs.
            self.reactor.callWhenRunning(self.reactor.stop)

    def stopService(self):
        super().stopService()
        if self.gate is not None:
            ungate(self.gate, self.rates)
            self.gate = None
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()


class NodeService(MultiService):
    """
    A node on the network, and the owner of its parts' lifecycles.

    Its children are the listening port, the tracker session
    (L{Membership}), the discovery scheme and the roles, in that order,
    then the node's services across NAT (L{NodeParts.services
    <twisted_bazaar.daemon.build.NodeParts.services>}: its reservation
    and its relay offering, with the relay's port) and any a daemon adds
    (its metrics), which stop last.
    Listening comes first; the tracker session starts once the port is
    known and the node's store takes writes (its writer process answered).
    Stopping goes the other way, one part at a time, each allowed to
    return a Deferred: roles (a seller finishes its commit), then the
    scheme (a Chord node hands its records over), then every link says
    ``dc`` (waiting briefly for them to close), the tracker session, the
    port, and last the store.  A part that raises as it starts (a
    plugin's bug) is told to ``onFailure`` in one line (L{startTold}).
    """

    log = Logger()

    def __init__(self, reactor, node, listen_endpoint, tracker_endpoint,
                 retry_initial=0.5, retry_max=30.0, onFailure=None,
                 listen_description=None, tracker_address=None,
                 onStopRequested=None, other_trackers=(), services=(), roles=(),
                 tracker_ways=()):
        """
        @param onStopRequested: told ``onStopRequested(why)`` when a part
            of the node asks for it to stop (L{Node.requestStop}); it should
            stop this service.
        @param onFailure: told ``onFailure(why)`` when the node cannot
            listen (see L{ListeningService}), or a part of it raises as it
            starts (L{startTold}).
        @param listen_description: the listening endpoint as the user
            wrote it, for that line.
        @param tracker_address: where the tracker is, for the log.
        @param other_trackers: (endpoint, address) of more trackers, to
            fail over to in order (L{Membership}).
        @param services: the node's services across NAT, as L{buildNode
            <twisted_bazaar.daemon.build.buildNode>} built them
            (C{NodeParts.services}).
        @param roles: the names of its roles (C{NodeParts.roles}'s), which
            its status tells its operator.
        @param tracker_ways: for each tracker, the path its relay is
            dialled by, or None (L{Membership}).
        """
        super().__init__()
        self.reactor = reactor
        self.node = node
        self.onFailure = onFailure
        node.stopper = onStopRequested
        self.listener = ListeningService(reactor, listen_endpoint, OverlayFactory(node),
                                         "node", self._listening, onFailure,
                                         listen_description,
                                         rates=node.overlay.connections.rates)
        self.listener.setServiceParent(self)
        self.membership = plugMembership(node, Membership(
            node, tracker_endpoint, retry_initial, retry_max, tracker_address,
            other_trackers, tracker_ways))
        #: Answers ``state`` (``bazaar node``).
        self.status = NodeStatus(node, relay=next(
            (service.relay for service in services if isinstance(service, RelayOffering)),
            None), roles=roles)
        self.membership.setServiceParent(self)
        if onFailure is not None:
            TwinWatch(node, self.membership, onFailure)
        self.parts = [service for service in [node.discovery] + list(node.roles)
                      if service is not None]
        for service in self.parts + list(services):
            service.setServiceParent(self)

    def startService(self):
        Service.startService(self)
        for service in self:
            if service is not self.membership and not (startTold(
                    service, self.onFailure, self.log) and self._portsTaken()):
                return  # the node ends: the rest need not start

    def _portsTaken(self):
        """Whether no port a part listens on through the node's connector
        (a seller's --transfer-port) failed: one that did ends the
        daemon, and the ports after it (relay, QUIC) would be said
        listening after its error line, to close at once."""
        return getattr(self.node.connector, "failure", None) is None

    def _listening(self, port):
        address = port.getHost()
        self.node.setAddress(self.node.host, address.port)
        if isinstance(address, IPv4Address):
            self.node.addObserver(IPv4Only(self.listener.description or "tcp:0"))
        # Registered only once its store takes writes: a node trades from
        # then on, and a sale its writer could not yet record made its
        # buyer give it up (a unit in no bag). A writer that cannot start
        # ends the daemon (openStore's onBroken): nothing to say here.
        self.node.store.whenWriting().addCallbacks(self._writing, lambda failure: None)

    def _writing(self, _):
        if self.running and not self.membership.running:
            self.membership.startService()

    @defer.inlineCallbacks
    def stopService(self):
        Service.stopService(self)
        node = self.node
        self.membership.leaving()
        for service in reversed(self.parts):
            if service.running:
                yield stopTold(service, self.log)
        node.shutdown()
        closed = node.whenClosed()
        timeout = self.reactor.callLater(SHUTDOWN_GRACE, closed.cancel)
        try:
            yield closed
        except defer.CancelledError:
            pass
        else:
            timeout.cancel()
        if self.membership.running:
            yield self.membership.stopService()
        if self.listener.running:
            yield self.listener.stopService()
        known = set(self.parts) | {self.membership, self.listener}
        for service in reversed(list(self)):
            if service not in known and service.running:
                # Added by the daemon (metrics): served to the end.
                yield service.stopService()
        yield node.store.close()


class TrackerService(ListeningService):
    """The tracker daemon's service: its port, its relay's port if it has
    one (L{relayService}), and on stopping, its address checks and its
    nodes' links (closed, waited for up to L{SHUTDOWN_GRACE}).

    @ivar relayService: the L{ListeningService} of the tracker's relay,
        started and stopped with it, or None.
    @ivar watch: the L{FolderWatch
        <twisted_bazaar.daemon.folderwatch.FolderWatch>} of the folder its
        key is kept in, started once it listens and stopped with it, or
        None.
    """

    relayService = None

    def __init__(self, reactor, tracker, listen_endpoint, onFailure=None,
                 description=None, watch=None):
        super().__init__(reactor, listen_endpoint, TrackerFactory(tracker), "tracker",
                         onFailure=onFailure, description=description,
                         rates=tracker.connection_rates)
        self.tracker = tracker
        self.watch = watch

    def startService(self):
        d = super().startService()
        if self.failure is None:
            for beside in (self.relayService, self.watch):
                if beside is not None:
                    beside.startService()
        return d

    def stopService(self):
        self.tracker.stop(ran=self.port is not None)
        # Its links closed by the tracker, not cut by the reactor at exit:
        # over TLS, a node then reads TLS's close (tracker/closing.py).
        stopped = [self.tracker.closeLinks(SHUTDOWN_GRACE),
                   defer.maybeDeferred(super().stopService)]
        stopped += [defer.maybeDeferred(beside.stopService)
                    for beside in (self.relayService, self.watch)
                    if beside is not None and beside.running]
        return defer.gatherResults(stopped)


def trackerService(reactor, tracker, listen_endpoint, onFailure=None,
                   description=None, watch=None):
    """The tracker daemon's service (see L{ListeningService} for the
    rest; ``watch``, L{TrackerService}'s)."""
    return TrackerService(reactor, tracker, listen_endpoint, onFailure=onFailure,
                          description=description, watch=watch)
