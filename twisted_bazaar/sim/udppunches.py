"""
The share of the pairs that went through a relay that got a direct path
(``bazaar-sim --nat``, the ``nat.direct`` metrics): a TCP punch that
connected, or, with a NAT mix (``--nat-mix``), a UDP punch whose probes
met.

Each pair is counted once, at the end that starts the TCP punch over
their relayed link (L{twisted_bazaar.sim.punches.PunchCounts}'s
punches).  When that punch fails, the pair's UDP punch is run on a model
of their two routers (L{twisted_bazaar.testing.udpnat}): the tracker's
two probes of each, the planner's probes and the acks
(L{twisted_bazaar.reach.punch.udp.plan}), on a clock of its own with the
run's latency, from fresh mappings, seeded from the run's seed and the
pair's number: deterministic, and nothing kept between pairs.  Home
routers keep Linux conntrack's entries for what comes unasked
(L{CONNTRACK}: the race of issue 94), one router lies between any two,
and the two sides start up to L{LAG} s apart, the later one drawn.  The
nodes' links stay on the relay (the nodes have no QUIC transport to move
them to yet); the figure says which pairs a UDP punch would have taken
off it.

A run without ``--nat`` builds none of this.
"""

import random

from twisted.internet.task import Clock

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.punch.tcp.service import relayedFrom
from twisted_bazaar.testing.nat import KEEPS_PORTS, SYMMETRIC
from twisted_bazaar.testing.udpnat import (
    FULL_CONE,
    KINDS,
    PORT_RESTRICTED,
    RANDOM,
    SEQUENTIAL,
    UdpNetwork,
    UdpRouter,
    punchPair,
)
from twisted_bazaar.reach.punch.tcp.exchange import PunchFailed
from twisted_bazaar.reach.punch.budgets.probes import ProbeBudget
from twisted_bazaar.reach.punch.udp.plan import BudgetRefused, Met
from twisted_bazaar.reach.punch.udp.again import RETRIES, SLACK

#: Added to the run's seed for the UDP model's generators.
SEED_OFFSET = 11
#: The TCP kind (L{twisted_bazaar.testing.nat}) of each UDP kind's router:
#: a cone keeps ports for TCP too (a TCP punch meets it), a symmetric one
#: does not.
TCP_KIND = {FULL_CONE: KEEPS_PORTS, PORT_RESTRICTED: KEEPS_PORTS,
            SEQUENTIAL: SYMMETRIC, RANDOM: SYMMETRIC}
#: The mix ``--nat-mix field`` names (docs/simulator.md, "NAT types"):
#: most home routers endpoint-independent, a minority symmetric, a few
#: of those with random ports.
FIELD_MIX = ((FULL_CONE, 0.25), (PORT_RESTRICTED, 0.55), (SEQUENTIAL, 0.12),
             (RANDOM, 0.08))
#: The kinds of router that run Linux conntrack (home routers, and those
#: that draw ports with ``--random-fully``): a peer's datagram that comes
#: before the host's own of that pair takes it, and the host's leaves
#: from another port (L{UdpRouter}'s ``conntrack``; issue 94).
CONNTRACK = frozenset({PORT_RESTRICTED, SEQUENTIAL, RANDOM})
#: Seconds at most between the two sides' starts: the tracker's two
#: ``udppunchgo`` reach them over connections of their own.
LAG = 0.2
#: Why a pair whose UDP punch failed stayed relayed, by the strategy of
#: the initiator's plan (L{twisted_bazaar.reach.punch.udp.plan.plan}).
MISSED = {"none": "both_hard", "predicted": "prediction_missed",
          "birthday-probes": "birthday_missed", "birthday-sockets": "birthday_missed",
          "simultaneous": "no_meeting", "direct": "no_meeting"}
#: Why a pair stayed relayed whose punch the budget refused every time.
BUDGET = "budget"
#: The TCP-only runs' stand-in of the routers' UDP kinds: none (no UDP
#: punch is modelled).
NO_UDP = None


