"""
The twistd plugins' modules: L{tap.tracker} for ``bazaar-tracker`` and
L{tap.node} for ``bazaar-node``, each with its ``Options`` and
``makeService``.  These are the only modules that reach for the global
reactor: everything they build takes it as a parameter.
"""
