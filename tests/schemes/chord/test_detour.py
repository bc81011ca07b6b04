"""
Tests for twisted_bazaar.schemes.chord.detour (a lookup round the nodes
that drop or lie) and the answer each node gives it
(L{Neighbourhood.nearKey}): driven by hand over a ring of plain
L{Neighbourhood} views, no I/O.
"""

import functools
import random
from bisect import bisect_left

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.detour import MOST_HOLDERS_ASKED, DisjointLookup
from twisted_bazaar.schemes.chord.ring import BITS, SIZE, distance, fingerStart
from twisted_bazaar.schemes.chord.state import (
    NEAR_AFTER,
    NEAR_BEFORE,
    Fingers,
    Neighbourhood,
    Peer,
)


def peer(node_id):
    return Peer(node_id, f"h{node_id}", 1000 + node_id % 1000)


@functools.cache  # a ring of 300 is 40 ms; most tests walk the same forty
def ring(count, seed, successors=4):
    """count nodes at random places, each with its true successors,
    predecessor and fingers: (the ids in order, id -> L{Neighbourhood}),
    shared by the tests that ask for the same ring, which only read it."""
    rng = random.Random(seed)
    ids = sorted(rng.randrange(SIZE) for _ in range(count))
    views = {}
    for index, node_id in enumerate(ids):
        view = Neighbourhood(peer(node_id), successors)
        view.successors = [peer(ids[(index + step) % count])
                           for step in range(1, successors + 1)]
        view.predecessor = peer(ids[index - 1])
        view.fingers = Fingers(fingerRuns(ids, node_id))
        views[node_id] = view
    return ids, views


def fingerRuns(ids, node_id):
    """The true fingers of node_id (finger i: the first node at or after
    node_id + 2^i), as runs."""
    runs = []
    for index in range(BITS):
        at = bisect_left(ids, fingerStart(node_id, index)) % len(ids)
        finger = peer(ids[at])
        if not runs or runs[-1][1] != finger:
            runs.append((index, finger))
    return runs


def holdersOf(ids, key, count):
    """The first count nodes at or after key."""
    return sorted(ids, key=lambda node_id: distance(key, node_id))[:count]


def run(lookup, answer, back=lambda node_id: None):
    """
    Drive a lookup to its end: each question is answered at once by
    answer(peer_id) (a list of peers, or None: no answer); each holder
    asked answers if answer gives it anything but None, and answers the
    question of the nodes before it with back(peer_id) (the same).
    Returns the nodes asked as path steps, and the holders that
    answered.
    """
    steps, holders = [], []
    while not lookup.finished:
        questions = lookup.nextQuestions()
        asked = lookup.nextHolders()
        behind = lookup.nextBackQuestions()
        if not questions and not asked and not behind:
            if lookup.finished:
                break
            raise AssertionError("the lookup is stuck")
        for each in behind:
            nodes = back(each.id)
            if nodes is None:
                lookup.backFailed(each)
            else:
                lookup.backAnswered(each, nodes)
        for index, each in questions:
            steps.append(each.id)
            nodes = answer(each.id)
            if nodes is None:
                lookup.failed(index, each)
            else:
                lookup.answered(index, each, nodes)
        for each in asked:
            if answer(each.id) is None:
                lookup.holderFailed(each)
            else:
                lookup.holderAnswered(each)
                holders.append(each.id)
    return steps, holders


class NearKeyTests(SynchronousTestCase):
    """What a node answers a detour's step."""

    def test_nearestBeforeTheKeyFirst(self):
        ids, views = ring(200, seed=1)
        key = random.Random(2).randrange(SIZE)
        origin = views[ids[0]]
        nodes = origin.nearKey(key)
        before = [node.id for node in nodes[:NEAR_BEFORE]]
        self.assertEqual(before, sorted(before, key=lambda node_id: distance(node_id, key)))
        self.assertEqual(len(set(before)), len(before))

    def test_theKeysPredecessorNamesItsHolders(self):
        """The node just before the key names its successors at or after
        it: the key's holder first."""
        ids, views = ring(50, seed=3)
        key = random.Random(4).randrange(SIZE)
        [first] = holdersOf(ids, key, 1)
        pred = ids[ids.index(first) - 1]
        nodes = [node.id for node in views[pred].nearKey(key)]
        after = [node_id for node_id in nodes if node_id in holdersOf(ids, key, 4)]
        self.assertEqual(after, holdersOf(ids, key, 4))

    def test_aFarNodeNamesItsNearestAfter(self):
        """A node far from the key names no successor of its own at or
        after it, but the NEAR_AFTER nodes it knows nearest at or after
        it (fingers), the nearest first, after its nearest before."""
        ids, views = ring(50, seed=5)
        key = random.Random(6).randrange(SIZE)
        first = holdersOf(ids, key, 1)[0]
        far = ids[(ids.index(first) + 25) % 50]
        view = views[far]
        nodes = view.nearKey(key)
        self.assertEqual(len(view.nearKey(key, after=0)), NEAR_BEFORE)
        before = [node.id for node in nodes[:NEAR_BEFORE]]
        after = [node.id for node in nodes[NEAR_BEFORE:]]
        known = sorted((peer.id for peer in view.known()),
                       key=lambda node_id: distance(key, node_id))
        self.assertEqual(after, [node_id for node_id in known
                                 if node_id not in before][:NEAR_AFTER])
        self.assertEqual(len(after), NEAR_AFTER)


