"""
A super-peer's LAN-only leaves (docs/protocol.md §5, "LAN-only nodes";
§18, "The address check"): a leaf behind a router that no relay holds
registers the host its link comes from, where no check reaches it.  It
used to be forgotten and its link closed, so a class's LAN-only seller
was found by nobody in the superpeer scheme, not even its classmates.
Now it is named to the super-peer's leaves whose links come from that
same host, and to nobody else.
"""

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF, SUPER, LeafAck, LeafQuery, LeafRegister, LeafUpdate, SpQuery)

from tests.helpers import feed, linkPeer, nodeReply, sent
from tests.schemes import answerChecks
from tests.schemes.test_superpeer_superpeer import (
    L11, L12, L13, hits, recordsOf, register, superPeer)

#: The class's router, and a host outside it.
ROUTER, OUTSIDE = "203.0.113.7", "198.51.100.3"


class LanOnlyLeafTests(SynchronousTestCase):
    def setUp(self):
        self.node, self.scheme = superPeer()
        self.index = self.scheme.side.index

    def seller(self, host="", relay=None, source=ROUTER, leaf=L11):
        """A leaf behind ROUTER registering apple at host:9011; its check
        reaches nobody."""
        link = linkPeer(self.node, leaf, purpose=LEAF, source=source)
        items = {"apple": 2}
        feed(link, LeafRegister(1, host, 9011, items, recordsOf(link, items, host, 9011),
                                relay=relay))
        answerChecks(self.node, answer=lambda leaf: None)
        return link

    def found(self, source, leaf=L12, query=55):
        """The sellers of apple a leaf whose link comes from source is
        named."""
        asker = linkPeer(self.node, leaf, purpose=LEAF, source=source)
        feed(asker, LeafQuery(query, "apple"))
        [(_, _, sellers)] = hits(asker)
        return sellers

    def test_namedOnlyBehindItsRouter(self):
        """Its link stays, its entries are named to a leaf whose link comes
        from its router's host (at that host, where the classmate's dialer
        asks the tracker for its local address), not to one from
        elsewhere; the line says so."""
        with capturedLogs() as events:
            link = self.seller()
        self.assertEqual(sent(link), [LeafAck(1, 1)])
        self.assertFalse(link.closing)
        self.assertEqual(self.found(ROUTER), ((L11, ROUTER, 9011),))
        self.assertEqual(self.found(OUTSIDE, leaf=L13), ())
        self.assertIn(f"leaf {shortId(L11)}: no check reaches {ROUTER}:9011, the host "
                      "its link comes from (nothing there answers as that leaf): "
                      f"LAN-only, naming its items only to leaves whose links come "
                      f"from {ROUTER} too", [formatEvent(event) for event in events])

    def test_inNoFloodsHit(self):
        """A super-peer a query is flooded to does not know where the asker
        is: it names no LAN-only leaf (it sends no spHit)."""
        self.seller()
        other = linkPeer(self.node, L13, purpose=SUPER, source=OUTSIDE)
        feed(other, SpQuery(7, "apple", (L13,), 1))
        self.assertEqual(sent(other), [])
        self.assertEqual(self.scheme.side.lookup("apple", 5), [])

    def test_registersAndUpdatesCheckNothingAgain(self):
        """A register at the same address, and an update, keep it LAN-only
        without another dial."""
        link = self.seller()
        dials = len(self.node.connector.requests)
        feed(link, register(link, 2, "", 9011, {"apple": 3}))
        feed(link, LeafUpdate(3, {"apple": 4}, recordsOf(link, {"apple": 4})))
        self.assertEqual(len(self.node.connector.requests), dials)
        self.assertEqual(self.found(ROUTER), ((L11, ROUTER, 9011),))
        feed(link, register(link, 4, "", 9012, {"apple": 3}))
        self.assertEqual(len(self.node.connector.requests), dials + 1)

    def test_claimsNoAddress(self):
        """No check found it at its address: a leaf a check finds there
        later (a port forwarded to another machine of the class) is
        taken, and named to all."""
        self.seller()
        other = linkPeer(self.node, L13, purpose=LEAF, source=ROUTER)
        feed(other, register(other, 1, ROUTER, 9011, {"apple": 1}))
        self.assertEqual(sent(other), [LeafAck(1, 1)])
        self.assertEqual(answerChecks(self.node), [L13])
        self.assertEqual(self.found(OUTSIDE), ((L13, ROUTER, 9011),))

    def assertForgotten(self, link):
        self.assertNotIn(L11, self.index)
        self.assertTrue(link.closing)
        self.assertEqual([type(m) for m in sent(link)][-1], wire.Dc)

    def test_aLeafAtAnotherHostIsForgotten(self):
        """A leaf that registers a host its link does not come from is
        forgotten when its check fails, as before: its classmates would be
        pointed at an address of its choosing."""
        self.assertForgotten(self.seller(host=OUTSIDE))

    def test_aLeafNamingARelayIsForgotten(self):
        """A leaf reached through a relay is checked through it; failing,
        it is forgotten (it is no LAN-only node)."""
        self.assertForgotten(self.seller(relay="192.0.2.1:7702"))


class OneRoutersRelayedLeavesTests(SynchronousTestCase):
    """
    Machines behind one router listening on one port (a class, each at
    ``--listen tcp:9001``) register one address, the router's host and
    that port.  A leaf checked through its relay was not found there, so
    it claims no address: the first of them checked used to claim it, and
    every classmate's register was refused ``claimed``, again and again
    (5,000 registers in 180 s of a simulated class of 40).
    """

    def test_eachChecked(self):
        node, scheme = superPeer()
        book = node.whereabouts.book
        relay = "192.0.2.1:7702"
        askers = []
        for leaf in (L11, L13):
            book.trackerNamed(nodeReply(leaf, ROUTER, 9001, relay=relay))
            link = linkPeer(node, leaf, purpose=LEAF, source=ROUTER)
            items = {"apple": 2}
            feed(link, LeafRegister(1, "", 9001, items,
                                    recordsOf(link, items, "", 9001), relay=relay))
            self.assertEqual(sent(link), [LeafAck(1, 1)])
            self.assertEqual(answerChecks(node), [leaf])
            askers.append(link)
        asker = linkPeer(node, L12, purpose=LEAF, source=OUTSIDE)
        feed(asker, LeafQuery(5, "apple"))
        [(_, _, sellers)] = hits(asker)
        self.assertEqual(sorted(sellers), sorted([(L11, ROUTER, 9001), (L13, ROUTER, 9001)]))
        # Registering again keeps each listed, with no other dial.
        dials = len(node.connector.requests)
        feed(askers[0], LeafRegister(2, "", 9001, {"apple": 1},
                                     recordsOf(askers[0], {"apple": 1}, "", 9001),
                                     relay=relay))
        self.assertEqual(sent(askers[0]), [LeafAck(2, 1)])
        self.assertEqual(len(node.connector.requests), dials)
