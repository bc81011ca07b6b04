"""
Claims of docs/protocol.md, docs/running.md and docs/reliability.md that a
black-box run of the daemons found false (issue 96), each held here
against the behaviour it describes, so that the text cannot drift back.
"""

import os
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.tracker import trackerIdentity

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def flat(name):
    """A doc's text with its line breaks and runs of spaces made one space."""
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return " ".join(f.read().split())


def section(text, start, end):
    """The part of text from start up to end."""
    return text.split(start, 1)[1].split(end, 1)[0]


class TrackersKeyTests(SynchronousTestCase):
    """protocol.md §3 said the tracker's key is "made afresh in memory at
    each start" and that "nothing depends on it staying the same"; the
    tracker keeps it across starts, and its nodes refuse another."""

    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)

    def test_itIsKept(self):
        data = os.path.join(self.folder, "tracker")
        self.assertEqual(trackerIdentity(data).key, trackerIdentity(data).key)

    def test_theProtocolSaysSo(self):
        keys = section(flat("protocol.md"), "### Keys and signatures", "- **Encoding.**")
        self.assertNotIn("afresh", keys)
        self.assertNotIn("nothing depends on it staying the same", keys)
        self.assertIn("This implementation's tracker keeps it from one start to the next",
                      keys)
        self.assertIn("refuses a tracker that proves another", keys)


class TroubleshootingTests(SynchronousTestCase):
    """running.md's Troubleshooting quoted a taken port's line as
    ``tracker cannot listen: Couldn't listen ...``; the tracker says
    where it could not listen (``on tcp:7700``), so a search for the
    quoted words found nothing."""

    def test_theTakenPortsLine(self):
        from twisted.internet.error import CannotListenError
        from twisted.python.failure import Failure

        from twisted_bazaar.daemon.services import ListeningService

        port = ListeningService(None, None, None, "tracker", description="tcp:7700")
        port.failure = Failure(CannotListenError("any", 7700,
                                                 OSError(98, "Address already in use")))
        line = port.why()
        doc = section(flat("running.md"), "## Troubleshooting", "**The node logs")
        quoted = doc.split("`", 2)[1]
        self.assertEqual(quoted, line)
