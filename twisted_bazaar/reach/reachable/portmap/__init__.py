"""
Asking the home router to forward a port to this node (docs/architecture.md,
"Port mapping"): UPnP IGD (L{upnp}), NAT-PMP (L{natpmp}, RFC 6886) and PCP
(L{pcp}, RFC 6887), each spoken here as a small non-blocking protocol on
the reactor, every wait a timer its owner cancels, and the mapping kept
and renewed by L{mapper}.

Why not a PyPI client: miniupnpc's binding and the nat-pmp packages block
(a discovery holds the thread for seconds, a router that never answers
longer), so each would need a thread, and a thread cannot be cancelled
when the node stops.  The four protocols are a few hundred lines of
datagrams, XML and one HTTP request each, and written here they are
bounded (sizes, timeouts) and testable with fake transports and a clock.
"""
