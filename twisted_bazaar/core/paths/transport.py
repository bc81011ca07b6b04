"""
What the dialer calls to try one way to a peer (L{ITransport}).

The dialer (L{twisted_bazaar.core.dialer.Dialer}) holds an ordered list
of transports, best first, and tries each that applies to a peer until
one connects or one fails in a way that ends the dial.  A new way to a
peer (QUIC over UDP, say) is a module holding a transport that provides
this interface, reading its peer's paths of its kind from the node's
book (L{twisted_bazaar.core.paths.book.PathBook.paths}), and its place
in the list: docs/architecture.md, "Adding a transport".
"""

from zope.interface import Attribute, Interface

__all__ = ["ITransport"]


class ITransport(Interface):
    """One way to reach a peer, as the dialer tries it."""

    kind = Attribute("The kind of path it dials (L{twisted_bazaar.core.paths.path.KINDS}), "
                     "or None for a way that is no path of the book's (a punch over a "
                     "link held).")
    handsOver = Attribute("The exception classes of a failure after which the dialer "
                          "tries the next transport; any other failure is the dial's.")

    def attempt(dialer, peer, purpose, protocol):
        """
        Try to reach peer (a L{twisted_bazaar.core.dialer.Peer}) for
        purpose: None when this way does not apply to it, else a
        Deferred firing with the peer's id (a link: protocol None) or the
        protocol connected (a fresh one from C{protocol()}), the peer's
        key proven on it, or failing with why not.
        """
