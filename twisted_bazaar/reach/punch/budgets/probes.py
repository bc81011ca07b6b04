"""
How many probes this node sends for UDP punches (L{ProbeBudget}): over a
sliding window, to one destination host (the host the probes go to), to
one address group (an IPv4 /16, an IPv6 /32) and in all.  A punch's plan
is sent whole or not at all.

The bound that stops a stranger from spraying a third party through
the node is the one per host: a stranger makes the node probe only the
host the tracker saw the stranger's own datagrams come from, so it buys
one host's share with each host it holds, and the group's and the
total's bounds cap what many hosts of one network, or of many, can buy.
The group's bound is larger than the host's (two birthday punches): one
punch to one host leaves the rest of its /16 (another home behind the
same carrier, a buyer next door to a public seller) a punch of its own.

A host whose punch met in the window (L{ProbeBudget.met}: its router
answered this node's nonce, so a party there wants these datagrams) has
room for one more punch: its bound is the group's for the window, never
more however many meet.  So a second node at a home this node has just
met (a one-shot ``bazaar buy`` beside the daemon that met it) gets its
own punch at once, not a minute later; and what a stranger can buy is
still capped by the group's and the total's bounds, which do not move:
two punches a window at the one host it holds and has to answer from,
where one host of its group could take two anyway by holding two.

A punch to a node (its key) none of whose punches to that host is in
the window gets that room too, whatever the punches there met: several
nodes behind one address (a ``bazaar buy`` beside a daemon whose punch
met silence as it exited was refused for a minute, issue 94).  Keys are
free, so a stranger at one host gets there what holding two hosts of its
/16 gave it already: two punches a window, the group's bound, which does
not move.

A host whose punch met silence (L{ProbeBudget.missed}: no datagram of
the peer's came back, a birthday punch's 2 % of bad odds) has room for
one more punch in the window, on top of any a meeting gave it, and its
address group one more on top of its two; each only once in
L{MISSED_EVERY} seconds: a missed early punch is asked again at once,
not a minute later, while a `bazaar buy`'s relayed file waits for it
(natbed: 3 of 40 buys took 63-64 s, 13.8 MB through the relay), even
where this node has just punched the buyer's daemon at that home (the
group's two punches spent).  A stranger who has the tracker see a
victim's host (a spoofed check) and never answers buys a second punch
there once in that time: at most two punches (2,176 probes) in one
window, one punch's 1,088 in each of the next nine; and a /16 gets at
most three punches in one window, two in each of the next nine.

A punch's probes are counted when they leave, not when it starts (its
probes go over 1.5 s, a hard side's rounds over 4 s): a send stays in
the window until 60 s after it left, a send the reactor fired late
from when it did (L{ProbeBudget.left}).  A punch is admitted only if what
was sent in the 60 s before its start, what the punches under way have
still to send, and all of its own fit each bound: every 60 s window
that holds one of its probes then holds no more than the bound, however
the punches' starts fall (a refused punch asked again 60 s after the one
that filled the window had gone out over 1.5 s past that: 5,071 probes
in one window where the bound is 4,352, issue 93).

When a plan does not fit, L{wait} says how long until it would (until
enough of what was sent is 60 s old), so that the punch is asked again
then rather than abandoned.
"""

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import canonical
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.reach.punch.budgets.dials import WINDOW
from twisted_bazaar.reach.punch.udp.plan import BIRTHDAY_PROBES, PACE

__all__ = ["ProbeBudget", "PROBES_HOST", "PROBES_GROUP", "PROBES_TOTAL", "PROBES_LIMIT",
           "MISSED_EVERY"]

#: Probes of the largest plan: a birthday punch's, and a tick's more.
_ONE_PUNCH = BIRTHDAY_PROBES + PACE
#: Probes a node sends for UDP punches a window: to one host (one
#: birthday punch), to one address group (two) and in all (four).
PROBES_HOST = _ONE_PUNCH
PROBES_GROUP = 2 * _ONE_PUNCH
PROBES_TOTAL = 4 * _ONE_PUNCH
#: Seconds in which a host, and an address group, each get at most one
#: more punch for a punch there that met silence (L{ProbeBudget.missed}):
#: ten windows.
MISSED_EVERY = 10 * WINDOW
PROBES_LIMIT = declare(
    "punch.udp-probes", PROBES_TOTAL, "datagrams/60 s",
    "probes a node sends for UDP punches in a window, in all, to one address group "
    "and to one host (all to the host the tracker saw the peer at): no port scan or "
    "flood through it, and one punch to one host leaves its group room for another; "
    "a host whose punch met in the window, or punched for another node, has the "
    "group's room (one more punch), and one whose punch met silence, and its group, "
    "one more, once in 600 s; probes counted as they leave",
    group=PROBES_GROUP, key=PROBES_HOST, owner=__name__)


def hostKey(host):
    """host in one spelling (an IPv4-mapped IPv6 address as IPv4), any
    text that is no address as it is."""
    try:
        return canonical(host)
    except ValueError:
        return host


