"""
The options every installed transport plugin brings to a daemon
(L{addTransportOptions}), and the values each was given
(L{transportValues}): the daemons' options read them from the plugins
(L{twisted_bazaar.transports.plugin.ITransportPlugin}) and name no
transport, so a new one adds its flags, its --help section and its
``--config`` keys without an edit here.
"""

from functools import partial

import attr
from twisted.python import usage
from zope.interface.exceptions import Invalid
from zope.interface.verify import verifyObject

from twisted_bazaar.base.blame import why
from twisted_bazaar.daemon.pluginfault import PluginFault, described
from twisted_bazaar.tap.common import badValue, param
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.path import DIRECT, KINDS, RELAYED, UDP

__all__ = ["addTransportOptions", "checkTransportValues", "nodeMaker", "pluginCall",
           "refuseTakenKinds", "transportValues", "trackerKinds"]


def addTransportOptions(cls, plugins, which):
    """
    Give the daemon's Options class ``cls`` each plugin's options
    (``which``: its ``nodeOptions`` or ``trackerOptions``): one that takes
    a value is a parameter (its value, or its default, under its name),
    a repeatable one a list under its name, a flag a flag; each plugin's
    in a --help section of its own (``cls.transportGroups``).

    @raise ValueError: an option of a plugin is one the daemon has.
    """
    parameters, flags = list(cls.optParameters), list(cls.optFlags)
    taken = {row[0] for row in parameters + flags} | {
        name[4:].replace("_", "-") for name in dir(cls) if name.startswith("opt_")}
    groups, lists, owners = [], [], []
    for plugin in sorted(plugins, key=lambda plugin: plugin.name):
        options = getattr(plugin, which)
        for option in options:
            if option.name in taken:
                raise ValueError(f"--{option.name} of the {plugin.name} transport is "
                                 "already an option of the daemon")
            taken.add(option.name)
            if option.flag:
                flags.append([option.name, None, option.help])
            elif option.repeatable:
                setattr(cls, "opt_" + option.name.replace("-", "_"), _listed(option))
                lists.append(option.name)
            else:
                parameters.append(param(option.name, option.default, option.help,
                                        None if option.parse is str else option.parse))
        if options:
            groups.append((f"The {plugin.name} transport",
                           tuple(option.name for option in options), ""))
        owners.append((plugin, tuple(option.name for option in options)))
    cls.optParameters, cls.optFlags = parameters, flags
    cls.repeatable = tuple(cls.repeatable) + tuple(lists)
    cls.transportLists = tuple(lists)
    cls.transportGroups = groups
    cls.transportOwners = tuple(owners)
    return cls


def _listed(option):
    """The handler of a repeatable option: each value parsed, in a list."""

    def handler(self, text):
        try:
            value = option.parse(text)
        except ValueError as e:
            raise usage.UsageError(badValue(option.name, text, e))
        self[option.name].append(value)

    handler.__doc__ = f"{option.help}. Repeatable."
    return handler


def transportValues(options):
    """(plugin, option name -> value) of each transport plugin, as the
    daemon's options were given."""
    return [(plugin, {name: options[name] for name in names})
            for plugin, names in options.transportOwners]


def checkTransportValues(options):
    """Refuse, as a usage error, values of a plugin's options that cannot
    work together, by the plugin's optional C{checkValues}."""
    for plugin, values in transportValues(options):
        check = getattr(plugin, "checkValues", None)
        if check is not None:
            try:
                check(values)
            except ValueError as e:
                raise usage.UsageError(str(e)) from None
            except Exception as e:
                # A bug of the plugin's, not a value the user gave: say whose.
                raise usage.UsageError(f"{described(plugin, 'transport')} failed to "
                                       f"check its options (checkValues raised "
                                       f"{why(e)})") from None


