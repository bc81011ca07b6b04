"""
The direct share of simulations with nodes at home
(L{twisted_bazaar.sim.udppunches}): the NAT mix's parsing and draws, and
the pairs through a relay that a TCP or a modelled UDP punch takes off it.
"""

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.runner import SimConfig, Simulation
from twisted_bazaar.sim.udppunches import FIELD_MIX, drawKind, parseMix
from twisted_bazaar.testing.nat import KEEPS_PORTS, SYMMETRIC
from twisted_bazaar.testing.udpnat import FULL_CONE, PORT_RESTRICTED, RANDOM, SEQUENTIAL

#: A small flood market, most of its nodes at home, its routers of the
#: field's mix.
MIXED = SimConfig(nodes=60, sellers=0.25, items=2, searches=20, max_time=60.0,
                  discovery="flood", topology="tracker", nat=0.8, nat_mix=FIELD_MIX,
                  crypto="fast")


class MixTests(SynchronousTestCase):
    def test_parse(self):
        """'field' is the field's mix; KIND=SHARE,... any other, its shares
        adding up to 1."""
        self.assertEqual(parseMix("field"), FIELD_MIX)
        self.assertEqual(sum(share for _, share in FIELD_MIX), 1)
        self.assertEqual(parseMix("full-cone=0.5, symmetric-random=0.5"),
                         ((FULL_CONE, 0.5), (RANDOM, 0.5)))
        self.assertEqual(parseMix("full-cone=0.5+symmetric-random=0.5"),
                         ((FULL_CONE, 0.5), (RANDOM, 0.5)))

    def test_bad(self):
        """A bad mix is refused saying why."""
        for text, why in (
                ("cone=1", "a NAT mix is 'field' or KIND=SHARE,... with KIND one of "
                           "full-cone, port-restricted, symmetric-sequential, "
                           "symmetric-random, not 'cone=1'"),
                ("full-cone", "not 'full-cone'"),
                ("full-cone=x", "full-cone's share is a number, not 'x'"),
                ("full-cone=0.5,full-cone=0.5", "given once"),
                ("full-cone=1.5", "between 0 and 1"),
                ("full-cone=0.5", "a NAT mix's shares add up to 1, not 0.5")):
            with self.assertRaises(ValueError) as caught:
                parseMix(text)
            self.assertIn(why, str(caught.exception))

    def test_draw(self):
        """A draw falls on the kind whose share covers it."""
        mix = ((FULL_CONE, 0.25), (PORT_RESTRICTED, 0.5), (SEQUENTIAL, 0.25))
        self.assertEqual([drawKind(mix, draw) for draw in (0, 0.24, 0.25, 0.74, 0.99)],
                         [FULL_CONE, FULL_CONE, PORT_RESTRICTED, PORT_RESTRICTED,
                          SEQUENTIAL])

    def test_config(self):
        """A mix wants --nat, and is not given with --nat-symmetric."""
        with self.assertRaises(ValueError) as caught:
            Simulation(SimConfig(nat_mix=FIELD_MIX))
        self.assertIn("it needs --nat", str(caught.exception))
        with self.assertRaises(ValueError) as caught:
            Simulation(SimConfig(nat=0.5, nat_mix=FIELD_MIX, nat_symmetric=0.5))
        self.assertIn("not both", str(caught.exception))


class DirectShareTests(SynchronousTestCase):
    def test_routers(self):
        """Each home's router has the TCP kind of its UDP kind: a cone
        keeps ports, a symmetric router does not."""
        sim = Simulation(MIXED)
        sim.build()
        homes = sim.homes
        routers = {homes.routerOf(node.connector.from_host) for node in sim.nodes}
        routers.discard(None)
        kinds = sim.direct.kinds
        self.assertEqual(set(kinds), {router.public for router in routers})
        for router in routers:
            tcp = KEEPS_PORTS if kinds[router.public] in (FULL_CONE, PORT_RESTRICTED) \
                else SYMMETRIC
            self.assertEqual(router.kind, tcp)

    def test_mixed(self):
        """In the field's mix, every pair through a relay is counted once,
        TCP-punched, UDP-punched or left relayed saying why; the share is
        theirs, at least 0.9, and the same figures come from the same
        seed."""
        metrics = Simulation(MIXED).run()
        direct = metrics["nat"]["direct"]
        self.assertGreater(direct["tried"], 0)
        self.assertGreater(direct["udp_punched"], 0)
        self.assertEqual(direct["tcp_punched"], metrics["nat"]["punches"]["punched"])
        self.assertEqual(direct["tried"], direct["tcp_punched"] + direct["udp_punched"]
                         + sum(direct["relayed"].values()) + direct["pending"])
        self.assertEqual(direct["direct_share"], round(
            (direct["tcp_punched"] + direct["udp_punched"]) / direct["tried"], 4))
        self.assertGreaterEqual(direct["direct_share"], 0.9)
        self.assertEqual(Simulation(MIXED).run()["nat"]["direct"], direct)

    def test_allHard(self):
        """With every router random-port, no TCP punch connects, and only
        the pairs with a public end meet over UDP (by the birthday
        paradox): those between two homes stay relayed, both ends hard."""
        config = attr.evolve(MIXED, nat_mix=parseMix("symmetric-random=1"))
        direct = Simulation(config).run()["nat"]["direct"]
        self.assertEqual(direct["tcp_punched"], 0)
        self.assertGreater(direct["relayed"]["both_hard"], 0)
        self.assertEqual(set(direct["relayed"]) - {"both_hard", "birthday_missed"}, set())
        self.assertLess(direct["direct_share"], 0.9)

    def test_withoutMix(self):
        """Without a mix, the share counts TCP punches only, and says UDP
        was not modelled."""
        config = attr.evolve(MIXED, nat_mix=(), nat_symmetric=0.5)
        direct = Simulation(config).run()["nat"]["direct"]
        self.assertIsNone(direct["udp_punched"])
        self.assertEqual(direct["relayed"]["no_udp"],
                         direct["tried"] - direct["tcp_punched"] - direct["pending"])
        self.assertEqual(direct["direct_share"],
                         round(direct["tcp_punched"] / direct["tried"], 4))
