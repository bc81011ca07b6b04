"""
What the parts of a node have its tracker session do with the messages
and errors the session does not take itself
(L{twisted_bazaar.core.membership.Membership}): one table of each, the
shared empty one until a part registers a handler (most simulated nodes
never do).
"""

from twisted_bazaar.base.sparing import NOTHING, own


class SessionHandlers:
    """
    The handlers parts register on a tracker session.

    @cvar owned: the message types the session takes itself, which no
        part may take.
    """

    owned = NOTHING
    #: type -> handler(message), registered by parts (L{handle}).
    _handlers = NOTHING
    #: error code -> handler(error), after the error is logged.
    _errors = NOTHING

    def handle(self, message_type, handler):
        """
        Have ``handler(message)`` take this type of message from the
        tracker once it named the node (a scheme's answers, the
        reservation service's relay messages).  The same handler again
        (a scheme registers its own on each registration) changes
        nothing.

        @raise ValueError: if the type has another handler already.
        """
        known = self._handlers.get(message_type)
        if message_type in self.owned or (known is not None and known != handler):
            raise ValueError(f"{message_type.TYPE} from the tracker has a handler "
                             "already")
        own(self, "_handlers")[message_type] = handler

    def handleError(self, code, handler):
        """
        Have ``handler(error)`` take the tracker's ``error`` of this code
        once it is logged (the reservation service's ``norelay``).

        @raise ValueError: if the code has another handler already.
        """
        known = self._errors.get(code)
        if known is not None and known != handler:
            raise ValueError(f"error {code} from the tracker has a handler already")
        own(self, "_errors")[code] = handler
