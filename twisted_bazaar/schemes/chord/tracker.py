"""
The tracker's side of the Chord scheme: it introduces a chord node at its
place on the ring (``chordNear``, answered by ``chordNearIs``).

The tracker knows every registered node, so it can name, from the chord
nodes whose addresses it checked, the one that follows a newcomer's id
and the first one at or after each of its finger positions: a newcomer
so takes its place and its fingers in one round trip, where a join
through the ring (the Chord paper's) looks its place up through a ring
that may still be forming, and each finger after it.  What the tracker
names is only a start: stabilization, pings and finger repair keep the
ring as before, without the tracker.
"""

from zope.interface import implementer

from twisted_bazaar.schemes.chord.messages import MAX_FINGERS, ChordNear, ChordNearIs
from twisted_bazaar.schemes.chord.ring import BITS, SIZE, between
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.tracker import ringPlace
from twisted_bazaar.tracker.extension import ITrackerExtension

#: The scheme whose nodes the tracker names (L{ChordDiscovery.name}).
SCHEME = "chord"


def around(following, node_id, fingers):
    """
    The ids of the nodes around node_id's place: the one that follows it,
    then (with fingers) the first at or after each finger position from
    the farthest, each once; at most MAX_FINGERS.  ``following(place)``
    names the first node at or after a place (not node_id itself), or
    None.  From the farthest finger inwards, the first position between
    node_id and its follower ends the list: every nearer one falls to the
    follower too.
    """
    place = ringPlace(node_id)
    follower = following((place + 1) % SIZE)
    if follower is None:
        return []
    found, last = [follower], ringPlace(follower)
    if fingers:
        for index in range(BITS - 1, -1, -1):
            start = (place + (1 << index)) % SIZE
            if between(start, place, last) or len(found) == MAX_FINGERS:
                break
            finger = following(start)
            if finger not in found:
                found.append(finger)
    return found


@implementer(ITrackerExtension)
class ChordExtension:
    """Introductions to the ring, inside one tracker."""

    def __init__(self, tracker):
        self.tracker = tracker

    def nodeLeft(self, node_id):
        """Nothing kept per node: the registry's chord pool is the ring."""

    def near(self, link, message):
        registry, asker = self.tracker.registry, link.peer_id
        unwanted = {asker}
        ids = around(lambda place: registry.following(place, SCHEME, unwanted),
                     asker, message.fingers)
        relays = {node_id: registry.relayOf(node_id) for node_id in ids
                  if registry.relayOf(node_id) is not None}
        link.send(ChordNearIs(message.nonce,
                              tuple(Peer(node_id, *registry.nodes[node_id])
                                    for node_id in ids), relays or None))

    #: What it answers (L{ITrackerExtension.takes}).
    takes = {ChordNear: near}
