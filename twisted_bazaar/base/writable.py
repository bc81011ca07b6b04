"""
Whether a file can be written where a command line names it, in one
wording for every command that writes one after a long run
(``bazaar-sim``'s ``--json`` and ``--plot``, ``python -m
twisted_bazaar.sim.files``' ``--json``): each checks before its run, so
that an hour's run does not end in a traceback about its output.
"""

import os

#: What a file is written as until it is whole (then renamed).
PART = ".part"


def whyNotWritable(path):
    """Why no file can be written at path, in words (its ``.part`` is
    made and removed at once), or None if one can."""
    if os.path.isdir(path):
        return "it is a folder"
    try:
        with open(path + PART, "w", encoding="utf-8"):
            pass
        os.unlink(path + PART)
    except FileNotFoundError:
        return f"its folder {os.path.dirname(path) or '.'} does not exist"
    except OSError as e:
        return e.strerror or str(e)
    return None
