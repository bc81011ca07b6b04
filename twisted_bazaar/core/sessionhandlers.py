"""
What the parts of a node have its tracker session do with the messages
and errors the session does not take itself
(L{twisted_bazaar.core.membership.Membership}): a part of the session
with its own state, made when a part first registers (most simulated
nodes never do).

A part declares what it takes of the tracker once, in its class, as it
declares what it takes on its links (L{twisted_bazaar.net.handlers}): a
table C{fromTracker}, message class -> function(part, link, message),
the link the tracker link.  Nodes whose parts registered the same share
one table.
"""

from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.net.handlers import Handlers


class SessionParts(Handlers):
    """
    The handlers parts register on a tracker session: its messages by
    type (a L{Handlers}), and its errors by code (L{errors}).

    @ivar owned: the types the session takes itself, which no part may.
    """

    __slots__ = ("errors", "owned")

    def __init__(self, owned):
        super().__init__()
        #: error code -> (handler(error), after the error is logged;
        #: routine(error) or None, L{routine}).
        self.errors = NOTHING
        self.owned = owned

    def takeFrom(self, part, table=None):
        """
        Have part take the messages of its class's C{fromTracker} table
        (or ``table``: message class -> function(part, link, message)) from
        the tracker once it named the node (a scheme's answers, the
        reservation service's relay messages).  The same part again (a
        scheme registers its own on each registration) changes nothing.

        @raise ValueError: if one of the types has another handler, or is
            one the session takes itself.
        """
        table = type(part).fromTracker if table is None else table
        index = next((index for index, known in enumerate(self.parts)
                      if known is part), None)
        if index is not None and all(self.table.entries.get(kind) == (function, index)
                                     for kind, function in table.items()):
            return
        self._refuseOwned(table)
        self.addPart(part, table)

    def _refuseOwned(self, kinds):
        for kind in kinds:
            if kind in self.owned:
                raise ValueError(f"{kind.TYPE} from the tracker has a handler already")

    def erred(self, error):
        """The tracker's ``error``, logged: to the handler of its code."""
        handlers = self.errors.get(error.code)
        if handlers is not None:
            handlers[0](error)

    def routine(self, error):
        """Whether the part that takes ``error`` says it is one it gets
        over by itself (asked again in a moment): its line is a debug one."""
        handlers = self.errors.get(error.code)
        return handlers is not None and handlers[1] is not None and handlers[1](error)

    def handleError(self, code, handler, routine=None):
        """
        Have ``handler(error)`` take the tracker's ``error`` of this code
        once it is logged (the reservation service's ``norelay``), and
        ``routine(error)``, if given, say whether the part gets over it by
        itself (L{routine}).

        @raise ValueError: if the code has another handler already.
        """
        known = self.errors.get(code)
        if known is not None and known != (handler, routine):
            raise ValueError(f"error {code} from the tracker has a handler already")
        own(self, "errors")[code] = (handler, routine)
