"""
Command-line options and ``makeService`` for the twistd plugins
``bazaar-tracker`` and ``bazaar-node``.

This is the one place that reaches for the global reactor: everything it
builds takes the reactor as a parameter.
"""

import os
import random
import sys

from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.logger import Logger
from twisted.python import usage

from twisted_bazaar import wire
from twisted_bazaar.config import ConfigError, configArgs, splitConfig
from twisted_bazaar.discovery import discoveryPlugins
from twisted_bazaar.link import (
    DEFAULT_ERROR_LIMIT,
    DEFAULT_FRAME_LIMIT,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_PING_INTERVAL,
    DEFAULT_PING_RATE,
    DEFAULT_SEARCH_RATE,
    DEFAULT_WRITE_LIMIT,
    LinkSettings,
)
from twisted_bazaar.node import (
    DEFAULT_HANDSHAKE_LIMIT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_NEIGHBOURS,
    Node,
    NodeConfig,
)
from twisted_bazaar.parsing import bounded_int, rate, seconds
from twisted_bazaar.roles import rolePlugins
from twisted_bazaar.service import EndpointConnector, NodeService, trackerService
from twisted_bazaar.store import StoreError, openStore
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT, Tracker

DEFAULT_TRACKER = f"tcp:127.0.0.1:{DEFAULT_TRACKER_PORT}"
log = Logger()



def _param(name, default, help, parse=None):
    """An optParameters row whose bad values are reported with the flag's
    name (twistd's own message leaves it out)."""
    if parse is None:
        return [name, None, default, help]

    def coerce(text):
        try:
            return parse(text)
        except ValueError as e:
            raise ValueError(f"--{name}: {e}")

    coerce.coerceDoc = parse.coerceDoc
    return [name, None, default, help, coerce]


_COMMON_PARAMETERS = [
    _param("handshake-timeout", DEFAULT_HANDSHAKE_TIMEOUT,
           "Seconds a new connection may take to say thisisme.", seconds),
    _param("ping-interval", DEFAULT_PING_INTERVAL,
           "Seconds of silence before a link is pinged; 3 silent intervals "
           "close it.", seconds),
    _param("frame-limit", DEFAULT_FRAME_LIMIT,
           "Largest message, in bytes, accepted or sent.", bounded_int(1024, 10**8)),
    _param("error-limit", DEFAULT_ERROR_LIMIT,
           "Bad messages a peer may send in a minute before it is cut off.",
           bounded_int(1, 10**6)),
    _param("search-rate", DEFAULT_SEARCH_RATE,
           "Searches a second accepted from one peer (bursts to twice that); "
           "the excess is dropped.", rate),
    _param("ping-rate", DEFAULT_PING_RATE,
           "Pings a second answered for one peer (bursts to twice that); the "
           "excess is dropped.", rate),
    _param("write-limit", DEFAULT_WRITE_LIMIT,
           "Bytes that may wait for a peer that does not read before its link "
           "is dropped.", bounded_int(1024, 10**9)),
]


