"""``twistd bazaar-tracker``: its options and service."""

import os
import resource

from twisted.internet.abstract import isIPv6Address
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.python import usage

from twisted_bazaar.metrics.tracker import TrackerMetrics
from twisted_bazaar.base.address import parseIPAddress
from twisted_bazaar.base.options import boundedInt, boundedSeconds, rate
from twisted_bazaar.daemon.folderwatch import FolderWatch
from twisted_bazaar.daemon.pluginfault import PluginFault
from twisted_bazaar.daemon.registry import trackerExtensionPlugins, transportPlugins
from twisted_bazaar.daemon.services import DaemonServices, StartupError
from twisted_bazaar.daemon.tracker import (
    TRACKER_KEY_FILE,
    UdpReachService,
    keepKey,
    runOn,
    serveRelay,
    serveTracker,
    trackerIdentity,
)
from twisted_bazaar.identity.keys import KEY_FILE
from twisted_bazaar.net.connections import DEFAULT_CONNECTION_RATE
from twisted_bazaar.tap.statedir import NoStateHome, defaultStateDir
from twisted_bazaar.tap.heap import freezeStart
from twisted_bazaar.tap.transports import (
    addTransportOptions,
    checkTransportValues,
    pluginCall,
    transportValues,
)
from twisted_bazaar.tap.common import (
    COMMON_PARAMETERS,
    DaemonOptions,
    checkDataDir,
    addMetrics,
    exitStatusFor,
    startStopping,
    addWebView,
    param,
    serverEndpoint,
)
from twisted_bazaar.tap.endpoints import (
    checkServerEndpoint,
    listenInterface,
    listenPort,
    loopbackByDefault,
)
from twisted_bazaar.tracker import (
    DEFAULT_TRACKER_PORT,
    PENDING_GROUP_LIMIT,
    PENDING_LIMIT,
    RESERVED_DESCRIPTORS,
    registeredLimit,
)
from twisted_bazaar.tracker.factory import TrackerFactory
from twisted_bazaar.transports.relay import limits as relay
from twisted_bazaar.transports.relay.limits import RelayLimits
from twisted_bazaar.metrics.web import MAX_CONNECTIONS as METRICS_CONNECTIONS
from twisted_bazaar.web.resources import MAX_CONNECTIONS as WEB_CONNECTIONS
from twisted_bazaar.base.httphosts import hostNames
from twisted_bazaar.web.watch import DEFAULT_IN_FLIGHT, DEFAULT_INTERVAL


