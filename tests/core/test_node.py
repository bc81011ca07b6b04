"""
Tests of L{twisted_bazaar.core.node}: the composition root.  A node's
introduction, the message tables components add with takeFrom(), and
the events observers are told.  Its id and readiness
(tests/core/test_registration.py), the link table, routing and flooding
have tests of their own (tests/net/test_overlay.py, tests/routing/).
"""

import io
import pathlib
import random
import re
import tokenize

from twisted.logger import capturedLogs
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

import twisted_bazaar

from twisted_bazaar import wire
from twisted_bazaar.events import INodeEvents, NodeObserver
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.core.node import INode, Node
from twisted_bazaar.reach.bookaccount import KEPT
from twisted_bazaar.reach.sources import IOwnPaths
from twisted_bazaar.transports.path import MAPPED, RELAYED, Path
from twisted_bazaar.reach.reachable.reachability import PRIVATE, Reachability
from twisted_bazaar.wire import trade
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.schemes.index import messages as indexmsg
from twisted_bazaar.testing.linking import linkAt

from tests.helpers import (
    nodeReply,
    Recorder, closeLink, codes, feed, linkPeer, makeNode, openLink, sent)
from tests.records import signed


#: Packages whose ``node`` is another thing: a command line's parser, a
#: web page's, a key's (L{twisted_bazaar.identity.keys}).
_OTHER_NODES = ("cli", "web", "identity")


