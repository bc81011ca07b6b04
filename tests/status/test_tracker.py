"""
Tests for twisted_bazaar.status.tracker: ``members`` answered with
``memberlist``, spoken to over real Links on fake transports and a Clock.
"""

from twisted_bazaar.status.messages import MemberList, Members

from tests.schemes.test_index_tracker import TrackerIndexCase


class MemberQuestionTests(TrackerIndexCase):
    """
    Building a memberlist of 700 nodes took the tracker about 4 ms, and a
    ``members`` costs its sender 20 bytes: one registered connection
    asking at its query rate (200 a second) took 80 % of the tracker's
    time, two all of it, and no node could register.  The answer is now
    built once for every asker until the registry changes.
    """

    def makeTracker(self, **settings):
        return super().makeTracker(ping_interval=0, **settings)

    def setUp(self):
        super().setUp()
        self.built = []
        extension = self.tracker.extensions["status"]
        members = extension.members
        self.patch(extension, "members", lambda: self.built.append(1) or members())

    def ask(self, peer):
        peer.say(Members())
        [answer] = peer.heard()
        self.assertIsInstance(answer, MemberList)
        return answer

    def test_questionsCostOneBuild(self):
        first, first_id = self.join(4001, peer_host="10.1.0.1")
        asker, _ = self.join(0, peer_host="10.2.0.1")
        answers = [self.ask(asker) for _ in range(100)]
        self.assertEqual({answer.nodes for answer in answers},
                         {((first_id, "10.1.0.1", 4001, ""),)})
        self.assertEqual(len(self.built), 1)

    def test_aChangeIsAnsweredAtOnce(self):
        asker, _ = self.join(0, peer_host="10.2.0.1")
        self.assertEqual(self.ask(asker).nodes, ())
        _, joined = self.join(4001, peer_host="10.1.0.1")
        self.assertEqual([row[0] for row in self.ask(asker).nodes], [joined])
        self.tracker.registry.leave(joined)
        self.assertEqual(self.ask(asker).nodes, ())
        self.assertEqual(len(self.built), 3)