def openFiles():
    """The most files this process may open (its soft RLIMIT_NOFILE)."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Options(DaemonOptions):
    """twistd bazaar-tracker [options]"""

    synopsis = "[options]"
    optFlags = [["no-udp", None, "Take no UDP datagrams: no UDP reach check nor "
                 "punch for the tracker's nodes (udpcheck and udppunch are refused "
                 "with noudp), so they punch no UDP path through their routers."]]

    def opt_help(self):
        """Display every option, by section, and exit (as --help-all: the
        tracker has no options most runs leave out)."""
        super().opt_help()
    optParameters = [
        param("listen", f"tcp:{DEFAULT_TRACKER_PORT}",
              "Endpoint to listen on (a Twisted endpoint string)."),
        param("web", None, "Endpoint to serve the live web view on (e.g. "
              "tcp:8080).  Without interface= it listens on loopback only "
              "(127.0.0.1, or ::1 for tcp6:); say interface=0.0.0.0 to serve "
              "other machines (no TLS, no authentication: it shows the public "
              "market; it answers only to an IP address, loopback's names or "
              "--web-names).  None "
              "by default."),
        param("web-names", None, "Host names the web view also answers to, "
              "separated by commas (the names other machines reach it by); it "
              "answers to loopback's names and the addresses it listens on, and "
              "refuses any other name a request gives (DNS rebinding)", hostNames),
        param("web-poll", DEFAULT_INTERVAL, "Seconds between the web view's "
              "questions to each node (it asks at most "
              f"{DEFAULT_IN_FLIGHT} at a time).", boundedSeconds(0.2, 9.0)),
        param("pending-limit", PENDING_LIMIT, "Connections kept open before they "
              "register, in all; past it a connection is refused (noslots) unless "
              "one of an address group holding more gives way.",
              boundedInt(1, 10**6)),
        param("pending-group-limit", PENDING_GROUP_LIMIT, "Connections kept open "
              "before they register from one address group (IPv4 /16, IPv6 /32).",
              boundedInt(1, 10**6)),
        param("connection-rate", DEFAULT_CONNECTION_RATE,
              "New connections one address group (an IPv4 /16, an IPv6 /32) may "
              "open a second, with a second's worth at once; more are closed "
              "before the encrypted channel's handshake.", rate),
        param("data-dir", None, "Directory to keep the tracker's key in "
              f"({TRACKER_KEY_FILE}, made the first time), so that it is the same "
              "after a restart and nodes can pin it with --tracker-key.  Without "
              "it, the key is kept in $XDG_STATE_HOME/twisted-bazaar/tracker-PORT "
              "(~/.local/state/twisted-bazaar/tracker-PORT without XDG_STATE_HOME; one "
              "per --listen port, and "
              "interface if named); with --listen on port 0, a new key at each "
              "start.  It logs its key either way."),
        param("registered-limit", None, "Nodes kept registered at once, in all; "
              "past it a node of an address group holding fewer takes the place "
              "of the newest node of the group holding the most (noslots).  By "
              "default what the process's open-file limit leaves once the "
              "connections still to register, the web view's and the metrics' "
              "connections, the openings of the relay's port and of each "
              "transport's port (as its plugin declares them), the relay's "
              "circuits (two each) and 64 for the tracker itself "
              "are counted out (halved with --web, whose view keeps a link to each "
              "node)", boundedInt(1, 10**7)),
        param("host", None, "The IP address nodes reach this tracker at, where "
              "it is not the tracker's own: a router's public address whose ports "
              "forward to it (--listen's, --relay-port's and the UDP ports).  Its "
              "relay is named there (each node takes it only at the address its "
              "connection reaches); by default, at the tracker's own address on "
              "each node's connection", parseIPAddress),
        param("relay-port", 0, "TCP port of the tracker's relay, on the --listen "
              "interface (0: a free port, logged as 'relay listening on "
              "HOST:PORT' and told to each node it relays for).",
              boundedInt(0, 65535)),
        param("udp-port", None, "UDP port of the tracker's UDP reach check and "
              "punches, and the next port, on the --listen interface (0: two free "
              "ports).  By default the --listen port and the next (UDP 7700 and "
              "7701 for tcp:7700; two free ports for a --listen on port 0), and, "
              "if either is taken, none (logged: udpcheck and udppunch are then "
              "refused with noudp); a port given that cannot be taken stops the "
              "start.  It never sends a datagram: its answers go over the node's "
              "tracker connection", boundedInt(0, 65534)),
        param("relay-reservations", relay.RESERVATIONS, "Nodes the tracker "
              "cannot dial that it relays for at once (their reservations), in all; "
              f"{relay.GROUP_RESERVATIONS} from one address group.  0 turns the "
              "relay off.", boundedInt(0, 10**6)),
        param("relay-circuits", None, "Relayed connections (circuits) "
              f"open at once, in all; {relay.GROUP_CIRCUITS} from one address group "
              f"of diallers, {relay.NODE_CIRCUITS} to one node.  Each holds two "
              "descriptors, counted out of --registered-limit's default.  By "
              "default what the open-file limit leaves: an eighth of what the "
              "connections still to register, the other ports' openings and 64 "
              f"for the tracker itself leave, {relay.CIRCUITS} at most",
              boundedInt(1, 10**6)),
        param("relay-circuit-bytes", relay.CIRCUIT_BYTES, "Bytes one circuit "
              "carries (both ways) before the relay closes it.",
              boundedInt(1, 2**50)),
        param("relay-circuit-seconds", relay.CIRCUIT_SECONDS, "Seconds one "
              "circuit lasts before the relay closes it.",
              boundedSeconds(1.0, 10**6)),
        param("relay-rate", relay.RATE, "Bytes a second the tracker's relay "
              "copies, all circuits together, shared fairly among the diallers' "
              "address groups: past it, the groups past their share stop reading "
              "until the excess is paid back (0: no cap).", boundedInt(0)),
    ] + COMMON_PARAMETERS

    def __init__(self):
        super().__init__()
        try:
            extensions = ", ".join(sorted(trackerExtensionPlugins())) or "none"
        except PluginFault as e:
            # Found as twistd makes these options, past its maker's guard
            # (twisted/plugins/bazaar_plugins.py), which says it so.
            raise SystemExit(f"twistd bazaar-tracker: error: {e}") from None
        self.longdesc = ("Run the bazaar tracker: it gives joining nodes their ids "
                         "and introduces them to each other.  Extensions hosted: "
                         f"{extensions}.")

    def helpGroups(self):
        return [("Tracker", ("listen", "host", "data-dir", "web", "web-names", "web-poll"),
                 ""),
                ("Connections and registrations", ("connection-rate", "pending-limit",
                                                   "pending-group-limit",
                                                   "registered-limit"), ""),
                ("Relay", ("relay-port", "udp-port", "no-udp", "relay-reservations", "relay-circuits",
                           "relay-circuit-bytes", "relay-circuit-seconds",
                           "relay-rate"), "")] + \
            super().helpGroups()

    def postOptions(self):
        super().postOptions()
        checkDataDir(self["data-dir"], "the tracker", (KEY_FILE, "a node's key",
                                                       "a node's data dir"))
        try:
            self["listen"] = checkServerEndpoint(self["listen"], udpBeside=True)
        except ValueError as e:
            raise usage.UsageError(f"--listen: {e}")
        if self["no-udp"] and self["udp-port"] is not None:
            raise usage.UsageError("--no-udp takes no UDP datagrams: give it or "
                                   "--udp-port, not both")
        if self["web"] is not None:
            try:
                self["web"] = checkServerEndpoint(self["web"])
            except ValueError as e:
                raise usage.UsageError(f"--web: {e}")
            self["web"] = loopbackByDefault(self["web"])
        elif self["web-names"] is not None:
            raise usage.UsageError("--web-names are the names of the web view's port: "
                                   "give --web ENDPOINT too")
        elif self.wasGiven("web-poll"):
            raise usage.UsageError("--web-poll is how often the web view asks its "
                                   "nodes: give --web ENDPOINT too")
        checkTransportValues(self)
        _budget(self)  # refuses a --relay-circuits the open-file limit cannot hold


addTransportOptions(Options, transportPlugins().values(), "trackerOptions")


def relayService(reactor, options, tracker, exitStatus, circuits):
    """The tracker's relay, as its --relay-* options say, holding
    ``circuits`` at once (L{_budget}), on the interface of its --listen."""
    limits = RelayLimits(reservations=options["relay-reservations"],
                         circuits=circuits,
                         circuit_bytes=options["relay-circuit-bytes"],
                         circuit_seconds=options["relay-circuit-seconds"],
                         rate=options["relay-rate"])
    interface = listenInterface(options["listen"])
    endpoint = (TCP6ServerEndpoint if isIPv6Address(interface) else
                TCP4ServerEndpoint)(reactor, options["relay-port"], interface=interface)
    return serveRelay(reactor, tracker, endpoint, limits, exitStatus.fail,
                      f"--relay-port {options['relay-port']}", options["connection-rate"])


#: Fewer nodes kept than this, by the default of --registered-limit (a
#: low ``ulimit -n``: 256 or 512 kept one), and the tracker says so as it
#: starts: the operator asked for no small market.
FEW_NODES = 64


def makeService(options, reactor=None):
    """The daemon's service, as its options say, on ``reactor`` (the
    global one, as twistd runs it; a test's)."""
    if reactor is None:
        from twisted.internet import reactor

    exitStatus = exitStatusFor(options, reactor, "twistd bazaar-tracker")
    startStopping(options, reactor)
    freezeStart(options, reactor)
    endpoint = serverEndpoint(reactor, options["listen"], "--listen", exitStatus)
    said = []
    identity, watch = _keptIdentity(options, reactor, exitStatus, said)
    circuits, registered = _budget(options)
    if options["registered-limit"] is None and registered < FEW_NODES:
        exitStatus.warn(f"the open-file limit ({openFiles()}) leaves room for "
                        f"{registered} node{'s' if registered != 1 else ''} registered "
                        "at once, once the connections still to register and the ports' "
                        "openings are counted out: raise it (ulimit -n) or give a lower "
                        "--pending-limit")
    try:
        service, tracker = serveTracker(
            reactor, identity, endpoint, options.linkSettings(), exitStatus.fail,
            options["listen"], watch, pending_limit=options["pending-limit"],
            pending_group_limit=options["pending-group-limit"],
            registered_limit=registered,
            connection_rate=options["connection-rate"], relay_host=options["host"])
    except PluginFault as e:
        raise exitStatus.refusal(str(e)) from None
    if options["relay-reservations"]:
        service.relayService = relayService(reactor, options, tracker, exitStatus,
                                            circuits)
    udp = udpPorts(options)
    try:
        ports = _transportServices(reactor, options, tracker, exitStatus)
    except PluginFault as e:
        raise exitStatus.refusal(str(e)) from None
    if options["metrics"] is None and options["web"] is None and udp is None \
            and not ports:
        return service
    parent = DaemonServices(exitStatus.fail)
    service.setServiceParent(parent)
    for port in ports:
        port.setServiceParent(parent)
    if udp is not None:
        UdpReachService(reactor, tracker, udp, listenInterface(options["listen"]),
                        exitStatus.fail if options["udp-port"] is not None else None,
                        exitStatus.warnOnceStarted).setServiceParent(parent)
    if options["metrics"] is not None:
        addMetrics(parent, reactor, options, TrackerMetrics(tracker), exitStatus)
    if options["web"] is not None:
        addWebView(parent, reactor, options, tracker, exitStatus)
    return parent