def parseMix(text):
    """
    A ``--nat-mix``: ``field`` (L{FIELD_MIX}), or ``KIND=SHARE,...`` of
    L{KINDS <twisted_bazaar.testing.udpnat.KINDS>}, shares summing to 1,
    the kinds parted by commas or by ``+`` (a sweep's commas list its
    runs): a tuple of (kind, share).  ValueError saying why otherwise.
    """
    if text == "field":
        return FIELD_MIX
    mix = []
    for part in text.replace("+", ",").split(","):
        kind, equals, share = part.strip().partition("=")
        if not equals or kind not in KINDS:
            raise ValueError(f"a NAT mix is 'field' or KIND=SHARE,... with KIND one of "
                             f"{', '.join(KINDS)}, not {part.strip()!r}")
        try:
            value = float(share)
        except ValueError:
            raise ValueError(f"{kind}'s share is a number, not {share!r}") from None
        if not 0 <= value <= 1 or any(kind == each for each, _ in mix):
            raise ValueError(f"{kind}'s share is given once, between 0 and 1, "
                             f"not {share!r}")
        mix.append((kind, value))
    if abs(sum(share for _, share in mix) - 1) > 1e-9:
        raise ValueError(f"a NAT mix's shares add up to 1, not "
                         f"{sum(share for _, share in mix):g}")
    return tuple(mix)


def drawKind(mix, draw):
    """The kind of mix a draw in [0, 1) falls on."""
    for kind, share in mix:
        if draw < share:
            return kind
        draw -= share
    return mix[-1][0]


class DirectShare:
    """
    The pairs that went through a relay and how each ended: TCP-punched,
    UDP-punched (with the UDP kinds of the routers, ``kinds``: router
    public address -> kind), or relayed (and why, for a UDP punch that
    failed).
    """

    def __init__(self, homes, seed, kinds=NO_UDP, latency=0.03):
        self.homes = homes
        self.seed = seed
        self.kinds = kinds
        self.latency = latency
        self.tried = 0
        self.tcp = 0
        self.udp = 0
        #: Why the pairs that stayed relayed did, by the UDP punch's strategy.
        self.relayed = {}
        #: A node's public address -> its probe budget.
        self.budgets = {}
        #: Pair number -> the timer playing its punch again (the budget
        #: refused it), on the run's clock.
        self.again = {}

    def watch(self, node):
        """Count the punches for a link node starts (its C{punchStarted}
        and C{punchEnded} events: a punch for files goes over a direct
        link, and is not a pair's)."""
        node.addObserver(_Pairs(self, node.connector.from_host, node.clock))

    def started(self, link, peer_host):
        """A pair's TCP punch started: its number, for L{ended}."""
        self.tried += 1
        # A node that cannot punch names no host: the relay's word is the
        # model's (the pair's routers).
        return self.tried, peer_host or relayedFrom(link)

    def ended(self, host, pair, why, clock, tries=0):
        """A pair's TCP punch ended (why None: punched); one that failed
        is tried over UDP in the model, at ``clock``'s time (the run's),
        and again later if the budget refused it."""
        if why is None:
            self.tcp += 1
            return
        number, peer_host = pair
        outcome = self.udpOutcome(host, peer_host, number + tries * 1_000_000, clock)
        if isinstance(outcome, float) and tries < RETRIES:
            self.again[number] = clock.callLater(outcome + SLACK, self._again, host,
                                                 pair, why, clock, tries + 1)
            return
        self.again.pop(number, None)
        if outcome is None:
            self.udp += 1
        else:
            outcome = BUDGET if isinstance(outcome, float) else outcome
            self.relayed[outcome] = self.relayed.get(outcome, 0) + 1

    def _again(self, host, pair, why, clock, tries):
        del self.again[pair[0]]
        self.ended(host, pair, why, clock, tries)

    def _budget(self, public, clock):
        """The probe budget of the node at public (its own address, or its
        router's)."""
        budget = self.budgets.get(public)
        if budget is None:
            budget = self.budgets[public] = ProbeBudget(clock)
        return budget

    def udpOutcome(self, host, peer_host, pair, clock):
        """
        None if the UDP punch between host (a node's own host) and the
        peer at ``peer_host`` (its public address: its router's, if it
        is at home) meets, else what kept them relayed:
        ``no_udp`` (no NAT mix), or what the failed punch missed by
        (L{MISSED}); or the seconds until the budgets of both (each node
        charged, at ``clock``'s time, the probes its plan sends to the
        other's public address) would have room for the punch one of
        them refused.
        """
        if self.kinds is NO_UDP:
            return "no_udp"
        model = Clock()
        network = UdpNetwork(model, self.latency)
        rng = random.Random(self.seed * 1_000_003 + SEED_OFFSET * 7919 + pair)
        router = self.homes.routerOf(host)
        mine = None if router is None else self.kinds[router.public]
        peer = self.kinds.get(peer_host)
        if mine is None and peer is None:
            return "public"
        sides = ("a", "b")
        for side, kind in zip(sides, (mine, peer)):
            if kind is not None:
                network.place(side, UdpRouter(f"public-{side}", kind,
                                              random.Random(rng.random()),
                                              conntrack=kind in CONNTRACK))
        if mine is None:
            sides = ("public-a", "b")
        elif peer is None:
            sides = ("a", "public-b")
        public = host if router is None else router.public
        budgets = (_Charged(self._budget(public, clock), peer_host),
                   _Charged(self._budget(peer_host, clock), public))
        # A side reaches a public peer directly (the tracker checked it):
        # it sends to its port from one socket, no birthday (the node's
        # rule, L{twisted_bazaar.reach.punch.udp.service}).
        punches = punchPair(network, sides[0], sides[1], "tracker", rng,
                            nonce=rng.randrange(1, 2**62), budgets=budgets,
                            direct=(peer is None, mine is None),
                            lag=rng.uniform(0, LAG))
        results = [None, None]
        for index, (_, done) in enumerate(punches):
            done.addBoth(lambda result, index=index: results.__setitem__(index, result))
        while None in results and model.getDelayedCalls():
            model.advance(min(call.getTime() for call in model.getDelayedCalls())
                          - model.seconds())
        for punch, _ in punches:
            punch.stop()
        failed = [result for result in results if not isinstance(result, Met)]
        if not failed:
            return None
        for result in failed:
            result.trap(PunchFailed)
        if any(result.check(BudgetRefused) for result in failed):
            # Played again once both budgets hold it: the side admitted
            # holds its own probes as they left, to its last round.
            waits = [charged.wait(punch.plan.sends)
                     for (punch, _), charged in zip(punches, budgets)]
            return BUDGET if None in waits else max(waits)
        return MISSED[punches[0][0].plan.strategy]

    def metrics(self):
        """The ``nat.direct`` figures: the pairs that tried (through a
        relay), those punched over TCP and over UDP, those left relayed by
        why, those whose punch was still under way when the run ended (of
        them, those whose UDP punch waited for the probe budget's room),
        and the share direct (of all that tried: one under way is not
        direct)."""
        direct = self.tcp + self.udp
        return {"tried": self.tried, "tcp_punched": self.tcp,
                "udp_punched": None if self.kinds is NO_UDP else self.udp,
                "relayed": dict(sorted(self.relayed.items())),
                "pending": self.tried - direct - sum(self.relayed.values()),
                "budget_waiting": len(self.again),
                "direct_share": round(direct / self.tried, 4) if self.tried else None}


