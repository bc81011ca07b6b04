"""
What a discovery scheme's plugin declares: L{IDiscoveryPlugin}, and the
optional features a plugin or the scheme it builds may offer, each its
own small interface, which whoever builds a node asks with
C{providedBy}: a feature not declared is not used.
"""

from zope.interface import Attribute, Interface

from twisted_bazaar.base.options import IConfigurablePlugin


class IDiscoveryPlugin(IConfigurablePlugin):
    """A discovery scheme, as --discovery finds it.  Its ``build`` makes the
    scheme for the node and returns the L{IDiscovery
    <twisted_bazaar.core.market.IDiscovery>}; the builder
    (L{twisted_bazaar.daemon.build}) plugs it in with C{node.setDiscovery},
    and, if the scheme is an L{ITopologyProvider}, its ``topology`` with
    C{node.setTopology}."""


class IKeyTest(Interface):
    """A plugin whose daemons' keys must pass a test of the scheme's (a
    chord ring's puzzle)."""

    def keyTest(settings):
        """
        What a daemon's key must pass to be a node of this scheme with
        ``settings`` (as C{configure} made them): a function of an
        L{Identity <twisted_bazaar.identity.keys.Identity>} returning why
        it does not (None if it does), or None when any key will do.
        """


class IInProcess(Interface):
    """A plugin whose nodes in this process alone (a test's, the
    simulator's) take other values than its options' defaults."""

    inProcess = Attribute("Option name -> value, over the options' defaults, "
                          "for a node in this process alone.")


class IClientValues(Interface):
    """A plugin whose client joining a market of daemons without knowing
    their options (``bazaar buy``) takes other values than the daemons'
    defaults."""

    client = Attribute("Option name -> value, over the options' defaults, for "
                       "such a client.")


class ITopologyProvider(Interface):
    """A scheme (an L{IDiscovery <twisted_bazaar.core.market.IDiscovery>})
    that keeps neighbours: the builder plugs its topology into the node."""

    topology = Attribute("The L{ITopology <twisted_bazaar.core.topology.ITopology>} "
                         "service that keeps the scheme's neighbours.")
