"""
What a link the node's table opens
(L{twisted_bazaar.net.overlay.Overlay.connectTo}) says of the peer when it
fails (L{dialFailure}): L{Unreachable}, L{NoRoute}, or only
L{NotConnected}.

Which way a link is dialled (a host, a relay, a punched path) is the
node's dialer's (L{twisted_bazaar.reach.dialer.Dialer}), which hands the
table its dial; whether the table may open one is its admission's.
"""

import errno

from twisted.internet.error import ConnectError, ConnectionClosed
from twisted.python.failure import Failure

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.net.reconnect import inWords

__all__ = ["NoRoom", "NoRoute", "NotConnected", "Unreachable", "dialFailure"]


class NotConnected(Exception):
    """A link to the peer could not be made or did not finish its handshake."""


class NoRoom(NotConnected):
    """This node refused its own dial before it went out (no slot of its
    purpose free): nothing was tried, so nothing of the peer's path is
    learnt."""


class Unreachable(NotConnected):
    """Not even a connection could be made: nothing listens at the peer's
    address (unlike a peer, or a relay in front of it, that answers, then
    refuses the link)."""


class NoRoute(NotConnected):
    """This machine has no way to the peer's address: no route to its
    network, or none of its family (an IPv6-only node and an IPv4
    address).  It says nothing of the peer, which may listen there for
    others: a buy goes along its search's path instead
    (L{twisted_bazaar.roles.buyer.sending})."""


#: A dial's errno that says this machine cannot send there at all.
_NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT})


def _noRoute(reason):
    """Whether reason says this machine cannot send to the address (a
    transport's own failure says so with a true ``noRoute``; an
    endpoint's may wrap the failure it had)."""
    if getattr(reason.value, "noRoute", False):
        return True
    if not reason.check(ConnectError):
        return False
    cause = reason.value.osError
    if isinstance(cause, Failure):
        return _noRoute(cause)
    return cause in _NO_ROUTE


def dialFailure(reason, host, port):
    """
    What a dial that failed with ``reason`` says of the peer at host:port:
    L{Unreachable}, L{NoRoute} when this machine cannot send there, or
    only L{NotConnected} when something answered, then closed before the
    link came up (a relay that refused the circuit, all its circuits
    taken, say, says nothing of whether the peer listens).
    Its reason is in the project's words (L{inWords}), not Twisted's.
    """
    why = f"{hostPort(host, port)}: {inWords(reason)}"
    if reason.check(ConnectionClosed):
        return NotConnected(why)
    if _noRoute(reason):
        return NoRoute(why)
    return Unreachable(why)

