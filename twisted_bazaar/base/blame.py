"""
Naming the code at fault in one line: the file a part's class comes
from, and an exception in short.  A plugin's author reads these to know
what to fix (docs/architecture.md, "Adding a discovery scheme").
"""

import sys


def moduleOf(part):
    """The file part's class was defined in, or its module's name where
    it has no file."""
    name = type(part).__module__
    return getattr(sys.modules.get(name), "__file__", None) or name


def why(error):
    """An exception as ``Type: text``, its text alone when it has none."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
