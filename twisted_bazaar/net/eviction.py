"""
Which inbound link a full node gives up for a newcomer, in the spirit of
Bitcoin Core's inbound eviction: an attacker with many cheap connections
must not be able to keep an honest peer out, nor push one out.

Never evicted: outbound links (this node chose those peers).  A
connection still in its handshake goes first, whatever its age (silent
connections are what an attacker has most cheaply).  Then an address
group holding more than the newcomer's will (its share, as
L{twisted_bazaar.net.account} shares every other resource) gives one up,
whatever the ages: its newest link that traded nothing, else its newest.
Otherwise, when no group holds more than the newcomer's will, never
proven trading partners (a unit of stock was sold over the link: a copy
of a shared file costs a stranger nothing, and makes none), links of groups
still in their grace period (counted from the group's tenure, see
L{twisted_bazaar.net.connections.Tenure}), or the longest-lived half of
the rest; of what is left, the newest link of the address group holding
the most candidates.  For a newcomer through a relay, the relay's
group's links are held, by the address group the relay names for each
dialler, to what groups are held to among groups, each named group with
its own tenure (L{RelayLabels}).
Pure logic: the owner gathers the facts and closes the victim.
"""

import attr

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.net.capabilities import IRelayedTransport

#: Seconds a new link is safe from eviction: time to prove itself.
GRACE = 10.0


def groupOf(link):
    """The address group of the peer at the other end of a link (of the
    empty host name, for a link with no transport)."""
    address = link.transport.getPeer() if link.transport is not None else None
    return addressGroup(getattr(address, "host", None) or "")


def namedGroupOf(link):
    """The address group a relay names for the peer of a link through its
    circuit (where it says that peer's connection came from), or None for
    a link that runs through no relay.  A label, not an address this node
    saw: it only divides the share the relay's own group is given
    (L{twisted_bazaar.net.admission.Admission.whyNoHandshake})."""
    transport = link.transport
    relayed = None if transport is None else IRelayedTransport(transport, None)
    return None if relayed is None else addressGroup(relayed.relayedFrom or "")


def labelKey(group, label):
    """What the tenure of the links of ``group`` that a relay names
    ``label`` is kept under, beside the groups' own (L{RelayLabels})."""
    return (group, label)


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Candidate:
    """What eviction knows of one inbound link."""

    link: object
    since: float
    group: str
    established: bool
    proven: bool
    #: The address group the relay names for the link's dialler
    #: (L{namedGroupOf}), or None for a link through no relay.
    label: object = None


def chooseVictim(candidates, now, asker=None, grace=GRACE, tenure=None,
                 asker_label=None):
    """
    The link to evict from candidates (the inbound links holding what a
    newcomer of address group ``asker`` asks for), or None when every
    one is protected.  A node's own dial (``asker`` None) takes only what
    the grace and the older half leave open.

    @param tenure: group -> since when it has held links here without a
        break (see L{twisted_bazaar.net.connections.Tenure}), given the
        start of its oldest link; that start itself when None.  A group's grace runs from its tenure, so a group
        that replaces its links before they are ``grace`` old does not
        keep them young.
    @param asker_label: the address group the relay names for the
        newcomer's dialler, for one through a relay (L{RelayLabels}).
    """
    waiting = [c for c in candidates if not c.established]
    if waiting:
        return _fromLargestGroup(waiting, oldest=True).link
    counts = {}
    for candidate in candidates:
        counts[candidate.group] = counts.get(candidate.group, 0) + 1
    mine = counts.get(asker, 0) + 1
    heavy = [c for c in candidates if counts[c.group] > mine]
    if heavy and asker is not None:
        return _fromHeaviest(heavy, counts, lambda c: c.group).link
    labels = RelayLabels(candidates, asker, asker_label, tenure)
    heavy = labels.heavy()
    if heavy:
        return _fromHeaviest(heavy, labels.counts, lambda c: c.label).link
    oldest = {}
    for candidate in candidates:
        oldest[candidate.group] = min(candidate.since,
                                      oldest.get(candidate.group, candidate.since))
    if tenure is not None:
        oldest = {group: tenure(group, since) for group, since in oldest.items()}
    open_ = [c for c in candidates if not c.proven and now - oldest[c.group] >= grace
             and (labels.open(c, now, grace) if c.group == asker
                  else counts[c.group] >= mine)]
    open_.sort(key=lambda c: c.since)
    open_ = open_[len(open_) // 2:]
    if not open_:
        return None
    return _fromLargestGroup(open_, oldest=False).link


class RelayLabels:
    """
    The links of a newcomer's own address group, by the address group
    the relay names for each dialler (its label), for a newcomer through
    a relay: whose group holds every link of a node at home, so the
    group's share, grace and tenure told nothing apart there, and one
    group of diallers that opened circuit after circuit through the
    relay took the place of each honest dialler's new link (the relay's
    group always had links: none had a grace of its own).  Among them,
    labels are held to what groups are held to among groups: a label
    holding more than the newcomer's will gives way first, whatever the
    ages; else only the newcomer's own label, or one holding as many,
    once it is ``grace`` old.  The relay's word divides its group's links,
    never widens what they may push out of other groups.

    A label is as old as its tenure (L{labelKey} in the
    L{twisted_bazaar.net.connections.Tenure} of groups): aged by its
    oldest open link alone, a label whose links were closed and opened
    again every 5 s stayed younger than the grace, and two labels churned
    so held a node's 2 status slots against its operator.
    """

    def __init__(self, candidates, asker, label, tenure=None):
        self.label = label
        #: label -> links of it, and since when it has held links here.
        self.counts, self.oldest = {}, {}
        self.own = [c for c in candidates if c.group == asker]
        if label is None:
            return
        for candidate in self.own:
            each = candidate.label
            self.counts[each] = self.counts.get(each, 0) + 1
            self.oldest[each] = min(candidate.since, self.oldest.get(each, candidate.since))
        if tenure is not None:
            self.oldest = {each: tenure(labelKey(asker, each), since)
                           for each, since in self.oldest.items()}
        self.mine = self.counts.get(label, 0) + 1

    def heavy(self):
        """The links of labels holding more than the newcomer's will."""
        if self.label is None:
            return []
        return [c for c in self.own if self.counts[c.label] > self.mine]

    def open(self, candidate, now, grace):
        """Whether the newcomer may push candidate (of its own group) out,
        grace and age apart."""
        each = candidate.label
        return self.label is None or each == self.label or (
            self.counts[each] >= self.mine and now - self.oldest[each] >= grace)


def _fromHeaviest(candidates, counts, keyOf):
    """
    The link a group (or label, L{RelayLabels}) holding more than the
    newcomer's will gives up: of the one holding the most (the one that
    came last, of equals), a link that traded nothing before a trading
    partner, and the newest first.  ``keyOf(candidate)``: its group.
    """
    top = max(counts[keyOf(c)] for c in candidates)
    heaviest = [c for c in candidates if counts[keyOf(c)] == top]
    last = keyOf(max(heaviest, key=lambda c: c.since))
    group = [c for c in heaviest if keyOf(c) == last]
    return max(group, key=lambda c: (not c.proven, c.since))


def _fromLargestGroup(candidates, oldest):
    """The oldest (or newest) candidate of the group with the most."""
    groups = {}
    for candidate in candidates:
        groups.setdefault(candidate.group, []).append(candidate)
    largest = max(groups.values(), key=len)
    pick = min if oldest else max
    return pick(largest, key=lambda c: c.since)