class _Charged:
    """A node's probe budget as the model's punch asks it: the model's
    hosts are names, and the budget is charged for the address of the
    peer's node (its router's) the probes would go to."""

    def __init__(self, budget, to):
        self.budget = budget
        self.to = to

    def admit(self, host, sends, peer=None):
        return self.budget.admit(self.to, sends, peer)

    def left(self, host, planned, probes):
        self.budget.left(self.to, planned, probes)

    def wait(self, sends):
        """Seconds until a punch's sends would pass (0.0: now), None: never."""
        wait = self.budget.wait(self.to, sends)
        return None if wait is None else float(wait)


class _Pairs(NodeObserver):
    """One node's punches, told to the run's L{DirectShare}."""

    def __init__(self, share, host, clock):
        self.share = share
        self.host = host
        self.clock = clock
        #: link -> its punch's (number, peer host), while it runs.
        self.running = {}

    def punchStarted(self, link, host):
        self.running[link] = self.share.started(link, host)

    def punchEnded(self, link, host, why):
        pair = self.running.pop(link, None)
        if pair is not None:
            self.share.ended(self.host, pair, why, self.clock)


def plugDirectShare(homes, nodes, seed, kinds=NO_UDP, latency=0.03):
    """Watch every node's punches (L{DirectShare}); returns it."""
    share = DirectShare(homes, seed, kinds, latency)
    for node in nodes:
        share.watch(node)
    return share
