"""
``bazaar status`` and ``bazaar list`` over several trackers (``--tracker``
given again, as a node of several trackers is started): each tracker is
asked, and their answers are put together, since a node registers with
one of them at a time (docs/running.md, "Several trackers").  A tracker
that does not answer is named with its reason; the command fails only
when none answers.

Each tracker's key is pinned as a node pins it (L{trackerPinOf}): the
key given, or the one a node's data dir keeps, or else the first one
proven, for every question of the command after it.
"""

import os

import attr
from twisted.internet import defer

from twisted_bazaar.base.words import plural
from twisted_bazaar.net.pin import KeyPin
from twisted_bazaar.status.client import ClientError, askTracker, named
from twisted_bazaar.tap.knowntracker import keptName, readKnown

#: How a user makes a command take a tracker's new key.
_FIX = "(--tracker-key KEY: the key the tracker logs when it starts)"
#: The side that asks, as a refusal names it.
_ASKER = "this command"


def trackerPinOf(pinned, data_dir, address=None, several=False):
    """
    The L{KeyPin} of a tracker's key for a command: the key given
    (``--tracker-key``), or the one a node's data dir keeps for it
    (``known_tracker``, or ``known_tracker-HOST_PORT`` of one of several:
    read, never written here), or else the key it proves first, for
    every later question.

    @raise ClientError: the data dir's file holds no key, saying so.
    """
    what = "the tracker" if not several else f"the tracker at {named(address)}"
    if pinned is not None:
        return KeyPin(what, pinned, "--tracker-key", fix=_FIX, asker=_ASKER)
    if data_dir is not None:
        path = os.path.join(data_dir, keptName(data_dir, str(address), several))
        try:
            known = readKnown(path)
        except ValueError as e:
            raise ClientError(str(e)) from None
        if known is not None:
            return KeyPin(what, known, where=path, fix=_FIX, asker=_ASKER)
    return KeyPin(what, fix=_FIX, asker=_ASKER)


def trackerPins(args):
    """The L{KeyPin} of each of the command's trackers, in order
    (L{trackerPinOf}, with the node's ``--data-dir`` if given).

    @raise ClientError: a --data-dir that keeps no key for a tracker not
        pinned by --tracker-key: the pin it was given for would be
        silently left out (a mistyped folder, a tracker's own)."""
    several = len(args.trackers) > 1
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None:
        for key, address in zip(args.tracker_keys, args.trackers):
            if key is None:
                _keptIn(data_dir, address, several)
    return [trackerPinOf(key, data_dir, address, several)
            for key, address in zip(args.tracker_keys, args.trackers)]


def _keptIn(data_dir, address, several):
    """@raise ClientError: unless a node's data dir keeps the key of the
    tracker at address."""
    if not os.path.isdir(data_dir):
        why = "is not a folder" if os.path.exists(data_dir) else "does not exist"
        raise ClientError(f"--data-dir {data_dir} {why}: give the --data-dir of a "
                          "node of this tracker, whose key it keeps")
    path = os.path.join(data_dir, keptName(data_dir, str(address), several))
    if not os.path.exists(path):
        raise ClientError(f"--data-dir {data_dir} keeps no key of the tracker at "
                          f"{address.label} (no {os.path.basename(path)}): give the "
                          "--data-dir of a node that has reached this tracker, or "
                          "--tracker-key KEY")


@attr.s(frozen=True, auto_attribs=True)
class Merged:
    """The live nodes of several trackers' ``memberlist``: each node once
    (one that moved between trackers may be listed by both), ``total``
    summed less the nodes listed twice, and the relays, local addresses
    and paths of other kinds of all."""

    nodes: tuple
    total: int
    relays: dict
    lans: dict = attr.Factory(dict)
    paths: dict = attr.Factory(dict)
    #: The LAN-only nodes the trackers left out, summed (None: none).
    lanOnly: int = None


@defer.inlineCallbacks
def askEach(reactor, trackers, pins, question, answerType, timeout, scopes=None):
    """
    Ask every tracker the same question, at once.

    @param trackers: their addresses (L{Address}), in order.
    @param pins: the L{KeyPin} of the key each must prove (L{trackerPins}),
        in order.
    @param scopes: told where each connection left from (L{askTracker}).
    @return: a Deferred firing with (address, answer or None, why it did
        not answer or None) for each tracker, in order.
    @raise ClientError: no tracker answered, saying why each did not.
    """
    asked = [askTracker(reactor, address, question, answerType, timeout, pin=pin,
                        scopes=scopes)
             for address, pin in zip(trackers, pins)]
    results = yield defer.DeferredList(asked, consumeErrors=True)
    answers = []
    for (ok, value), address in zip(results, trackers):
        if ok:
            answers.append((address, value, None))
        else:
            value.trap(ClientError)
            answers.append((address, None, str(value.value)))
    if all(answer is None for _, answer, _ in answers):
        raise ClientError("no tracker answered: " + "; ".join(
            f"{address.label}: {why}" for address, _, why in answers))
    return answers


def mergedMembers(answers):
    """The L{Merged} members of the trackers that answered (L{askEach})."""
    nodes, seen, total, relays, lans, paths = [], set(), 0, {}, {}, {}
    lan_only = 0
    for _, answer, _ in answers:
        if answer is None:
            continue
        total += answer.total
        lan_only += answer.lanOnly or 0
        relays.update(answer.relays or {})
        lans.update(answer.lans or {})
        paths.update(answer.paths or {})
        for node in answer.nodes:
            if node[0] in seen:
                total -= 1
            else:
                seen.add(node[0])
                nodes.append(node)
    return Merged(tuple(nodes), total, relays, lans, paths, lan_only or None)


def mergedIndex(answers):
    """item -> sellers listed, summed over the trackers' indexes that
    answered (a seller lists its items with the one tracker it is
    registered with)."""
    items = {}
    for _, answer, _ in answers:
        for item, count in (answer.items if answer is not None else {}).items():
            items[item] = items.get(item, 0) + count
    return items


def trackerEntries(answers):
    """What each tracker said, for the command's object: its live nodes'
    count, or why it did not answer; each named as the command line gave
    it (a transport's port with its kind's prefix: L{Address.label})."""
    return [{"tracker": address.label, "total": answer.total} if answer is not None
            else {"tracker": address.label, "error": why}
            for address, answer, why in answers]


def trackerLines(entries):
    """The lines of L{trackerEntries}, for the command's text."""
    return [f"tracker {entry['tracker']}: "
            + (plural(entry["total"], "live node") if "total" in entry
               else f"not answered: {entry['error']}") for entry in entries]
