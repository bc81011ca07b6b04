"""
A tracker daemon put together: its key (L{trackerIdentity}: kept in its
data dir or its default state directory), then the tracker served on its endpoint,
every connection sealed by that key (L{serveTracker}).
"""

import os
import random

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from twisted_bazaar.base.listenfault import listenFault
from twisted_bazaar.base.made import SharedFolder, makeFolders
from twisted_bazaar.daemon.registry import hostExtensions, trackerExtensionPlugins
from twisted_bazaar.daemon.services import (
    EndpointConnector,
    ListeningService,
    StartupError,
    trackerService,
)
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedServerEndpoint
from twisted_bazaar.tracker import CHECK_LIMIT, Tracker
from twisted_bazaar.tracker.udpreach import TrackerDatagrams
from twisted_bazaar.transports.relay.relay import Relay

#: The tracker's key's file in its --data-dir.
TRACKER_KEY_FILE = "tracker.key"
log = Logger()


def isTrackersDir(directory):
    """Whether directory is a tracker's state directory (its key there):
    what an operator who gives it to a node's command has mixed up."""
    return os.path.isfile(os.path.join(directory, TRACKER_KEY_FILE))


def trackerIdentity(data_dir, default=None, held=None, said=None):
    """
    The tracker's key, proven in every handshake of its connections
    (protocol.md §2.1 and §5): kept in ``data_dir`` (made the first
    time), else in its default state directory ``default`` (made with its
    parents: L{twisted_bazaar.tap.statedir}), else new at each start;
    logged either way, for nodes to pin.  It is made before the tracker
    listens (its channel, which the listening port serves, is built with
    it); a start that then fails removes what it made, and nothing
    another tracker made or uses (L{SharedFolder.undo}).

    @param held: a list given the L{SharedFolder} the key is kept in,
        held until the process ends, whose C{made} lists the paths made
        here (folders, then the key file), in the order made; its
        C{running} says the tracker has started (its key file the mark).
    @param said: a list given the call that logs the key's line, for the
        daemon to log it once its start has succeeded (every port
        listening): a start that fails removes what it made, the key
        with it, and says only why; None: logged here.
    @raise StartupError: when the directory cannot be used, saying which
        and what to do.
    """
    held = [] if held is None else held
    if data_dir is not None:
        try:
            identity = _keptIn(data_dir, held, inUse(data_dir, True))
        except OSError as e:
            raise StartupError(f"--data-dir {data_dir}: cannot keep the tracker's "
                               f"key there: {e.strerror}") from None
        except ValueError as e:
            raise StartupError(f"--data-dir: {e}") from None
        kept = f"; kept in {os.path.join(data_dir, TRACKER_KEY_FILE)}"
    elif default is not None:
        try:
            identity = _keptIn(default, held, inUse(default, False))
        except (OSError, ValueError) as e:
            raise StartupError(
                f"cannot keep the tracker's key in its default state directory "
                f"{default} ({getattr(e, 'strerror', None) or e}), where it stays the same across restarts so "
                "that its nodes take it back: give --data-dir DIR, a directory "
                "it can write") from None
        kept = f"; kept in {os.path.join(default, TRACKER_KEY_FILE)}"
    else:
        identity = Identity.generate()
        kept = ("; a new one at each start: no --data-dir, and no fixed port "
                "to keep a default state directory for")

    def logKey():
        log.info("the tracker's key is {key} (nodes pin it with --tracker-key {key}"
                 "{kept})", key=identity.key, kept=kept)

    if said is None:
        logKey()
    else:
        said.append(logKey)
    return identity


def _keptIn(directory, held, refusal):
    """The key kept in ``directory``, held (L{SharedFolder}, given to
    ``held``), made with the folders missing the first time.

    @raise StartupError: saying C{refusal}, when a tracker runs on it
        already: two trackers on one key would each pass for the other
        to their nodes, and the state of the one that runs is its own."""
    folder = SharedFolder(directory, mark=TRACKER_KEY_FILE)
    folder.take()
    held.append(folder)
    if folder.runsElsewhere():
        raise StartupError(refusal)
    return Identity.inDirectory(directory, name=TRACKER_KEY_FILE, made=folder.made)


def keepKey(identity, held):
    """
    At a stop, write the tracker's key back to the state directories in
    ``held`` (L{SharedFolder}s) whose key file was removed while it ran (a
    cleaner of old files, an C{rm -r}): its nodes keep this key and refuse
    another, and a start that finds no key file makes a new one.
    """
    for folder in held:
        path = os.path.join(folder.directory, TRACKER_KEY_FILE)
        if os.path.exists(path):
            continue
        try:
            makeFolders(folder.directory)
            identity.writeNew(path)
        except OSError as e:
            log.warn("{path} was removed while the tracker ran and cannot be written "
                     "back ({why}): its next start makes a new key, which its nodes "
                     "refuse", path=path, why=e.strerror or e)
        else:
            log.warn("{path} was removed while the tracker ran: written back as it "
                     "stops, so that its nodes, which keep this key, take it back at "
                     "its next start", path=path)


def inUse(directory, given):
    """The refusal of a tracker's state directory another tracker runs on
    (``given`` with --data-dir, else its default one), with the way out."""
    if given:
        return (f"--data-dir {directory} is in use by another tracker; give each "
                "tracker its own --data-dir")
    return (f"its default state directory {directory} is in use by another tracker "
            "(one started with the same --listen port): stop it, or give this one "
            "another port, or a --data-dir of its own")


