"""
Tests of L{twisted_bazaar.core.registration}: a node's id, what naming it
does to its paths and store, and the one time it says it is ready.
"""

from twisted.internet import defer
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.node import Node
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.routing.flood import FloodRouter
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.store import MemoryStore, WriterGone

from tests.helpers import FakeConnector, Recorder, feed, linkPeer, makeNode


class RegistrationTests(SynchronousTestCase):
    def test_noIdUntilNamed(self):
        """A new node has no id and is not ready."""
        node = makeNode(None)
        self.assertIsNone(node.id)
        self.assertFalse(node.ready)

    def test_idFromStore(self):
        """A node whose store remembers an id starts with it (to ask the
        tracker for it again), but is ready only once named."""
        store = MemoryStore()
        store.setNodeId(42)
        node = Node(None, None, FakeConnector(), store=store)
        self.assertEqual(node.id, 42)
        self.assertFalse(node.ready)

    def test_storedIdOfAnotherKeyNotAskedFor(self):
        """
        A keyed node whose store remembers an id that is not its key's (a
        data dir of a version before ids were their keys', 31 bits, or
        one whose key was replaced) asks the tracker for no id, and is
        named by its key: the tracker refuses any other id, and the node
        asked for the old one at every attempt, never registering.
        """
        identity = Identity.generate()
        for stored, asked in ((326583144, None), (identity.id ^ 1, None),
                              (identity.id, identity.id)):
            store = MemoryStore()
            store.setNodeId(stored)
            node = Node(None, None, FakeConnector(), store=store, identity=identity)
            self.assertEqual((node.id, node.introduction().id), (asked, asked))

    def test_setIdMakesReadyOnce(self):
        """setId names the node, saves the id and tells observers nodeReady
        the first time only."""
        node = makeNode(None)
        recorder = Recorder()
        node.addObserver(recorder)
        node.setId(5)
        self.assertEqual((node.id, node.ready, node.store.nodeId()), (5, True, 5))
        node.setId(5)
        self.assertEqual(recorder.events, [("nodeReady",)])

    def test_anIdNotStoredIsNeverAnnounced(self):
        """A node whose store cannot record its id (its writer lost as it
        starts) says so, and neither logs that it is ready nor tells its
        observers nodeReady."""
        class Lost(MemoryStore):
            def setNodeId(self, node_id):
                return defer.fail(WriterGone("the store's writer process ended"))

        node = Node(None, None, FakeConnector(), store=Lost())
        recorder = Recorder()
        node.addObserver(recorder)
        with capturedLogs() as events:
            node.setId(5)
        self.assertEqual([formatEvent(e) for e in events],
                         ["could not store node id 5: the store's writer process ended"])
        self.assertEqual(recorder.events, [])

    def test_newIdClearsThePathTable(self):
        """
        When the tracker gives the node a new id, every path it learned
        (each starts with the old id) is forgotten: the path table is
        empty.  (The old node kept them, and routed along paths that no
        longer started with itself.)
        """
        node = makeNode(1)
        FloodRouter(node, floodmsg.Search, lambda search: None)
        link = linkPeer(node, 2)
        feed(link, floodmsg.Search(100, "apple", (7, 2), 5))
        self.assertEqual(node.pathTo(7), (1, 2, 7))
        recorder = Recorder()
        node.addObserver(recorder)
        with capturedLogs() as events:
            node.setId(9)
        self.assertEqual(node.id, 9)
        self.assertEqual(dict(node.paths.table), {})
        self.assertIsNone(node.pathTo(7))
        self.assertEqual(node.store.nodeId(), 9)
        self.assertEqual(recorder.events, [])
        self.assertEqual([e["log_level"].name for e in events], ["warn"])

    def test_sameIdKeepsThePathTable(self):
        """Being named again with the same id forgets nothing."""
        node = makeNode(1)
        linkPeer(node, 2)
        node.setId(1)
        self.assertEqual(dict(node.paths.table), {2: (1, 2)})

    def test_readyOnceTheTrackerShowsIt(self):
        """A node named but not yet shown held (a tracker session's
        setId) is not ready; the tracker's word makes it ready once; when
        the session ends it is no longer registered, though it was."""
        node = makeNode(None)
        recorder = Recorder()
        node.addObserver(recorder)
        node.setId(5, accepted=False)
        self.assertEqual((node.registered, node.ready), (False, False))
        node.trackerAccepted()
        node.trackerAccepted()
        self.assertEqual((node.registered, node.ready), (True, True))
        node.trackerLeft()
        self.assertEqual((node.registered, node.wasRegistered), (False, True))
        self.assertEqual(recorder.events, [("nodeReady",)])
