"""
The pytest plugin of L{tests.forkserver}: each test's daemons are forked
by one server per pytest process, but for the tests marked L{MARKER},
and for none with ``BAZAAR_TEST_FORK=0``.
"""

import os

import pytest

from twisted_bazaar.testing import daemons
from tests.forkserver import ForkServer

#: The environment variable that, set to 0, turns the fork server off.
VARIABLE = "BAZAAR_TEST_FORK"
#: The marker of a test whose daemons are exec'd, with the reason.
MARKER = "exec_daemons"


class ForkPlugin:
    """Has each test's daemons forked by one server per process, but for
    the tests marked L{MARKER}."""

    def __init__(self, server):
        self._server = server

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        before = daemons.spawner
        if item.get_closest_marker(MARKER) is None:
            daemons.spawner = self._server.spawn
        try:
            yield
        finally:
            daemons.spawner = before

    def pytest_unconfigure(self, config):
        self._server.close()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{MARKER}(reason): exec each daemon's twistd rather than fork it "
        "from tests/forkserver.py's server (a test of the start a user runs)")
    if os.environ.get(VARIABLE, "1") != "0":
        config.pluginmanager.register(ForkPlugin(ForkServer()), "bazaar-forkserver")


