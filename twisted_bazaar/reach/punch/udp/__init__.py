"""
Hole punching over UDP (docs/protocol.md, "Over UDP"): the sans-IO plan
and exchange of probes (L{twisted_bazaar.reach.punch.udp.plan}), and the
node's service that runs them (L{twisted_bazaar.reach.punch.udp.service}):
its runs and their sockets, its exchange with the tracker, and the
punches it wants and asks again.  The tracker's messages, which both
sides speak, are L{twisted_bazaar.wire.udpreach}.
"""
