"""
``twistd bazaar-node``: its options and service.

Besides the core flags, every installed role plugin and discovery scheme
plugin brings its own options (L{PluginOption}): each becomes a flag here,
listed in ``--help`` with its owner, and a key of ``--config`` files.  A
flag of a role or scheme that the node does not run is refused.
"""

import os

import attr
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.python import usage

from twisted_bazaar.events import ObsoleteObserver
from twisted_bazaar.core.node import DEFAULT_NEIGHBOURS
from twisted_bazaar.base.address import TCP_OR_TLS, parseAddress, parseHost
from twisted_bazaar.base.suggest import didYouMean
from twisted_bazaar.base.words import plural
from twisted_bazaar.base.options import (
    boundedInt,
    optionDefaults,
    rate,
    seconds,
)
from twisted_bazaar.net.connections import DEFAULT_CONNECTION_RATE
from twisted_bazaar.net.overlay import (
    DEFAULT_DIRECT_IDLE,
    DEFAULT_DIRECT_SLOTS,
    DEFAULT_HANDSHAKE_LIMIT,
    DEFAULT_MAX_CONNECTIONS,
)
from twisted_bazaar.daemon.allocator import tuneForStreaming
from twisted_bazaar.daemon.node import (
    NodeSite,
    holdDataDir,
    keyRefusal,
    nodeConfig,
    nodeEndpoints,
    openState,
    sayNoRole,
    serveNode,
)
from twisted_bazaar.base.blame import why
from twisted_bazaar.daemon.listenfamily import onTrackersFamily
from twisted_bazaar.daemon.pluginfault import PluginFault, described
from twisted_bazaar.daemon.registry import discoveryPlugins, rolePlugins, transportPlugins
from twisted_bazaar.daemon.services import StartupError
from twisted_bazaar.daemon.statefolders import refusal
from twisted_bazaar.daemon.tracker import TRACKER_KEY_FILE
from twisted_bazaar.identity.keys import publicKey
from twisted_bazaar.metrics.node import NodeMetrics
from twisted_bazaar.tap.heap import freezeStart
from twisted_bazaar.tap.hinted import hintedTracker
from twisted_bazaar.tap.stopsignals import StartInterrupted, interruptible
from twisted_bazaar.tap.common import (
    checkDataDir,
    COMMON_PARAMETERS,
    DaemonOptions,
    Misplaced,
    addMetrics,
    badValue,
    exitStatusFor,
    startStopping,
    param,
)
from twisted_bazaar.tap.knowntracker import trackerPins
from twisted_bazaar.tap.endpoints import (
    NODE_LISTEN_KINDS,
    checkServerEndpoint,
    listenInterface,
    quicBesideItsTracker,
)
from twisted_bazaar.tap.shortfall import GAVE_UP, GiveUp, wayOut
from twisted_bazaar.tap.transports import (
    addTransportOptions,
    checkTransportValues,
    nodeMaker,
    refuseTakenKinds,
    trackerKinds,
    transportValues,
)
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT
from twisted_bazaar.transports.plugin import trackerWay
from twisted_bazaar.transports.relay import limits as relays
from twisted_bazaar.wire.ids import isKeyed, parseWireId

DEFAULT_TRACKER = f"tcp:127.0.0.1:{DEFAULT_TRACKER_PORT}"
#: The scheme of a node without --discovery.
DEFAULT_SCHEME = "flood"
#: The options of every node, first in --help.
NODE_OPTIONS = ("role", "discovery", "tracker", "tracker-key", "listen", "host", "data-dir",
                "neighbours", "max-connections", "direct-slots", "direct-idle",
                "handshake-limit", "connection-rate", "retry-initial", "retry-max",
                "no-punch", "relay-port", "relay-reservations", "relay-circuits",
                "relay-rate", "no-port-mapping", "quic-port", "no-quic", "quic-peer")
#: Node options that belong with a role in --help (and need that role).
ROLE_NODE_OPTIONS = {"give-up-after": "buyer", "restock": "seller"}
#: The role options of files as goods, shown together in --help.
FILE_OPTIONS = ("share", "transfer-port", "transfer-rate", "downloads",
                "download-give-up")