def pluginCall(plugin, doing, call, *args, **kwargs):
    """
    What ``call``, one of plugin's methods or what it made, gives.

    @raise PluginFault: naming the plugin and its file, and what it was
        ``doing``, if the call raised: a transport's bug said in one line,
        as a role's or a scheme's build is, not a traceback of the daemon.
    """
    try:
        return call(*args, **kwargs)
    except Exception as e:
        raise PluginFault(f"{described(plugin, 'transport')} failed to {doing}: "
                          f"{why(e)}") from e


def nodeMaker(plugin, reactor, values, interface, onFailure, trackerKinds):
    """
    plugin's C{nodeTransport} maker for a node (None when its options
    leave it off), whose faults, as the node is built and served, are
    plugin's L{PluginFault}: a daemon's or C{bazaar buy}'s one line.
    """
    maker = pluginCall(plugin, _MAKE, plugin.nodeTransport, reactor, values, interface,
                       onFailure, trackerKinds=trackerKinds)
    return None if maker is None else _told(plugin, maker)


#: What a transport plugin does as a node is made, and served, as its fault says.
_MAKE = "make the node's transport"
_SERVE = "serve the node's transport"


def _told(plugin, maker):
    """maker, whose fault, as the node is built, is plugin's PluginFault:
    one that raises, or makes what has no C{transport} or C{serve} (which
    serveNode reads next), or whose C{serve} raises."""

    def made(channel, peerLog):
        each = pluginCall(plugin, _MAKE, maker, channel, peerLog)
        lacks = [name for name in ("transport", "serve") if not hasattr(each, name)]
        if lacks:
            raise PluginFault(f"{described(plugin, 'transport')} failed to {_MAKE}: "
                              f"it made {type(each).__name__}, which has no "
                              f"{' and no '.join(lacks)}")
        wrong = _wrongTransport(each.transport)
        if wrong:
            raise PluginFault(f"{described(plugin, 'transport')} failed to {_MAKE}: "
                              f"its transport, {type(each.transport).__name__}, {wrong}")
        return _Served(each.transport, partial(pluginCall, plugin, _SERVE, each.serve))

    return made


def _wrongTransport(transport):
    """Why the node's table of transports
    (L{twisted_bazaar.transports.table.Transports}) would refuse a
    plugin's transport, a traceback once the node is built; or None."""
    try:
        verifyObject(ITransport, transport)
    except Invalid:
        return "is no ITransport"
    if transport.kind not in KINDS:
        return f"is of kind {transport.kind!r}, which no package registers"
    if transport.kind in (DIRECT, RELAYED, UDP):
        return f"is of kind {transport.kind!r}, which is the node's own"
    return None


@attr.s(frozen=True)
class _Served:
    """What serveNode reads of a plugin's made transport: its
    C{transport}, and its C{serve}, whose fault is the plugin's
    PluginFault (a traceback before)."""

    transport = attr.ib()
    serve = attr.ib()


def refuseTakenKinds(plugins, own):
    """
    Refuse a plugin whose C{trackerKinds} names a kind of --tracker the
    daemon has already (``own``: TCP's and TLS's) or another plugin
    names: which of the two a --tracker of that kind reaches the tracker
    by, is told of and is hinted by would be a guess.

    @raise PluginFault: naming the plugin and its file.
    """
    owners = {}
    for plugin in sorted(plugins, key=lambda plugin: plugin.name):
        for kind in plugin.trackerKinds:
            if kind in own:
                taken = "the node has already"
            elif kind in owners:
                taken = f"{described(owners[kind], 'transport')} names too"
            else:
                owners[kind] = plugin
                continue
            raise PluginFault(f"{described(plugin, 'transport')} names --tracker's "
                              f"endpoint kind {kind!r} in its trackerKinds, which "
                              f"{taken}: give it another")


def trackerKinds(plugins):
    """The client endpoint kinds a node's --tracker takes over the
    transports of plugins, and how its help names them."""
    plugins = sorted(plugins, key=lambda plugin: plugin.name)
    return (tuple(kind for plugin in plugins for kind in plugin.trackerKinds),
            "".join(f"; {plugin.trackerHelp}" for plugin in plugins
                    if plugin.trackerHelp))
