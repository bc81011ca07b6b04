"""
What a link the node's table opens
(L{twisted_bazaar.net.overlay.Overlay.connectTo}) says of the peer when it
fails (L{dialFailure}): L{Unreachable}, or only L{NotConnected}.

Which way a link is dialled (a host, a relay, a punched path) is the
node's dialer's (L{twisted_bazaar.reach.dialer.Dialer}), which hands the
table its dial; whether the table may open one is its admission's.
"""

from twisted.internet.error import ConnectionClosed

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.net.reconnect import inWords

__all__ = ["NotConnected", "NoRoom", "Unreachable", "dialFailure"]


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


def dialFailure(reason, host, port):
    """
    What a dial that failed with ``reason`` says of the peer at host:port:
    L{Unreachable}, or only L{NotConnected} when something answered, then
    closed before the link came up (a relay that refused the circuit, all
    its circuits taken, say, says nothing of whether the peer listens).
    Its reason is in the project's words (L{inWords}), not Twisted's.
    """
    why = f"{hostPort(host, port)}: {inWords(reason)}"
    if reason.check(ConnectionClosed):
        return NotConnected(why)
    return Unreachable(why)

