"""
QUIC over UDP (RFC 9000) as a way to reach a peer: qh3's sans-IO stack
driven from a Twisted datagram protocol and the node's clock, each QUIC
stream a byte stream that the encrypted channel and the links run over as
over TCP; docs/architecture.md, "QUIC".
"""
