"""
A warm start (``bazaar-sim --start warm``): a market built in the state
its protocols converge to, then searched and faulted as a cold start is.

A cold start has every node join through the protocols: a handshake with
keys on every link, a registration with the tracker and its address
check, the ring found by stabilization, each leaf registering with its
super-peers.  That is what joining costs, and what churn studies; what a
search costs is better measured on a converged overlay, as the Chord
paper's simulator, PeerSim and OverSim do.  A warm start builds that
overlay directly, in the objects the protocols fill, and sends nothing
while it does:

 - every link an established L{Link} at both ends, on memory transports,
   its peer's key proven, its keepalive running (L{establish});
 - a node's session with the tracker registered, in the tracker's table
   as after a passed address check (L{joinTracker});
 - flood, index and chord: the links of the ``--topology`` graph, as a
   cold start opens them;
 - index: the sellers register their items through the scheme itself
   when their session comes up (two messages a seller);
 - superpeer: the super-peers linked along the graph; each leaf linked to
   ``superpeers`` of them, drawn at random among those with room, and in
   their indexes as its registration leaves it, its address checked, if
   it has anything to list (L{registerLeaf});
 - chord: every node's successors, predecessor and fingers as
   stabilization leaves them (L{ringTables}, L{Joining.place}),
   one ring link for each pair of nodes where one has the other as a
   successor or predecessor (a daemon keeps no standing finger links);
   each seller's records at their holders, as its store and the holders'
   copies leave them, its store acknowledged (L{placeRecords}).

Then the nodes' own code runs, as after a cold start: the searches, the
buys, the upkeep, the faults.
"""

import bisect

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar import wire
from twisted_bazaar.core.membership import Membership
from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.net.overlay import OVERLAY
from twisted_bazaar.schemes.chord.ring import BITS, distance, fingerStart, keyOf, place
from twisted_bazaar.schemes.chord.settings import CHORD
from twisted_bazaar.schemes.superpeer.messages import LEAF, SUPER
from twisted_bazaar.sim.topology import BUILDERS
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT, TrackerFactory
from twisted_bazaar.core.market import schemeOf

#: Leaves a warm super-peer is given at most, as a fraction of its slots:
#: room is left for leaves that lose a super-peer to find another.
LEAF_ROOM = 0.75


def addressOf(node, addresses=None):
    """
    node's (host, port), as its peers' overlays note it: from
    ``addresses`` (node id -> the tuple), if given, so that the peers of a
    node share one tuple rather than hold one each (56 bytes a link end);
    L{establish} puts there the key of the node's listening port
    (L{twisted_bazaar.testing.memory.MemoryNetwork.where}), one tuple for
    the network and the peers.
    """
    if addresses is None:
        return (node.host, node.port)
    address = addresses.get(node.id)
    if address is None:
        address = addresses[node.id] = (node.host, node.port)
    return address


def establish(network, opener, acceptor, purpose, addresses=None):
    """
    An established link of purpose from opener to acceptor (two nodes
    that listen and have ids), as a connection and a handshake leave it:
    each side's key proven to the other when both have keys (nodes
    without keys prove nothing).

    The two ends are quiet ones (L{twisted_bazaar.testing.memory.QuietEnd}),
    made links when a part takes one, where the network makes them and
    the purpose's links close when idle at neither end.

    @param addresses: see L{addressOf}.
    @return: (the opener's end, the acceptor's): links, or quiet ends.
    """
    if addresses is not None:
        # Each node's listening port's own (host, port), for its peers.
        for node in (opener, acceptor):
            if node.id not in addresses:
                addresses[node.id] = network.where(node.host, node.port)
    near, far = opener.overlay, acceptor.overlay
    if (near.idle_timeouts.get(purpose) is None and far.idle_timeouts.get(purpose) is None
            and (ends := network.quietPair(near, far, purpose)) is not None):
        # Quiet ends in the links' places, made links when a part takes one.
        near.adoptStandIn(ends[0], acceptor.id)
        far.adoptStandIn(ends[1], opener.id)
        return ends
    out = opener.buildLink(inbound=False)
    into = acceptor.buildLink(inbound=True)
    # From the opener's listening address: a new address for each of a
    # warm run's links was 130 bytes a link.
    ends = network.pair(out, opener.host, into, acceptor.host, acceptor.port,
                        from_port=opener.port)
    proven = opener.identity is not None and acceptor.identity is not None
    adoptEnd(opener, out, ends[0], acceptor, purpose, proven, addresses)
    adoptEnd(acceptor, into, ends[1], opener, purpose, proven, addresses)
    return out, into


