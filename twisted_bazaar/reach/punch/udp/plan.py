"""
UDP hole punching, sans-IO: what to send where, and when, for two nodes
to open a UDP 5-tuple through both their routers (which the QUIC
transport then uses), and the clock-driven exchange of probes that does
it.  No socket here: the caller sends (``send``) and hands in what
arrives (L{UdpPunch.datagramReceived}).

Each side's router is judged from two datagrams it sent the tracker
from one local socket, to two of the tracker's UDP ports (the ``udpreach``
of docs/protocol.md, "Hole punching over UDP"; L{mappingOf}):

- the same port seen twice: an endpoint-independent mapping (full or
  port-restricted cone; L{EASY}): a peer aims at that port, and this side
  sends to the peer's, both at once, so that each router has let a
  datagram out (and so the answer in) before the other's arrives;
- ports a few apart: a symmetric router that allocates in sequence
  (L{SEQUENTIAL}): the mapping it opens for the peer is a step or a few
  further on, so the peer also aims at the next ports along (port
  prediction);
- ports far apart: a symmetric router that draws each at random
  (L{RANDOM}): the birthday paradox (as Tailscale does).  The hard side
  opens L{HARD_SOCKETS} sockets, each sending to the easy side's port,
  so that 256 mappings wait for a datagram from it; the easy side sends
  L{BIRTHDAY_PROBES} probes to distinct random ports of the hard side's
  host.  The odds that one meets (L{meetOdds}) are
  1 - (1 - 256/65536)^1024, about 0.98.

A random router's two ports land a few apart by chance, and it is then
judged sequential: within L{SURE_STEP} of each other in 8 checks of
64,511 (1 in 8,000), within L{SEQUENTIAL_STEP} in 128 (1 in 500).  A
step up to L{SURE_STEP} is taken as sure (a sequential router's own step,
or one port of other traffic in between); a larger one is thin evidence,
and against an easy side the plan covers both (L{COVERED}): the hard
side opens the birthday punch's sockets (a sequential router maps them
to ports further along, where the predicted probes go), and the easy
side sends the predicted ports and, in the same 1,024 probes, 928 drawn
ones (944 distinct ports: odds 1 - (1 - 256/64512)^944, about 0.976, if
the router was random after all).  It spends a
birthday punch's probes where the prediction spent 96, only for steps
that a random router gives 120 times in 64,511 checks; trusting every
step up to 64 missed the punch in those (seen once in 89 checks).

Two hard sides (both random, or one random and one sequential) have no
plan: they stay on the relay.

The order of arrival: a Linux router (conntrack) that takes a datagram
from the peer before its own host's went out to that peer keeps an
entry for the pair, addressed to the router itself; the host's own
datagram to the peer then clashes with it, and the router gives it
another public port, one the peer is not aiming at (seen behind plain
``MASQUERADE``: a hard side's probes reached the easy side's router
0.14 s before the easy side's went out, and every collision of the
birthday punch left from another port).  So a datagram that opens this
side's mapping towards the peer, and may arrive before the peer's own
went out, is sent with a low TTL (L{LOW_TTL}): it passes this side's
router, which makes the mapping, and dies at the next router on the way,
before the peer's (as NAT-traversal work since STUNT does).  The
opening rounds (L{OPENING}) of a plan that aims at the peer's seen or
predicted ports go so, and the hard side of a birthday punch sends its
rounds at L{HARD_OPENING} so: only the easy side's probes reach the
other router, each after that router let the hard side's mapping out,
and the answers (acks, at the full TTL) come back through the pairs the
easy side's probes opened.  The hard side's later rounds go at the full
TTL, once the easy side's probes have all left (by 1.5 s): a router
further than the low TTL reaches (a carrier's NAT behind the home's)
still makes its mappings then.

Two routers on one segment (no router between them, so no TTL stops a
datagram between them) lose that race whatever the TTL: the first
datagram of a pair to reach either router unasked holds the pair there,
and both sides' datagrams would have to cross within the segment's
latency.  A I{patient} plan (L{plan}'s ``patient``; L{PATIENT}) outlasts
the entry instead: one side (the hard side of a birthday punch, else
the one whose mapping sorts first) opens its mappings at once, and then
keeps them alive with datagrams of TTL L{KEEP_TTL}, which its own router
takes as its mapping's traffic (conntrack refreshes the entry before it
routes) and drops (there is no hop left); the other side sends nothing
until L{OUTLAST} s, when the entries its router made for the first
side's datagrams (L{UNASKED} s, Linux's ``nf_conntrack_udp_timeout``)
are gone, and then its plan's probes, at the full TTL: each router has
let its own side's datagram of the pair out before the other's comes.
It meets where the other plans' race is lost (two plain Linux routers
on one segment, one side told 0.3 s first: 0 of 30 punches met, patient
30 of 30, docs/running.md), in L{OUTLAST} s more.

Which routers are on one segment is sounded at the go (L{plan}'s
``sound``; L{twisted_bazaar.reach.punch.udp.sounding} does the I/O): one
datagram at L{LOW_TTL} to the peer's seen port from a socket of its own,
whose ICMP answer comes back through this side's router.  From the
peer's host (its router took the datagram into its own stack, port
unreachable, or forwarded it with no hop left, time exceeded), the two
routers are on one segment; from another host (an ISP's router: time
exceeded), or none (a router whose firewall drops it: it keeps no entry
either), they are not.  The plan's first datagram waits L{SOUND} s for
that answer; answered from the peer's host (or told by the peer that
its own was), the punch follows its patient plan (L{Plan.near}) from
then, having sent nothing its peer's router could keep.  A router that
rejects what comes unasked (OpenWrt's wan zone: port unreachable, and
no entry kept) answers the sounding as a plain one does, and there the
ordinary plan meets at once; so the sounded patient plan is tried first
(L{_tried}): its waiting side sends a few rounds at the opener's word,
which meet where nothing was kept, and its late rounds L{OUTLAST} s
after them, which meet where something was: a second or two to meet
behind rejecting routers, some L{OUTLAST} s and one behind plain ones,
where a punch that missed first and was asked again patient took some
77 s.

What keeps a punch from spraying a third party: every probe goes to the
one host the tracker saw the peer's datagrams come from (the plan's
``host``, never a host a peer names), to no port below L{LOWEST_PORT};
one punch sends at most L{BIRTHDAY_PROBES} probes (plus the few of the
other strategies), and a node only so many a minute to one host, to one
address group and in all
(L{twisted_bazaar.reach.punch.budgets.probes.ProbeBudget}), on top of the
TCP punch's count of attempts (L{twisted_bazaar.reach.punch.budgets.dials}),
which a UDP punch counts in too.
"""

