import pytest

from .launcher import Market


@pytest.fixture
def market(tmp_path):
    """A live tracker; nodes started on it are stopped with it."""
    live = Market(tmp_path)
    try:
        yield live
    finally:
        live.stop()
