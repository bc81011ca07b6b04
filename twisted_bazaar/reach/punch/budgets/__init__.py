"""
How much a node's punches may spend: its dials for TCP punches
(L{twisted_bazaar.reach.punch.budgets.dials}) and its probes for UDP
punches (L{twisted_bazaar.reach.punch.budgets.probes}), each over a
sliding window, per peer, host or address group and in all.
"""
