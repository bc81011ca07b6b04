"""
Tests for L{twisted_bazaar.net.eviction}: which inbound
link a full node gives up for a newcomer.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.eviction import GRACE, Candidate, chooseVictim, labelKey

NOW = 1000.0


def candidate(name, since, group="10.0.0.0/16", established=True, proven=False,
              label=None):
    return Candidate(name, since, group, established, proven, label)


class ChooseVictimTests(SynchronousTestCase):
    def test_nothingToEvict(self):
        """No candidates, or only proven ones, or only links in their
        grace period: nobody is evicted."""
        self.assertIsNone(chooseVictim([], NOW))
        self.assertIsNone(chooseVictim([candidate("a", 0, proven=True)] * 3, NOW))
        self.assertIsNone(chooseVictim([candidate("a", NOW - GRACE + 1)], NOW))

    def test_silentConnectionFirst(self):
        """A connection that has not said thisisme goes before any link,
        the oldest of the group with the most."""
        victims = [candidate("old", 1), candidate("new", 900),
                   candidate("quiet", 5, established=False),
                   candidate("quieter", 2, "10.1.0.0/16", established=False),
                   candidate("quietest", 3, established=False)]
        self.assertEqual(chooseVictim(victims, NOW), "quietest")

    def test_silentConnectionInItsGraceGoesToo(self):
        """
        The grace period and the older half protect established links
        only: a connection still in its handshake goes first whatever its
        age, even when every link is protected (protocol.md §6,
        "Eviction").
        """
        victims = [candidate("trader", 1, proven=True),
                   candidate("fresh", NOW - 1),
                   candidate("just-connected", NOW, established=False)]
        self.assertEqual(chooseVictim(victims, NOW), "just-connected")

    def test_newestOfTheLargestGroupAfterTheOldestHalf(self):
        """
        The oldest half of the unproven links past their grace are kept;
        of the rest, the newest link of the group holding the most goes.
        Grace runs from the group's oldest link: a fresh link of an old
        group has none of its own.
        """
        links = [candidate("elder1", 1, "a"), candidate("elder2", 2, "a"),
                 candidate("elder3", 3, "b"), candidate("mid", 100, "b"),
                 candidate("b-newest", 500, "b"), candidate("a-newest", 600, "a"),
                 candidate("c", 700, "c"), candidate("b-late", 400, "b"),
                 candidate("trader", 800, "b", proven=True),
                 candidate("fresh", NOW - 1, "b"),
                 candidate("d-fresh", NOW - 1, "d")]
        self.assertEqual(chooseVictim(links, NOW), "fresh")
        links.remove(links[-2])
        self.assertEqual(chooseVictim(links, NOW), "b-newest")


class HeavyGroupTests(SynchronousTestCase):
    """A newcomer's group against groups holding more than it will."""

    def test_heavyGroupGivesWayWhateverTheAge(self):
        """
        A group holding more than the newcomer's will after it gets in
        gives up its newest link, even while every one of its links is in
        its grace period (one address replacing its links before they are
        old cannot keep another group out).
        """
        churner = [candidate(f"c{n}", NOW - n * 0.1, "9.9.0.0/16") for n in range(8)]
        self.assertEqual(chooseVictim(churner, NOW, asker="10.0.0.0/16"), "c0")
        self.assertIsNone(chooseVictim(churner, NOW, asker="9.9.0.0/16"))

    def test_heavyGroupTradersLast(self):
        """Of a heavy group, a link that traded nothing goes before a
        trading partner; a group holding only partners still gives way."""
        links = [candidate("p1", 5, "h", proven=True), candidate("plain", 1, "h"),
                 candidate("p2", 9, "h", proven=True), candidate("mine", 3, "n")]
        self.assertEqual(chooseVictim(links, NOW, asker="n"), "plain")
        partners = [candidate("p1", 5, "h", proven=True),
                    candidate("p2", 9, "h", proven=True),
                    candidate("p3", 7, "h", proven=True)]
        self.assertEqual(chooseVictim(partners, NOW, asker="n"), "p2")

    def test_notHeavierThanTheNewcomerWillBe(self):
        """A group holding only as much as the newcomer's will is no heavy
        group: grace and the older half protect it."""
        links = [candidate("a1", NOW - 1, "a"), candidate("a2", NOW - 1, "a"),
                 candidate("n1", 1, "n", proven=True)]
        self.assertIsNone(chooseVictim(links, NOW, asker="n"))

    def test_ownDialTakesOnlyWhatGraceLeaves(self):
        """This node's own dial (no asker) takes no heavy group's link in
        its grace period."""
        churner = [candidate(f"c{n}", NOW - 1, "c") for n in range(4)]
        self.assertIsNone(chooseVictim(churner, NOW))