class ProbeBudget:
    """
    The probes of the last L{WINDOW} seconds, by destination host and
    address group: see the module's docstring.
    """

    def __init__(self, clock, window=WINDOW, total=PROBES_TOTAL, per_group=PROBES_GROUP,
                 per_host=PROBES_HOST):
        self.clock = clock
        self.window = window
        self.total = total
        self.per_group = per_group
        self.per_host = per_host
        #: (when it leaves, host, address group, probes, the key of the
        #: node punched or None): one a punch's send, those to come
        #: included.
        self._sent = []
        #: host -> when a punch to it last met.
        self._met = {}
        #: host, and address group -> when a punch to it that met silence
        #: last gave it room (kept L{MISSED_EVERY} s: one such room in that
        #: time).
        self._missed = {}
        self._missedGroups = {}

    def _bounds(self, host, peer=None):
        """(which sends count against each bound a plan to host (for the
        node with key ``peer``, if known) meets, that bound, the line
        that says it), the window's expired sends forgotten."""
        now = self.clock.seconds()
        self._sent = [each for each in self._sent if each[0] > now - self.window]
        self._met = {key: when for key, when in self._met.items()
                     if when > now - self.window}
        self._missed = _since(self._missed, now - MISSED_EVERY)
        self._missedGroups = _since(self._missedGroups, now - MISSED_EVERY)
        host = hostKey(host)
        group = addressGroup(host)
        per_host = self.per_host
        sibling = peer is not None and not any(
            each[1] == host and each[4] in (peer, None) for each in self._sent)
        if host in self._met or sibling:
            per_host = max(self.per_host, self.per_group)
        per_group = self.per_group
        if self._missed.get(host, now - self.window) > now - self.window:
            per_host += self.per_host
        if self._missedGroups.get(group, now - self.window) > now - self.window:
            per_group += self.per_host
        return ((lambda each: True, self.total,
                 "this node sent or is sending {held} UDP punch probes in the last "
                 "{window} s, and {count} more would pass its {bound}"),
                (lambda each: each[2] == group, per_group,
                 "this node sent or is sending {held} UDP punch probes to that address "
                 "group in the last {window} s, and {count} more would pass its {bound}"),
                (lambda each: each[1] == host, per_host,
                 "this node sent or is sending {held} UDP punch probes to that host in "
                 "the last {window} s, and {count} more would pass its {bound}"))

    def admit(self, host, sends, peer=None):
        """
        Count the probes of a punch to ``host`` starting now: ``sends``,
        ((seconds from now, probes), ...) as L{Plan.sends
        <twisted_bazaar.reach.punch.udp.plan.Plan.sends>} says, or a number of
        probes all sent now; ``peer``, the key of the node punched, if
        known.  None if within the budget (and counted), else why not,
        with the budget's count.
        """
        sends = _sends(sends)
        count = sum(probes for _, probes in sends)
        for counts, bound, line in self._bounds(host, peer):
            held = sum(each[3] for each in self._sent if counts(each))
            if held + count > bound:
                return line.format(held=held, window=f"{self.window:g}", count=count,
                                   bound=bound)
        key, now = hostKey(host), self.clock.seconds()
        group = addressGroup(key)
        self._sent.extend((now + at, key, group, probes, peer) for at, probes in sends)
        return None

    def left(self, host, planned, probes):
        """
        Probes of a punch to host counted at ``planned`` (the time
        L{admit} gave them) leave now: counted from now if that is later.
        A reactor busy elsewhere fires a send late, and the window must
        hold it as the wire does (a send counted at its planned time was
        forgotten that much early, and the next punch let go into the same
        60 s of the wire).
        """
        now, key = self.clock.seconds(), hostKey(host)
        if now <= planned:
            return
        for index, each in enumerate(self._sent):
            if each[0] == planned and each[1] == key and each[3] == probes:
                self._sent[index] = (now,) + each[1:]
                return

    def met(self, host):
        """A punch to host met now: the host has room for one more punch
        this window (see the module's docstring)."""
        self._met[hostKey(host)] = self.clock.seconds()

    def missed(self, host):
        """A punch to host met silence now: the host, and its address
        group, have room for one more punch this window, each unless a
        miss gave it room in the last L{MISSED_EVERY} s (see the module's
        docstring)."""
        key, now = hostKey(host), self.clock.seconds()
        for credits, name in ((self._missed, key), (self._missedGroups, addressGroup(key))):
            if credits.get(name, now - MISSED_EVERY) <= now - MISSED_EVERY:
                credits[name] = now

    def wait(self, host, sends, peer=None):
        """Seconds from now until L{admit} of ``sends`` to host (for
        ``peer``) would pass, as the window forgets what was sent (0: it would now); None
        if it never would (its probes are past a bound)."""
        count = sum(probes for _, probes in _sends(sends))
        waits = [0.0]
        now = self.clock.seconds()
        for counts, bound, _ in self._bounds(host, peer):
            if count > bound:
                return None
            held = sorted((each for each in self._sent if counts(each)),
                          key=lambda each: each[0])
            over = sum(each[3] for each in held) + count - bound
            for each in held:
                if over <= 0:
                    break
                over -= each[3]
                waits.append(each[0] + self.window - now)
        return max(waits)


def _sends(sends):
    """A punch's sends as ((seconds from now, probes), ...): a number is
    that many probes now."""
    return ((0.0, sends),) if isinstance(sends, int) else tuple(sends)


def _since(when, oldest):
    """The entries of when (key -> seconds) later than oldest."""
    return {key: at for key, at in when.items() if at > oldest}
