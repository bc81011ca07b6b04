"""
Hole punching in simulations with nodes at home
(L{twisted_bazaar.sim.punches}): links between homes whose routers keep
ports move off the relay; a symmetric router's stay on it, counted with
the reason.
"""

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.tcp.service import relayedFrom
from twisted_bazaar.testing.memory import MemoryTransport
from twisted_bazaar.sim.punches import reasonOf
from twisted_bazaar.sim.runner import SimConfig, Simulation
from twisted_bazaar.reach.punch.tcp.mapping import UNKNOWN, mappingOf

#: A small flood market, most of its nodes at home, every router keeping
#: ports.
PORT_KEEPING = SimConfig(nodes=40, sellers=0.25, items=2, searches=20, max_time=60.0,
                         discovery="flood", topology="tracker", nat=0.7,
                         nat_symmetric=0.0)


def _links(sim):
    """Every established link of the run's nodes, once (at its opener)."""
    return [link for node in sim.nodes for link in node.links.values()
            if not link.inbound]


class ReasonTests(SynchronousTestCase):
    def test_reasons(self):
        """A failed punch is counted by what its reason says: the
        daemons' own reasons for a symmetric router here or at the peer,
        a peer not checked yet, dials that met nothing."""
        symmetric = mappingOf("router1", 40123, 40001).why
        self.assertEqual(reasonOf(f"this node cannot punch: {symmetric}"), "symmetric")
        self.assertEqual(reasonOf(f"the peer refused: it cannot punch: "
                                  f"{symmetric}"), "peer_symmetric")
        self.assertEqual(reasonOf(f"the peer refused: it cannot punch: "
                                  f"{UNKNOWN.why}"), "unchecked")
        self.assertEqual(reasonOf("no direct connection after 3 attempts (the last: "
                                  "x)"), "no_connection")
        self.assertEqual(reasonOf("no punchReply within 10 s"), "unanswered")
        self.assertEqual(reasonOf("the link closed"), "link_closed")
        self.assertEqual(reasonOf("the peer refused: too many punches"), "refused")
        self.assertEqual(reasonOf("something new"), "other")


class PunchRunTests(SynchronousTestCase):
    def test_portKeepingHomesGoDirect(self):
        """With every router keeping ports, the punches the nodes start
        connect, and their links take the place of the relayed ones: every
        purchase is made, and each link between a node at home and another
        is direct once the punches under way have ended."""
        sim = Simulation(PORT_KEEPING)
        self.assertEqual(sim.run()["success_rate"], 1.0)
        # The run ends once every buyer is done; the punches still under
        # way end within a punch's timeouts.
        sim.clock.runFor(30)
        metrics = sim.metrics(0)
        punches = metrics["nat"]["punches"]
        self.assertGreater(punches["started"], 0)
        # A punch whose relayed link a newer one replaced (the two nodes
        # dialled each other at once) ends with it, and the newer link is
        # punched in its turn; no punch fails for another reason.
        failed = punches["failed"]
        self.assertEqual(set(failed) - {"link_closed"}, set())
        self.assertLessEqual(failed.get("link_closed", 0), punches["started"] // 20)
        self.assertEqual(punches["punched"] + failed.get("link_closed", 0),
                         punches["started"])
        self.assertEqual(punches["links_moved"], punches["punched"])
        self.assertEqual(punches["dials"]["connected"], punches["punched"])
        links = _links(sim)
        self.assertTrue(any(link.transport.punched for link in links))
        self.assertEqual([link for link in links if relayedFrom(link)], [])

    def test_symmetricRoutersStayOnTheRelay(self):
        """With every router symmetric, no punch is tried on the wire:
        each fails at once, saying why, and the links stay relayed."""
        sim = Simulation(attr.evolve(PORT_KEEPING, nat_symmetric=1.0))
        metrics = sim.run()
        punches = metrics["nat"]["punches"]
        self.assertGreater(punches["started"], 0)
        self.assertEqual((punches["punched"], punches["links_moved"],
                          punches["dials"]["dials"]), (0, 0, 0))
        self.assertEqual(set(punches["failed"]) - {"symmetric", "peer_symmetric"},
                         set())
        self.assertEqual(sum(punches["failed"].values()), punches["started"])
        links = _links(sim)
        self.assertTrue(any(relayedFrom(link) for link in links))
        # A relay's circuit is no connection of the memory network's.
        self.assertFalse(any(isinstance(link.transport, MemoryTransport)
                             and link.transport.punched for link in links))

    def test_sameSeedSameRun(self):
        """Punches are drawn from the run's seed: the same run twice
        measures the same."""
        def measured():
            metrics = Simulation(attr.evolve(PORT_KEEPING, nat_symmetric=0.5)).run()
            for key in ("wall_s", "peak_rss_mb"):
                del metrics[key]
            return metrics

        first = measured()
        self.assertGreater(first["nat"]["punches"]["punched"], 0)
        self.assertEqual(first, measured())