def _transportServices(reactor, options, tracker, exitStatus):
    """The tracker's ports of the transport plugins its options turn on,
    each serving its links, on the interface of its --listen, and its
    relay, if it has one: each that names its port (C{advertised()})
    is one of the relay's ways (L{Relay.servedAt
    <twisted_bazaar.transports.relay.relay.Relay.servedAt>}), named
    with every node held there."""
    relay = tracker.relay
    made = (pluginCall(plugin, "make the tracker's port", plugin.trackerService,
                       reactor, tracker.identity, TrackerFactory(tracker),
                       tracker.peer_log, values, listenInterface(options["listen"]),
                       exitStatus.fail, relay=None if relay is None else relay.factory())
            for plugin, values in transportValues(options))
    services = [service for service in made if service is not None]
    if relay is not None:
        for service in services:
            advertised = getattr(service, "advertised", None)
            if advertised is not None:
                relay.servedAt(advertised)
    return services


def udpPorts(options):
    """The first of the tracker's two UDP ports (0: two free ones), or
    None: --no-udp, or a --listen on no IP port (unix:).  By default the
    --listen port, when the next one is a port too."""
    if options["no-udp"]:
        return None
    if options["udp-port"] is not None:
        return options["udp-port"]
    port = listenPort(options["listen"])
    if port is None:
        return None
    return port if port < 65535 else 0


