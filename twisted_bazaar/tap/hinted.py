"""
A tracker reached over a transport plugin's own endpoint kind
(``--tracker KIND:HOST:PORT``) whose port speaks something else (the
tracker's ``--listen`` port, say) fails every try the same way, in the
transport's words, and the node tries again for ever: L{HintedEndpoint}
ends each failure's reason with what such an address must name, so the
log says what to check.
"""

from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectError
from twisted.internet.interfaces import IStreamClientEndpoint
from zope.interface import implementer

from twisted_bazaar.base.address import ENDPOINT_KINDS, splitEndpoint
from twisted_bazaar.net.reconnect import inWords


class HintedConnectError(ConnectError):
    """A failure to connect, its reason and a hint in one line."""

    def __str__(self):
        return self.args[0]


@implementer(IStreamClientEndpoint)
class HintedEndpoint:
    """A client endpoint whose failures to connect say ``hint`` after
    their reason."""

    def __init__(self, endpoint, hint):
        self._endpoint = endpoint
        self.hint = hint

    def connect(self, factory):
        return self._endpoint.connect(factory).addErrback(self._hinted)

    def _hinted(self, failure):
        if failure.check(CancelledError):
            return failure  # the connection was called off: no failure to explain
        if getattr(failure.value, "saysWayOut", False):
            return failure  # its reason names the way out already
        raise HintedConnectError(string=f"{inWords(failure)} ({self.hint})")


def hintedTracker(endpoint, address, kinds):
    """
    The client endpoint of a tracker, its failures hinted when its
    address is of a transport's kind (L{HintedEndpoint}); as it is for
    TCP and TLS, whose reasons say enough.

    @param address: the tracker's L{twisted_bazaar.base.address.Address}.
    @param kinds: kind -> how --tracker's help names its endpoints
        (``KIND:HOST:PORT for its ... port``: L{ITransportPlugin}'s
        C{trackerHelp}).
    """
    kind = splitEndpoint(address.endpoint)[0].lower()
    if kind in ENDPOINT_KINDS or not kinds.get(kind):
        return endpoint
    return HintedEndpoint(endpoint, f"is {address.port} the tracker's port for "
                                    f"{kind}:? --tracker {kinds[kind]}")
