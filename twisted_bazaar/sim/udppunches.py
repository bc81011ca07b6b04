"""
The share of the pairs that went through a relay that got a direct path
(``bazaar-sim --nat``, the ``nat.direct`` metrics): a TCP punch that
connected, or, with a NAT mix (``--nat-mix``), a UDP punch whose probes
met.

Each pair is counted once, at the end that starts the TCP punch over
their relayed link (L{twisted_bazaar.sim.punches.PunchCounts}'s
punches), the end that opened the link.  When that punch fails, the
pair's UDP punch is run on a model of their two routers
(L{twisted_bazaar.testing.udpnat}): the tracker's two probes of each,
the planner's probes and the acks (L{twisted_bazaar.reach.punch.udp.plan}),
on a clock of its own with the run's latency, from fresh mappings,
seeded from the run's seed and the pair's number: deterministic.  Home
routers keep Linux conntrack's entries for what comes unasked
(L{CONNTRACK}: the race of issue 94), one router lies between any two
(so a punch's sounding is never answered from the peer's host, and the
first punch is never made patient by it), and the two sides start up
to L{LAG} s apart, the later one drawn.  What is kept between pairs, on
the run's clock, is what a daemon keeps: each node's probe budget
(L{ProbeBudget}, told the peer node, and credited when a punch met or
met silence), and each pair's punch asked again (after a refusal, or a
birthday or simultaneous punch's miss, L{twisted_bazaar.reach.punch.udp.again}),
patient then.  A pair is counted when its punch's outcome is known.  The
nodes' links stay on the relay (the nodes have no QUIC transport to move
them to yet); the figure says which pairs a UDP punch would have taken
off it.

A run without ``--nat`` builds none of this.
"""

import itertools
import random

