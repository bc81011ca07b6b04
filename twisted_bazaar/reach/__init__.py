"""
A node's policy for reaching its peers and being reached: the book of
paths, the dialer and its race, hole punching (L{twisted_bazaar.reach.punch})
and the services that make a node reachable
(L{twisted_bazaar.reach.reachable}).
"""