def _owners():
    """Every plugin that brings options: (kind, plugin) pairs, roles first."""
    return ([("role", plugin) for _, plugin in sorted(rolePlugins().items())]
            + [("scheme", plugin) for _, plugin in sorted(discoveryPlugins().items())])


class Options(DaemonOptions):
    """twistd bazaar-node [--role ROLE ...] [role and scheme options] [options]"""

    synopsis = "[--role ROLE ...] [options]"
    LEAD = ("role", "sell", "want", "quantity", "share", "downloads", "data-dir",
            "tracker", "listen", "host", "discovery", "exit-when-done", "verbose")
    EXAMPLES = (
        ("a seller of 3 apples and 2 pears, its stock and ledger kept across "
         "restarts", "twistd -n bazaar-node --role seller --sell apple=3 --sell pear=2 "
         "--data-dir seller-data"),
        ("a buyer of 2 apples, which exits 0 once it has them",
         "twistd -n bazaar-node --role buyer --want apple --quantity 2 "
         "--exit-when-done"),
        ("a seller of the files in a folder, and a buyer of one of them",
         "twistd -n bazaar-node --role seller --share shared\n"
         "  twistd -n bazaar-node --role buyer --want song.ogg --downloads downloads"),
        ("a node on another machine than the tracker, reached by peers at "
         "192.0.2.11", "twistd -n bazaar-node --tracker 192.0.2.10:7700 --host "
         "192.0.2.11 --role seller --sell apple=3"),
        ("in the background, with its own pid file and log",
         "twistd --pidfile seller.pid --logfile seller.log bazaar-node --role seller "
         "--sell apple=3"),
    )
    optFlags = [["restock", None, "With --data-dir, set each --sell ITEM's units "
                 "to COUNT at start, keeping the ledger (a seller restored from "
                 "its data dir otherwise keeps what is left; `bazaar restock` "
                 "restocks a running one) (seller role)."],
                ["no-port-mapping", None, "Do not ask the home router to forward this "
                 "node's port to it (UPnP IGD, NAT-PMP, PCP) when the tracker finds it "
                 "cannot be dialled.  By default it asks, renews the mapping, and "
                 "deletes it when it stops; the tracker checks the port before the "
                 "node is named there."],
                ["no-quic", None, "Serve no QUIC and dial none: no UDP port, no UDP "
                 "hole punch; links and transfers over TCP (and relays) only."],
                ["no-punch", None, "Do not hole-punch, and refuse peers' punches: "
                 "links and files through a relay stay there.  By default a node "
                 "punches (TCP, and UDP with QUIC) in the background over each link "
                 "it opens through a relay; nothing waits for the punch, and a file "
                 "started through the relay moves to the punched path when it "
                 "comes."]]
    GONE = {"punch-wait": "nothing waits for a hole punch now (a trade goes at "
                          "once; a file started through a relay moves to the punched "
                          "path when it comes); --no-punch turns punching off"}
    optParameters = [
        param("listen", "tcp:0", "Endpoint to listen on for peers: tcp:PORT "
              "(tcp:0: any free port; tcp6:0 where every --tracker is at an IPv6 "
              "address) or tcp6:PORT; other nodes connect over plain TCP, so unix: "
              "and ssl: are refused."),
        param("host", "", "Host name or address peers should use to reach this "
              "node (default: the address the tracker is reached from)",
              parseHost),
        param("neighbours", DEFAULT_NEIGHBOURS, "Overlay peers to stay linked to "
              "(schemes that keep random neighbours).", boundedInt(0, 1000)),
        param("max-connections", DEFAULT_MAX_CONNECTIONS,
              "Most overlay links this node keeps, handshakes in progress counted.",
              boundedInt(1, 10000)),
        param("direct-slots", DEFAULT_DIRECT_SLOTS,
              "Most direct (buyer-to-seller) links this node keeps.",
              boundedInt(0, 10000)),
        param("direct-idle", DEFAULT_DIRECT_IDLE,
              "Seconds a direct link may go without trade before it is closed.",
              seconds),
        param("handshake-limit", DEFAULT_HANDSHAKE_LIMIT,
              "Connections one address group (an IPv4 /16, an IPv6 /32) may hold "
              "open before saying thisisme; more get noslots.", boundedInt(1, 10000)),
        param("connection-rate", DEFAULT_CONNECTION_RATE,
              "New connections (links and file transfers) one address group "
              "(an IPv4 /16, an IPv6 /32) may open a second, with a second's worth "
              "at once; more are closed before the encrypted channel's handshake.",
              rate),
        param("discovery", DEFAULT_SCHEME, "How buyers find offers and sellers get found: "
              "a discovery scheme (see below)."),
        param("data-dir", None, "Directory for the node's durable state (id, "
              "inventory, ledger, bag, pending buys); without it, state lives in "
              "memory and is lost on exit."),
        param("retry-initial", 0.5, "Seconds before the first reconnection to a "
              "lost tracker (doubling up to --retry-max).", seconds),
        param("retry-max", 30.0, "Longest wait between reconnections to the "
              "tracker, before the jitter (a wait is drawn at 0.5 to 1.5 times "
              "its delay: at most 1.5 times this).", seconds),
        param("relay-port", 0, "TCP port of this node's relay, on the --listen "
              "interface (0: a free port, logged as 'relay listening on "
              "HOST:PORT'): once the tracker finds this node reachable, it names "
              "the relay to nodes it cannot dial.", boundedInt(0, 65535)),
        param("relay-reservations", relays.NODE_RESERVATIONS, "Nodes that cannot be "
              "dialled this node relays for at once (their reservations), in all; "
              f"{relays.NODE_GROUP_RESERVATIONS} from one address group.  0 turns "
              "the relay off.", boundedInt(0, 10**6)),
        param("relay-circuits", relays.NODE_CIRCUITS_ALL, "Relayed connections "
              f"(circuits) open at once through this node, in all; "
              f"{relays.NODE_GROUP_CIRCUITS} from one address group of diallers, "
              f"{relays.NODE_NODE_CIRCUITS} to one node; each carries "
              f"{relays.NODE_CIRCUIT_BYTES // 2**20} MiB at most.",
              boundedInt(1, 10**6)),
        param("relay-rate", relays.NODE_RATE, "Bytes a second this node's relay "
              "copies, all circuits together (0: no cap).", boundedInt(0)),
        param("quic-port", None, "UDP port to serve QUIC on, on the --listen "
              "interface (0, and by default: a free one, logged as 'QUIC listening "
              "on HOST:PORT (udp)'): links and file transfers over QUIC, each under "
              "the encrypted channel as over TCP, its UDP hole punches, and the port "
              "the tracker names to peers once it saw it (--no-quic: none)",
              boundedInt(0, 65535)),
        param("give-up-after", None, "Seconds a buyer may take to get every "
              f"want; then the node stops and exits {GAVE_UP}, saying what it "
              "lacks and why (buyer role; none by default: it waits on)", seconds),
    ] + COMMON_PARAMETERS

    def __init__(self):
        self.roles_known = rolePlugins()
        self.schemes = discoveryPlugins()
        self["role"] = []
        self["tracker"] = []
        self["tracker-key"] = []
        self["quic-peer"] = []
        #: The --tracker addresses (L{Address}), in order.
        self.trackers = []
        self._plugin_values = {}
        #: The text each option of one value was given as, to refuse a
        #: second (L{_setPluginValue}).
        self._plugin_texts = {}
        super().__init__()
        roles = "; ".join(f"{name} ({plugin.description})"
                          for name, plugin in sorted(self.roles_known.items()))
        schemes = "; ".join(f"{name} ({plugin.description})"
                            for name, plugin in sorted(self.schemes.items()))
        self.longdesc = (f"Run a bazaar node.  Roles: {roles}.  A node may carry "
                         f"several roles, or none: then it only relays, and "
                         f"serves its scheme (as a super-peer, say).  Discovery "
                         f"schemes: {schemes}.")

    def helpGroups(self):
        """Common options, each role's, the files', each scheme's (named),
        then operations."""
        groups = [("Common options of a node", NODE_OPTIONS, "")]
        for name, plugin in sorted(self.roles_known.items(), reverse=True):
            names = [o.name for o in plugin.options if o.name not in FILE_OPTIONS]
            names += [n for n, role in ROLE_NODE_OPTIONS.items() if role == name]
            groups.append((f"The {name} role (--role {name})", names, "no options"))
        groups.append(("Files as goods (--role seller --share DIR, --role buyer "
                       "--downloads DIR)", FILE_OPTIONS, ""))
        for name, plugin in sorted(self.schemes.items()):
            groups.append((f"The {name} scheme (--discovery {name})",
                           [o.name for o in plugin.options],
                           "(no options of its own)"))
        return groups + super().helpGroups()

    #: The endpoint kinds --tracker takes besides TCP's and TLS's: the
    #: transport plugins' (L{_addTransports}; its help, L{_TRACKER_HELP}).
    trackerKinds = ()
    #: kind -> how --tracker's help names a transport's endpoints.
    trackerHelps = {}

    def addTracker(self, text):
        """--tracker (L{_trackerOption})."""
        try:
            address = parseAddress(text, TCP_OR_TLS + self.trackerKinds, "the tracker tells "
                                   "other nodes the IP address a node connects from")
        except ValueError as e:
            raise usage.UsageError(f"--tracker: {e}")
        if any(known.endpoint == address.endpoint for known in self.trackers):
            raise usage.UsageError(f"--tracker {text} is named twice")
        self.trackers.append(address)
        self["tracker"].append(text)

    def opt_quic_peer(self, text):
        """ID=HOST:PORT: reach node ID over QUIC at that UDP address (an IP
        address) before any other way (TCP after it, if QUIC does not
        answer).  Repeatable; not with --no-quic."""
        peer_id, _, where = text.partition("=")
        host, _, port = where.rpartition(":")
        node_id = parseWireId(peer_id.strip().lower())
        if node_id is None or not isKeyed(node_id):
            raise usage.UsageError(f"--quic-peer {text}: ID is a node's id, its 32 hex "
                                   "digits (as `bazaar status` shows it)")
        host = host.strip("[]")
        if not (isIPAddress(host) or isIPv6Address(host)) or not port.isdigit() \
                or not 0 < int(port) < 65536:
            raise usage.UsageError(f"--quic-peer {text}: give ID=HOST:PORT, HOST an IP "
                                   "address, PORT its UDP port")
        self["quic-peer"].append((node_id, host, int(port)))

    def opt_tracker_key(self, text):
        """A tracker's key, as it logs it when it starts (keep it with the
        tracker's --data-dir): a tracker that does not prove it in the
        encrypted channel's handshake is refused before this node says
        anything, so nobody on the path can pose as the tracker.  Once per
        --tracker, in the same order, or not at all: then the first key each
        tracker proves is remembered (in --data-dir's known_tracker, across
        restarts; in memory without --data-dir) and another refused from
        then on."""
        try:
            self["tracker-key"].append(publicKey(text))
        except ValueError as e:
            raise usage.UsageError(f"--tracker-key: {e}")

    def opt_role(self, name):
        """A role for this node (repeatable): see the roles named below."""
        if name not in self.roles_known:
            known = ", ".join(sorted(self.roles_known))
            raise usage.UsageError(f"unknown role {name!r}"
                                   f"{didYouMean([name], self.roles_known)} "
                                   f"(known roles: {known})")
        if name not in self["role"]:
            self["role"].append(name)

    def optionDefault(self, name):
        if name in _OPTION_OWNERS:
            kind, owner = _OPTION_OWNERS[name]
            plugins = self.roles_known if kind == "role" else self.schemes
            [option] = [o for o in plugins[owner].options if o.name == name]
            return option.default
        return super().optionDefault(name)

    def pathOptions(self):
        """The node's own (--data-dir) and its plugins' whose parser
        takes a path (C{isPath}: --share, --downloads)."""
        paths = set(super().pathOptions())
        for name, (kind, owner) in _OPTION_OWNERS.items():
            plugins = self.roles_known if kind == "role" else self.schemes
            for option in plugins[owner].options:
                if option.name == name and getattr(option.parse, "isPath", False):
                    paths.add(name)
        return paths

    def _setPluginValue(self, option, text):
        """Parse a plugin option's text; an option of one value given
        again is refused (``--share /a --share /b`` shared only /b, in
        silence)."""
        first = self._plugin_texts.get(option.name)
        if first is not None and not option.repeatable:
            raise usage.UsageError(f"--{option.name} is given twice ({first}, then "
                                   f"{text}), and takes one value: give it once")
        try:
            value = option.parse(text)
        except ValueError as e:
            raise usage.UsageError(badValue(option.name, text, e))
        if option.repeatable:
            self._plugin_values.setdefault(option.name, []).append(value)
        else:
            self._plugin_texts[option.name] = text
            self._plugin_values[option.name] = value

    def _configure(self, plugin, what, kind):
        config = optionDefaults(plugin.options)
        config.update({option.name: self._plugin_values[option.name]
                       for option in plugin.options
                       if option.name in self._plugin_values})
        try:
            return plugin.configure(config)
        except ValueError as e:
            raise usage.UsageError(f"{what}: {e}" if what else str(e))
        except Exception as e:
            # A bug of the plugin's, not a value the user gave: say whose.
            raise usage.UsageError(f"{described(plugin, kind)} failed to read its "
                                   f"options (configure raised {why(e)})") from None

    def postOptions(self):
        super().postOptions()
        checkTransportValues(self)
        try:
            self["listen"] = checkServerEndpoint(
                self["listen"], NODE_LISTEN_KINDS,
                "other nodes connect to a node over plain TCP", udpBeside=True)
        except ValueError as e:
            raise usage.UsageError(f"--listen: {e}")
        if not self.trackers:
            self.addTracker(DEFAULT_TRACKER)
        self["listen"] = onTrackersFamily(self["listen"], self.trackers)
        keys, trackers = len(self["tracker-key"]), len(self.trackers)
        if keys not in (0, trackers):
            raise usage.UsageError(
                f"--tracker-key: {plural(keys, 'key')} for {plural(trackers, 'tracker')}; "
                "give one --tracker-key per --tracker, in the same order, or none")
        #: The first tracker.
        self.tracker = self.trackers[0]
        if self["discovery"] not in self.schemes:
            known = ", ".join(sorted(self.schemes))
            raise usage.UsageError(f"unknown discovery scheme {self['discovery']!r}"
                                   f"{didYouMean([self['discovery']], self.schemes)} "
                                   f"(known: {known})")
        if self["restock"] and ("seller" not in self["role"]
                                or self["data-dir"] is None):
            raise usage.UsageError("--restock sets a seller's stock in its data dir: "
                                   "it needs --role seller and --data-dir")
        if self["no-quic"] and self["quic-peer"]:
            raise usage.UsageError("--quic-peer reaches a node over QUIC: not with "
                                   "--no-quic")
        if self["no-quic"] and self["quic-port"] is not None:
            raise usage.UsageError("--no-quic serves no QUIC: give it or --quic-port, "
                                   "not both")
        if self["give-up-after"] is not None and "buyer" not in self["role"]:
            raise Misplaced("give-up-after", "role", "buyer", self["role"])
        checkDataDir(self["data-dir"], "a node", (TRACKER_KEY_FILE, "a tracker's key",
                                                  "a tracker's state directory"))
        self.roles = [(self.roles_known[name],
                       self._configure(self.roles_known[name], "", "role"))
                      for name in self["role"]]
        roles = dict((plugin.name, settings) for plugin, settings in self.roles)
        _refuseOwnWants(roles)
        _refuseStateFolders(roles, self["data-dir"])
        _leaveOutTwistdFiles(roles, self.twistdFiles)
        scheme = self.schemes[self["discovery"]]
        self.scheme = (scheme, self._configure(scheme, f"--discovery {scheme.name}",
                                                  "discovery scheme"))
        for name in self._plugin_values:
            kind, owner = _OPTION_OWNERS[name]
            chosen = self["role"] if kind == "role" else [self["discovery"]]
            if owner not in chosen:
                raise Misplaced(name, kind, owner, chosen)