import struct

import attr
from twisted.internet import defer

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import sameHost
from twisted_bazaar.reach.punch.tcp.exchange import LOWEST_PORT, PunchFailed

#: A router whose mapping does not depend on the destination.
EASY = "easy"
#: A symmetric router that allocates ports in sequence.
SEQUENTIAL = "sequential"
#: A symmetric router that draws each port at random.
RANDOM = "random"
#: The strategy of two sides that aim at each other's one port.
SIMULTANEOUS = "simultaneous"
#: The strategy towards a peer this node reaches directly: one socket, the
#: peer's port (L{plan}).
DIRECT = "direct"
#: The largest step between the two seen ports still taken for a
#: sequential allocator (a busy router hands out a few ports to others
#: between the two probes).
SEQUENTIAL_STEP = 64
#: The largest step between the two seen ports taken as sure evidence of
#: a sequential allocator; a larger one (up to L{SEQUENTIAL_STEP}) may be
#: a random router's chance, and a plan against an easy side covers both.
SURE_STEP = 4
#: A plan's strategy name's prefix when it covers both a sequential and
#: a random router (a step past L{SURE_STEP}).
COVERED = "predicted-"
#: Ports past the second seen one a side aims at for a sequential peer.
PREDICTED = 16
#: A step this small between the two seen ports is taken for one port a
#: mapping with the home's other traffic in between (each port on is
#: aimed at); a larger one for the router's own step.
SMALL_STEP = 4
#: The word in the strategy of a plan that relies on the birthday
#: paradox: its odds (L{meetOdds}) leave a miss now and then, which is
#: worth a second punch.
BIRTHDAY = "birthday"
#: Sockets the hard side of a birthday punch opens, and probes the easy
#: side sends (Tailscale's numbers).
HARD_SOCKETS = 256
BIRTHDAY_PROBES = 1024
#: Probes the easy side of a birthday punch sends a tick, and the tick:
#: 1,024 probes over 1.6 s, not a burst a router's rate limit drops.
PACE = 64
TICK = 0.1
#: When (seconds from the start) each side sends again to the ports it
#: aims at: a datagram sent before the other router let its own out is
#: dropped, the next gets through.
ROUNDS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: Rounds of the hard side's sockets in a birthday punch (each keeps its
#: mapping open for the easy side's probes while they come).
HARD_ROUNDS = (0.0, 1.0, 2.0, 4.0)
#: The TTL of a datagram that opens this side's router's mapping but is
#: not to reach the peer's router (see the module's docstring): its own
#: router forwards it with 1 left, and the next router drops it.
LOW_TTL = 2
#: The rounds of L{ROUNDS} sent at L{LOW_TTL}: each side's router has
#: made its mapping before either side's datagrams at the full TTL come,
#: 0.5 s after the start (the two sides' starts differ by the tracker's
#: two sends, well under that).
OPENING = (0.0, 0.25)
#: The rounds of L{HARD_ROUNDS} sent at L{LOW_TTL}: the hard side's full
#: rounds come after the easy side's 1,024 probes left (at 1.5 s).
HARD_OPENING = (0.0, 1.0)
#: Seconds a punch waits for the peer's datagrams.
TIMEOUT = 10.0
#: Seconds Linux conntrack keeps the entry of a datagram that came
#: unasked, with no answer (``nf_conntrack_udp_timeout``'s default).
UNASKED = 30.0
#: Seconds past an entry's expiry it may still count: Linux frees an
#: expired entry when its garbage collector or a lookup of it gets there,
#: and until then a new flow from the same socket may be given the port
#: an expired one had moved to (L{forgotten}).
FREED = 10.0
#: Seconds the waiting side of a patient plan waits past the routers'
#: L{UNASKED}: the sides' skew (the tracker's two goes) and slack.
SLACK = 2.0
#: Seconds the waiting side of a patient plan sends nothing (L{outlast}).
OUTLAST = UNASKED + SLACK
#: The TTL of a datagram that only keeps its sender's mapping alive: its
#: router refreshes the mapping's entry, then drops it (no hop left).
KEEP_TTL = 1
#: Seconds between those datagrams at most: the entry of a mapping no
#: datagram answered lives L{UNASKED} s (a third of it, where the routers
#: keep it less: L{plan}'s ``unasked``).
REFRESH = 8.0
#: The prefix of a patient plan's strategy (L{plan}).
PATIENT = "patient-"
#: Seconds a sounded plan's first datagram waits for its sounding's
#: answer (the module's docstring): an ICMP answer across one segment
#: comes within milliseconds.
SOUND = 0.25
#: The rounds of a sounded patient plan's waiting side (L{_tried}) from
#: one socket: its try, from the opener's word on, and its late probes,
#: after the wait; a hard side's, from each of its sockets (twice 256,
#: twice 256: the 1,024 of its rounds, no more).
TRY_ROUNDS = (0.0, 0.25, 0.5)
LATE_ROUNDS = (0.0, 1.0, 2.0)
HARD_TRY_ROUNDS = (0.0, 0.5)
HARD_LATE_ROUNDS = (0.0, 1.0)
#: Seconds after the opener's opening datagrams have all left that the
#: waiting side's try begins: the opener's word comes through the
#: tracker, the datagrams leave at the opener's next reactor turn.
AFTER_OPENING = 0.25
#: Seconds a waiting side, near, waits for its opener's word (its
#: ``udppunchnear``) before it tries anyway: a tracker's round trip is
#: well under that.
WORD = 4.0
#: Seconds between keepalives on a met 5-tuple: below the 30 s Linux
#: conntrack keeps a UDP flow that has seen traffic one way only
#: (nf_conntrack_udp_timeout) and the 30 s many home routers keep an idle
#: UDP mapping (RFC 4787 asks for 2 min, and finds less in practice), as
#: WireGuard's 25 s persistent keepalive.
KEEPALIVE = 25.0
#: Acks one punch sends at most (each answers one datagram that came).
ACKS = 16
#: The ports a router maps to.
PORTS = (1024, 65536)
#: A probe's and an ack's datagram: magic, kind, the punch's nonce.
_MAGIC = b"BZU1"
_FORMAT = struct.Struct("!4sBq")
_PROBE, _ACK = 0, 1


