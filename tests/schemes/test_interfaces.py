"""
Tests for twisted_bazaar.schemes.interfaces: the shipped schemes declare
the optional features they offer, and only those.
"""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.daemon.build import configured
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.schemes.interfaces import (
    IClientValues,
    IDiscoveryPlugin,
    IInProcess,
    IKeyTest,
    ITopologyProvider,
)

from tests.helpers import makeNode

_PLUGIN_FEATURES = (IKeyTest, IInProcess, IClientValues)


class DeclaredFeatureTests(SynchronousTestCase):
    def setUp(self):
        self.plugins = discoveryPlugins()

    def test_everySchemeIsADiscoveryPlugin(self):
        for name in ("flood", "index", "superpeer", "chord"):
            self.assertTrue(verifyObject(IDiscoveryPlugin, self.plugins[name]), name)

    def test_chordOffersItsKeyTestAndPresets(self):
        """Chord's puzzle: a daemon's key must solve it, an in-process node
        has none, a client takes the least a daemon may have."""
        chord = self.plugins["chord"]
        for feature in _PLUGIN_FEATURES:
            self.assertTrue(verifyObject(feature, chord), feature)
        self.assertEqual(chord.inProcess, {"chord-puzzle": 0})
        self.assertEqual(chord.client, {"chord-puzzle": 8})

    def test_othersOfferNone(self):
        for name in ("flood", "index", "superpeer"):
            for feature in _PLUGIN_FEATURES:
                if (name, feature) == ("flood", IClientValues):
                    continue
                self.assertFalse(feature.providedBy(self.plugins[name]), (name, feature))

    def test_floodsClientSettles(self):
        """A client of daemons (``bazaar buy``) takes a flood search's offers
        0.1 s past its first."""
        flood = self.plugins["flood"]
        self.assertTrue(verifyObject(IClientValues, flood))
        self.assertEqual(flood.client, {"settle": 0.1})

    def test_schemesThatKeepNeighboursProvideTheirTopology(self):
        """Flood and superpeer keep neighbours; index and chord keep their
        links themselves."""
        for name, keeps in (("flood", True), ("superpeer", True), ("index", False),
                            ("chord", False)):
            plugin = self.plugins[name]
            scheme = plugin.build(makeNode(), configured(plugin, {}))
            self.assertEqual(ITopologyProvider.providedBy(scheme), keeps, name)
            if keeps:
                self.assertTrue(verifyObject(ITopologyProvider, scheme), name)
