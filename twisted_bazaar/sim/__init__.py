"""
The simulator: thousands of real nodes in one process, on in-memory links
and virtual time, deterministic for a given seed.  See ``bazaar-sim --help``
and docs/simulator.md.
"""