def adoptEnd(node, link, transport, peer, purpose, proven, addresses=None):
    """One end of L{establish}: node's link, on its transport, taken as
    the end of a handshake with peer (its key proven if ``proven``).
    peer needs only an id, an address and an identity."""
    link.attach(transport)
    node.overlay.adopt(link, peer.id, addressOf(peer, addresses), purpose,
                       peer.identity.key if proven else None)


def joinTracker(market, node):
    """
    Register node (one that listens and has its id) with the market's
    tracker, as a registration with a key and a passed address check
    leave it: in the tracker's table, its session registered.  The
    session's state machine is driven as the handshake drives it; the
    node's C{thisisme} goes nowhere, as the tracker has it already.
    What the node's parts do once it is registered (the index scheme's
    sellers register their items) is sent.
    """
    membership = Membership(node)
    node.setMembership(membership)
    membership.startService()
    ours = membership.buildLink()
    theirs = TrackerFactory(market.tracker).buildProtocol(None)
    mine, its = market.network.pair(ours, node.host, theirs, market.tracker_host,
                                    DEFAULT_TRACKER_PORT, from_port=node.port)
    admit(market.tracker, theirs, its, node, schemeOf(node.discovery))
    return registered(membership, ours, mine)


def admit(tracker, theirs, transport, node, scheme):
    """The tracker's side of L{joinTracker}: its protocol theirs, on its
    transport, admits node (which needs only an id, a port, a config's
    host and an identity), of scheme (name, superpeer)."""
    identity = node.identity
    theirs.attach(transport)
    name, superpeer = scheme
    hello = wire.ThisIsMe(node.id, node.port, node.config.host,
                          scheme=name, superpeer=superpeer,
                          key=None if identity is None else identity.key)
    tracker.admit(theirs, hello)


def registered(membership, ours, transport):
    """The node's side of L{joinTracker}: its session's protocol ours, on
    its transport, told it is registered; the membership."""
    node = membership.node
    membership.linkMade(ours)
    ours.attach(transport)
    membership.messageReceived(ours, wire.ThisIsYou(node.id, node.port))
    return membership


# -- flood, index: a graph ---------------------------------------------------------------


def linkGraph(network, nodes, edges, purpose, addresses=None):
    """A link of purpose along each edge (a, b) of a generated graph,
    opened by a, as a cold start opens them."""
    addresses = {} if addresses is None else addresses
    for a, b in edges:
        establish(network, nodes[a], nodes[b], purpose, addresses)


# -- superpeer -----------------------------------------------------------------------------


def assignLeaves(leaves, supers, wanted, room, rng):
    """
    leaf -> the ``wanted`` super-peers (fewer if there are fewer) it links
    to: drawn at random among those with fewer than ``room`` leaves (the
    least loaded once none has room).
    """
    load = dict.fromkeys(supers, 0)
    #: The super-peers with room, in no order that matters: one that
    #: fills up swaps places with the last and goes.
    spare = list(supers)
    chosen = {}
    for leaf in leaves:
        picks = []
        while len(picks) < min(wanted, len(supers)):
            if len(spare) > len(picks):
                pick = spare[rng.randrange(len(spare))]
                if pick in picks:
                    continue
            else:
                pick = min((sp for sp in supers if sp not in picks), key=load.get)
            picks.append(pick)
            load[pick] += 1
            if load[pick] == room:
                where = spare.index(pick)
                spare[where] = spare[-1]
                spare.pop()
        chosen[leaf] = picks
    return chosen


def registerLeaf(leaf, superpeer):
    """
    leaf, linked to superpeer, registered with it as a register, its
    acknowledgement and a passed address check leave them: the
    super-peer's index holds the leaf's inventory with its signed records
    (counted against the address group of its link), named in lookups.
    A leaf with nothing to list registers nothing: its link serves as it
    is, the super-peer holds nothing of it.
    """
    told = leafRegistered(leaf, superpeer.id)
    if told is not None:
        indexLeaf(superpeer, leaf.id, (leaf.host, leaf.port), *told)


def leafRegistered(leaf, superpeer_id):
    """The leaf's side of L{registerLeaf}: (its stock, its signed records
    of it) for the super-peer to index (L{indexLeaf}), or None for a leaf
    with nothing to list."""
    side = leaf.discovery.side
    stock = side.inventory()
    if not stock:
        side.serves(superpeer_id, registered=False)
        return None
    side.told = dict(stock)
    side.serves(superpeer_id, registered=True)
    return stock, side.records(stock)


