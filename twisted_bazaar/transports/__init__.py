"""
How bytes get to a peer: one package a kind of path (TCP, the relay's
circuit, QUIC over UDP), each knowing paths, keys and protocol
factories, never the node (docs/architecture.md, "Reach").
"""