def _refuseOwnWants(roles):
    """
    A --want of what this node sells itself (a --sell item, or a file in
    its --share folder at start) is refused: a node buys from other
    nodes only, so it searched for ever (``--share D --downloads D
    --want F``, F in D).

    @param roles: role name -> its configured settings.
    """
    seller, buyer = roles.get("seller"), roles.get("buyer")
    if seller is None or buyer is None:
        return
    folder = seller.get("share")
    for item in buyer["wants"]:
        if item in seller["stock"]:
            raise usage.UsageError(f"--want {item}: this node sells it itself "
                                   f"(--sell {item}=...), and a node buys only from "
                                   "others")
        if (folder is not None and "/" not in item
                and os.path.isfile(os.path.join(folder, item))):
            raise usage.UsageError(f"--want {item}: this node holds it itself, in its "
                                   f"--share {folder}, and a node buys only from "
                                   "others")


def _refuseStateFolders(roles, data_dir):
    """
    A --share or --downloads folder that is this node's --data-dir, or
    holds a daemon's state, is refused (L{refusal}).

    @param roles: role name -> its configured settings.
    """
    for role, option in (("seller", "share"), ("buyer", "downloads")):
        folder = (roles.get(role) or {}).get(option)
        why = None if folder is None else refusal(option, folder, data_dir)
        if why is not None:
            raise usage.UsageError(f"--{option} {why}")