class HonestRingTests(SynchronousTestCase):
    def test_findsTheHolders(self):
        """On a ring where everyone answers, the holders found are the
        first nodes at or after the key."""
        for seed in range(5):
            ids, views = ring(300, seed=seed)
            key = random.Random(seed + 100).randrange(SIZE)
            origin = ids[seed]
            lookup = DisjointLookup(key, origin, views[origin].known(), paths=3, holders=3)
            steps, holders = run(lookup, lambda node_id: views[node_id].nearKey(key),
                                 lambda node_id: views[node_id].nearKey(node_id + 1))
            self.assertEqual(sorted(holders), sorted(holdersOf(ids, key, 3)))
            self.assertEqual(len(steps), len(set(steps)), "a node asked twice")
            self.assertNotIn(origin, steps)

    def test_logarithmicSteps(self):
        """Each path takes about log2 N steps at most."""
        ids, views = ring(1000, seed=7)
        key = random.Random(8).randrange(SIZE)
        lookup = DisjointLookup(key, ids[0], views[ids[0]].known(), paths=3)
        steps, _ = run(lookup, lambda node_id: views[node_id].nearKey(key))
        self.assertLess(len(steps), 3 * 2 * 10)


class AdversaryTests(SynchronousTestCase):
    """Nodes that drop a detour's questions, or answer them with made-up
    nodes where nothing listens."""

    TRIALS = 40

    def holderFound(self, salt, misbehave):
        """
        Run a detour on TRIALS rings of 300 nodes, a fifth of those that
        are not the key's holders misbehaving: ``misbehave(node_id, key,
        honest)`` is what such a node answers (honest: its true answer).
        Each time, no node is asked twice and every holder heard is a real
        node.  Returns in how many trials the key's holder was heard.
        """
        found = 0
        for seed in range(self.TRIALS):
            ids, views = ring(300, seed=seed)
            key = random.Random(seed + salt).randrange(SIZE)
            holders = holdersOf(ids, key, 3)
            rng = random.Random(seed)
            bad = {node_id for node_id in ids
                   if node_id not in holders and rng.random() < 0.2}
            origin = next(node_id for node_id in ids if node_id not in bad)

            def answer(node_id):
                if node_id not in views:
                    return None
                honest = views[node_id].nearKey(key)
                return misbehave(node_id, key, honest) if node_id in bad else honest

            lookup = DisjointLookup(key, origin, views[origin].known(), paths=3)
            steps, heard = run(lookup, answer)
            self.assertEqual(len(steps), len(set(steps)))
            self.assertTrue(set(heard) <= set(ids))
            found += holders[0] in heard
        return found

    def test_withholdersCostSteps(self):
        """With a fifth of the nodes silent, the key's holder is still
        found (and asked) nearly always, and no node is asked twice."""
        found = self.holderFound(1000, lambda node_id, key, honest: None)
        self.assertGreaterEqual(found, self.TRIALS * 0.95)

    def test_madeUpNodesAreStepsPast(self):
        """A liar names made-up nodes on both sides of the key: asked,
        they do not answer, and the key's holder is found all the same."""

        def madeUp(node_id, key, honest):
            return [peer((key + step) % SIZE) for step in (-2, -1, 0, 1, 2)]

        found = self.holderFound(2000, madeUp)
        self.assertGreaterEqual(found, self.TRIALS * 0.95)

    def test_holdersAskedAreBounded(self):
        """However many made-up nodes sit after the key, a detour asks
        MOST_HOLDERS_ASKED at most."""
        key = 10**30
        crowd = [peer(key + step) for step in range(40)]
        honest = peer(key - 10)
        lookup = DisjointLookup(key, 1, [honest], paths=2)
        asked = []
        original = lookup.nextHolders

        def counted():
            chosen = original()
            asked.extend(chosen)
            return chosen

        lookup.nextHolders = counted
        _, heard = run(lookup, lambda node_id: crowd if node_id == honest.id else None)
        self.assertEqual(heard, [])
        self.assertEqual(len(asked), MOST_HOLDERS_ASKED)
        self.assertTrue(lookup.finished)


