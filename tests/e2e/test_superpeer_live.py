"""
End to end: the superpeer scheme with real ``twistd`` daemons on loopback.

A tracker, super-peers A and B, and four leaves, each named to one
super-peer with ``--superpeer-neighbour``: seller-apple and buyer-pear on
A, seller-pear and buyer-apple on B.  Each buyer buys from the seller
behind the other super-peer.  Then A is killed with ``kill -9``; its two
leaves re-link to B (through the tracker, A being gone), the seller
registering there again, and a further buyer, also told to use the dead
A, buys the apple seller's last unit through B.  A buyer has nothing to
list: it registers nothing, its link serving its queries as it is made.

Then issue 34's address squatting, live: a keyed stranger's empty
``leafRegister`` at the address an honest seller is about to listen on
claims nothing, and the seller registers, is named and sells.

Every wait is on a log line, bounded by a timeout; nothing sleeps.  The
leaves' backoff is cut with ``--superpeer-retry`` so that nothing waits on
the default one.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, startMarket, waitBought, waitSold
from tests.e2e.helpers import short
from tests.e2e.helpers import freePort
from tests.e2e.test_raw_client import linkedStranger

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Every node runs the scheme; a super-peer carries no role.
SCHEME = ["--discovery", "superpeer"]
SUPER = SCHEME + ["--super"]
LEAF = SCHEME + ["--superpeers", "1", "--superpeer-retry", "0.2"]
REGISTERED = r"registered with super-peer {} \("
#: A leaf with nothing to list (a buyer) registers nothing.
LINKED = r"linked to super-peer {} \(nothing to list\)"


class LiveSuperPeerTests(SynchronousTestCase):
    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)

    def leaf(self, name, superpeer_port, *role):
        daemon = self.market.startNode(name, *LEAF, "--superpeer-neighbour",
                                        f"127.0.0.1:{superpeer_port}", *role)
        return (daemon, *nodeAddress(daemon, TIMEOUT))

    def test_buyAcrossSuperpeersAndFailOver(self):
        market = self.market
        a = market.startNode("superpeer-a", *SUPER)
        a_id, a_port = nodeAddress(a, TIMEOUT)
        b = market.startNode("superpeer-b", *SUPER, "--superpeer-neighbour",
                              f"127.0.0.1:{a_port}")
        b_id, b_port = nodeAddress(b, TIMEOUT)
        b.waitFor(rf"linked to node {short(a_id)} \(super\)", TIMEOUT)

        apples, apples_id, _ = self.leaf("seller-apple", a_port, "--role", "seller",
                                         "--sell", "apple=2")
        pears, pears_id, _ = self.leaf("seller-pear", b_port, "--role", "seller",
                                       "--sell", "pear=1")
        apples.waitFor(REGISTERED.format(short(a_id)), TIMEOUT)
        pears.waitFor(REGISTERED.format(short(b_id)), TIMEOUT)

        buy_pear, buy_pear_id, _ = self.leaf("buyer-pear", a_port, "--role", "buyer",
                                             "--want", "pear")
        buy_apple, _, _ = self.leaf("buyer-apple", b_port, "--role", "buyer",
                                    "--want", "apple")
        buy_pear.waitFor(LINKED.format(short(a_id)), TIMEOUT)
        waitBought(buy_pear, "pear", TIMEOUT, seller=pears_id, n=1, q=1)
        buy_apple.waitFor(LINKED.format(short(b_id)), TIMEOUT)
        waitBought(buy_apple, "apple", TIMEOUT, seller=apples_id, n=1, q=1)

        # kill -9 super-peer A: its leaves move to B.
        a.process.kill()
        a.finish()
        for orphan, line in ((apples, REGISTERED), (buy_pear, LINKED)):
            orphan.waitForEvent("lost super-peer {peer}", TIMEOUT, peer=a_id)
            orphan.waitFor(line.format(short(b_id)), TIMEOUT)
        b.waitFor(rf"leaf {short(apples_id)} at 127\.0\.0\.1:\d+ registered 1 item ",
                   TIMEOUT)

        # A further purchase, by a buyer sent to the dead A, goes through B.
        late, _, _ = self.leaf("buyer-late", a_port, "--role", "buyer",
                               "--want", "apple")
        late.waitFor(LINKED.format(short(b_id)), TIMEOUT)
        waitBought(late, "apple", TIMEOUT, seller=apples_id, n=1, q=1)
        waitSold(apples, "apple", TIMEOUT, left=0)

        codes = market.stop()
        self.assertEqual(set(codes), {"tracker", "superpeer-a", "superpeer-b",
                                      "seller-apple", "seller-pear", "buyer-pear",
                                      "buyer-apple", "buyer-late"})
        for daemon in market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        # The buyers sent no register: nothing to list.
        for buyer in (buy_pear, buy_apple, late):
            self.assertEqual(buyer.matches(r"registered with super-peer"), [],
                             buyer.name)
        # Exactly once: two apples sold, two bought, no more.
        self.assertEqual(len(apples.matches(r"sold apple to")), 2)
        self.assertEqual(len(pears.matches(r"sold pear to")), 1)
        self.assertEqual([m[1] for m in pears.matches(r"sold pear to (\w+)")],
                         [short(buy_pear_id)])


class AddressSquattingLiveTests(SynchronousTestCase):
    """
    Issue 34, super-peer address squatting: an empty leafRegister (which
    starts no address check) at an honest seller's host:port claimed it,
    and the super-peer refused the seller as claimed, naming the squatter
    by a 39-digit decimal id.  Now only a leaf a check found at an
    address claims it: the seller registers and sells, and the squatter,
    registering there again, is refused claimed, with the seller's wire
    id (32 hex digits).
    """

    def test_emptyRegisterClaimsNothing(self):
        market, _ = startMarket(self, TIMEOUT)
        superpeer = market.startNode("superpeer", *SUPER)
        super_id, super_port = nodeAddress(superpeer, TIMEOUT)
        port = freePort()
        _, squatter = linkedStranger(self, market.tracker_port, super_port, "leaf")
        squatter.send("leafRegister", seq=1, host="127.0.0.1", port=port, items={})
        self.assertEqual(squatter.receive(), {"type": "leafAck", "seq": 1, "items": 0})

        neighbour = ("--superpeer-neighbour", f"127.0.0.1:{super_port}")
        seller = market.startNode("seller", *LEAF, *neighbour, "--listen",
                                  f"tcp:{port}:interface=127.0.0.1", "--role", "seller",
                                  "--sell", "apple=1")
        seller_id, _ = nodeAddress(seller, TIMEOUT)
        seller.waitFor(REGISTERED.format(short(super_id)), TIMEOUT)
        buyer = market.startNode("buyer", *LEAF, *neighbour, "--role", "buyer",
                                 "--want", "apple")
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)

        squatter.send("leafRegister", seq=2, host="127.0.0.1", port=port, items={})
        refusal = squatter.receive()
        self.assertEqual((refusal["type"], refusal["code"], refusal["info"]),
                         ("error", "claimed",
                          f"127.0.0.1:{port} is registered by leaf {seller_id}"))
        self.assertEqual(seller.matches(r"claimed"), [])
        for daemon in market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
