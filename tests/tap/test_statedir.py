"""Tests for L{twisted_bazaar.tap.statedir}: where a tracker without
--data-dir keeps its key, one directory per port."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap.statedir import NoStateHome, defaultStateDir, stateHome


class StateHomeTests(SynchronousTestCase):
    def test_xdgStateHome(self):
        self.assertEqual(stateHome({"XDG_STATE_HOME": "/s", "HOME": "/h"}), "/s")

    def test_homeWhenUnsetOrRelative(self):
        """The XDG spec: a relative XDG_STATE_HOME is ignored."""
        for environ in ({"HOME": "/h"}, {"HOME": "/h", "XDG_STATE_HOME": "rel"},
                        {"HOME": "/h", "XDG_STATE_HOME": ""}):
            self.assertEqual(stateHome(environ), "/h/.local/state")


class DefaultStateDirTests(SynchronousTestCase):
    environ = {"XDG_STATE_HOME": "/s"}

    def test_onePerPort(self):
        self.assertEqual(defaultStateDir("tcp:7700", self.environ),
                         "/s/twisted-bazaar/tracker-7700")
        self.assertEqual(defaultStateDir("tcp:port=7701", self.environ),
                         "/s/twisted-bazaar/tracker-7701")
        self.assertEqual(defaultStateDir("ssl:7702:privateKey=k.pem", self.environ),
                         "/s/twisted-bazaar/tracker-7702")

    def test_interfaceNamed(self):
        """Two trackers on one port of two interfaces keep two keys."""
        self.assertEqual(defaultStateDir("tcp:7700:interface=10.0.0.1", self.environ),
                         "/s/twisted-bazaar/tracker-10.0.0.1-7700")
        self.assertEqual(defaultStateDir(r"tcp6:7700:interface=\:\:1", self.environ),
                         "/s/twisted-bazaar/tracker-_1-7700")

    def test_noneForAPortChosenAtStart(self):
        for listen in ("tcp:0", "tcp:0:interface=127.0.0.1", "unix:/tmp/t.sock"):
            self.assertIsNone(defaultStateDir(listen, self.environ), listen)

    def test_refusedWithoutAHome(self):
        """No home folder to keep a fixed port's key in: refused, saying
        why (a key new at each start strands the nodes that kept it)."""
        error = self.assertRaises(NoStateHome, defaultStateDir, "tcp:7700",
                                  {"HOME": "relative", "XDG_STATE_HOME": ""})
        self.assertIn("(HOME is 'relative', not an absolute path, and XDG_STATE_HOME "
                      "empty)", str(error))
        self.assertIsNone(defaultStateDir("tcp:0", {"HOME": "relative"}))

    def test_anEmptyHomeIsNone(self):
        """HOME set but empty (HOME= twistd ...) is no home folder: it was
        taken for "/", and the tracker tried /.local/state/twisted-bazaar,
        'Permission denied' (root would have written there)."""
        import os

        self.patch(os, "environ", {"HOME": ""})
        self.assertIsNone(stateHome({"HOME": ""}))
        error = self.assertRaises(NoStateHome, defaultStateDir, "tcp:7700", {"HOME": ""})
        self.assertIn("(HOME is empty, and XDG_STATE_HOME unset)", str(error))
