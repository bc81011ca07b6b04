"""Counts in a user's words: ``1 unit``, ``2 units``."""


def plural(count, word, many=None):
    """``count`` and ``word``, in the plural unless count is 1 (``many``:
    the plural, when it is not word + s)."""
    return f"{count} {word if count == 1 else many or word + 's'}"