class SilentHoldersTests(SynchronousTestCase):
    """The key's holder and the nodes after it all silent."""

    def test_walkBackFindsTheFirstHonestNodes(self):
        """
        The holder and the two nodes after it answer nothing.  The paths
        name the nodes after the key only as far as the key's
        predecessor's successors reach, so the detour hears nodes farther
        on first; asking those which nodes lie before them walks back to
        the first three honest nodes after the silent ones, and those are
        the holders heard.  Without the walk back, those nearest three
        are not all heard in a single trial of the ten.
        """
        walked = unwalked = 0
        for seed in range(10):
            ids, views = ring(300, seed=seed, successors=4)
            key = random.Random(seed + 300).randrange(SIZE)
            first = holdersOf(ids, key, 6)
            silent, honest = set(first[:3]), first[3:6]
            origin = next(node_id for node_id in ids if node_id not in first)

            # As nodes answered before they named their nearest after the
            # key (test_predecessorSilentToo), to see the walk alone.
            def answer(node_id):
                return None if node_id in silent else views[node_id].nearKey(key, after=0)

            def back(node_id):
                return None if node_id in silent else views[node_id].nearKey(node_id + 1,
                                                                             after=0)

            for walk, counted in ((back, "walked"), (lambda node_id: None, "unwalked")):
                lookup = DisjointLookup(key, origin, views[origin].known(), paths=3)
                steps, heard = run(lookup, answer, walk)
                self.assertEqual(len(steps), len(set(steps)))
                self.assertTrue(lookup.finished)
                if set(honest) <= set(heard):
                    if counted == "walked":
                        walked += 1
                    else:
                        unwalked += 1
        self.assertEqual(walked, 10)
        self.assertEqual(unwalked, 0)


class SilentPredecessorTests(SynchronousTestCase):
    def test_predecessorSilentToo(self):
        """
        The holder, the two nodes after it and the key's predecessor all
        silent: the only node that had the first honest node after them
        among its successors is silent.  Nodes before the key that have it
        as a finger name it (their nearest at or after the key), so the
        detour hears the first three honest nodes after the silent ones
        in every trial of ten; answers without those nodes leave it to the
        walk back from nodes farther on, which hears them in one.
        """
        heard = {"after": 0, "without": 0}
        for seed in range(10):
            ids, views = ring(300, seed=seed, successors=4)
            key = random.Random(seed + 300).randrange(SIZE)
            first = holdersOf(ids, key, 6)
            pred = ids[ids.index(first[0]) - 1]
            silent, honest = set(first[:3]) | {pred}, first[3:6]
            origin = next(node_id for node_id in ids if node_id not in silent | set(first))
            for after, counted in ((NEAR_AFTER, "after"), (0, "without")):
                def answer(node_id):
                    return (None if node_id in silent
                            else views[node_id].nearKey(key, after=after))

                def back(node_id):
                    return (None if node_id in silent
                            else views[node_id].nearKey(node_id + 1, after=after))

                lookup = DisjointLookup(key, origin, views[origin].known(), paths=3)
                _, holders = run(lookup, answer, back)
                if set(honest) <= set(holders):
                    heard[counted] += 1
        self.assertEqual(heard, {"after": 10, "without": 1})


class EdgeTests(SynchronousTestCase):
    def test_nothingKnown(self):
        lookup = DisjointLookup(5, 1, [], paths=3)
        self.assertEqual(lookup.nextQuestions(), [])
        self.assertEqual(lookup.nextHolders(), [])
        self.assertTrue(lookup.finished)

    def test_theOriginIsNeverAsked(self):
        me = peer(7)
        lookup = DisjointLookup(9, me.id, [me, peer(8)], paths=2)
        asked = [each.id for _, each in lookup.nextQuestions()]
        self.assertEqual(asked, [8])

    def test_answersOfAnotherNodeAreIgnored(self):
        lookup = DisjointLookup(100, 1, [peer(50)], paths=1)
        [(index, asked)] = lookup.nextQuestions()
        lookup.answered(index, peer(60), [peer(99)])
        self.assertEqual(lookup.nextQuestions(), [])
        self.assertNotIn(99, lookup.known)
