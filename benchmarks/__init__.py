"""
Benchmarks of twisted-bazaar: ``make bench`` (or ``python -m benchmarks.run``).

Every figure compares the project with a bare baseline measured in the same
run on the same machine, so the numbers say how close the real daemons come
to what Python and Twisted can do here at all.  See docs/benchmarks.md.
"""
