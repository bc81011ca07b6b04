"""
Every test runs with a state home of its own (``XDG_STATE_HOME``, where a
tracker without ``--data-dir`` keeps its key: twisted_bazaar/tap/statedir.py),
so that no test writes into the user's ``~/.local/state`` or takes a key
another run left there.
"""

import os
import shutil
import tempfile

import pytest


@pytest.fixture(autouse=True, scope="session")
def stateHome():
    folder = tempfile.mkdtemp(prefix="bazaar-state-")
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = folder
    yield folder
    if before is None:
        del os.environ["XDG_STATE_HOME"]
    else:
        os.environ["XDG_STATE_HOME"] = before
    shutil.rmtree(folder, True)