from twisted.internet.task import Clock

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.punch.tcp.service import isRelayed, relayedFrom
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
from twisted_bazaar.reach.punch.udp.plan import (
    BIRTHDAY,
    COVERED,
    PATIENT,
    SIMULTANEOUS,
    BudgetRefused,
    Met,
    Missed,
    forgotten,
)
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
#: Why a pair stayed relayed whose punch the budget refused every time,
#: and what a pair's punch asked again after a refusal waits for.
BUDGET = "budget"
#: What a pair's punch asked again after a miss waits for: the miss to be
#: known, then its opener's budget and the routers' forgetting.
MISSED_WAITING = "missed"
#: Why a pair's punch was not asked again: its relayed link had closed.
LINK_CLOSED = "link_closed"
#: What a pair waits for whose punch is under way in the model: its
#: meeting, or its miss, to be known.
UNDER_WAY = "under way"
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
        #: A node's own host -> its probe budget.
        self.budgets = {}
        #: Pair number -> (what it waits for: L{BUDGET} or L{MISSED_WAITING},
        #: the timer asking its punch again; L{UNDER_WAY}, the timer
        #: counting its outcome once known), on the run's clock.
        self.again = {}
        #: Number -> the timer giving a budget its credit for a punch that
        #: met or met silence (L{_credit}), on the run's clock.
        self.credits = {}
        self._credits = itertools.count()
        #: A node's id -> its own host: the peer of a link, whose budget
        #: the model charges (L{started}).
        self.hosts = {}
        #: The run has ended (L{stop}): no punch is played any more.
        self.stopped = False

    def watch(self, node):
        """Count the punches for a link node starts (its C{punchStarted}
        and C{punchEnded} events: a punch for files goes over a direct
        link, and is not a pair's)."""
        if self.kinds is not NO_UDP:
            self.hosts[node.id] = node.connector.from_host
        node.addObserver(_Pairs(self, node))

    def started(self, link, peer_host, node=None):
        """A pair's TCP punch started over link, one of ``node``'s: its
        L{Pair}, for L{ended}."""
        self.tried += 1
        # A node that cannot punch names no host: the relay's word is the
        # model's (the pair's routers).
        return Pair(self.tried, peer_host or relayedFrom(link), self.hosts.get(link.peer_id),
                    None if node is None else _relayedWith(node, link.peer_id))

    def ended(self, host, pair, why, clock, tries=0):
        """A pair's TCP punch ended (why None: punched); one that failed
        is tried over UDP in the model, at ``clock``'s time (the run's),
        and again later (L{_later}) if the budget refused it or its
        birthday or simultaneous punch missed."""
        if why is None:
            self.tcp += 1
            return
        if self.stopped:
            return
        number = pair.number
        self.again.pop(number, None)
        outcome, known = self.udpOutcome(host, pair, number + tries * 1_000_000, clock,
                                         patient=tries > 0)
        if isinstance(outcome, _Later) and tries < RETRIES:
            self.again[number] = (outcome.waits, clock.callLater(
                outcome.seconds, self._later, outcome, host, pair, why, clock, tries))
        elif known:
            self.again[number] = (UNDER_WAY, clock.callLater(known, self._count, number,
                                                             outcome))
        else:
            self._count(number, outcome)

    def _count(self, number, outcome):
        """A pair's punch met (outcome None) or left it relayed, known now."""
        self.again.pop(number, None)
        if outcome is None:
            self.udp += 1
        else:
            outcome = outcome.why if isinstance(outcome, _Later) else outcome
            self.relayed[outcome] = self.relayed.get(outcome, 0) + 1

    def _later(self, later, host, pair, why, clock, tries):
        """A pair's punch is asked again (L{_Later}): now, or (a punch that
        missed, whose miss is known now) once its opener's budget and the
        routers allow."""
        if later.then is None:
            if pair.stands is None or pair.stands():
                self.ended(host, pair, why, clock, tries + 1)
            else:
                # Asked only while the relayed link stands (a daemon's
                # PunchRetries.mayAskAgain).
                self._count(pair.number, LINK_CLOSED)
            return
        seconds = later.then()
        if seconds is None:
            self._count(pair.number, later.why)
            return
        self.again[pair.number] = (MISSED_WAITING, clock.callLater(
            seconds, self._later, _Later(seconds, MISSED_WAITING, later.why), host,
            pair, why, clock, tries))

    def _budget(self, host, clock):
        """The probe budget of the node at host (its own: each node keeps
        one, as a daemon does, siblings at one home too)."""
        budget = self.budgets.get(host)
        if budget is None:
            budget = self.budgets[host] = ProbeBudget(clock)
        return budget

    def _credit(self, clock, seconds, credit, to):
        """credit(to) (a budget's C{met} or C{missed}) ``seconds`` from
        now on the run's clock, when the model's punch met or missed."""
        number = next(self._credits)

        def fire():
            del self.credits[number]
            credit(to)
        self.credits[number] = clock.callLater(seconds, fire)

    def udpOutcome(self, host, pair, seed, clock, patient=False):
        """
        The UDP punch between host (a node's own host) and the peer of
        pair (a L{Pair}), played in the model (``seed`` its
        draws'): (its outcome, the seconds from now until it is known).
        The outcome is None if it meets; else what kept them relayed:
        ``no_udp`` (no NAT mix), or what the failed punch missed by
        (L{MISSED}); or a L{_Later}: the punch is asked again, once the
        budgets of both (each node charged, at ``clock``'s time, the
        probes its plan sends to the other's public address) have room for
        the punch one of them refused, or once a birthday or simultaneous
        punch's miss is known and its opener may ask again.  ``patient``:
        a punch asked again after one that got no datagram back (both
        sides' plans patient, as a daemon's).  A first punch is sounded,
        and never answered from the peer's host (one router lies between
        any two homes), so it never goes patient.  Each side's budget is
        credited when its side met, or met silence (L{ProbeBudget.met},
        L{ProbeBudget.missed}), at that time on the run's clock.
        """
        if self.kinds is NO_UDP:
            return "no_udp", 0.0
        peer_host = pair.peer_host
        model = Clock()
        # Its times are seconds since the punch began, wherever a new
        # Clock starts (the suite's --clock-start moves it).
        begun = model.seconds()
        network = UdpNetwork(model, self.latency)
        rng = random.Random(self.seed * 1_000_003 + SEED_OFFSET * 7919 + seed)
        router = self.homes.routerOf(host)
        mine = None if router is None else self.kinds[router.public]
        peer = self.kinds.get(peer_host)
        if mine is None and peer is None:
            return "public", 0.0
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
        peer_node = pair.peer_node or peer_host
        budgets = (_Charged(self._budget(host, clock), peer_host, peer_node),
                   _Charged(self._budget(peer_node, clock), public, host))
        # A side reaches a public peer directly (the tracker checked it):
        # it sends to its port from one socket, no birthday (the node's
        # rule, L{twisted_bazaar.reach.punch.udp.service}).
        punches = punchPair(network, sides[0], sides[1], "tracker", rng,
                            nonce=rng.randrange(1, 2**62), budgets=budgets,
                            direct=(peer is None, mine is None),
                            lag=rng.uniform(0, LAG), patient=patient,
                            near=None if patient else (None, None))
        results = [None, None]
        for index, (_, done) in enumerate(punches):
            done.addBoth(lambda result, index=index: results.__setitem__(
                index, (result, model.seconds() - begun)))
        while None in results and model.getDelayedCalls():
            model.advance(min(call.getTime() for call in model.getDelayedCalls())
                          - model.seconds())
        for punch, _ in punches:
            punch.stop()
        credits = [(when, charged.budget.met if isinstance(result, Met)
                    else charged.budget.missed, charged.to)
                   for (result, when), charged in zip(results, budgets)
                   if isinstance(result, Met) or result.check(Missed)]
        failed = [result for result, _ in results if not isinstance(result, Met)]
        # Given before a L{_Later} of the same time is (the run's clock keeps
        # the order of calls due at one time): a miss's credit, then the
        # opener's ask for room.
        for when, credit, to in credits:
            self._credit(clock, when, credit, to)
        outcome = None if not failed else self._failed(punches, results, budgets)
        # A refusal is known at once; a meeting or a miss when the later
        # side's is.
        refused = any(not isinstance(result, Met) and result.check(BudgetRefused)
                      for result, _ in results)
        return outcome, 0.0 if refused else max(when for _, when in results)

    def _failed(self, punches, results, budgets):
        """What kept a pair whose punch failed relayed, or a L{_Later}
        (L{udpOutcome})."""
        for result, _ in results:
            if not isinstance(result, Met):
                result.trap(PunchFailed)
        if any(not isinstance(result, Met) and result.check(BudgetRefused)
               for result, _ in results):
            # Played again once both budgets hold it: the side admitted
            # holds its own probes as they left, to its last round.
            waits = [charged.wait(punch.plan.sends)
                     for (punch, _), charged in zip(punches, budgets)]
            return BUDGET if None in waits else _Later(max(waits) + SLACK, BUDGET, BUDGET)
        opener, (result, when) = punches[0][0].plan, results[0]
        why = MISSED.get(_bare(opener.strategy), "no_meeting")
        if isinstance(result, Met) or not result.check(Missed) or not (
                BIRTHDAY in opener.strategy or opener.strategy == SIMULTANEOUS):
            return why

        def then():
            # As a daemon's PunchRetries.later, when the miss is known: once
            # the opener's budget has room for the same plan and the
            # routers forgot what its datagrams left there.
            wait = budgets[0].wait(opener.sends)
            return None if wait is None else max(wait, forgotten(opener)) + SLACK
        return _Later(when, MISSED_WAITING, why, then)

    def stop(self):
        """
        The run has ended: cancel every timer of the model on the run's
        clock (a pair's punch asked again, or counted once known, a
        budget's credit).  What each pair still waits for is kept: the
        figures count it (L{metrics}).
        """
        self.stopped = True
        for _, timer in self.again.values():
            if timer.active():
                timer.cancel()
        credits, self.credits = self.credits, {}
        for timer in credits.values():
            if timer.active():
                timer.cancel()

    def metrics(self):
        """The ``nat.direct`` figures: the pairs that tried (through a
        relay), those punched over TCP and over UDP, those left relayed by
        why, those whose punch was still under way when the run ended (of
        them, those whose UDP punch waited for the probe budget's room),
        and the share direct (of all that tried: one under way is not
        direct)."""
        direct = self.tcp + self.udp
        waiting = [kind for kind, _ in self.again.values()]
        return {"tried": self.tried, "tcp_punched": self.tcp,
                "udp_punched": None if self.kinds is NO_UDP else self.udp,
                "relayed": dict(sorted(self.relayed.items())),
                "pending": self.tried - direct - sum(self.relayed.values()),
                "budget_waiting": waiting.count(BUDGET),
                "missed_waiting": (None if self.kinds is NO_UDP
                                   else waiting.count(MISSED_WAITING)),
                "direct_share": round(direct / self.tried, 4) if self.tried else None}


