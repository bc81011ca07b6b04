"""
Whom a node charges the ``state`` questions it answers, and their
answers' frames (docs/protocol.md §12a): its operator, who proves the
node's key on the connection, its own reserve, which no stranger spends;
a stranger, its address group, and one through the node's relay the
group the relay names for its dialler, within a few shares of the
relay's group.

Charged to the link's address group alone, every status client of a
node at home was the relay's group: a stranger asking ``state`` 180 times
a second through the relay left its operator no answer.
"""

from collections import OrderedDict

from twisted_bazaar.net.admission import RELAYED_GROUPS
from twisted_bazaar.net.eviction import groupOf, namedGroupOf
from twisted_bazaar.net.handshake import channelHash
from twisted_bazaar.net.limits import GroupRates, TokenBucket
from twisted_bazaar.identity.operator import provesOperator

#: Connections whose operator's proof is remembered (each checked once:
#: a signature's check is the dearest part of a small answer).
PROOFS_KEPT = 16


class StrangerRates:
    """
    A rate of a declared limit per asker: a link's address group, or,
    for a link through a relay's circuit, the group the relay names for
    its dialler (L{namedGroupOf}), whose links through that relay
    together get at most L{RELAYED_GROUPS} groups' rate: the relay's
    word divides what its group is given, never widens it (as in
    L{twisted_bazaar.net.admission.Admission.whyNoHandshake}).
    """

    def __init__(self, limit):
        self._groups = GroupRates(limit)
        self._relays = GroupRates(limit, limit.group * RELAYED_GROUPS)

    def take(self, link, now, cost=1.0):
        """Whether link's asker may have ``cost`` more now (counted if so)."""
        group, named = groupOf(link), namedGroupOf(link)
        if named is None:
            return self._groups.take(group, now, cost)
        return (self._groups.take((group, named), now, cost)
                and self._relays.take(group, now, cost))

    def wait(self, link, now):
        """Seconds from ``now`` until link's asker may have one more (the
        longer of its two waits through a relay): what it is told when
        L{take} refused it."""
        group, named = groupOf(link), namedGroupOf(link)
        if named is None:
            return self._groups.wait(group, now)
        return max(self._groups.wait((group, named), now), self._relays.wait(group, now))


class Reserve:
    """One rate, whoever's link asks: the operator's, held apart from every
    stranger's (with L{StrangerRates}' C{take})."""

    def __init__(self, rate):
        self.rate = rate
        self._bucket = None

    def take(self, link, now, cost=1.0):
        if self._bucket is None:
            self._bucket = TokenBucket(self.rate, now)
        return self._bucket.take(now, cost)

    def wait(self, link, now):
        return 0.0 if self._bucket is None else self._bucket.wait(now)


class OperatorProofs:
    """
    Whether a link's ``state`` proves its asker the node's operator
    (L{provesOperator}), each connection's proof checked once: the first
    proof on a connection decides, and another on the same one (a right
    proof is always the same: an Ed25519 signature of the same bytes) is
    no proof, unchecked.  So a stranger sending a wrong proof with each
    question costs the node one check a connection, not one a question.
    """

    def __init__(self, kept=PROOFS_KEPT):
        self.kept = kept
        #: channel hash -> (its first proof, whether it verified).
        self._checked = OrderedDict()

    def proves(self, identity, link, proof):
        binding = channelHash(link.transport)
        if identity is None or binding is None or proof is None:
            return False
        checked = self._checked.get(binding)
        if checked is None:
            checked = (proof, provesOperator(identity.key, binding, proof))
            self._checked[binding] = checked
            if len(self._checked) > self.kept:
                self._checked.popitem(last=False)
        first, verified = checked
        return verified and first == proof
