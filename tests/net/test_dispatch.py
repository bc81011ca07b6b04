"""
Tests of L{twisted_bazaar.net.dispatch}: what the core answers itself of
the messages a node's link table is handed (an address check, and the
messages on an established link no part of the node handles), seen from
the node whose peers are StringTransports.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.schemes.flood import messages as floodmsg

from tests.helpers import (
    NODE_HOST,
    NODE_PORT,
    closeLink,
    codes,
    feed,
    linkPeer,
    makeNode,
    openLink,
    Recorder,
    sent,
)


class DispatchTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)
        self.recorder = Recorder()
        self.node.addObserver(self.recorder)

    def test_whoAreYouIsAnsweredThenClosed(self):
        """The tracker's address check gets this node's thisisme, and the
        connection is closed; no link is made.  A whoareyou after the
        handshake is not understood."""
        link = openLink(self.node, inbound=True)
        feed(link, wire.WhoAreYou())
        self.assertEqual(sent(link), [wire.ThisIsMe(1, NODE_PORT, NODE_HOST)])
        self.assertTrue(link.transport.disconnecting)
        self.assertEqual((self.node.links, self.recorder.events), ({}, []))
        peer = linkPeer(self.node, 7)
        feed(peer, wire.WhoAreYou())
        self.assertEqual([m.code for m in sent(peer)], ["wtf"])

    def test_dcClosesTheLink(self):
        """dc from a peer closes its link; the node forgets the peer."""
        link = linkPeer(self.node, 7)
        feed(link, wire.Dc())
        self.assertEqual(sent(link), [])
        self.assertTrue(link.transport.disconnecting)
        closeLink(link)
        self.assertEqual(self.node.links, {})
        self.assertEqual(self.recorder.events, [("linkAdded", 7), ("linkRemoved", 7)])

    def test_secondThisIsMeWithOtherId(self):
        """A linked peer that claims another id is cut off."""
        link = linkPeer(self.node, 7)
        feed(link, wire.ThisIsMe(7, 5007))
        self.assertEqual(sent(link), [])
        feed(link, wire.ThisIsMe(8, 5007))
        self.assertEqual(codes(sent(link)), ["wtf"])
        self.assertTrue(link.transport.disconnecting)

    def test_unhandledTypeGetsWtf(self):
        """A message of a type no part of the node handles is answered
        with wtf, naming the type; the link stays open."""
        link = linkPeer(self.node, 7)
        feed(link, floodmsg.Search(5, "apple", (7,), 3))
        [answer] = sent(link)
        self.assertEqual((answer.code, answer.info),
                         ("wtf", "this node does not handle search"))
        self.assertFalse(link.transport.disconnecting)
