"""
The invariants of a stable Chord ring, checked over the live nodes from
outside (by the tests and the simulator), never by a node itself:

 1. following successors visits every live node once, in id order (each
    node's successor and predecessor are its live neighbours);
 2. no skipped node (Zave): no live node lies between a node and an entry
    of its successor list but the entries before it, so the list is the
    next r live nodes;
 3. every record sits on the node that holds its key and on the r live
    nodes after it.
"""

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.schemes.chord.ring import keyOf, place


def _after(ring, index, count):
    """The count live ids after ring[index], clockwise."""
    size = len(ring)
    return [ring[(index + step) % size] for step in range(1, min(count, size - 1) + 1)]


def holders(ring, key, count):
    """The first live id at or after key, then the count after it (ring:
    the live ids in ring order)."""
    for index, node_id in enumerate(ring):
        if place(node_id) >= key:
            break
    else:
        index = 0
    return [ring[index]] + _after(ring, index, count)


def violations(nodes, records=()):
    """
    What breaks the invariants.

    @param nodes: the L{ChordDiscovery} of every live node.
    @param records: (item, seller id) pairs that must be held.
    @return: one line per violation (empty when all hold).
    """
    found = []
    by_id = {scheme.node.id: scheme for scheme in nodes}
    ring = sorted(by_id, key=place)
    size = len(ring)
    for index, node_id in enumerate(ring):
        scheme = by_id[node_id]
        if not scheme.joined:
            found.append(f"node {node_id} is not on the ring")
            continue
        state = scheme.ring
        wanted = _after(ring, index, state.length)
        have = [peer.id for peer in state.successors]
        if have[:1] != wanted[:1]:
            found.append(f"node {node_id}: successor {have[:1]}, live next {wanted[:1]}")
        elif have != wanted:
            found.append(f"node {node_id}: successor list {have} skips or repeats; "
                         f"the next live nodes are {wanted}")
        pred = state.predecessor.id if state.predecessor is not None else None
        expected = ring[index - 1] if size > 1 else None
        if pred != expected:
            found.append(f"node {node_id}: predecessor {pred}, live previous {expected}")
    if not ring:
        return found
    length = nodes[0].settings.successors
    for item, seller in records:
        for node_id in holders(ring, keyOf(item), length):
            scheme = by_id[node_id]
            now = wallSeconds(scheme.node.clock)
            if all(record.seller != seller
                   for record in scheme.records.sellers(item, now)):
                found.append(f"node {node_id} lacks the record of {item!r} by {seller}")
    return found
