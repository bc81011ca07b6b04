"""
A transport a daemon may speak besides those every node has (TCP, the
relay's circuits, QUIC), as a plugin (L{ITransportPlugin}): its package
declares its kind of path, its options, the endpoint kinds a node's
``--tracker`` may name to reach a tracker over it, and what serves it,
and the daemons read these from the plugins they find (as Twisted finds
an endpoint string's parser by its prefix), naming no transport
themselves.  A new transport is its package and one line in
``twisted_bazaar/plugins`` (docs/architecture.md, "Adding a transport").

Light on purpose: twistd imports the daemons' options, which read every
transport plugin, at each start; a transport's library is loaded only
when its options turn it on.
"""

from zope.interface import Attribute, Interface

__all__ = ["ITransportPlugin"]


class ITransportPlugin(Interface):
    """What a transport brings to the daemons, found through
    L{twisted.plugin} in L{twisted_bazaar.plugins}."""

    name = Attribute("The transport, as --help titles its options' section "
                     "(``The NAME transport``).")
    nodeOptions = Attribute(
        "The options it adds to bazaar-node (L{twisted_bazaar.base.options."
        "PluginOption}s), shown in its own section of --help; each option's value "
        "(a list for a repeatable one) is in the daemon's options under its name.")
    trackerOptions = Attribute("The options it adds to bazaar-tracker, likewise.")
    trackerKinds = Attribute(
        "The client endpoint kinds a node's --tracker may name to reach a tracker "
        "over it: parsed by Twisted, through the transport's endpoint parser "
        "plugins in L{twisted.plugins}; none that --tracker has already (tcp, ssl, "
        "tls) or another plugin names.")
    trackerHelp = Attribute(
        "How --tracker's help names those endpoints (``KIND:HOST:PORT for its "
        "... port``), or None.")

    def trackerAccounts(values):
        """
        The limits whose accounts hold the connections the tracker's port
        of this transport takes before they are the tracker's (its
        openings, each a descriptor), as its options (``values``) turn the
        port on; () when they leave it off.  Each is declared once, in the
        registry of limits (L{twisted_bazaar.base.limitregistry}), and its
        default is the bound of the account the port builds: the tracker
        keeps that many descriptors apart from its nodes'
        (--registered-limit), and the tests that walk the registry fill it
        as a stranger would.
        """

    def nodeTransport(reactor, values, interface, onFailure, trackerKinds=()):
        """
        The maker of a node's transport of this kind, as
        L{twisted_bazaar.daemon.node.serveNode}'s ``transports`` take
        them, or None when the options leave it off.

        @param values: option name -> value, of its L{nodeOptions}.
        @param interface: the interface the node listens on (--listen's).
        @param onFailure: told one line when the daemon must end (a port
            that cannot listen).
        @param trackerKinds: the endpoint kinds of the node's ``--tracker``
            addresses: a node that reaches its tracker by one of this
            transport's L{trackerKinds} may be where nothing else leaves,
            so it dials its peers over the transport too.
        """

    def trackerService(reactor, identity, factory, peerLog, values, interface,
                       onFailure, relay=None):
        """
        The service of a tracker's port of this kind, serving
        ``factory``'s protocols under a channel key of ``identity``'s, or
        None when the options (``values``, of its L{trackerOptions})
        leave it off; with ``relay`` (the factory of the tracker's relay,
        or None: no relay), serving the relay there too, for the nodes
        that reach the tracker by this transport alone.  The service may
        have C{advertised()}: the L{Path} of its port once it listens, else
        None; the tracker's relay, served there, names it with every node
        held at it (L{Relay.servedAt
        <twisted_bazaar.transports.relay.relay.Relay.servedAt>}), so that
        a client whose network lets out only this transport reaches them.
        """

    # A transport whose options depend on each other also has
    # C{checkValues(values)}: raises ValueError, saying in one line what is
    # missing, for values of its options that cannot work together (names
    # for a port not given); the daemons refuse them as a usage error.
    # Optional.

    # A transport that is a way out of a network that lets little else out
    # also has C{wayOut}: how a buyer that linked to no node can reach the
    # market over it, in a user's words (a clause; the shortfall a buyer
    # gives up with says it, L{twisted_bazaar.tap.shortfall}).  Optional.

    # A transport whose port serves a tracker's relay also has
    # C{trackerWay(address)}: the L{Path} a node that reaches its tracker
    # at that L{Address <twisted_bazaar.base.address.Address>} dials the
    # tracker's relay by, or None (the relay's own TCP port).  Optional:
    # verifyObject would ask it of all.


def trackerWay(plugins, address):
    """The path a node that reaches its tracker at ``address`` dials the
    tracker's relay by: the first of ``plugins`` whose C{trackerWay}
    names one (a tracker reached at that plugin's port, which serves the
    relay too), or None (the relay's own port).  A node daemon's and
    ``bazaar buy``'s alike: the buy, without it, punched from a network
    that lets only HTTP(S) out, its files held to a taste for the punch."""
    if address is None:
        return None
    for plugin in plugins:
        way = getattr(plugin, "trackerWay", None)
        path = None if way is None else way(address)
        if path is not None:
            return path
    return None