class _DaemonOptions(usage.Options):
    """
    Options shared by both daemons: bad flags end in a one-line error, and
    several daemons may run in one folder (no shared ``twistd.pid``).
    """

    optFlags = [["verbose", "v", "Log every message sent and received."]]
    #: Options that may be given many times (lists in a config file).
    repeatable = ()

    def opt_config(self, path):
        """A TOML file of options, keyed by their long names; flags given on
        the command line win."""

    def parseOptions(self, options=None):
        if options is None:
            options = sys.argv[1:]
        try:
            try:
                path, rest = splitConfig(options)
                if path is not None:
                    takes_value = {name.rstrip("=") for name in self.longOpt
                                   if name.endswith("=")} - {"config"}
                    flags = {name for name in self.longOpt
                             if not name.endswith("=")} - {"help", "version"}
                    rest = configArgs(path, takes_value, flags, self.repeatable,
                                      rest) + rest
            except ConfigError as e:
                raise usage.UsageError(str(e))
            super().parseOptions(rest)
        except usage.UsageError as e:
            if self.parent is None:
                raise
            e = str(e).replace("Parameter type enforcement failed: ", "")
            name = self.parent.subCommand
            sys.stderr.write(f"twistd {name}: error: {e} "
                             f"(see twistd {name} --help)\n")
            raise SystemExit(2)

    def postOptions(self):
        parent = self.parent
        if parent is not None and parent.get("pidfile") == "twistd.pid":
            # twistd's default pid file would stop a second daemon in the
            # same folder; these daemons need none unless asked.
            parent["pidfile"] = ""

    def linkSettings(self):
        return LinkSettings(
            frame_limit=self["frame-limit"],
            handshake_timeout=self["handshake-timeout"],
            ping_interval=self["ping-interval"],
            error_limit=self["error-limit"],
            search_rate=self["search-rate"],
            ping_rate=self["ping-rate"],
            write_limit=self["write-limit"],
            verbose=bool(self["verbose"]),
        )


class TrackerOptions(_DaemonOptions):
    """twistd bazaar-tracker [options]"""

    synopsis = "[options]"
    longdesc = ("Run the bazaar tracker: it gives joining nodes their ids and "
                "introduces them to each other.")
    optParameters = [
        _param("listen", f"tcp:{DEFAULT_TRACKER_PORT}",
               "Endpoint to listen on (a Twisted endpoint string)."),
    ] + _COMMON_PARAMETERS


def makeTrackerService(options):
    from twisted.internet import reactor

    try:
        endpoint = serverFromString(reactor, options["listen"])
    except (ValueError, TypeError) as e:
        raise SystemExit(f"twistd bazaar-tracker: error: --listen: {e}")
    tracker = Tracker(reactor, random.Random(), options.linkSettings())
    return trackerService(reactor, tracker, endpoint)