def meetOdds(opened, probes, ports=PORTS[1] - PORTS[0]):
    """
    The odds that one of ``probes`` probes to distinct random ports of a
    host meets one of ``opened`` mappings among ``ports``:
    1 - (1 - opened/ports)^probes (each probe taken as independent: a
    bound from below of drawing without repeats).
    """
    return 1 - (1 - opened / ports) ** probes


class BudgetRefused(PunchFailed):
    """The probe budget has no room for the plan now
    (L{twisted_bazaar.reach.punch.budgets.probes.ProbeBudget}): it may later."""


class LimitsRefused(PunchFailed):
    """The count of punch attempts (L{twisted_bazaar.reach.punch.budgets.dials})
    has no room for this punch now: it may later."""


class Missed(PunchFailed):
    """No datagram of the peer's came back within L{TIMEOUT}: the probes
    missed (a birthday punch's odds), or the peer sent none (its own
    bounds refused its side)."""


@attr.s(frozen=True, slots=True, auto_attribs=True)
class UdpMapping:
    """
    Where the tracker saw a node's datagrams come from: ``host``, and
    ``port`` and ``second`` the ports it saw for datagrams from one local
    socket to its two UDP ports (``second`` 0: one came).
    """

    host: str
    port: int
    second: int = 0

    @property
    def delta(self):
        """The step between the two ports, or 0."""
        return self.second - self.port if self.second else 0

    @property
    def kind(self):
        """L{EASY}, L{SEQUENTIAL} or L{RANDOM}."""
        if not self.delta:
            return EASY
        return SEQUENTIAL if abs(self.delta) <= SEQUENTIAL_STEP else RANDOM

    @property
    def thin(self):
        """Whether it is judged L{SEQUENTIAL} on a step past L{SURE_STEP}:
        it may be a random router's two ports, near by chance."""
        return self.kind == SEQUENTIAL and abs(self.delta) > SURE_STEP


