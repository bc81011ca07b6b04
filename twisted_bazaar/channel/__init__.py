"""
The Noise channel without I/O: the Noise specification's primitives
(L{noise}) and one connection's side of the handshake and transport
(L{session}).  Below C{net}, which wraps a L{session.Session} for Twisted;
nothing here knows a socket, a reactor or the market.
"""