def _budget(options):
    """
    The relay's circuits and the nodes kept registered, within what the
    open-file limit allows: --relay-circuits and --registered-limit, or
    by default what it leaves (L{registeredLimit}).  Every other port's
    openings are held in accounts (the web view's and the metrics'
    connections, daemon/site.py; the relay's connections that have not
    said what they want; each transport plugin's, as it declares them),
    counted out first; then the relay's circuits, two descriptors each
    (the dialler's connection and the node's accept): by default an
    eighth of what is left, so that they hold a quarter of it (256 at
    most: issue 93, 512 descriptors past the budget otherwise).
    """
    watched = options["web"] is not None
    relayOn = bool(options["relay-reservations"])
    ports = ((WEB_CONNECTIONS if watched else 0)
             + (METRICS_CONNECTIONS if options["metrics"] is not None else 0)
             + (relay.PENDING if relayOn else 0)
             + sum(limit.default for plugin, values in transportValues(options)
                   for limit in plugin.trackerAccounts(values)))
    files = openFiles()
    circuits = options["relay-circuits"]
    if circuits is None:
        left = files - options["pending-limit"] - ports - RESERVED_DESCRIPTORS
        circuits = min(relay.CIRCUITS, max(1, left // 8))
    registered = options["registered-limit"]
    if registered is None:
        held = ports + (2 * circuits if relayOn else 0)
        left = files - options["pending-limit"] - held - RESERVED_DESCRIPTORS
        if relayOn and options["relay-circuits"] is not None and left < 2:
            # An operator's count whose descriptors leave (next to) no
            # node registered: a tracker that keeps one node is no market.
            raise usage.UsageError(
                f"--relay-circuits {circuits} holds {2 * circuits} descriptors, and "
                f"the open-file limit ({files}) leaves no room for nodes: give fewer, "
                "a --registered-limit, or raise the limit (ulimit -n)")
        registered = registeredLimit(files, options["pending-limit"], held, watched)
    return circuits, registered


def _keptIdentity(options, reactor, exitStatus, said):
    """
    The tracker's key, kept in --data-dir or its default state directory
    (made there the first time).  A start that fails from here on (a
    port taken, an endpoint of --metrics or --web that does not parse,
    any failure before the reactor runs) removes the key and the folders
    it made, unless another tracker holds the directory: it leaves no new
    state directory behind, and never takes one from a tracker that runs
    (marked so once its reactor runs: L{runOn}).  A directory another
    tracker runs on is refused, in one line.  Its line is given to
    ``said``, and logged once the start has succeeded.

    @return: (the key, the L{FolderWatch} of the directory it is kept in,
        which ends the tracker if that is moved or deleted while it runs,
        or None).
    """
    held = []

    def undo():
        for folder in held:
            folder.undo()

    try:
        default = None
        if options["data-dir"] is None:
            default = defaultStateDir(options["listen"], os.environ)
        identity = trackerIdentity(options["data-dir"], default, held, said)
    except (StartupError, NoStateHome) as e:
        undo()
        raise SystemExit(exitStatus.line(str(e)))
    exitStatus.undoOnFailedStart(undo)
    exitStatus.whenStarted(lambda: runOn(held, options["data-dir"] is not None,
                                         exitStatus.fail))
    # A start that fails, even once running, removes what it made instead.
    exitStatus.whenStarted(lambda: reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: exitStatus.code or keepKey(identity, held)))
    reactor.addSystemEventTrigger("after", "shutdown",
                                  lambda: [folder.stopped() for folder in held])
    # Not said by a tracker that ends as it starts (L{runOn}).
    exitStatus.whenStarted(lambda: exitStatus.code or said[0]())
    if not held:
        return identity, None
    folder = held[0].directory

    def gone(why):
        keepKey(identity, held)
        exitStatus.fail(f"state directory {folder}: {why}; the tracker's key was kept "
                        "there, so it stops (its key written back first, for its next "
                        "start)")

    return identity, FolderWatch(reactor, folder, gone)