def _codeOnly(source):
    """A module's source with its comments and plain strings blanked (a
    docstring's ``node.key``, the key file's name, is no part using the
    node); an f-string is kept, for the names its fields read."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    text = list(source)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        prefix = re.match(r"[A-Za-z]*", token.string)[0].lower()
        if token.type == tokenize.COMMENT or (token.type == tokenize.STRING and "f" not in prefix):
            begin = starts[token.start[0] - 1] + token.start[1]
            end = starts[token.end[0] - 1] + token.end[1]
            text[begin:end] = " " * (end - begin)
    return "".join(text)


class InterfaceTests(SynchronousTestCase):
    def test_verified(self):
        """A node has every name INode declares, as declared."""
        verifyObject(INode, makeNode(1))

    def test_partsUseOnlyDeclaredNames(self):
        """Every name a part reads or calls on its node (``node.X``,
        ``self.node.X`` anywhere in the package) is declared by INode: a
        part that starts to use another fails here until INode names it."""
        declared = set(INode.names(all=True))
        root = pathlib.Path(twisted_bazaar.__file__).parent
        used = {}
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).parts
            if parts[0] in _OTHER_NODES or parts == ("core", "node.py"):
                continue
            for name in re.findall(r"(?<![\w.])(?:self\.)?node\.([A-Za-z_]\w*)",
                                   _codeOnly(path.read_text())):
                used.setdefault(name, set()).add("/".join(parts))
        self.assertGreater(len(used), 40)
        self.assertEqual({name: sorted(where) for name, where in used.items()
                          if name not in declared}, {})


class IntroductionTests(SynchronousTestCase):
    def test_introduction(self):
        """The node's thisisme names its id and address; a purpose only for
        links that are not overlay links."""
        node = makeNode(3)
        self.assertEqual(node.introduction(), wire.ThisIsMe(3, 4001, "10.0.0.1"))
        self.assertEqual(node.introduction("overlay"), wire.ThisIsMe(3, 4001, "10.0.0.1"))
        self.assertEqual(node.introduction("direct"),
                         wire.ThisIsMe(3, 4001, "10.0.0.1", purpose="direct"))


class _Taker:
    """A part whose table takes searches."""

    def __init__(self):
        self.taken = []

    def _search(self, link, message):
        self.taken.append((link, message))

    takes = {floodmsg.Search: _search}


class HandleTests(SynchronousTestCase):
    """Messages the overlay does not handle itself go to the part whose
    table (L{Node.takeFrom}) takes their type."""

    def setUp(self):
        self.node = makeNode(1)
        self.link = linkPeer(self.node, 7)

    def test_handlerGetsLinkAndMessage(self):
        part = _Taker()
        self.node.takeFrom(part)
        search = floodmsg.Search(5, "apple", (7,), 3)
        feed(self.link, search)
        self.assertEqual(part.taken, [(self.link, search)])
        self.assertEqual(sent(self.link), [])

    def test_oneHandlerPerType(self):
        self.node.takeFrom(_Taker())
        self.assertRaises(ValueError, self.node.takeFrom, _Taker())

    def test_notBeforeThisIsMe(self):
        """A handled type before thisisme is still wtf, and closes."""
        part = _Taker()
        self.node.takeFrom(part)
        link = openLink(self.node)
        feed(link, floodmsg.Search(5, "apple", (7,), 3))
        self.assertEqual(codes(sent(link)), ["wtf"])
        self.assertTrue(link.transport.disconnecting)
        self.assertEqual(part.taken, [])

    def test_unhandledTypeIsWtf(self):
        """A type no component handles is answered with wtf naming it, but
        the link stays."""
        feed(self.link, floodmsg.Search(5, "apple", (7,), 3))
        [error] = sent(self.link)
        self.assertEqual((error.code, error.info),
                         ("wtf", "this node does not handle search"))
        self.assertFalse(self.link.transport.disconnecting)

    def test_trackerMessageIsWtf(self):
        """A tracker-only message on a node link is answered with wtf, but
        the link stays."""
        feed(self.link, wire.NodeReq())
        [error] = sent(self.link)
        self.assertEqual((error.code, error.info),
                         ("wtf", "this node does not handle nodereq"))
        self.assertFalse(self.link.transport.disconnecting)

    def test_indexMessagesAreWtf(self):
        """The index scheme's messages are between a node and the tracker:
        a node answers them with wtf, saying it does not handle them (it
        used to say they were for the tracker)."""
        for message in (indexmsg.Register("apple", signed(1)), indexmsg.Unregister("apple"),
                        indexmsg.Lookup("apple"), indexmsg.List()):
            feed(self.link, message)
            [error] = sent(self.link)
            self.assertEqual((error.code, error.info),
                             ("wtf", f"this node does not handle {message.TYPE}"))
        self.assertFalse(self.link.transport.disconnecting)

    def test_routedTypesNeedNoHandler(self):
        """A path-routed message is the path router's: delivered as an
        event at the end of its path."""
        recorder = Recorder()
        self.node.addObserver(recorder)
        buy = trade.Buy(5, "apple", (7, 1))
        feed(self.link, buy)
        self.assertEqual(recorder.events, [("delivered", buy)])
        self.assertEqual(sent(self.link), [])


class CompositionTests(SynchronousTestCase):
    """What the node offers its components, delegated to its parts."""

    def test_linksAreTheOverlays(self):
        node = makeNode(1)
        link = linkPeer(node, 7)
        self.assertIs(node.links, node.overlay.established())
        self.assertIs(node.linkTo(7), link)
        self.assertIsNone(node.linkTo(8))
        self.assertEqual(list(node.linkEnds()), [link])
        self.assertEqual(node.links, {7: link})
        self.assertEqual(node.linkCount(), 1)

    def test_aDialerMadeWhenFirstAsked(self):
        """A node makes its dialer when a part first asks for it, not when
        built: a quiet node of a warm simulation never dials (132 to 137
        bytes of each; 10a79352 made it with the node).  Its thisisme's
        paths (L{Node.advertisedPaths}) are asked without one, and the dialer
        made dials through the node's connector."""
        node = makeNode(1)
        connector = node.connector
        self.assertIs(node._reach, connector)
        self.assertEqual(node.advertisedPaths(), ())
        self.assertIs(node._reach, connector)
        dialer = node.dialer
        self.assertIs(node.dialer, dialer)
        self.assertIs(dialer.connector, connector)
        self.assertIs(node.connector, connector)
        self.assertEqual(node.advertisedPaths(), dialer.advertised())

    def test_aLateDialerProvesWhatTheNodeWasMadeWith(self):
        """A dialer made late races a link's ways as one made with the node
        would: if the node was made with a key, whatever key it holds
        when the dialer is made."""
        keyless = makeNode(1)
        keyless.identity = Identity.fromRandom(random.Random(3))
        self.assertFalse(keyless.dialer.keyed)
        keyed = makeNode(2, identity=Identity.fromRandom(random.Random(4)))
        self.assertTrue(keyed.dialer.keyed)

    def test_stoppingIsReadOnly(self):
        node = makeNode(1)
        self.assertFalse(node.stopping)
        with self.assertRaises(AttributeError):
            node.stopping = True
        node.shutdown()
        self.assertTrue(node.stopping)
        self.assertTrue(node.overlay.stopping)

    def test_routeAndPathTo(self):
        """route and pathTo are the path router's."""
        node = makeNode(1)
        link = linkPeer(node, 3)
        ok = trade.BuyOK(5, "apple", (1, 3))
        self.assertTrue(node.route(ok))
        self.assertEqual(sent(link), [ok])
        self.assertEqual(node.pathTo(3), node.paths.pathTo(3))


