"""
What the dialer calls to try one way to a peer (L{ITransport}).

The dialer (L{twisted_bazaar.reach.dialer.Dialer}) holds the transports
and, for each dial, ranks those that apply to the peer by the delay each
declares and races them (L{twisted_bazaar.reach.race}): the first
to connect wins.  A new way to a peer (QUIC over UDP, say) is a module
holding a transport that provides this interface, reading its peer's
paths of its kind from the node's book
(L{twisted_bazaar.reach.book.PathBook.paths}) and declaring its own
place in the race (L{ITransport.delay}): docs/architecture.md, "Adding a
transport".
"""

from zope.interface import Attribute, Interface

__all__ = ["ITransport"]


class ITransport(Interface):
    """One way to reach a peer, as the dialer tries it."""

    kind = Attribute("The kind of path it dials (L{twisted_bazaar.transports.path.KINDS}), "
                     "or None for a way that is no path of the book's (a punch over a "
                     "link held).")
    delay = Attribute("Seconds after a dial starts that this way starts, if nothing "
                      "connected by then (0: at once, as a LAN or direct address; a "
                      "relay's later): its rank.  The best ranked way that applies "
                      "starts at once whatever its delay, and the next at once when "
                      "every way running failed.")
    holds = Attribute("Whether the ways ranked after it wait for it to fail rather than "
                      "start by the clock while it runs (a punch: what it connects "
                      "keeps the bytes off the relay, its fallback, not its rival).")

    def applies(dialer, peer, purpose, protocol):
        """Whether this way may reach peer (a
        L{twisted_bazaar.reach.dialer.Peer}) for purpose: asked of every
        transport when a dial starts, with nothing dialled."""

    def attempt(dialer, peer, purpose, protocol):
        """
        Try to reach peer for purpose (it L{applies}): a Deferred firing
        with the peer's id (a link: protocol None) or the protocol
        connected (a fresh one from C{protocol()}), the peer's key proven
        on it, or failing with why not; cancelling it gives the attempt
        up.  None when it does not apply after all (what it needs went
        away while it waited for its turn).
        """
