"""The mapping of the node's port kept at the router: each protocol tried
in turn, renewed at half its lease, asked again when a renewal fails,
deleted at stop, and a mapping at another port given back."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed
from twisted_bazaar.reach.reachable.portmap.mapper import LEAST_RENEWAL, RETRY_FIRST, PortMapper
from twisted_bazaar.reach.reachable.portmap.natpmp import Mapped


class FakeProtocol:
    """A protocol whose every request the test answers."""

    def __init__(self, name):
        self.name = name
        self.maps = []
        self.unmaps = []

    def map(self, internal, external, lifetime):
        d = defer.Deferred()
        self.maps.append(((internal, external, lifetime), d))
        return d

    def unmap(self, mapped):
        d = defer.Deferred()
        self.unmaps.append((mapped, d))
        return d

    def grant(self, external=5555, lifetime=3600):
        self.maps[-1][1].callback(Mapped(5555, external, lifetime))

    def refuse(self, why):
        self.maps[-1][1].errback(MappingFailed(f"{self.name}: {why}"))


class PortMapperTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.pcp, self.pmp, self.upnp = (FakeProtocol(n) for n in ("PCP", "NAT-PMP",
                                                                    "UPnP"))
        self.mapped = []
        self.mapper = PortMapper(self.clock, [self.pcp, self.pmp, self.upnp], 5555,
                                 self.mapped.append)

    def test_firstThatMapsKeepsIt(self):
        """PCP refused, NAT-PMP grants: UPnP is never asked; the mapping is
        told once; it is renewed at half its lease (no sooner than 30 s:
        a 40 s lease at 30 s), through NAT-PMP."""
        self.mapper.start()
        self.assertEqual(self.pcp.maps[0][0], (5555, 5555, 3600))
        self.pcp.refuse("unsupported")
        self.pmp.grant(lifetime=40)
        self.assertEqual(self.upnp.maps, [])
        self.assertEqual(self.mapped, [Mapped(5555, 5555, 40)])
        self.clock.advance(LEAST_RENEWAL - 0.1)
        self.assertEqual(len(self.pmp.maps), 1)
        self.clock.advance(0.1)
        self.assertEqual(len(self.pmp.maps), 2)
        self.pmp.grant(lifetime=7200)
        self.clock.advance(3599)
        self.assertEqual(len(self.pmp.maps), 2)
        self.clock.advance(1)
        self.assertEqual(len(self.pmp.maps), 3)
        self.assertEqual(len(self.mapped), 1)

    def test_allFail(self):
        """Every protocol fails: one line with each reason, asked again
        after 60 s, then 120."""
        self.mapper.start()
        with capturedLogs() as events:
            self.pcp.refuse("no answer")
            self.pmp.refuse("no answer")
            self.upnp.refuse("no SSDP answer")
        [line] = [formatEvent(e) for e in events]
        self.assertEqual(line, "no router maps TCP port 5555 (listening port) to this "
                         "node: PCP: no answer; NAT-PMP: no answer; UPnP: no SSDP "
                         "answer; asking again in 60 s")
        self.clock.advance(RETRY_FIRST)
        self.assertEqual(len(self.pcp.maps), 2)
        self.pcp.refuse("x")
        self.pmp.refuse("x")
        with capturedLogs() as events:
            self.upnp.refuse("x")
        self.assertIn("asking again in 120 s", formatEvent(events[0]))

    def test_unexpectedErrorSaid(self):
        """An error that is no MappingFailed (a bug) is said with the
        protocol's name, and the next protocol is tried."""
        self.mapper.start()
        self.pcp.maps[0][1].errback(ValueError("boom"))
        self.assertEqual(len(self.pmp.maps), 1)
        self.pmp.refuse("x")
        with capturedLogs() as events:
            self.upnp.refuse("x")
        self.assertIn("PCP: ValueError: boom", formatEvent(events[0]))

    def test_otherPortGivenBack(self):
        """A router that maps the port at another external port: given
        back, and the next protocol asked (the node is advertised at its
        own port)."""
        self.mapper.start()
        self.pcp.grant(external=40000)
        self.assertEqual(self.pcp.unmaps[0][0], Mapped(5555, 40000, 3600))
        self.assertEqual(len(self.pmp.maps), 1)
        self.assertEqual(self.mapped, [])
        # Stopping waits for the mapping given back; its failure is a line.
        d = self.mapper.stop()
        self.assertNoResult(d)
        with capturedLogs() as events:
            self.pcp.unmaps[0][1].errback(MappingFailed("PCP: no answer"))
        self.successResultOf(d)
        self.assertIn("PCP: giving a mapping back failed: PCP: no answer",
                      formatEvent(events[0]))

    def test_renewalFails(self):
        """A renewal refused: asked again from the first protocol."""
        self.mapper.start()
        self.pcp.grant(lifetime=120)
        self.clock.advance(60)
        with capturedLogs() as events:
            self.pcp.refuse("NO_RESOURCES")
        self.assertIn("renewing the mapping of TCP port 5555 (listening port) failed: "
                      "PCP: NO_RESOURCES",
                      formatEvent(events[0]))
        self.assertEqual(len(self.pcp.maps), 3)
        self.assertIsNone(self.mapper.mapping)

    def test_stopDeletes(self):
        """Stop cancels the renewal timer and deletes the mapping through
        its protocol; the Deferred fires once the router answered."""
        self.mapper.start()
        self.pcp.grant()
        d = self.mapper.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.pcp.unmaps[0][0], Mapped(5555, 5555, 3600))
        self.assertNoResult(d)
        self.pcp.unmaps[0][1].callback(None)
        self.successResultOf(d)

    def test_stopDeletionFails(self):
        """A deletion that fails is a line, not a failure of the stop."""
        self.mapper.start()
        self.pcp.grant()
        d = self.mapper.stop()
        with capturedLogs() as events:
            self.pcp.unmaps[0][1].errback(MappingFailed("PCP: no answer"))
        self.successResultOf(d)
        self.assertIn("could not remove the mapping of TCP port 5555 (listening port): "
                      "PCP: no answer",
                      formatEvent(events[0]))

    def test_stopCancels(self):
        """Stop while a request is under way cancels it, asks no other
        protocol, and deletes nothing."""
        self.mapper.start()
        d = self.mapper.stop()
        self.successResultOf(d)
        self.assertTrue(self.pcp.maps[0][1].called)
        self.assertEqual(self.pmp.maps, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