class EventTests(SynchronousTestCase):
    """Observers are told of a node's events, each shielded from the
    others."""

    def test_observerMustProvideINodeEvents(self):
        """An object that is not an INodeEvents is refused."""

        class Partial:
            def linkAdded(self, peer_id):
                pass

        node = makeNode(1)
        self.assertRaises(TypeError, node.addObserver, Partial())
        self.assertEqual(node.events.observers, ())
        observer = NodeObserver()
        self.assertTrue(INodeEvents.providedBy(observer))
        node.addObserver(observer)
        self.assertEqual(node.events.observers, (observer,))

    def test_linkEvents(self):
        """linkAdded and linkRemoved, in order."""
        node = makeNode(1)
        recorder = Recorder()
        node.addObserver(recorder)
        link = linkPeer(node, 7)
        feed(link, wire.Dc())
        closeLink(link)
        self.assertEqual(recorder.events, [("linkAdded", 7), ("linkRemoved", 7)])

    def test_failingObserverDoesNotStopTheOthers(self):
        """An observer that raises is logged; the ones after it are still
        told, and the node goes on."""

        class Broken(NodeObserver):
            def linkAdded(self, peer_id):
                raise RuntimeError("boom")

        node = makeNode(1)
        before, after = Recorder(), Recorder()
        for observer in (before, Broken(), after):
            node.addObserver(observer)
        with capturedLogs() as events:
            linkPeer(node, 7)
        self.assertEqual(before.events, [("linkAdded", 7)])
        self.assertEqual(after.events, [("linkAdded", 7)])
        failures = [e for e in events if "log_failure" in e]
        self.assertEqual(len(failures), 1)
        self.assertIsInstance(failures[0]["log_failure"].value, RuntimeError)
        self.assertIn(7, node.links)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_removedObserverIsNotTold(self):
        node = makeNode(1)
        recorder = Recorder()
        node.addObserver(recorder)
        node.events.removeObserver(recorder)
        linkPeer(node, 7)
        self.assertEqual(recorder.events, [])

    def test_nodeStoppingOnce(self):
        """shutdown tells observers nodeStopping once, however often it is
        called."""
        node = makeNode(1)
        recorder = Recorder()
        node.addObserver(recorder)
        node.shutdown()
        node.shutdown()
        self.assertEqual(recorder.events, [("nodeStopping",)])