def _leaveOutTwistdFiles(roles, paths):
    """
    A --share folder holding the daemon's own log or pid file (``twistd
    --pidfile node.pid bazaar-node --share .``, in the background) leaves
    them out: it offered its twistd.log, hashed again at every line
    written, and its pid file to every buyer.

    @param paths: the files twistd writes (L{twistdFiles}).
    """
    seller = roles.get("seller") or {}
    folder = seller.get("share")
    if folder is None:
        return
    here = os.path.realpath(folder)
    own = frozenset(os.path.basename(path) for path in paths
                    if os.path.realpath(os.path.dirname(path)) == here)
    if own:
        seller["unshared"] = own


#: option name -> (kind, owner name), for every plugin option.
_OPTION_OWNERS = {}

#: --tracker's help, naming the endpoints of the transport plugins too.
_TRACKER_HELP = """Where a tracker is: HOST:PORT, or a client endpoint (tcp:HOST:PORT;
ssl: or tls: for TLS{more}).  Repeatable: the node registers with one
tracker at a time, the first that takes it, and moves on to the next
named when its tracker fails or refuses it (back to one named before
once it answers again).  [default: tcp:127.0.0.1:7700]."""


def _pluginOptionHelp(option, kind, owner):
    """
    A plugin option's --help text written as the node's own options are:
    a sentence naming its owner, then its default and the values it
    takes (``Seconds a unit stays reserved for a buyer (seller role).
    [default: 10.0]. Seconds, a positive number.``).
    """
    words = f"{option.help[:1].upper()}{option.help[1:]} ({owner} {kind})."
    default = option.default
    if isinstance(default, bool):
        default = "yes" if default else "no"
    if not (option.flag or option.repeatable or default is None):
        words += f" [default: {default}]."
    takes = getattr(option.parse, "coerceDoc", "")
    if takes and not option.flag:
        words += f" {takes[:1].upper()}{takes[1:]}"
    return words