def runOn(held, given, onFailure):
    """
    Once the tracker has started (every port listening): hold the state
    directories in ``held`` alone, for as long as it runs
    (L{SharedFolder.running}).  One another tracker started at the same
    moment runs on already (each found none at start) ends this one:
    ``onFailure`` is told why (L{inUse}; ``given``: with --data-dir).
    """
    for folder in held:
        if not folder.running():
            onFailure(inUse(folder.directory, given))
            return


def serveTracker(reactor, identity, endpoint, link, onFailure, description,
                 watch=None, **limits):
    """
    A L{Tracker} with every installed extension, and the service that
    serves it on ``endpoint`` (plain, sealed here by ``identity``'s
    channel key).

    @param link: its links' L{LinkSettings}.
    @param watch: the L{FolderWatch
        <twisted_bazaar.daemon.folderwatch.FolderWatch>} of its state
        directory, started and stopped with its service, or None.
    @param limits: the tracker's C{pending_limit}, C{pending_group_limit},
        C{registered_limit} and C{connection_rate}, and its C{relay_host}.
    @return: (the service, the tracker).
    @raise PluginFault: an extension's plugin built it wrong.
    """
    channel = ChannelKey.generate(identity)
    endpoint = EncryptedServerEndpoint(endpoint, channel, reactor)
    tracker = Tracker(reactor, random.Random(), link, identity=identity,
                      connector=EndpointConnector(reactor, channel=channel),
                      check_limit=CHECK_LIMIT, **limits)
    hostExtensions(tracker, trackerExtensionPlugins())
    return trackerService(reactor, tracker, endpoint, onFailure, description,
                          watch), tracker


def serveRelay(reactor, tracker, endpoint, limits, onFailure, description,
               connection_rate=0):
    """
    The tracker's relay (the relay of last resort of the nodes it cannot
    dial, protocol.md §5a): a L{Relay} with ``limits``, given to the
    tracker, and the service that serves it on ``endpoint`` (plain,
    sealed here by the tracker's key); it grants reservations once it
    listens.
    """
    relay = tracker.relay = Relay(reactor, tracker.peer_log, limits, connection_rate)
    channel = ChannelKey.generate(tracker.identity)
    endpoint = EncryptedServerEndpoint(endpoint, channel, reactor,
                                       peerLog=tracker.peer_log)

    def listening(port):
        relay.port = port.getHost().port

    return ListeningService(reactor, endpoint, relay.factory(), "relay", listening,
                            onFailure, description, rates=relay.rates)


def defaultTaken(first, wanted, why):
    """The line of a tracker whose default UDP port ``wanted`` (of
    ``first`` and the next) is taken: it runs on without its UDP reach
    check, and what likely holds the port, and what to do."""
    return (f"no UDP reach check: cannot listen over UDP: {why}; a "
            "tracker takes its --listen port and the next over UDP by default "
            f"({first} and {first + 1} here), so another tracker on this machine at "
            f"port {wanted - 1} or {wanted}, or a node's --quic-port {wanted}, may "
            "hold it; without it nodes at home punch no UDP path through their "
            "routers: choose two free ports with --udp-port, or say --no-udp")


class UdpReachService(Service):
    """
    The tracker's two UDP ports of its reach check (``--udp-port``: that
    port and the next, on the interface given), their datagrams handed to
    the tracker's L{UdpReach <twisted_bazaar.tracker.udpreach.UdpReach>},
    which learns the ports once both listen.  A port it cannot take goes
    to ``onFailure(why)``, one line; with no ``onFailure`` (the ports were
    the default's, not asked for), the tracker takes no datagrams and
    runs on, saying so to ``onWarning(why)`` (the terminal that started
    it: such a port is mostly another tracker's second one, or a node's
    --quic-port) or, without one, to its log.
    """

    log = Logger()

    def __init__(self, reactor, tracker, port, interface, onFailure, onWarning=None):
        self.reactor = reactor
        self.tracker = tracker
        self.first = port
        self.interface = interface
        self.onFailure = onFailure
        self.onWarning = onWarning
        self.ports = []

    def startService(self):
        super().startService()
        for index in range(2):
            wanted = self.first + index if self.first else 0
            try:
                self.ports.append(self.reactor.listenUDP(
                    wanted, TrackerDatagrams(self.tracker.udp, index),
                    interface=self.interface))
            except CannotListenError as e:
                if self.onFailure is not None:
                    self.onFailure(f"--udp-port: cannot listen over UDP: "
                                   f"{listenFault(e, udp=True)}")
                    return
                self._close()
                self._warn(defaultTaken(self.first, wanted, listenFault(e, udp=True)))
                return
        numbers = tuple(port.getHost().port for port in self.ports)
        self.tracker.udp.ports = numbers
        self.log.info("UDP reach listening on ports {first} and {second}",
                      first=numbers[0], second=numbers[1])

    def _warn(self, line):
        if self.onWarning is not None:
            self.onWarning(line)
        else:
            self.log.warn("{line}", line=line)

    def stopService(self):
        super().stopService()
        self.tracker.udp.ports = None
        return self._close()

    def _close(self):
        ports, self.ports = self.ports, []
        return defer.gatherResults([defer.maybeDeferred(port.stopListening)
                                    for port in ports])
