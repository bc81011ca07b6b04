"""
Where a dial may go (the dialer's checks,
L{twisted_bazaar.reach.dialer.Dialer}): a peer's host is checked before
it is dialled, as a host a peer names
(L{twisted_bazaar.reach.peerhosts.PeerHosts.vet}); a relay is dialled
for a peer only as the tracker named it, or when it is the tracker's
own (L{twisted_bazaar.reach.book.PathBook.vouches}), else the tracker
is asked first and what it names is dialled (docs/protocol.md §5a): a
peer's word (its ``thisisme``, a record, a ``leafRegister``) names a
relay that may be anyone's address, a victim's, which every node linked
to it would dial.  What refuses a dial so is here too (L{NotNamed},
L{RelayRefused}).

Functions of what they read, the connector (whether hosts are
addresses, what resolves a name) and the node's whereabouts (the book,
the host checks, whether there is a tracker to ask): they keep nothing,
so the dialer holds no part for them, and the dialer calls them
(L{reach}) with how to connect once the checks pass.
"""

import attr

from twisted.internet import defer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.reach.peerhosts import HostRefused
from twisted_bazaar.transports.connector import connectAny
from twisted_bazaar.transports.path import RELAYED, firstOf
from twisted_bazaar.wire.ids import shortId

__all__ = ["reach", "vetted", "whyNotRelay", "NotNamed", "RelayRefused"]


class NotNamed(Exception):
    """The tracker names no address for the peer a relay was claimed for."""

    def __str__(self):
        return self.args[0]


class RelayRefused(Exception):
    """The relay a dial would go through is at an address this node does
    not dial (L{whyNotRelay})."""

    def __str__(self):
        return self.args[0]


def reach(connector, where, peer, purpose, relay, placed, connect):
    """
    ``connect(host, port, relay)`` where peer is to be dialled: at its
    host (checked: L{vetted}; a refusal L{_placed} if ``placed``);
    through ``relay`` if the tracker named it for the peer, or it is
    the tracker's own (L{PathBook.vouches}); else as the tracker says
    when asked (L{_asked}): a peer's word (its ``thisisme``, a record,
    a ``leafRegister``) names a relay that may be anyone's address,
    a victim's, which every node linked to it would dial.
    """
    if relay is None or peer.id is None:
        hosts = vetted(connector, where, peer, purpose, None)
        if placed:
            hosts.addErrback(_placed, peer)
        return hosts.addCallback(connectAny,
                                  lambda host: connect(host, peer.port, None))
    if where.book.vouches(relay, peer.id):
        return _circuit(connector, where, peer.host, peer.port, relay, connect)
    return _asked(connector, where, peer, purpose, relay, connect)


def _circuit(connector, where, host, port, relay, connect):
    """connect through relay, unless it is at an address this node
    does not dial (L{RelayRefused})."""
    why = whyNotRelay(connector, where, relay)
    if why is not None:
        return defer.fail(RelayRefused(f"the relay at {relay}: {why}"))
    return connect(host, port, relay)


def _asked(connector, where, peer, purpose, relay, connect):
    """connect to peer as the tracker says, its relay a peer named
    unvouched: through the relay the tracker names, or directly
    where it names the peer without one (checked as a host a peer
    names); failing with L{NotNamed} when it names none, did not
    answer (saying what became of the question), or there is no
    tracker to ask.  A tracker's word is one tracker's, of several
    perhaps, and it may have been told a relay by a stranger on its
    own network: the relay it names is checked too
    (L{whyNotRelay})."""
    target = shortId(peer.id)
    if not where.tracked():
        return defer.fail(NotNamed(
            f"no tracker to ask about the relay {relay} named for node {target}: a "
            "relay is dialled only as the tracker names it"))

    def answered(reply):
        if not reply.port:
            raise NotNamed(f"the tracker names no address for node {target}, for "
                           f"which {relay} was named as its relay: a relay is "
                           "dialled only as the tracker names it")
        relayed = firstOf(reply.paths, RELAYED)
        if relayed is None:
            # The peer where the tracker names it, and nothing else of
            # the dial's (a Peer of its id, host and port alone).
            direct = attr.evolve(peer, host=reply.host, port=reply.port, relay=None,
                                 key=None, vouched=False, namedBy=None)
            return vetted(connector, where, direct, purpose, None).addCallback(
                connectAny, lambda host: connect(host, reply.port, None))
        return _circuit(connector, where, reply.host, reply.port, relayed.relay, connect)

    def unanswered(reason):
        # The tracker's silence or loss (the question's failure says
        # which); a cancelled dial stays cancelled.
        if reason.check(defer.CancelledError):
            return reason
        raise NotNamed(f"the tracker did not say where node {target} is "
                       f"({reason.getErrorMessage()}); {relay} was named as its "
                       "relay: a relay is dialled only as the tracker names it")

    return where.book.ask(peer.id).addCallbacks(answered, unanswered)


def vetted(connector, where, peer, purpose, relay):
    """A Deferred firing with the hosts to dial peer at, in order (its
    host, or the addresses its name resolves to: L{PeerHosts.vet}), or
    failing with why not; its host alone when dialled through a
    relay, vouched for (L{Peer.vouched}), or on a connector whose
    hosts are labels (a memory network's)."""
    if relay is not None or peer.vouched or not connector.addressed:
        return defer.succeed([peer.host])
    return where.hosts.vet(peer, purpose, connector.resolve)


def whyNotRelay(connector, where, relay):
    """Why the relay a tracker named is not dialled, or None
    (L{PeerHosts.whyNotRelay}); every relay is dialled on a connector
    whose hosts are labels (a memory network's)."""
    if not connector.addressed:
        return None
    return where.hosts.whyNotRelay(relay)


def _placed(reason, peer):
    """A refusal of peer's host, saying where (as a failed connection
    does)."""
    reason.trap(HostRefused)
    raise HostRefused(f"{hostPort(peer.host, peer.port)}: {reason.value}")
