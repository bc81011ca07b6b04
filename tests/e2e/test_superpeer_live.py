"""
End to end: the superpeer scheme with real ``twistd`` daemons on loopback.

A tracker, super-peers A and B, and four leaves, each named to one
super-peer with ``--superpeer-neighbour``: seller-apple and buyer-pear on
A, seller-pear and buyer-apple on B.  Each buyer buys from the seller
behind the other super-peer.  Then A is killed with ``kill -9``; its two
leaves re-register with B (through the tracker, A being gone), and a
further buyer, also told to use the dead A, buys the apple seller's last
unit through B.

Every wait is on a log line, bounded by a timeout; nothing sleeps.  The
leaves' backoff is cut with ``--superpeer-retry`` so that nothing waits on
the default one.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import node_address, start_market

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Every node runs the scheme; a super-peer must carry a role too
#: (bazaar-node wants one), so it sells nothing.
SCHEME = ["--discovery", "superpeer"]
SUPER = SCHEME + ["--super", "--role", "seller", "--sell", "nothing=0"]
LEAF = SCHEME + ["--superpeers", "1", "--superpeer-retry", "0.2"]
REGISTERED = r"registered with super-peer {} \("


class LiveSuperPeerTests(SynchronousTestCase):
    def setUp(self):
        self.market, self.tracker = start_market(self, TIMEOUT)

    def leaf(self, name, superpeer_port, *role):
        daemon = self.market.start_node(name, *LEAF, "--superpeer-neighbour",
                                        f"127.0.0.1:{superpeer_port}", *role)
        return (daemon, *node_address(daemon, TIMEOUT))

    def test_buy_across_superpeers_and_fail_over(self):
        market = self.market
        a = market.start_node("superpeer-a", *SUPER)
        a_id, a_port = node_address(a, TIMEOUT)
        b = market.start_node("superpeer-b", *SUPER, "--superpeer-neighbour",
                              f"127.0.0.1:{a_port}")
        b_id, b_port = node_address(b, TIMEOUT)
        b.wait_for(rf"linked to node {a_id} \(super\)", TIMEOUT)

        apples, apples_id, _ = self.leaf("seller-apple", a_port, "--role", "seller",
                                         "--sell", "apple=2")
        pears, pears_id, _ = self.leaf("seller-pear", b_port, "--role", "seller",
                                       "--sell", "pear=1")
        apples.wait_for(REGISTERED.format(a_id), TIMEOUT)
        pears.wait_for(REGISTERED.format(b_id), TIMEOUT)

        buy_pear, buy_pear_id, _ = self.leaf("buyer-pear", a_port, "--role", "buyer",
                                             "--want", "pear")
        buy_apple, _, _ = self.leaf("buyer-apple", b_port, "--role", "buyer",
                                    "--want", "apple")
        buy_pear.wait_for(REGISTERED.format(a_id), TIMEOUT)
        buy_pear.wait_for(rf"bought pear from {pears_id} \(1 of 1\)", TIMEOUT)
        buy_apple.wait_for(REGISTERED.format(b_id), TIMEOUT)
        buy_apple.wait_for(rf"bought apple from {apples_id} \(1 of 1\)", TIMEOUT)

        # kill -9 super-peer A: its leaves move to B.
        a.process.kill()
        a.finish()
        for orphan in (apples, buy_pear):
            orphan.wait_for(rf"lost super-peer {a_id}", TIMEOUT)
            orphan.wait_for(REGISTERED.format(b_id), TIMEOUT)
        b.wait_for(rf"leaf {apples_id} at 127\.0\.0\.1:\d+ registered 1 items",
                   TIMEOUT)

        # A further purchase, by a buyer sent to the dead A, goes through B.
        late, _, _ = self.leaf("buyer-late", a_port, "--role", "buyer",
                               "--want", "apple")
        late.wait_for(REGISTERED.format(b_id), TIMEOUT)
        late.wait_for(rf"bought apple from {apples_id} \(1 of 1\)", TIMEOUT)
        apples.wait_for(r"sold apple to \d+ \(0 left\)", TIMEOUT)

        codes = market.stop()
        self.assertEqual(set(codes), {"tracker", "superpeer-a", "superpeer-b",
                                      "seller-apple", "seller-pear", "buyer-pear",
                                      "buyer-apple", "buyer-late"})
        for daemon in market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        # Exactly once: two apples sold, two bought, no more.
        self.assertEqual(len(apples.matches(r"sold apple to")), 2)
        self.assertEqual(len(pears.matches(r"sold pear to")), 1)
        self.assertEqual([int(m[1]) for m in pears.matches(r"sold pear to (\d+)")],
                         [buy_pear_id])
