"""
End to end, in network namespaces (L{twisted_bazaar.testing.netns}): a
class of 10 machines behind one NAT router that does not hairpin, the
tracker outside on the public net (docs/protocol.md §5, "LAN-only
nodes").  The tracker cannot dial any of them, and its relay holds 8 of
one address group: the ninth seller and the buyer hold no reservation.
Each is still introduced to its classmates (all behind the router, on
its subnet) and to nobody else: ``bazaar status`` at a machine of the
class lists all 9 sellers, and outside, the 8 held at the relay and
the LAN-only one counted (``lanOnly``); the
buyer, of the index scheme, finds the LAN-only seller and buys from it
over the LAN.  In the superpeer scheme, its super-peer on the public net
(no relay of its own), the LAN-only seller's stock is named to the
buyer of the class, who buys from it over the LAN, and to nobody
outside: a buyer there is offered none of it.  In the chord scheme, with
a node of the ring on the public net, the LAN-only seller is on the
ring all the same (it joined through its own ``chordNear`` before its
check failed, and its ring links are its own dials), its record is
stored there, marked LAN-only behind the class's router: the buyer of
the class buys from it over the LAN, and a buyer outside is not made to
dial it.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Run it under ``flock /tmp/netns.lock`` (fixed subnets).
"""

import json
import re
import sys
from pathlib import Path

from twisted_bazaar.testing.daemons import TERMINATED, nodeId, waitUntil
from twisted_bazaar.wire.ids import wireId
from tests.e2e.helpers import (
    BED_TRACKER_PORT, TEST_PUZZLE, HomeMarketCase, runCommand, short)

TIMEOUT = 60.0
#: Sellers in the class: one more than the tracker's relay holds of one
#: address group (8), the buyer a second past it.
SELLERS = 9
#: A seller's line once the tracker's relay holds it, and the word of the
#: tracker's refusal.
HELD = "holds a reservation at the relay at"
REFUSED = "noslots"


