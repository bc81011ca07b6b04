"""
The node kernel: the node, its tracker session and the questions it asks,
topology, and the market vocabulary every role and scheme shares (offers,
the shop interface, records).  How it reaches peers is L{twisted_bazaar.reach}'s,
how bytes get there L{twisted_bazaar.transports}'; the events it tells
its parts are L{twisted_bazaar.events}.
"""
