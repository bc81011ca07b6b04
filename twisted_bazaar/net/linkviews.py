"""
What a node's link table tells of its links, read only (L{LinkViews}, a
mixin of L{twisted_bazaar.net.overlay.Overlay}): how many it holds or
opens of each purpose against its slots, the addresses and keys its
peers gave, its partners.  The views of the node, its scheme and its
metrics read them; nothing here changes the table.

A mixin, not a part the table holds: a simulated node holds one table,
and an object more a node would cost a million of them its memory
(docs/simulator.md, "Memory a node").
"""

__all__ = ["LinkViews"]


class LinkViews:
    """
    The read-only views of a link table: its established links
    (C{links}), its greeter's links in their handshake (C{greeter}), its
    admission's terms (C{admission}) and its trading partners
    (C{_partners}) are the table's own.
    """

    @property
    def budgets(self):
        """purpose -> most established links of it
        (L{twisted_bazaar.net.admission.Admission.budgets})."""
        return self.admission.budgets

    @property
    def idle_timeouts(self):
        """purpose -> seconds a link of it may go without trade
        (L{twisted_bazaar.net.admission.Admission.idle_timeouts})."""
        return self.admission.idle_timeouts

    @property
    def pending(self):
        """The greeter's L{twisted_bazaar.net.greeting.Greeter.pending}, to read."""
        return self.greeter.pending

    def provenKey(self, link):
        """The key link's peer proved in the handshake, or None."""
        if link.key is not None:
            return link.key
        return self.greeter.keyOf(link)

    @property
    def partners(self):
        """The inbound links a sale was made over (never evicted)."""
        return self._partners or ()

    # -- counting ------------------------------------------------------------------

    def linkCount(self):
        """Links open or opening; one already closing holds no slot."""
        return (sum(1 for link in self.links.values() if not link.closing)
                + sum(1 for link in self.greeter.pending if not link.closing))

    def count(self, purpose):
        """See L{twisted_bazaar.net.admission.Admission.count}."""
        return self.admission.count(self, purpose)

    def held(self, purpose):
        """See L{twisted_bazaar.net.admission.Admission.held}."""
        return self.admission.held(self, purpose)

    def capacity(self):
        """See L{twisted_bazaar.net.admission.Admission.capacity}."""
        return self.admission.capacity()

    def linksByPurpose(self):
        """purpose -> established links of it, every purpose this node
        takes links for included (0 for one it has none of)."""
        counts = dict.fromkeys(self.budgets, 0)
        for link in list(self.links.values()):
            counts[link.purpose] = counts.get(link.purpose, 0) + 1
        return counts

    def addressOf(self, peer_id):
        """See L{twisted_bazaar.core.node.Node.addressOf}."""
        link = self.links.get(peer_id)
        return ("", 0) if link is None else link.address

    @property
    def addresses(self):
        """peer id -> (host, port) each linked peer introduced (a view,
        made on each call: each established link keeps its own, as
        L{twisted_bazaar.net.link.Link.address})."""
        return {peer: link.address for peer, link in self.links.items()}

    def established(self):
        """peer id -> established link: the table itself, to read."""
        return self.links