def _pluginOptionHandler(option, kind, owner):
    if option.flag:
        def handler(self):
            self._plugin_values[option.name] = True
    else:
        def handler(self, text):
            self._setPluginValue(option, text)

    handler.__doc__ = _pluginOptionHelp(option, kind, owner)
    return handler


def _addPluginOptions(cls):
    """
    Give Options one ``opt_`` method per option of every installed role and
    scheme, so a new plugin brings its own flags without an edit here.
    """
    core = {row[0] for row in cls.optParameters} | {"role", "config", "verbose"} | set(
        cls.transportLists)
    for kind, plugin in _owners():
        for option in plugin.options:
            if option.name in core or option.name in _OPTION_OWNERS:
                clash = _OPTION_OWNERS.get(option.name, ("core", "the node"))
                raise PluginFault(f"--{option.name} of {described(plugin, kind)} is "
                                  f"already an option of {clash[1]} {clash[0]}: "
                                  "give it another name")
            _OPTION_OWNERS[option.name] = (kind, plugin.name)
            setattr(cls, "opt_" + option.name.replace("-", "_"),
                    _pluginOptionHandler(option, kind, plugin.name))
    cls.oneOrList = ("tracker", "tracker-key")
    cls.repeatable = ("role", "tracker", "tracker-key", "quic-peer") + cls.transportLists + (
        tuple(option.name for _, plugin in _owners() for option in plugin.options
              if option.repeatable))
    return cls