def indexLeaf(superpeer, leaf_id, address, stock, records):
    """The super-peer's side of L{registerLeaf}: the leaf of that id, at
    address, indexed with its stock and records, its address checked.
    The group is its host's: a warm leaf's link comes from the address it
    listens at, so its link is not asked (issue 95: a quiet one may be
    less than a link until a part takes it)."""
    index = superpeer.discovery.side
    index.index.register(leaf_id, address, stock, records, listed=True,
                         group=addressGroup(address[0]))
    index.addressChecked(leaf_id, address)


def linkSuperPeers(network, supers, leaves, edges, rng):
    """The super-peers linked along the graph (edges between their
    indexes), and each leaf linked to and registered with its share."""
    addresses = {}
    linkGraph(network, supers, edges, SUPER, addresses)
    if not (supers and leaves):
        return
    room = max(1, int(LEAF_ROOM * supers[0].slotsFor(LEAF)))
    wanted = leaves[0].slotsFor(LEAF)
    for leaf, picks in assignLeaves(leaves, supers, wanted, room, rng).items():
        for superpeer in picks:
            establish(network, leaf, superpeer, LEAF, addresses)
            registerLeaf(leaf, superpeer)


# -- chord -----------------------------------------------------------------------------


def ringTables(ids, length, fingered=None):
    """
    For a ring of the given ids (in ring order), each node's tables as
    stabilization and finger repair leave them: [(successors,
    predecessor, fingers)] in the order of ids, as ids; fingers as runs
    (L{twisted_bazaar.schemes.chord.state.Fingers}): [(first index, id)],
    a finger that is the node itself None.

    @param fingered: id -> whether that node's fingers are wanted (None
        for the others': a shard places its own nodes only, and the
        fingers of every node of a ring were most of its tables), or None
        for every node's.
    """
    size = len(ids)
    places = [place(node_id) for node_id in ids]
    tables = []
    for index, node_id in enumerate(ids):
        successors = [ids[(index + step) % size]
                      for step in range(1, min(length, size - 1) + 1)]
        if fingered is not None and not fingered(node_id):
            tables.append((successors, ids[index - 1], None))
            continue
        fingers, finger = [], 0
        while finger < BITS:
            target = ids[bisect.bisect_left(places, fingerStart(node_id, finger)) % size]
            if target == node_id:
                # Past the last node clockwise: so is every later start.
                fingers.append((finger, None))
                break
            fingers.append((finger, target))
            # Every finger whose start is not past target is target.
            finger = max(finger + 1, distance(node_id, target).bit_length())
        tables.append((successors, ids[index - 1], fingers))
    return tables


def ringPairs(ids, tables, wanted=None):
    """
    The ring links of a ring: one for each pair of nodes where either
    keeps the other as a successor or its predecessor (fingers are
    reached over links opened when a request needs them), opened by the
    first of the two, in id order, that keeps it (a node never prunes a
    link it keeps and opened).  Yields (opener, acceptor) as ids, one at
    a time.

    @param wanted: id -> whether the links of that node are wanted: a
        link is yielded if either end is (a shard holds an end of it);
        None for every link.
    """
    seen = set()
    for node_id, (successors, predecessor, _) in zip(ids, tables):
        mine = wanted is None or wanted(node_id)
        for peer in sorted(set(successors + [predecessor]) - {None, node_id}):
            if not (mine or wanted(peer)):
                continue
            pair = (min(node_id, peer), max(node_id, peer))
            if pair not in seen:
                seen.add(pair)
                yield node_id, peer


def placeRing(network, nodes, records=True):
    """
    Chord nodes (that listen and have ids) on a ring as it converges:
    ring links first, the sellers' records at their holders
    (L{placeRecords}) if ``records``, then each node's place
    (L{Joining.place}), which starts its upkeep (and the stores of
    the records not placed).
    """
    by_id = {node.id: node for node in nodes}
    ids = sorted(by_id, key=place)
    length = nodes[0].discovery.settings.successors if nodes else 0
    tables = ringTables(ids, length)
    addresses = {}
    for opener, acceptor in ringPairs(ids, tables):
        if acceptor not in by_id[opener].overlay.linkedPeers():
            # A link of the graph serves the ring as it is, as in a cold start.
            establish(network, by_id[opener], by_id[acceptor], CHORD, addresses)

    peer = sharedPeers(lambda node_id: by_id[node_id].discovery.me())
    if records:
        placeRecords(by_id, ids, tables)
    for node_id, (successors, predecessor, fingers) in zip(ids, tables):
        by_id[node_id].discovery.joining.place([peer(each) for each in successors],
                                               peer(predecessor),
                                               [(first, peer(each))
                                                for first, each in fingers])