class _Later:
    """A pair's punch asked again ``seconds`` from now, waiting for
    ``waits`` (L{BUDGET} or L{MISSED_WAITING}); ``why`` it stays relayed
    if its tries are spent; ``then``, None or (a miss known then) what
    gives the seconds from then until it is asked (None: never)."""

    def __init__(self, seconds, waits, why, then=None):
        self.seconds = seconds
        self.waits = waits
        self.why = why
        self.then = then


class _Charged:
    """A node's probe budget as the model's punch asks it: the model's
    hosts are names, and the budget is charged for the address of the
    peer's node (its router's) the probes would go to, for that node
    (``key``: its own host, as a daemon's budget is told the peer's key,
    so that a sibling behind that address gets its own punch)."""

    def __init__(self, budget, to, key):
        self.budget = budget
        self.to = to
        self.key = key

    def admit(self, host, sends, peer=None):
        return self.budget.admit(self.to, sends, self.key)

    def left(self, host, planned, probes):
        self.budget.left(self.to, planned, probes)

    def wait(self, sends):
        """Seconds until a punch's sends would pass (0.0: now), None: never."""
        wait = self.budget.wait(self.to, sends, self.key)
        return None if wait is None else float(wait)


class Pair:
    """A pair through a relay, told from its TCP punch's start to its
    L{DirectShare.ended}: its ``number``, the peer's public address
    (``peer_host``: its router's, if it is at home) and own host
    (``peer_node``, its budget's key; None: not known, its public address
    then), and ``stands``: None, or whether the relayed link with the
    peer stands (a punch is asked again only then)."""

    __slots__ = ("number", "peer_host", "peer_node", "stands")

    def __init__(self, number, peer_host, peer_node=None, stands=None):
        self.number = number
        self.peer_host = peer_host
        self.peer_node = peer_node
        self.stands = stands


def _relayedWith(node, peer_id):
    """Whether a relayed link of node's with peer_id stands, now."""
    def stands():
        link = node.linkTo(peer_id)
        return link is not None and isRelayed(link)
    return stands


def _bare(strategy):
    """A plan's strategy without the prefix of a patient or covering
    plan: the key of L{MISSED}."""
    return strategy.removeprefix(PATIENT).removeprefix(COVERED)


class _Pairs(NodeObserver):
    """One node's punches, told to the run's L{DirectShare}."""

    def __init__(self, share, node):
        self.share = share
        self.host = node.connector.from_host
        self.clock = node.clock
        self.node = node
        #: link -> its punch's L{Pair}, while it runs.
        self.running = {}

    def punchStarted(self, link, host):
        self.running[link] = self.share.started(link, host, self.node)

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