def _addTransports(cls, plugins):
    """Give Options each transport plugin's options, and its endpoints
    among --tracker's (a kind --tracker has already refused)."""
    refuseTakenKinds(plugins, TCP_OR_TLS)
    addTransportOptions(cls, plugins, "nodeOptions")
    cls.trackerKinds, more = trackerKinds(plugins)
    cls.trackerHelps = {kind: plugin.trackerHelp for plugin in plugins
                        for kind in plugin.trackerKinds}
    cls.opt_tracker = _trackerOption(_TRACKER_HELP.format(more=more))
    return cls


def _trackerOption(doc):
    """The handler of --tracker, its help (``doc``) naming the transports'
    endpoints."""

    def handler(self, text):
        self.addTracker(text)

    handler.__doc__ = doc
    return handler


_addTransports(Options, transportPlugins().values())
_addPluginOptions(Options)


def makeService(options, reactor=None):
    """The daemon's service, as its options say, on ``reactor`` (the
    global one, as twistd runs it; a test's)."""
    if reactor is None:
        from twisted.internet import reactor

    exitStatus = exitStatusFor(options, reactor, "twistd bazaar-node")
    beside = quicBesideItsTracker(options["quic-port"], options.trackers)
    if beside is not None:
        exitStatus.warn(beside)
    stopper = startStopping(options, reactor)
    freezeStart(options, reactor)
    # Files move through this process sealed and opened by the channel.
    tuneForStreaming()
    try:
        listen, trackers = nodeEndpoints(reactor, options["listen"],
                                         [t.endpoint for t in options.trackers])
        trackers = [hintedTracker(endpoint, address, options.trackerHelps)
                    for endpoint, address in zip(trackers, options.trackers)]
        said = []
        # A chord ring's puzzle makes the key for seconds: Ctrl-C then
        # ends the start in one line, leaving nothing it made.
        with interruptible():
            state = openState(reactor, options["data-dir"], keyRefusal(options.scheme),
                              lambda where: trackerPins(where, options["tracker-key"],
                                                        options.trackers, said),
                              _restocked(options), onFailure=exitStatus.fail, said=said)
    except StartupError as e:
        raise SystemExit(exitStatus.line(str(e)))
    except StartInterrupted as e:
        raise exitStatus.interrupted(e.signum, "opened its state and made its key") from None
    # What the data dir held is said once the start has succeeded: a
    # failed start removes a data dir it made, and says only why.
    for tell in said:
        exitStatus.whenStarted(tell)
    if state.lock is not None:
        # A start that fails once it holds --data-dir's lock (its port
        # taken, say) leaves there nothing it made: not the folder, if
        # new, nor its lock, key, pins or store; what was there before
        # stays.  (A start refused the lock removes nothing: the files
        # are another's.)
        exitStatus.undoOnFailedStart(state.lock.undo)
        # Until then a second node on the folder waits for this one,
        # whose start may be failing (store/lock.py).
        exitStatus.whenStarted(state.lock.started)
    site = NodeSite(listen, trackers, options["listen"],
                    [t.label for t in options.trackers], listenInterface(options["listen"]),
                    _trackerWays(options))
    service, parts, metrics = _served(reactor, options, state, site, exitStatus)
    service.membership.stopsWhen(lambda: stopper.stopping)
    if not options.roles:
        exitStatus.whenStarted(sayNoRole)
    _exitsWhenDone(reactor, options, service, parts, exitStatus)
    if metrics is not None:
        addMetrics(service, reactor, options, metrics, exitStatus)
    holdDataDir(reactor, service, state, parts.roles.get("seller"),
                buying="buyer" in parts.roles, onFailure=exitStatus.fail)
    return service


