"""
Fakes for testing code built on twisted-bazaar (this project's tests, and
yours): an in-memory network on a fake clock (L{memory}), a market of real
nodes on it (L{market}), and live ``twistd`` daemons on loopback for
end-to-end tests (L{daemons}).

The names below are imported on first use, not with the package: every
pytest process of the suite loads this package's L{stopping} plugin, and
importing a market with the package made that 0.52 user-s against 0.14,
a node's modules, which the sample runs of pytest of
tests/e2e/test_suite_stops_live.py never use.
"""

import importlib

#: Each name this package offers, and its module.
_MODULES = {
    "Market": "market", "NodeClock": "market",
    "Faults": "memory", "MemoryClientEndpoint": "memory", "MemoryConnector": "memory",
    "MemoryNetwork": "memory", "MemoryServerEndpoint": "memory",
    "MemoryTransport": "memory", "cutLink": "memory",
}

__all__ = sorted(_MODULES)


def __getattr__(name):
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