class MoreGroupsThanSlotsTests(SynchronousTestCase):
    """Every group holds one: the newcomer still gets one, once they have
    had their grace."""

    def groups(self, since):
        return [candidate(f"g{n}", since + n * 0.1, f"10.{n}.0.0/16") for n in range(16)]

    def test_newcomerGroupGetsOne(self):
        """The older half is kept; of equals, the first of the newer half
        goes."""
        victim = chooseVictim(self.groups(100), NOW, asker="11.0.0.0/16")
        self.assertEqual(victim, "g8")

    def test_notWhileTheyAreInTheirGrace(self):
        self.assertIsNone(chooseVictim(self.groups(NOW - 5), NOW, asker="11.0.0.0/16"))

    def test_churnDoesNotKeepAGroupYoung(self):
        """A group's grace runs from its tenure: links replaced within
        their grace are as old as the group."""
        young = self.groups(NOW - 5)
        self.assertEqual(chooseVictim(young, NOW, asker="11.0.0.0/16",
                                      tenure=lambda group, since: 0.0), "g8")



class ThroughOneRelayTests(SynchronousTestCase):
    """
    A node at home: every inbound link comes through its relay, one
    address group (the relay's), whose links the relay labels with the
    address group it names for each dialler (a churning stranger's group
    through the relay: tests/net/test_admission.py,
    L{RelayedEvictionTests}).
    """

    RELAY = "192.0.0.0/16"

    def test_labelsAreHeldAsGroupsAre(self):
        """Among the relay's links, a label holding more than the
        newcomer's will gives way whatever the ages, its newest first;
        else the newcomer's own label gives way, past its grace, the
        oldest half kept; a link through no relay of the relay's own
        group is the group's, as before."""
        links = [candidate("a1", 1, self.RELAY, label="a"),
                 candidate("a2", 2, self.RELAY, label="a"),
                 candidate("b1", 3, self.RELAY, label="b"),
                 candidate("b2", 900, self.RELAY, label="b")]
        self.assertEqual(chooseVictim(links, 4.0, asker=self.RELAY, asker_label="c"),
                         "b2")
        self.assertIsNone(chooseVictim(links, 4.0, asker=self.RELAY, asker_label="a"))
        self.assertEqual(chooseVictim(links, NOW, asker=self.RELAY, asker_label="a"),
                         "a2")
        self.assertEqual(chooseVictim(links, NOW, asker=self.RELAY), "b2")

    def test_aLabelsGraceRunsFromItsOldestLink(self):
        """Labels of one link each are open to a newcomer of another once
        their oldest link is past the grace, whatever the relay's
        group's tenure."""
        links = [candidate("a1", 5, self.RELAY, label="a"),
                 candidate("b1", 6, self.RELAY, label="b")]
        old = {"tenure": lambda key, since: since if key == labelKey(self.RELAY, "b")
               or key == labelKey(self.RELAY, "a") else 0.0,
               "asker": self.RELAY, "asker_label": "c"}
        self.assertIsNone(chooseVictim(links, 12.0, **old))
        self.assertEqual(chooseVictim(links, 16.0, **old), "b1")

    def test_aLabelIsAsOldAsItsTenure(self):
        """A label whose links were churned is as old as its tenure, not
        its newest link: open to a newcomer of another label past the
        grace; a label of no tenure kept is aged by its oldest link."""
        links = [candidate("a1", 95, self.RELAY, label="a"),
                 candidate("b1", 96, self.RELAY, label="b")]
        kept = {self.RELAY: 0.0, labelKey(self.RELAY, "a"): 50.0}

        def tenure(key, since):
            return min(since, kept.get(key, since))
        asked = {"tenure": tenure, "asker": self.RELAY, "asker_label": "c"}
        self.assertEqual(chooseVictim(links, 100.0, **asked), "a1")
        del kept[labelKey(self.RELAY, "a")]
        self.assertIsNone(chooseVictim(links, 100.0, **asked))