class NodeAPITests(SynchronousTestCase):
    """What plugins use instead of the overlay's own tables."""

    def test_addPurposeKeepsTheFirstBudget(self):
        node = makeNode(1)
        node.addPurpose("mine", 3, idle=7.0)
        node.addPurpose("mine", 5, idle=9.0)
        self.assertEqual((node.overlay.budgets["mine"], node.overlay.idle_timeouts["mine"]),
                         (3, 7.0))

    def test_setSlotsReplaces(self):
        node = makeNode(1)
        node.setSlots("mine", 3)
        node.setSlots("mine", 4)
        self.assertEqual(node.overlay.budgets["mine"], 4)

    def test_nodesShareTheirBudgetsUntilOneChanges(self):
        """Nodes with the same budgets hold one read-only table; a change
        to one node's is its own."""
        one, two = makeNode(1), makeNode(2)
        for node in (one, two):
            node.addPurpose("mine", 3, idle=7.0)
        self.assertIs(one.overlay.budgets, two.overlay.budgets)
        self.assertIs(one.overlay.idle_timeouts, two.overlay.idle_timeouts)
        one.setSlots("mine", 5)
        self.assertEqual((one.overlay.budgets["mine"], two.overlay.budgets["mine"]), (5, 3))
        with self.assertRaises(TypeError):
            two.overlay.budgets["mine"] = 9

    def test_addressOfAnUnknownPeer(self):
        self.assertEqual(makeNode(1).addressOf(99), ("", 0))


class ReachTests(SynchronousTestCase):
    """The node's reach and the host it advertises are its own state,
    set by its own methods on its tracker session's word (issue 81:
    services publish, they do not write into others)."""

    def test_setReach(self):
        node = makeNode(1)
        reach = Reachability(PRIVATE, "10.0.0.2", 9001, "198.51.100.7", 40000)
        node.setReach(reach)
        self.assertIs(node.reach, reach)

    def test_advertiseFromAPublicAddress(self):
        """A public local address is the host told, whatever the tracker saw."""
        node = makeNode(1)
        node.setReach(Reachability(PRIVATE, "203.0.113.4", 9001, "198.51.100.7", 40000))
        self.assertEqual((node.advertiseFrom("203.0.113.4"), node.host),
                         (True, "203.0.113.4"))
        self.assertEqual((node.advertiseFrom("203.0.113.4"), node.host),
                         (False, "203.0.113.4"))

    def test_advertiseFromALocalAddress(self):
        """A home's address is never told: where the tracker saw the node
        is, or "" until it said; whether that changed the host."""
        node = makeNode(1)
        self.assertEqual((node.advertiseFrom("192.168.1.5"), node.host), (True, ""))
        node.setReach(Reachability(PRIVATE, "192.168.1.5", 9001, "198.51.100.7", 40000))
        self.assertEqual((node.advertiseFrom("192.168.1.5"), node.host),
                         (True, "198.51.100.7"))
        self.assertEqual((node.advertiseFrom("192.168.1.5"), node.host),
                         (False, "198.51.100.7"))


class OwnPathsTests(SynchronousTestCase):
    """The node hears the paths to itself its sources found, through its
    dialer's sources of paths (L{IOwnPaths}: it is the listener its
    dialer is built with): the relay its reservation holds, advertised;
    its port mapped, checked by its tracker."""

    def test_verified(self):
        verifyObject(IOwnPaths, makeNode(1))

    def test_relayFoundAdvertisedOnce(self):
        """A relayed path found is the relay advertised from now on (the
        caller's round tells the parts); the same one again is no news."""
        node = makeNode(1)
        sources = node.dialer.sources
        self.assertTrue(sources.own(Path(RELAYED, relay="192.0.2.5:7702")))
        self.assertEqual(node.relay, "192.0.2.5:7702")
        self.assertFalse(sources.own(Path(RELAYED, relay="192.0.2.5:7702")))

    def test_relayGoneTellsTheParts(self):
        """The relay gone: none advertised, and the parts told at once."""
        node = makeNode(1)
        told = []
        node.addObserver(_RelayChanges(told))
        node.dialer.sources.own(Path(RELAYED, relay="192.0.2.5:7702"))
        node.dialer.sources.ownGone(Path(RELAYED, relay="192.0.2.5:7702"))
        self.assertEqual((node.relay, told), (None, [None]))

    def test_mappedAsksTheTracker(self):
        """A port mapped has the tracker asked to check the node there; with
        no tracker session, nothing is sent."""
        node = makeNode(1)
        self.assertFalse(node.dialer.sources.own(Path(MAPPED, port=9001)))
        sent = []
        node.setMembership(_Sending(sent))
        self.assertTrue(node.dialer.sources.own(Path(MAPPED, port=9001)))
        self.assertEqual(sent, [wire.CheckMe()])