def mappingOf(host, port, second=0):
    """The L{UdpMapping} of what the tracker saw; ValueError saying why
    when it names no host or a port out of range."""
    if not host:
        raise ValueError("a UDP mapping needs the host the tracker saw")
    for name, value in (("port", port), ("second", second)):
        if not isinstance(value, int) or not 0 <= value < PORTS[1] or (
                name == "port" and not value):
            raise ValueError(f"a UDP mapping's {name} is a port, not {value!r}")
    return UdpMapping(host, port, second)


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Probe:
    """One datagram to send: ``at`` seconds from the start, from local
    socket number ``socket``, to the plan's host at ``port``, with IP TTL
    ``ttl`` (0: the socket's own)."""

    at: float
    socket: int
    port: int
    ttl: int = 0


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Plan:
    """
    What one side of a punch sends: from ``sockets`` local sockets
    (number 0 the one whose mapping the tracker saw), the ``probes``, all
    to ``host``; ``strategy`` names it; ``why`` says why there is none
    ("" when there is one).
    """

    host: str
    sockets: int
    probes: tuple
    strategy: str
    why: str = ""
    #: Seconds the punch waits for the peer's datagrams.
    timeout: float = TIMEOUT
    #: The patient plan followed instead once the peer's router is known
    #: to be on this side's segment (L{UdpPunch.nearPeer}), or None: then
    #: this plan is sounded first, one datagram to ``host`` at
    #: ``soundPort``, and its own probes wait L{SOUND} s.
    near: object = None
    soundPort: int = 0
    #: A waiting side's sounded patient plan (L{_tried}): followed from
    #: the opener's word on (L{UdpPunch.word}), or L{WORD} s after it
    #: was taken up without one.
    waits: bool = False

    @property
    def sends(self):
        """((seconds from the start, probes sent then), ...), in time
        order: when the probes leave, as the probe budget counts them
        (not those of L{KEEP_TTL}, which never pass this side's router;
        a sounding's one datagram at 0)."""
        counts = {0.0: 1} if self.near is not None else {}
        for probe in self.probes:
            if probe.ttl != KEEP_TTL:
                counts[probe.at] = counts.get(probe.at, 0) + 1
        return tuple(sorted(counts.items()))


def _aimed(ports):
    """ports in range, no well-known one, each once, in order."""
    seen = []
    for port in ports:
        if LOWEST_PORT <= port < PORTS[1] and port not in seen:
            seen.append(port)
    return seen


def _predicted(peer):
    """
    The ports a peer's router may map for this side: the seen one, or for
    a sequential allocator the next L{PREDICTED} steps on from the second
    (the seen ones are its mappings for the tracker), nearest first.  In
    that order, two sequential routers line up: this side's k-th probe
    leaves from its k-th new port, aimed at the peer's k-th new port,
    whose own k-th probe aims back at it (when nothing else took a port
    in between).
    """
    if peer.kind != SEQUENTIAL:
        return _aimed([peer.port])
    step = peer.delta
    if abs(step) <= SMALL_STEP:
        step = 1 if step > 0 else -1
    return _aimed([peer.second + step * count for count in range(1, PREDICTED + 1)])


