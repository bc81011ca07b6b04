"""
Which of a node's parts takes each message type: the one way a message
goes to its handler, on a node's links, on its tracker session, and in
the tracker.

A part declares what it takes once, in its class: a table from message
class to a function called (part, link, message), as
L{twisted_bazaar.events.INodeEvents.delivers} is.  Its owner adds
the part (L{Handlers.addPart}), and hands each message to
L{Handlers.dispatch}.  A handler registered alone
(L{Handlers.add}: a bound method, or a closure called (link, message))
is taken too: the form the simulator's adversaries use to stand in for
a node's own handler (L{twisted_bazaar.sim.adversaries}).
A table of bound methods on every node was about 1.5 kB of a simulated
chord node (14 handlers, a method object each, and their dict): a
million nodes held 1.5 GB of the same few tables.  So a node holds its
parts (the objects whose methods handle, a few) and a L{HandlerTable}
that maps a type to the function and the index of the part it is
called on; nodes whose parts registered the same functions in the same
order share one table.  A handler that is not a bound method (a closure)
is held as a part of its own and called as it is.
"""

from types import MethodType

from twisted.logger import Logger, LogLevel

from twisted_bazaar.base.blame import moduleOf, why

_log = Logger()


class HandlerTable:
    """
    message class -> (function, index of its part); function None: the
    part is the handler.  Never changed once made: L{with_} gives the
    table with one entry more, made once for all the nodes that add it.
    """

    __slots__ = ("entries", "_next")

    def __init__(self, entries=None):
        self.entries = entries or {}
        #: (message class, function, index) -> the table with that entry
        #: added, as made the first time a node added it here.
        self._next = {}

    def with_(self, kind, function, index):
        """This table with kind handled by function on part index (the
        same table object for every node that asks)."""
        key = (kind, function, index)
        table = self._next.get(key)
        if table is None:
            entries = dict(self.entries)
            entries[kind] = (function, index)
            table = self._next[key] = HandlerTable(entries)
        return table

    def replacing(self, kind, function, index):
        """A table of this one's entries and kind's replaced, for this
        node alone (a simulated adversary changes what its parts do)."""
        entries = dict(self.entries)
        entries[kind] = (function, index)
        return HandlerTable(entries)


#: The table of a node no part has registered with yet.
EMPTY = HandlerTable()


class Handlers:
    """
    One node's handlers: the shared L{HandlerTable} and the node's own
    parts it calls.
    """

    __slots__ = ("table", "parts")

    def __init__(self):
        self.table = EMPTY
        self.parts = ()

    def __contains__(self, kind):
        return kind in self.table.entries

    def add(self, kind, handler, replace=False):
        """
        Have handler(link, message) take kind.

        @param replace: take the place of kind's handler; without it, a
            type that has one already is refused.
        @raise ValueError: if kind has a handler and replace is false.
        """
        if kind in self.table.entries and not replace:
            raise ValueError(f"{kind.TYPE} has a handler already")
        if type(handler) is MethodType:
            function, part = handler.__func__, handler.__self__
        else:
            function, part = None, handler
        index = self._indexOf(part)
        if kind in self.table.entries:
            self.table = self.table.replacing(kind, function, index)
        else:
            self.table = self.table.with_(kind, function, index)

    def addPart(self, part, table=None):
        """
        Have part take every type of its class's table (``table``, by
        default its C{takes}): message class -> function(part, link,
        message).

        @raise ValueError: if one of the types has a handler already
            (none of the part's is then added).
        """
        table = type(part).takes if table is None else table
        for kind in table:
            if kind in self.table.entries:
                raise ValueError(f"{kind.TYPE} has a handler already")
        index = self._indexOf(part)
        for kind, function in table.items():
            self.table = self.table.with_(kind, function, index)

    def _indexOf(self, part):
        for index, known in enumerate(self.parts):
            if known is part:
                return index
        self.parts += (part,)
        return len(self.parts) - 1

    def dispatch(self, kind, link, message):
        """Call kind's handler with link and message; False if kind has
        none."""
        entry = self.table.entries.get(kind)
        if entry is None:
            return False
        function, index = entry
        part = self.parts[index]
        try:
            if function is None:
                part(link, message)
            else:
                function(part, link, message)
        except Exception as e:
            _raised(part, function, link, message, e)
        return True


def _raised(part, function, link, message, error):
    """
    A handler raised (a plugin's bug, most likely): say so in one line
    naming it and its file, the traceback a debug line (-v), and drop
    the message.  The link stays: its peer sent nothing wrong, and an
    exception let through would end the connection as the peer's fault
    (or, in a simulation, the whole run).
    """
    handler = part if function is None else function
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    _log.failure("the traceback of {handler}", handler=name, level=LogLevel.debug)
    said = dict(fault=f"{name} ({moduleOf(part)})", type=message.TYPE, why=why(error))
    format = ("{fault} raised on a {type} from {peer}: {why}; the message is dropped, "
              "the link kept (-v logs its traceback)")
    link.peerLine(LogLevel.error, format, _log, **said)
