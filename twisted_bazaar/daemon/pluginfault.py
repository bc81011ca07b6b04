"""
A plugin's own mistake, told in one line that names the plugin, so that
whoever wrote it knows what to fix: a plugin module that cannot be
imported, two plugins of one name, a plugin that lacks what its interface
asks, or one whose C{configure} or C{build} raised or built the wrong
kind of object.  The daemons say it and exit, rather than show a
traceback of their own code or run on without the plugin.
"""

from zope.interface.exceptions import BrokenImplementation, BrokenMethodImplementation

from twisted_bazaar.base.blame import moduleOf


class PluginFault(Exception):
    """A plugin cannot be used as it is: ``str`` is the one line saying
    which and why."""


def described(plugin, kind):
    """The words naming plugin (one that provides its interface: it has
    its ``name``), a ``kind`` (role, discovery scheme...) of plugin, and
    the file it came from: what its author looks for."""
    return f"the {kind} plugin {plugin.name!r} ({moduleOf(plugin)})"


def placed(plugin, kind):
    """The words naming a plugin that may lack even its ``name``: its
    class and its file."""
    return f"the {kind} plugin {type(plugin).__name__} ({moduleOf(plugin)})"


def _shortName(dotted):
    """The last part of an interface member's dotted name."""
    return str(dotted).rsplit(".", 1)[-1]


#: What each kind of zope fault says, in short.
_SAID = {
    BrokenImplementation: lambda fault: f"it has no {_shortName(fault.name)}",
    BrokenMethodImplementation: lambda fault: (
        f"its {fault.method.__name__}{fault.method.getSignatureString()} {fault.mess}"),
}


def lacking(invalid):
    """What a zope C{Invalid} from C{verifyObject} says is missing or
    wrong, in short: each attribute or method by its name."""
    faults = getattr(invalid, "exceptions", None) or (invalid,)
    return "; ".join(
        _SAID.get(type(fault), lambda fault: " ".join(str(fault).split()))(fault)
        for fault in faults)