def outlast(unasked=UNASKED):
    """Seconds the waiting side of a patient plan sends nothing, when the
    routers keep what came unasked ``unasked`` s (L{OUTLAST} by default)."""
    return unasked + SLACK


def plan(mine, peer, rng, direct=False, patient=False, unasked=UNASKED, sound=False):
    """
    The L{Plan} of this side of a punch: ``mine`` and ``peer`` the
    L{UdpMapping}s the tracker saw (the peer's host is the only one a
    probe goes to); ``rng`` draws a birthday punch's ports.  ``direct``:
    this node reaches the peer without a router in the way (the tracker
    checked it at that host and names no relay for it), so whatever this
    side's router does, one socket's datagrams to the port the tracker
    saw reach it, and its acks come back on that mapping: L{DIRECT}, no
    birthday.  ``patient``: the plan outlasts the entries the other
    side's router keeps for what came unasked (L{_patient}), where there
    is one to outlast: ``unasked`` s, Linux's default unless the routers
    are known to keep them less (a test bed's, which then waits seconds).
    ``sound``: a plan that has a patient one is sounded first (the
    module's docstring): its probes wait L{SOUND} s, and its L{Plan.near}
    is the patient plan.
    """
    made = _plan(mine, peer, rng, direct)
    if direct or not made.probes:
        return made
    if patient:
        return _patient(made, mine, peer, unasked)
    # The sounding goes where a probe may: no well-known port.
    near = _tried(made, mine, peer, unasked) if sound and _aimed([peer.port]) else made
    if near is made:
        return made
    return attr.evolve(made, probes=tuple(attr.evolve(probe, at=probe.at + SOUND)
                                          for probe in made.probes),
                       timeout=made.timeout + SOUND, near=near, soundPort=peer.port)


def _plan(mine, peer, rng, direct):
    if direct:
        # No router of the peer's to race: the peer is at that host.
        return Plan(peer.host, 1, tuple(Probe(at, 0, port) for at in ROUNDS
                                        for port in _aimed([peer.port])), DIRECT)
    kinds = (mine.kind, peer.kind)
    if RANDOM in kinds and EASY not in kinds:
        return Plan(peer.host, 0, (), "none", (
            "both routers map each destination to a port of their own, and "
            "one draws them at random: no probe could meet (the relay stays)"))
    if peer.kind == RANDOM:
        return Plan(peer.host, 1, _birthdayProbes(_birthdayPorts(rng, peer)),
                    "birthday-probes")
    if mine.kind == EASY and peer.thin:
        predicted = _predicted(peer)
        rounds = _rounds(ROUNDS, OPENING, range(1), predicted)
        drawn = _birthdayPorts(rng, peer, BIRTHDAY_PROBES - len(rounds), set(predicted))
        return Plan(peer.host, 1, rounds + _birthdayProbes(drawn),
                    COVERED + "birthday-probes")
    if mine.kind == RANDOM or (peer.kind == EASY and mine.thin):
        probes = _rounds(HARD_ROUNDS, HARD_OPENING, range(HARD_SOCKETS), [peer.port])
        return Plan(peer.host, HARD_SOCKETS, probes,
                    ("" if mine.kind == RANDOM else COVERED) + "birthday-sockets")
    probes = _rounds(ROUNDS, OPENING, range(1), _predicted(peer))
    return Plan(peer.host, 1, probes,
                "predicted" if peer.kind == SEQUENTIAL else SIMULTANEOUS)


def forgotten(plan):
    """
    Seconds from the end of plan's punch that missed (its timeout) until
    the routers have forgotten every entry its datagrams made (L{UNASKED}
    s after the last, and L{FREED} more): the first datagrams of a pair
    that came unasked, and a mapping that moved for them.  A punch asked
    again sooner would find them, a side's datagrams leaving from a port
    moved (two plain routers on one segment: asked at once, 7 of 16
    patient punches missed so; 25 s after the miss, 4 of 40; 35 s after,
    0 of 40).
    """
    last = max((probe.at for probe in plan.probes), default=0.0)
    return max(0.0, UNASKED + FREED - plan.timeout + last)


