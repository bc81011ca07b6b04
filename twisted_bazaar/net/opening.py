"""
How a node's link table opens a link (L{Opening}, a mixin of
L{twisted_bazaar.net.overlay.Overlay}): a link dialled to a peer, its
handshake finished before it is handed out (L{Opening.connectTo}), or
one for a connection punched to the peer of a relayed link
(L{Opening.punchedLink}); and what a failed dial says of the peer
(L{dialFailure}: L{Unreachable}, or only L{NotConnected}).

Which way a link is dialled (a host, a relay, a punched path) is the
node's dialer's (L{twisted_bazaar.reach.dialer.Dialer}), which hands the
table its dial; whether the table may open one is its admission's.  A
mixin, not a part the table holds, as L{twisted_bazaar.net.linkviews}
is.
"""

from twisted.internet import defer
from twisted.internet.error import ConnectionClosed

from twisted_bazaar.net.greeting import OVERLAY
from twisted_bazaar.net.punched import PunchedLinks

__all__ = ["Opening", "NotConnected", "Unreachable", "dialFailure"]


class NotConnected(Exception):
    """A link to the peer could not be made or did not finish its handshake."""


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
    """
    why = f"{host}:{port}: {reason.getErrorMessage()}"
    if reason.check(ConnectionClosed):
        return NotConnected(why)
    return Unreachable(why)


class Opening:
    """
    The links a table opens: its node (C{node}, which builds each link),
    its established links (C{links}), its admission, its greeter (which
    runs the handshake and holds the dials waiting for it) and the
    connections punched to its inbound links' peers (C{_punched}, None
    until one is) are the table's own.
    """

    def connectTo(self, host, port, peer_id, purpose, dial):
        """
        Open a link of the given purpose to the peer at host:port (peer_id,
        if known) and finish the handshake: ``dial(link)`` connects the
        link (at host:port, or through the peer's relay: the node's
        dialer, L{twisted_bazaar.reach.dialer.Dialer}, says which) and
        returns a Deferred.  An existing link to peer_id is reused (and,
        asked for as an overlay link, now counts as one here).

        @return: a Deferred firing with the peer's id, or failing with
            L{NotConnected}; cancelling it abandons the link and its dial.
        """
        node = self.node
        existing = self.links.get(peer_id) if peer_id is not None else None
        if existing is not None:
            if purpose == OVERLAY and existing.purpose != OVERLAY:
                # The peer becomes a neighbour: told like a new link.
                self.setPurpose(existing, OVERLAY)
                node.events.linkAdded(peer_id)
            return defer.succeed(peer_id)
        refused = self.admission.refusesDial(self, purpose)
        if refused is not None:
            return defer.fail(NotConnected(refused))
        link = node.buildLink(inbound=False)
        link.purpose = purpose
        greeter, dialing = self.greeter, []

        def cancel(waiter):
            greeter.abandon(link)
            link.close("connection abandoned", routine=True)
            if link.transport is None:
                greeter.drop(link)
                self._checkClosed()
            while dialing:
                dialing.pop().cancel()

        def failed(reason):
            if not dialing and reason.check(defer.CancelledError):
                return None
            greeter.abandon(link)
            greeter.drop(link)
            failure = dialFailure(reason, host, port)
            if not waiter.called:
                waiter.errback(failure)
            self._checkClosed()

        # Whoever answers must be the node dialled.
        waiter = greeter.dialled(link, peer_id, cancel)
        dialing.append(dial(link).addErrback(failed))
        return waiter

    def punchedLink(self, shared):
        """
        A link for a connection punched to the peer of ``shared`` (a
        relayed link), of its direction and purpose, so that the duplicate
        rule keeps it in place of ``shared`` once its handshake is done
        (L{twisted_bazaar.reach.punch.tcp}).  The connection's channel
        proves the peer's key before anything is said on it: an opener's
        link needs no dialled id to check.
        """
        link = self.node.buildLink(inbound=shared.inbound)
        link.purpose = shared.purpose
        if shared.inbound:
            if self._punched is None:
                self._punched = PunchedLinks()
            self._punched.expect(shared, link)
        return link