class _RelayChanges(NodeObserver):
    def __init__(self, told):
        self.told = told

    def relayChanged(self):
        self.told.append(None)


class _Sending:
    def __init__(self, sent):
        self.send = sent.append


class WhereaboutsTests(SynchronousTestCase):
    """A node's whereabouts (what it knows of where its peers are) make
    their book when first needed: a simulated node that only takes links
    holds none."""

    def test_aPeerWithNoRelayMakesNone(self):
        node = makeNode()
        node.noteRelay(0x77, None)
        self.assertIsNone(node.whereabouts._book)
        node.noteRelay(0x77, "203.0.113.1:7701")
        self.assertIsNotNone(node.whereabouts._book)
        self.assertEqual(node.whereabouts.relayOf(0x77), "203.0.113.1:7701")
        node.noteRelay(0x77, None)
        self.assertIsNone(node.whereabouts.relayOf(0x77))

    def test_askingWhetherUnreachableMakesNone(self):
        """A scheme asks whether a seller is unreachable at each find, a
        link up tells the node its peer is reached: neither makes a
        book; what a dial noted is read and cleared."""
        node = makeNode()
        node.reached(0x77)
        self.assertFalse(node.unreachable(0x77))
        self.assertIsNone(node.whereabouts._book)
        node.whereabouts.relayOf(0x77)
        node.reached(0x77)
        self.assertFalse(node.unreachable(0x77))
        self.assertIsNone(node.whereabouts._book)
        node.whereabouts.unreached(0x77)
        self.assertTrue(node.unreachable(0x77))
        node.reached(0x77)
        self.assertFalse(node.unreachable(0x77))


class RelayedDialTests(SynchronousTestCase):
    """connectTo with a peer's relay (given, or noted from the tracker)
    opens a circuit to that peer's id through the relay: the node's
    connector dials the relay and asks for the peer by id."""

    def asked(self, node):
        [request] = node.connector.requests
        transport = StringTransport()
        request.link.makeConnection(transport)
        return (request.host, request.port), transport.value()

    def test_givenRelay(self):
        node = makeNode()
        node.whereabouts.book.trackerNamed(nodeReply(0x77, "198.51.100.7", 9001,
                                                     relay="203.0.113.1:7701"))
        linkAt(node, "192.168.1.2", 9001, 0x77)
        self.assertEqual(self.asked(node), (
            ("203.0.113.1", 7701), b'51:{"type":"relayConnect","to":"119","purpose":"node"},'))

    def test_notedRelay(self):
        """A relay the tracker named for a peer is used for it (and only
        for it), in the node's book of paths; the last KEPT are kept."""
        node = makeNode()
        node.whereabouts.book.trackerNamed(nodeReply(0x77, "198.51.100.7", 9001,
                                                     relay="203.0.113.1:7701"))
        node.noteRelay(0x77, "203.0.113.1:7701")
        linkAt(node, "192.168.1.2", 9001, 0x77)
        self.assertEqual(self.asked(node)[0], ("203.0.113.1", 7701))
        other = makeNode()
        other.noteRelay(0x77, "203.0.113.1:7701")
        linkAt(other, "192.168.1.3", 9001, 0x78)
        self.assertEqual(self.asked(other)[0], ("192.168.1.3", 9001))
        other.noteRelay(0x78, "203.0.113.1:7701")
        other.noteRelay(0x78, None)
        book = other.whereabouts.book
        self.assertIsNone(book.relayOf(0x78))
        for peer in range(KEPT):
            other.noteRelay(1000 + peer, "203.0.113.1:7701")
        self.assertIsNone(book.relayOf(0x77))
        self.assertEqual(len(book._peers), KEPT)