def _patient(made, mine, peer, unasked):
    """
    made (a plan of L{_plan}'s) made patient (the module's docstring): the
    side that opens, the hard side of a birthday punch or, between two
    sides that aim at each other's ports, the one whose mapping sorts
    first (both sort the tracker's same two words), sends one datagram
    from each socket to each port it aims at, at once and at the full
    TTL, then every L{REFRESH} s (a third of ``unasked`` if less) the same
    at L{KEEP_TTL}; the other sends made's probes L{outlast} s late, at
    the full TTL.  A plan that
    predicts a sequential router's ports is left as it is: its
    predictions would not hold over that wait.
    """
    opens = _opens(made, mine, peer, "birthday-sockets")
    if opens is None:
        return made
    late = outlast(unasked)
    timeout = late + TIMEOUT
    if opens:
        aims = sorted({(probe.socket, probe.port) for probe in made.probes})
        every = min(REFRESH, unasked / 3)
        refreshes = [every * count for count in range(1, int(timeout // every) + 1)]
        probes = tuple(Probe(0.0, socket, port) for socket, port in aims) + tuple(
            Probe(at, socket, port, KEEP_TTL) for at in refreshes for socket, port in aims)
    else:
        probes = tuple(attr.evolve(probe, at=probe.at + late, ttl=0)
                       for probe in made.probes)
    return attr.evolve(made, probes=probes, strategy=PATIENT + made.strategy,
                       timeout=timeout)


def _opens(made, mine, peer, opener):
    """Whether this side of made (a plan of L{_plan}'s) opens a patient
    punch: of a birthday punch the side whose strategy ends with opener
    (the two plans choose differently), of two port-keeping sides the one
    whose mapping sorts first (both sort the tracker's same two words);
    None for a plan left as it is."""
    if made.strategy.endswith(("birthday-sockets", "birthday-probes")):
        return made.strategy.endswith(opener)
    if made.strategy == SIMULTANEOUS:
        return (mine.host, mine.port) < (peer.host, peer.port)
    return None


def _tried(made, mine, peer, unasked):
    """
    made (a plan of L{_plan}'s) made patient for a sounded punch, tried
    first: the routers are on one segment, but only one that keeps an
    entry for what came unasked (plain ``MASQUERADE``) loses the race;
    one that rejects it (OpenWrt's wan zone: port unreachable, and no
    entry) answers the sounding the same way, and there the ordinary
    plan meets at once.  So the opener (the side of one socket's probes:
    of a birthday punch the easy side, whose 1,024 probes go once; of two
    port-keeping sides the one whose mapping sorts first) sends each of
    its datagrams once at the full TTL (a birthday's paced as
    L{PACE} a L{TICK}), then keeps its mappings at L{KEEP_TTL}; the
    waiting side, from the opener's word on (L{UdpPunch.word}: its
    datagrams have left by then), tries L{AFTER_OPENING} s after the
    opener's last left (L{TRY_ROUNDS}, a hard side's L{HARD_TRY_ROUNDS}
    from each socket), which meets where no entry is kept; where one is,
    its datagrams left from a moved port and die at the opener's router,
    whose mappings came first and stay, and it sends its late rounds
    L{outlast} s after its try's last (its own moved entries, and those
    the opener's datagrams left at its router, gone).  The opener of the
    untried plan (L{_patient}) is the hard side: here the side whose
    datagrams go once must be the one of 1,024 probes, or the waiting
    side's two turns would send twice that.
    """
    birthday = BIRTHDAY in made.strategy
    opens = _opens(made, mine, peer, "birthday-probes")
    if opens is None:
        return made
    if birthday:
        opening = (BIRTHDAY_PROBES // PACE - 1) * TICK
        tries, lates, sockets = HARD_TRY_ROUNDS, HARD_LATE_ROUNDS, range(HARD_SOCKETS)
    else:
        opening, tries, lates, sockets = 0.0, TRY_ROUNDS, LATE_ROUNDS, range(1)
    first = opening + AFTER_OPENING
    late = first + tries[-1] + outlast(unasked)
    timeout = late + lates[-1] + TIMEOUT
    strategy = PATIENT + made.strategy
    if not opens:
        probes = (_rounds([first + at for at in tries], (), sockets, [peer.port])
                  + _rounds([late + at for at in lates], (), sockets, [peer.port]))
        return attr.evolve(made, probes=probes, strategy=strategy, timeout=timeout,
                           waits=True)
    # The waiting side starts as late as its word's wait.
    timeout += WORD
    ports = _aimed(probe.port for probe in made.probes)
    opened = _birthdayProbes(ports) if birthday else tuple(
        Probe(0.0, 0, port) for port in ports)
    every = min(REFRESH, unasked / 3)
    keeps = tuple(Probe(every * count + probe.at, 0, probe.port, KEEP_TTL)
                  for count in range(1, int(timeout // every) + 1) for probe in opened)
    return attr.evolve(made, probes=opened + keeps, strategy=strategy, timeout=timeout)


def _rounds(rounds, opening, sockets, ports):
    """A probe at each of rounds from each of sockets to each of ports,
    those of the opening rounds at L{LOW_TTL}."""
    return tuple(Probe(at, socket, port, LOW_TTL if at in opening else 0)
                 for at in rounds for socket in sockets for port in ports)


def _birthdayPorts(rng, peer, count=BIRTHDAY_PROBES, taken=frozenset()):
    """count distinct ports of the peer's host, none of taken, drawn, the
    seen one first."""
    ports = {peer.port} | set(taken)
    order = [peer.port]
    while len(order) < count:
        port = rng.randrange(*PORTS)
        if port not in ports:
            ports.add(port)
            order.append(port)
    return _aimed(order)


def _birthdayProbes(ports):
    """A probe to each port from socket 0, L{PACE} a L{TICK}."""
    return tuple(Probe(round(index // PACE * TICK, 6), 0, port)
                 for index, port in enumerate(ports))


def datagram(kind, nonce):
    """A probe's or an ack's bytes."""
    return _FORMAT.pack(_MAGIC, kind, nonce)


def parse(data):
    """(kind, nonce) of a punch's datagram, or None for anything else."""
    if len(data) != _FORMAT.size:
        return None
    magic, kind, nonce = _FORMAT.unpack(data)
    if magic != _MAGIC or kind not in (_PROBE, _ACK):
        return None
    return kind, nonce


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Met:
    """A punch's 5-tuple: from local socket ``socket``, to ``host``:``port``,
    datagrams pass both ways."""

    socket: int
    host: str
    port: int


class UdpPunch:
    """
    One side of a punch, driven by ``clock``: sends its L{Plan}'s probes
    (``send(socket, host, port, data)``, and a probe with a TTL of its
    own ``send(socket, host, port, data, ttl)``), answers each probe of the peer
    that arrives with an ack from the socket it came to, and has met once
    an ack of the peer's came (the peer heard this side; this side heard
    it): L{start}'s Deferred fires with the L{Met}, and the 5-tuple is
    kept alive every L{KEEPALIVE} s until L{stop}.  Datagrams from any
    host but the plan's, from a port below L{LOWEST_PORT}, or with
    another nonce, are ignored.  A sounded plan (L{Plan.near}) starts with
    ``sound(host, port, data)``, its sounding, and follows its patient
    plan from L{nearPeer} on.
    """

    def __init__(self, clock, plan, nonce, send, budget=None, limits=None, key=None,
                 sound=None):
        self.clock = clock
        self.plan = plan
        self.nonce = nonce
        self.send = send
        self.budget = budget
        self.limits = limits
        self.key = key
        self.sound = sound
        self.met = None
        self.acks = 0
        self.done = None
        self._timers = []
        #: (when the budget counts it, probes) of each counted batch.
        self._planned = []
        self._keepalive = None
        #: A waiting side's wait for its opener's word (L{word}), or None.
        self._waiting = None

    def start(self):
        """
        Send the plan's probes, within the budgets.

        @return: a Deferred firing with the L{Met}, or failing with
            L{PunchFailed} saying why; cancelling it stops the punch.
        """
        plan = self.plan
        why = plan.why or None
        group = addressGroup(plan.host)
        if why is None and self.limits is not None:
            why = self.limits.admit(self.key, group)
            if why is not None:
                return defer.fail(LimitsRefused(why))
        if why is None and self.budget is not None:
            why = self.budget.admit(plan.host, plan.sends, self.key)
            if why is not None:
                return defer.fail(BudgetRefused(why))
        if why is not None:
            return defer.fail(PunchFailed(why))
        self.done = defer.Deferred(lambda _: self.stop())
        self._planned = self._schedule(plan, self.clock.seconds())
        if plan.near is not None and self.sound is not None:
            self.sound(plan.host, plan.soundPort, datagram(_PROBE, self.nonce))
        return self.done

    def _schedule(self, plan, started, admitted=()):
        """Send plan's probes from ``started`` on (each counted batch as
        the budget admitted the one of ``admitted`` in its place, when it
        holds as many), and end it by its timeout: the planned times of
        its counted batches."""
        batches = {}
        for probe in plan.probes:
            batches.setdefault(probe.at, []).append(probe)
        planned, admitted = [], list(admitted)
        for at, batch in sorted(batches.items()):
            counted = sum(1 for probe in batch if probe.ttl != KEEP_TTL)
            when = started + at
            if counted:
                if admitted and admitted[0][1] == counted:
                    when = admitted[0][0]
                admitted = admitted[1:]
                planned.append((when, counted))
            self._timers.append(self.clock.callLater(at, self._sendBatch, batch, when))
        self._timers.append(self.clock.callLater(plan.timeout, self._expired))
        return planned

    def nearPeer(self, word=False):
        """
        The peer's router is on this side's segment (this side's sounding
        was answered from the peer's host, or the peer's was from this
        side's): a sounded punch not met follows its patient plan from
        now on (L{Plan.near}), the probes it has not sent yet dropped; a
        waiting side's (L{Plan.waits}) from its opener's ``word`` (the
        peer's ``udppunchnear`` is it), or from L{word}, or L{WORD} s on.

        @return: whether it did (a punch met, over, or already patient
            does not).
        """
        near = self.plan.near
        if near is None or self.done is None or self.done.called:
            return False
        self._cancelTimers()
        self.plan = near
        if near.waits and not word:
            self._waiting = self.clock.callLater(WORD, self._follow)
            self._timers.append(self._waiting)
        else:
            self._follow()
        return True

    def word(self):
        """
        The opener's word came (the peer's ``udppunchnear``): its opening
        datagrams have left, and a waiting side that went patient without
        it follows its plan now.

        @return: whether it did (a side that does not wait, or whose
            wait is over, does not).
        """
        if self._waiting is None or not self._waiting.active():
            return False
        self._waiting.cancel()
        self._follow()
        return True

    def _follow(self):
        self._waiting = None
        self._planned = self._schedule(self.plan, self.clock.seconds(), self._planned)

    def _sendBatch(self, batch, planned):
        counted = sum(1 for probe in batch if probe.ttl != KEEP_TTL)
        if self.budget is not None and counted:
            # Counted as it leaves: later than planned if the reactor was.
            self.budget.left(self.plan.host, planned, counted)
        data = datagram(_PROBE, self.nonce)
        for probe in batch:
            if probe.ttl:
                self.send(probe.socket, self.plan.host, probe.port, data, probe.ttl)
            else:
                self.send(probe.socket, self.plan.host, probe.port, data)

    def _expired(self):
        self._cancelTimers()
        self.done.errback(Missed(
            f"no datagram of the peer's came back within {self.plan.timeout:g} s "
            f"({self.plan.strategy}, {len(self.plan.probes)} probes)"))

    def datagramReceived(self, socket, host, port, data):
        """A datagram came to local socket ``socket`` from host:port:
        answered, or the punch met, if it is the peer's; else ignored.
        @return: whether it was this punch's."""
        parsed = parse(data)
        if (parsed is None or parsed[1] != self.nonce or self.done is None
                or not sameHost(host, self.plan.host) or port < LOWEST_PORT):
            # From a well-known port no router maps to: no ack, keepalive
            # or QUIC dial goes back there either.
            return False
        kind = parsed[0]
        if kind == _ACK and self.met is not None:
            return True
        if self.acks < ACKS:
            self.acks += 1
            self.send(socket, host, port, datagram(_ACK, self.nonce))
        if kind == _ACK:
            self.met = Met(socket, host, port)
            self._cancelTimers()
            self._keepalive = self.clock.callLater(KEEPALIVE, self._keepAlive)
            self.done.callback(self.met)
        return True

    def _keepAlive(self):
        met = self.met
        self.send(met.socket, met.host, met.port, datagram(_ACK, self.nonce))
        self._keepalive = self.clock.callLater(KEEPALIVE, self._keepAlive)

    def _cancelTimers(self):
        timers, self._timers = self._timers, []
        for timer in timers:
            if timer.active():
                timer.cancel()

    def stop(self):
        """Stop probing and keeping the 5-tuple alive."""
        self._cancelTimers()
        keepalive, self._keepalive = self._keepalive, None
        if keepalive is not None and keepalive.active():
            keepalive.cancel()