class ClassTests(HomeMarketCase):
    def setUp(self):
        super().setUp()
        self.desks = self.bed.household("class", SELLERS + 1)

    def bazaar(self, host, *argv):
        """``bazaar --json ARGV`` on host, asking the tracker: what it
        printed, once it exited 0."""
        script = str(Path(sys.executable).with_name("bazaar"))
        done = runCommand(
            [*host.wrapper, script, "--tracker",
             f"{self.tracker_host.address}:{BED_TRACKER_PORT}", "--json", *argv],
            capture_output=True, text=True, timeout=3 * TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def classSellers(self, units, *discovery):
        """The class's sellers (``units`` of item N at desk N), once the relay holds all
        but one: (the sellers, id -> seller, the ids held, the LAN-only
        one's)."""
        sellers = [self.node(f"seller{number}", desk.host, *discovery,
                             "--role", "seller", "--sell", f"item{number}={units}")
                   for number, desk in enumerate(self.desks[:SELLERS])]
        ids = {wireId(nodeId(seller, TIMEOUT)): seller for seller in sellers}
        # Which of them the relay holds is the order they asked in: one
        # is refused, as each says (the tracker's lines of one address
        # group are bounded).
        held = lambda: [each for each, seller in ids.items() if seller.matches(HELD)]
        refused = lambda: [each for each, seller in ids.items()
                           if seller.matches(REFUSED) and not seller.matches(HELD)]
        waitUntil(sellers, lambda: len(held()) == SELLERS - 1 and refused(), TIMEOUT,
                  what=f"{SELLERS - 1} sellers held at the relay, one refused")
        [lan_only_id] = refused()
        return sellers, ids, held(), lan_only_id

    def test_everyMachineOfTheClassTrades(self):
        self.startTracker(TIMEOUT)
        sellers, ids, held, lan_only_id = self.classSellers(1, "--discovery", "index")
        inside = {node["id"] for node in self.bazaar(self.desks[0].host, "status")["nodes"]}
        seen_outside = self.bazaar(self.tracker_host, "status")
        outside = {node["id"] for node in seen_outside["nodes"]}
        self.assertEqual(inside, set(ids))
        self.assertEqual((outside, seen_outside["lanOnly"]), (set(held), 1))
        # The buyer is refused a reservation too: LAN-only, it finds and
        # buys from the LAN-only seller and from one the relay holds.
        lan_item = f"item{sellers.index(ids[lan_only_id])}"
        held_item = next(f"item{number}" for number, seller in enumerate(sellers)
                         if seller is not ids[lan_only_id])
        buyer = self.node("buyer", self.desks[SELLERS].host, "--discovery", "index",
                          "--role", "buyer", "--want", lan_item, "--want", held_item)
        buyer.waitFor(rf"bought {lan_item} from {short(lan_only_id)}", TIMEOUT)
        buyer.waitFor(r"all wants met: 2 in the bag", TIMEOUT)
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)

    def classmateAndOutsider(self, discovery, sellers, ids, held, lan_only_id):
        """A buyer of the class wants the LAN-only seller's item and a
        relay-held one, and buys both; a buyer outside wants the same two
        and buys the relay-held one: (the buyer outside, the LAN-only
        seller's item), for the test to say what the outsider was told."""
        lan_item = f"item{sellers.index(ids[lan_only_id])}"
        held_item = f"item{sellers.index(ids[held[0]])}"
        buyer = self.node("buyer", self.desks[SELLERS].host, *discovery,
                          "--role", "buyer", "--want", lan_item, "--want", held_item)
        buyer.waitFor(rf"bought {lan_item} from {short(lan_only_id)}", TIMEOUT)
        buyer.waitFor(r"all wants met: 2 in the bag", TIMEOUT)
        outsider = self.node("outsider", self.bed.public("outsider"), *discovery,
                             "--role", "buyer", "--want", held_item, "--want", lan_item)
        outsider.waitFor(rf"bought {held_item} from {short(held[0])}", TIMEOUT)
        return outsider, lan_item

    def test_aSuperPeerNamesTheLanOnlySellerInTheClassAlone(self):
        """The super-peer's check of the LAN-only leaf reaches nothing (the
        router does not forward): it keeps the leaf, and names it only to
        the leaves whose links come from the router."""
        self.startTracker(TIMEOUT)
        superpeer = self.node("superpeer", self.bed.public("superpeer"), "--discovery",
                              "superpeer", "--super", "--relay-reservations", "0")
        nodeId(superpeer, TIMEOUT)
        leaf = ("--discovery", "superpeer")
        # Two units each: one left for the buyer outside not to be offered.
        sellers, ids, held, lan_only_id = self.classSellers(2, *leaf)
        superpeer.waitFor(rf"leaf {short(lan_only_id)}: no check reaches .*: LAN-only, "
                          r"naming its items only to leaves whose links come from", TIMEOUT)
        outsider, lan_item = self.classmateAndOutsider(leaf, sellers, ids, held, lan_only_id)
        outsider.waitFor(rf"no offer for {lan_item} yet", TIMEOUT)
        self.assertEqual(outsider.matches(rf"bought {lan_item}"), [])
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)

    def test_aChordClassmateBuysFromTheLanOnlySeller(self):
        """The LAN-only seller's record, stored on the ring (whose other
        node outside takes no reservation of the class), says it is
        LAN-only behind the class's router: the buyer of the class finds
        it there and buys from it over the LAN; a buyer outside is not
        made to dial it, and says why."""
        self.startTracker(TIMEOUT)
        ring = ("--discovery", "chord", "--chord-puzzle", str(TEST_PUZZLE))
        outside = self.node("outside", self.bed.public("outside"), *ring,
                            "--relay-reservations", "0")
        nodeId(outside, TIMEOUT)
        # Two units each: one left for the buyer outside not to be offered.
        sellers, ids, held, lan_only_id = self.classSellers(2, *ring)
        lan_only = ids[lan_only_id]
        lan_only.waitFor(r"stored .* at node", TIMEOUT)
        outsider, lan_item = self.classmateAndOutsider(ring, sellers, ids, held, lan_only_id)
        outsider.waitFor(rf"not dialling node {short(lan_only_id)}, a seller of "
                         rf"'{lan_item}': its record says it is LAN-only, reached only "
                         r"by nodes seen at \S+, and this node is seen at", TIMEOUT)
        self.assertEqual(outsider.matches(rf"bought {lan_item}"), [])
        # Its id may be in the outsider's ring lines (the ring holds it);
        # no line of a trade names it but the one that says why not.
        self.assertEqual([match.string for match in outsider.matches(short(lan_only_id))
                          if re.search(r"sell|bought|buy|offer|dial", match.string)
                          and "not dialling" not in match.string], [])
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
