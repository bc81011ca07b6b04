"""
Tests of twisted_bazaar.testing's helpers that need neither a network nor
a child process.
"""