class NodeOptions(_DaemonOptions):
    """twistd bazaar-node --role ROLE [role options] [options]"""

    repeatable = ("role",) + tuple(option.name for plugin in rolePlugins().values()
                                   for option in plugin.options if option.repeatable)

    synopsis = "--role ROLE [options]"
    optParameters = [
        _param("tracker", DEFAULT_TRACKER, "Endpoint of the tracker."),
        _param("listen", "tcp:0", "Endpoint to listen on for peers (tcp:0: any "
               "free port)."),
        _param("host", "", "Host name or address peers should use to reach this "
               "node (default: the address the tracker is reached from)."),
        _param("neighbours", DEFAULT_NEIGHBOURS, "Peers to stay linked to.",
               bounded_int(0, 1000)),
        _param("max-connections", DEFAULT_MAX_CONNECTIONS,
               "Most links this node accepts.", bounded_int(1, 10000)),
        _param("handshake-limit", DEFAULT_HANDSHAKE_LIMIT,
               "Connections one address may hold open before saying thisisme; "
               "more get noslots.", bounded_int(1, 10000)),
        _param("ttl", wire.DEFAULT_TTL, "Hop limit of the searches this node "
               "starts.", bounded_int(1, wire.MAX_TTL)),
        _param("discovery", "flood", "How buyers find offers and sellers get found: "
               "a discovery scheme (see below)."),
        _param("data-dir", None, "Directory for the node's durable state (id, "
               "inventory, ledger, bag, pending buys); without it, state lives in "
               "memory and is lost on exit."),
    ] + _COMMON_PARAMETERS

    def __init__(self):
        self.plugins = rolePlugins()
        self.schemes = discoveryPlugins()
        self["role"] = []
        self._role_values = {}
        super().__init__()
        roles = "; ".join(f"{name} ({plugin.description})"
                          for name, plugin in sorted(self.plugins.items()))
        schemes = "; ".join(f"{name} ({plugin.description})"
                            for name, plugin in sorted(self.schemes.items()))
        self.longdesc = (f"Run a bazaar node.  Roles: {roles}.  A node may carry "
                         f"several roles.  Discovery schemes: {schemes}.")

    def opt_role(self, name):
        """A role for this node (repeatable): see the roles named below."""
        if name not in self.plugins:
            known = ", ".join(sorted(self.plugins))
            raise usage.UsageError(f"unknown role {name!r} (known roles: {known})")
        if name not in self["role"]:
            self["role"].append(name)

    def _setRoleValue(self, plugin, option, text):
        try:
            value = option.parse(text)
        except ValueError as e:
            raise usage.UsageError(f"--{option.name}: {e}")
        if option.repeatable:
            self._role_values.setdefault(option.name, []).append(value)
        else:
            self._role_values[option.name] = value

    def postOptions(self):
        super().postOptions()
        if self["discovery"] not in self.schemes:
            known = ", ".join(sorted(self.schemes))
            raise usage.UsageError(f"unknown discovery scheme {self['discovery']!r} "
                                   f"(known: {known})")
        data_dir = self["data-dir"]
        if data_dir is not None and os.path.exists(data_dir) and not os.path.isdir(
                data_dir):
            raise usage.UsageError(f"--data-dir {data_dir} is not a directory")
        if not self["role"]:
            raise usage.UsageError("say which role this node plays: --role "
                                   + " or --role ".join(sorted(self.plugins)))
        self.roles = []
        for name in self["role"]:
            plugin = self.plugins[name]
            config = {}
            for option in plugin.options:
                default = [] if option.repeatable else option.default
                config[option.name] = self._role_values.get(option.name, default)
            try:
                self.roles.append((plugin, plugin.configure(config)))
            except ValueError as e:
                raise usage.UsageError(str(e))
        owned = {o.name: p.name for p in self.plugins.values() for o in p.options}
        for name in self._role_values:
            if owned[name] not in self["role"]:
                raise usage.UsageError(f"--{name} belongs to the {owned[name]} role; "
                                       f"add --role {owned[name]}")


def _roleOptionHandler(plugin, option):
    def handler(self, text):
        self._setRoleValue(plugin, option, text)

    default = "" if option.repeatable else f" [default: {option.default}]"
    handler.__doc__ = f"{option.help} ({plugin.name} role){default}"
    return handler


def _addRoleOptions(cls):
    """
    Give NodeOptions one ``opt_`` method per option of every installed role,
    so a new role brings its own flags without an edit here.
    """
    for plugin in rolePlugins().values():
        for option in plugin.options:
            setattr(cls, "opt_" + option.name.replace("-", "_"),
                    _roleOptionHandler(plugin, option))
    return cls


_addRoleOptions(NodeOptions)


def makeNodeService(options):
    from twisted.internet import reactor

    flag = "--listen"
    try:
        listen = serverFromString(reactor, options["listen"])
        flag = "--tracker"
        tracker = clientFromString(reactor, options["tracker"])
    except (ValueError, TypeError) as e:
        raise SystemExit(f"twistd bazaar-node: error: {flag}: bad endpoint: {e}")
    config = NodeConfig(
        host=options["host"],
        neighbours=options["neighbours"],
        max_connections=options["max-connections"],
        handshake_limit=options["handshake-limit"],
        ttl=options["ttl"],
        link=options.linkSettings(),
    )
    try:
        store = openStore(options["data-dir"], reactor)
    except StoreError as e:
        raise SystemExit(f"twistd bazaar-node: error: --data-dir: {e}")
    if not store.durable:
        log.info("no --data-dir: this node's state lives in memory and is lost "
                 "when it stops")
    node = Node(reactor, random.Random(), EndpointConnector(reactor), config, store)
    options.schemes[options["discovery"]].build(node)
    for plugin, settings in options.roles:
        plugin.build(node, settings)
    return NodeService(reactor, node, listen, tracker)
