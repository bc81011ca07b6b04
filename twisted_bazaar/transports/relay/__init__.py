"""
The relay's circuits (docs/protocol.md §5a): the relay service a tracker
and each public node run, and a dialler's and a reserved node's ends.
"""
