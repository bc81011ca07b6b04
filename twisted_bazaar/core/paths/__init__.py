"""
A node's paths to its peers: what a path is (L{path}), the book that holds
each peer's (L{book}); docs/architecture.md, "The book and the dialer".
"""