def sharedPeers(make):
    """
    id -> the ring peer (a L{Peer}) of the node of that id, made by
    make(id) once and shared by every table naming it (a node's fingers
    name few distinct nodes, in many entries: all BITS of them); None ->
    None.
    """
    peers = {}

    def peer(node_id):
        if node_id is None:
            return None
        made = peers.get(node_id)
        if made is None:
            made = peers[node_id] = make(node_id)
        return made

    return peer


def placeRecords(by_id, ids, tables):
    """
    Every seller's records where its store at this time and the holders'
    copies leave them on a settled ring: at the node that holds the
    item's key (the key's successor), as over its link from its
    predecessor (a store's last hop; over none from the seller itself),
    and at that node's successors, as over their links from it (its
    copies); each seller's store acknowledged by the holder
    (L{Publisher.acknowledged}).  The records are the sellers' own,
    signed with their keys, and each holder checks and keeps them by its
    own rules (L{Holding.hold}).  Were they stored instead, every seller
    would store at once, and at 100,000 nodes an item's 1,000 stores
    would all reach its holders over the links from the key's
    predecessor, past their rate (docs/simulator.md).  By ``ids`` (in
    ring order) and their L{ringTables}.
    """
    places = [place(node_id) for node_id in ids]
    #: item -> the index of its holder in ids (a market has few items,
    #: and many sellers of each).
    holders = {}

    def holderAt(item):
        index = holders.get(item)
        if index is None:
            index = holders[item] = bisect.bisect_left(places, keyOf(item)) % len(ids)
        return index

    for node_id in ids:
        publisher = by_id[node_id].discovery.publisher
        for item, record, lifetime in publisher.acknowledged(
                lambda item: ids[holderAt(item)]):
            index = holderAt(item)
            successors, predecessor, _ = tables[index]
            # A seller that holds its own key's record stored it over no link.
            source = predecessor if ids[index] != node_id else None
            by_id[ids[index]].discovery.holding.hold(record, lifetime, source)
            for each in successors:
                by_id[each].discovery.holding.hold(record, lifetime, ids[index])


# -- the whole start ---------------------------------------------------------------


def buildDirect(builder):
    """
    A warm start of a generated overlay, by a L{Builder}: the same nodes,
    graph and roles as a cold start draws from the seed; the graph's
    links established, or for chord the ring placed instead (a chord
    daemon keeps no overlay neighbours: its links are the ring's), every
    node registered with the tracker if the scheme has one.
    """
    sim = builder.sim
    config = sim.config
    scheme = discoveryPlugins()[config.discovery]
    taken = set()
    sim.nodes = [builder.directNode(index, scheme, taken)
                 for index in range(config.nodes)]
    edges = BUILDERS[config.topology](config.nodes, config.degree, sim.rng)
    builder.assignRoles()
    if config.discovery == "chord":
        # Where adversaries lie on the way, a store's route decides
        # where its record goes (a misrouter acknowledges it falsely, a
        # withholder makes it detour): their runs store through the ring.
        placeRing(sim.network, sim.nodes, records=sim.attack is None)
    else:
        linkGraph(sim.network, sim.nodes, edges, OVERLAY)
    if sim.market is not None:
        for node in sim.nodes:
            joinTracker(sim.market, node)


def buildSuperPeers(builder):
    """
    A warm start of the superpeer scheme, by a L{Builder}: the nodes a
    cold start makes (as the market makes them), the super-peers linked
    along the graph, each leaf linked to and registered with its
    super-peers, every node registered with the tracker, and the scheme
    started.
    """
    sim = builder.sim
    config = sim.config
    count, supers, options = builder.superPeerOptions()
    taken = set()
    plugin = discoveryPlugins()[config.discovery]
    for index in range(config.nodes):
        rng = sim.market.nodeRandom()
        scheme = supers if index < count else options
        node = sim.market.buildNode(builder.nodeConfig(), discovery=config.discovery,
                                    scheme=scheme,
                                    scheme_settings=builder.schemeSettings(plugin, scheme),
                                    identity=builder.key(rng, taken),
                                    rng=builder.nodeRandom(rng))
        builder.listen(builder.counted(node), node.connector.from_host)
        if index < count:
            sim.superpeers.add(node)
        sim.nodes.append(node)
    builder.assignRoles()
    edges = builder.superPeerGraph(sim.nodes[:count])
    linkSuperPeers(sim.network, sim.nodes[:count], sim.nodes[count:], edges, sim.rng)
    for node in sim.nodes:
        joinTracker(sim.market, node)
    for node in sim.nodes:
        node.discovery.startService()