def _served(reactor, options, state, site, exitStatus):
    """The node's service, parts and metrics (None without --metrics),
    as its options say."""
    try:
        return serveNode(
            reactor, state, site, nodeConfig(options), options.scheme, options.roles,
            (options["retry-initial"], options["retry-max"]), exitStatus.fail,
            meter=NodeMetrics if options["metrics"] is not None else None,
            punch=not options["no-punch"], relay=_relay(reactor, options),
            port_mapping=not options["no-port-mapping"],
            quic=None if options["no-quic"] else (options["quic-port"] or 0,
                                                  options["quic-peer"]),
            transports=_transports(reactor, options, site, exitStatus),
            wayOut=wayOut(plugin for plugin, _ in transportValues(options)))
    except (ObsoleteObserver, PluginFault) as e:
        # A plugin written for an API the node no longer has, or one whose
        # build failed: its author's fix, said in one line rather than a
        # traceback.
        raise exitStatus.refusal(str(e)) from None


def _transports(reactor, options, site, exitStatus):
    """The makers of the node's transports of plugins, each for a node
    whose options turn it on."""
    kinds = {tracker.kind for tracker in options.trackers}
    made = (nodeMaker(plugin, reactor, values, site.interface, exitStatus.fail, kinds)
            for plugin, values in transportValues(options))
    return tuple(maker for maker in made if maker is not None)


