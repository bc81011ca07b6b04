"""
Which inbound link a full node gives up for a newcomer, in the spirit of
Bitcoin Core's inbound eviction: an attacker with many cheap connections
must not be able to keep an honest peer out, nor push one out.

Never evicted: outbound links (this node chose those peers).  A
connection still in its handshake goes first, whatever its age (silent
connections are what an attacker has most cheaply).  Otherwise, of the
established links, never proven trading partners (a sale was made over
the link), links still in their grace period, or the longest-lived half
of the rest; of what is left, the newest link of the address group
holding the most candidates.  Pure logic: the overlay gathers the facts
and closes the victim.
"""

import functools
import ipaddress

import attr

#: Seconds a new link is safe from eviction: time to prove itself.
GRACE = 10.0


def addressGroup(host):
    """
    The group of addresses one party can easily hold many of: an IPv4
    /16, an IPv6 /32 (an IPv4-mapped IPv6 address counts as IPv4), or the
    host name itself when it is no IP address.

    A host that neither begins with a digit nor holds a colon is a host
    name, never an address: it is its own group, with no parse to fail
    (a simulation's hosts are names, a hundred thousand and more, and
    failing to parse each took a third of a 100,000-node chord run).
    """
    if not host or not (host[0].isdigit() or ":" in host):
        return host
    return _parsedGroup(host)


@functools.lru_cache(maxsize=4096)
def _parsedGroup(host):
    """
    L{addressGroup} of a host that may be an address.

    Remembered for the last few thousand hosts: every inbound connection
    asks it of each other one still in its handshake, and parsing an
    address (or failing to, for a host name) costs more than the rest of
    that check.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = 16 if address.version == 4 else 32
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def groupOf(link):
    """The address group of the peer at the other end of a link (of the
    empty host name, for a link with no transport)."""
    address = link.transport.getPeer() if link.transport is not None else None
    return addressGroup(getattr(address, "host", None) or "")


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Candidate:
    """What eviction knows of one inbound link."""

    link: object
    since: float
    group: str
    established: bool
    proven: bool


def chooseVictim(candidates, now, grace=GRACE):
    """
    The link to evict from candidates (inbound links only), or None when
    every one is protected.
    """
    waiting = [c for c in candidates if not c.established]
    if waiting:
        return _fromLargestGroup(waiting, oldest=True).link
    open_ = [c for c in candidates if not c.proven and now - c.since >= grace]
    open_.sort(key=lambda c: c.since)
    open_ = open_[len(open_) // 2:]
    if not open_:
        return None
    return _fromLargestGroup(open_, oldest=False).link


def _fromLargestGroup(candidates, oldest):
    """The oldest (or newest) candidate of the group with the most."""
    groups = {}
    for candidate in candidates:
        groups.setdefault(candidate.group, []).append(candidate)
    largest = max(groups.values(), key=len)
    pick = min if oldest else max
    return pick(largest, key=lambda c: c.since)
