"""Tests for twisted_bazaar.schemes.chord (the plugin): its options, their
defaults, and the reasons bad values get."""

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.options import optionDefaults
from twisted_bazaar.daemon.build import configured
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.schemes.chord import ChordScheme
from twisted_bazaar.schemes.chord.settings import ChordSettings

from tests.helpers import makeNode


class PluginTests(SynchronousTestCase):
    def setUp(self):
        self.plugin = discoveryPlugins()["chord"]
        self.options = {option.name: option for option in self.plugin.options}

    def configure(self, **changes):
        config = optionDefaults(self.plugin.options)
        config.update({name.replace("_", "-"): value for name, value in changes.items()})
        return self.plugin.configure(config)

    def test_defaults(self):
        """A daemon's defaults are the settings' but for the puzzle, which
        an in-process node (drawn keys) goes without."""
        self.assertEqual(self.configure(), attr.evolve(ChordSettings(), puzzle=12))
        self.assertEqual(configured(self.plugin, {}), ChordSettings())
        self.assertEqual(ChordSettings().successors, 4)

    def test_aDaemonsPuzzleHasAFloor(self):
        parse = self.options["chord-puzzle"].parse
        self.assertEqual(parse("8"), 8)
        for bad in ("0", "7", "33"):
            with self.assertRaises(ValueError) as caught:
                parse(bad)
            self.assertIn("whole number from 8 to 32", str(caught.exception))

    def test_everyOptionIsChordPrefixedAndExplained(self):
        for name, option in self.options.items():
            self.assertTrue(name.startswith("chord-"), name)
            self.assertTrue(option.help, name)

    def test_successorListOfAtLeastTwo(self):
        parse = self.options["chord-successors"].parse
        self.assertEqual(parse("2"), 2)
        for bad in ("1", "33", "four"):
            with self.assertRaises(ValueError) as caught:
                parse(bad)
            self.assertIn("whole number from 2 to 32", str(caught.exception))

    def test_periodsArePositiveSeconds(self):
        for name in ("chord-stabilize", "chord-fix-fingers", "chord-ping",
                     "chord-refresh", "chord-expiry", "chord-lookup-timeout"):
            with self.assertRaises(ValueError) as caught:
                self.options[name].parse("0")
            self.assertIn("positive number of seconds", str(caught.exception))

    def test_expiryMustOutlastRefresh(self):
        with self.assertRaises(ValueError) as caught:
            self.configure(chord_refresh=30.0, chord_expiry=30.0)
        self.assertIn("--chord-expiry (30 s) must be more than --chord-refresh",
                      str(caught.exception))
        with self.assertRaises(ValueError):
            self.configure(chord_expiry=86401.0)

    def test_settingsFollowTheOptions(self):
        settings = self.configure(chord_successors=6, chord_ping=0.25, chord_missed=2)
        self.assertEqual((settings.successors, settings.ping, settings.missed),
                         (6, 0.25, 2))

    def test_fingerLinkOptions(self):
        settings = self.configure(chord_finger_links=8, chord_finger_idle=2.5)
        self.assertEqual((settings.finger_links, settings.finger_idle), (8, 2.5))
        with self.assertRaises(ValueError) as caught:
            self.options["chord-finger-idle"].parse("0")
        self.assertIn("positive number of seconds", str(caught.exception))
        with self.assertRaises(ValueError):
            self.options["chord-finger-links"].parse("0")

    def test_aNodeTakesAsManyFingerLinksAsItIsTold(self):
        node = makeNode(5)
        self.plugin.build(node, self.configure(chord_finger_links=8))
        self.assertEqual(node.slotsFor("chord-finger"), 8)


class HoldersOptionTests(SynchronousTestCase):
    def test_holdersAreAtMostTheSuccessors(self):
        plugin = ChordScheme()
        self.assertEqual(configured(plugin, {}).holders, 3)
        self.assertEqual(configured(plugin, {"chord-successors": 2, "chord-holders": 2}
                                    ).holders, 2)
        self.assertEqual(configured(plugin, {"chord-holders": 1}).holders, 1)

    def test_moreHoldersThanSuccessorsRefused(self):
        """--help says "no more than --chord-successors": more is refused,
        not cut down in silence; the default too, beside a shorter list."""
        plugin = ChordScheme()
        for given, said in (({"chord-holders": 5}, "--chord-holders 5 must be no more "
                             "than --chord-successors 4: give --chord-holders 4 or fewer"),
                            ({"chord-successors": 2}, "--chord-holders 3 must be no more "
                             "than --chord-successors 2: give --chord-holders 2 or fewer "
                             "(its default is 3)")):
            with self.assertRaises(ValueError) as caught:
                configured(plugin, given)
            self.assertIn(said, str(caught.exception))