def _trackerWays(options):
    """For each --tracker, the path its relay is dialled by when a
    transport plugin serves it where the node reaches the tracker (its
    C{trackerWay}, for a tracker reached at one of its endpoint kinds),
    else None."""
    plugins = [plugin for plugin, _ in transportValues(options)]
    return [trackerWay(plugins, tracker) for tracker in options.trackers]


def _exitsWhenDone(reactor, options, service, parts, exitStatus):
    """
    A buyer told to exit when done that cannot get a file it bought is
    not done: it exits GAVE_UP, saying why; with --give-up-after, one
    that has not got its wants by then gives up too.
    """
    roles = parts.roles
    fetcher = getattr(roles.get("buyer"), "fetcher", None)
    if fetcher is not None and roles["buyer"].exit_when_done:
        fetcher.onGaveUp = lambda why: exitStatus.fail(why, GAVE_UP)
    if options["give-up-after"] is not None:
        GiveUp(reactor, parts.node, roles["buyer"], options["give-up-after"],
               exitStatus.fail, " or ".join(t.label for t in options.trackers),
               wayOut(plugin for plugin, _ in transportValues(options)),
               (options["discovery"], sorted(set(options.schemes) - {options["discovery"]}))
               ).setServiceParent(service)


def _relay(reactor, options):
    """The node's relay as its --relay-* options say (its endpoint, on the
    interface of its --listen; its limits; how the user wrote it), or None
    with --relay-reservations 0."""
    if not options["relay-reservations"]:
        return None
    limits = attr.evolve(relays.NODE_LIMITS,
                         reservations=options["relay-reservations"],
                         circuits=options["relay-circuits"],
                         rate=options["relay-rate"])
    interface = listenInterface(options["listen"])
    endpoint = (TCP6ServerEndpoint if isIPv6Address(interface) else
                TCP4ServerEndpoint)(reactor, options["relay-port"], interface=interface)
    return endpoint, limits, f"--relay-port {options['relay-port']}"


def _restocked(options):
    """The seller's --sell stock with --restock (to write into the data
    dir before it opens), else None."""
    if not options["restock"]:
        return None
    [stock] = [settings["stock"] for plugin, settings in options.roles
               if plugin.name == "seller"]
    return stock
