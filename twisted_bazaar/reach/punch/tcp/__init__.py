"""
Hole punching over TCP (docs/protocol.md, "Hole punching"): the
exchange of one punch by simultaneous open
(L{twisted_bazaar.reach.punch.tcp.exchange}), its messages, whether this
node's router lets one work (L{twisted_bazaar.reach.punch.tcp.mapping}),
and the node's service that punches its relayed links
(L{twisted_bazaar.reach.punch.tcp.service}).
"""
