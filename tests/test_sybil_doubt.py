"""
Sybil doubt (issue 34, class 4), tried as an attacker would: fresh keys,
each answering every buy and ask of a buyer's with a signed ``notyet``
(it did not sell, and will not promise it never will), so that each buy
of the buyer's stays in doubt and holds its want back, while an honest
seller's offer waits in hand.  Bounded per key (two minutes each), that
held a one-unit want for 15 x 2 minutes (1,802 s in each test here,
2,228 s for the silent keys, before); a want's doubt is now bounded in all, and per address group,
and a seller with a record of settling is tried before fresh keys.  Each speaks only the wire protocol
(signed replies and errors) on its own proven link, on fake transports
and a fake clock; docs/reliability.md ("Attacks tried") lists them.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import feed, flooded, makeNode, provenLink, sent
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.roles.buyer import Buyer
from twisted_bazaar.roles.buyer.budget import GROUP_DOUBT_SHARE, WANT_DOUBT_BUDGET
from twisted_bazaar.roles.want import DOUBT_LIMIT
from twisted_bazaar.schemes.flood.messages import Reply
from twisted_bazaar.store import Purchase
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK

WINDOW = 1.0
TIMEOUT = 2.0
#: Keys the attacker answers notyet with.
SYBILS = 15
#: Seconds of searching, sending and asking a test allows on top of the
#: doubt it bounds.
SLACK = 30.0
HONEST_HOST = "192.0.2.7"


def keyOf(seed):
    return Identity.fromRandom(random.Random(seed))


class SybilDoubtTests(SynchronousTestCase):
    """
    A keyed buyer wanting one apple, linked to SYBILS fresh keys that
    offer it and answer notyet, and to one honest seller that offers it
    too, its reply arriving last.
    """

    def startBuyer(self, sybil_hosts, bag=()):
        self.me = keyOf(1)
        self.node = makeNode(self.me.id, identity=self.me, max_connections=SYBILS + 1)
        self.clock = self.node.clock
        for purchase in bag:
            self.node.store.commitPurchase(purchase)
        self.sybils = [(keyOf(100 + n), provenLink(self.node, keyOf(100 + n), host=host))
                       for n, host in enumerate(sybil_hosts)]
        self.honest = keyOf(99)
        self.honest_link = provenLink(self.node, self.honest, host=HONEST_HOST)
        self.buyer = Buyer(flooded(self.node), ["apple"], search_window=WINDOW,
                           buy_timeout=TIMEOUT)
        self.buyer.linkAdded(self.honest.id)
        self.offer(self.sybils + [(self.honest, self.honest_link)])
        self.sold = []
        #: Whether the sybils answer nothing at all (not even a ping).
        self.silent = False

    def offer(self, sellers):
        """Each seller answers the search it got with its offer."""
        for key, link in sellers:
            for search in sent(link):
                feed(link, key.signed(Reply(search.id, search.item, (key.id, self.me.id),
                                            key.id, link.transport.getPeer().host, 9000)))

    def answer(self):
        """Each sybil answers every buy and ask it got notyet; the honest
        seller sells."""
        for key, link in self.sybils:
            for message in sent(link):
                if type(message) in (Buy, Ask) and not self.silent:
                    feed(link, key.signed(wire.Error(
                        "notyet", "not yet", message.id, message.path[::-1],
                        buyer_key=self.me.key)))
        for message in sent(self.honest_link):
            if type(message) is Buy:
                self.sold.append(message.id)
                feed(self.honest_link, self.honest.signed(BuyOK(
                    message.id, message.item, message.path[::-1],
                    buyer_key=self.me.key)))

    def secondsToBuy(self, limit=SYBILS * DOUBT_LIMIT + 600):
        """Run the market a second at a time until the apple is bought
        (from the honest seller); return how long that took."""
        start = self.clock.seconds()
        while not self.buyer.satisfied:
            self.answer()
            if self.clock.seconds() - start > limit:
                self.fail(f"not bought in {limit} s")
            self.clock.advance(1.0)
        self.assertEqual([p.seller for p in self.buyer.bag][-1:], [self.honest.id])
        return self.clock.seconds() - start

    def test_oneAddress(self):
        """Fifteen keys on one address: their doubts take at most that
        address group's share (what one key took before)."""
        self.startBuyer(["203.0.113.66"] * SYBILS)
        self.assertLessEqual(self.secondsToBuy(), GROUP_DOUBT_SHARE + SLACK)

    def test_manyAddressGroups(self):
        """Fifteen keys, each in an address group of its own: their
        doubts take at most the want's whole budget."""
        self.startBuyer([f"10.{n}.0.1" for n in range(SYBILS)])
        self.assertLessEqual(self.secondsToBuy(), WANT_DOUBT_BUDGET + SLACK)

    def test_silentKeysOnOneAddress(self):
        """Fifteen keys on one address that answer nothing, not even a
        ping: one of them is tried, then the honest seller (one offer of
        each address group in turn), so the others' silence costs
        nothing either."""
        self.startBuyer(["203.0.113.66"] * SYBILS)
        self.silent = True
        self.assertLessEqual(self.secondsToBuy(), GROUP_DOUBT_SHARE + SLACK)

    def test_sellerThatSoldBeforeFirst(self):
        """A seller that sold to this buyer before is tried before fresh
        keys: bought at once, whatever they would answer."""
        self.startBuyer([f"10.{n}.0.1" for n in range(SYBILS)],
                        bag=[Purchase(5, "pear", keyOf(99).id, 0.0)])
        self.assertLessEqual(self.secondsToBuy(), SLACK)
        self.assertEqual(self.buyer.unresolved, {})
