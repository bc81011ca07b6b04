"""Parsers of the file options of the seller and buyer roles."""

import os

from twisted_bazaar.base.defaults import DEFAULT_GIVE_UP
from twisted_bazaar.base.options import seconds
from twisted_bazaar.files.downloads import PRIVATE, privateProblem
from twisted_bazaar.roles import RoleOption


def _folder(text, what, writable):
    if not text:
        raise ValueError(f"wants the {what} folder's path")
    if not os.path.isdir(text):
        raise ValueError(f"{text} is not an existing directory")
    mode = os.R_OK | os.X_OK | (os.W_OK if writable else 0)
    if not os.access(text, mode):
        kind = "writable" if writable else "readable"
        raise ValueError(f"{text} is not {kind} by this user")
    return os.path.abspath(text)


def sharedFolder(text):
    """--share DIR: an existing, readable directory."""
    return _folder(text, "shared", writable=False)


def downloadsFolder(text):
    """--downloads DIR: an existing, writable directory, whose private
    folder (where part files go) is this user's if it is there."""
    folder = _folder(text, "downloads", writable=True)
    private = os.path.join(folder, PRIVATE)
    _roomForNames(folder, private)
    why = privateProblem(private, repair=False)
    if why is not None:
        raise ValueError(f"{private} {why}: it must be a folder only this user can "
                         "write to, where part files go (remove it, and the buyer "
                         "makes one)")
    return folder


def _roomForNames(folder, private):
    """
    A downloads folder so deep that a part file's name (up to the file
    system's longest name) under its private folder would make a path
    longer than the system takes is refused now: it failed only once the
    file was bought.
    """
    try:
        most_name = os.pathconf(folder, "PC_NAME_MAX")
        most_path = os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError):
        return
    # PATH_MAX counts the terminating NUL.
    room = most_path - 1 - len(os.fsencode(os.path.join(private, "")))
    if room < most_name:
        deepest = most_path - 1 - most_name - len(os.fsencode(f"/{PRIVATE}/"))
        raise ValueError(f"the folder's path is {len(os.fsencode(folder)):,} bytes, too "
                         f"long for the files fetched into it (a part file's name, up to "
                         f"{most_name} bytes, in {PRIVATE} under it would pass the "
                         f"system's {most_path:,}): name a folder of at most "
                         f"{deepest:,} bytes")


sharedFolder.coerceDoc = "An existing directory."
downloadsFolder.coerceDoc = "An existing, writable directory."
# Paths: in a config file, a relative one is the file's folder's.
sharedFolder.isPath = downloadsFolder.isPath = True

#: The buyer role's options of files.
FETCH_OPTIONS = (
    RoleOption("downloads", "DIR to fetch the shared files bought into",
               downloadsFolder),
    RoleOption("download-give-up", "seconds a download may go without progress (a "
               "verified piece, or 10 KiB of pieces over 10 s) before it gives up, "
               "saying why (its part file stays, for a "
               "later run to resume)", seconds, DEFAULT_GIVE_UP),
)


#: The buyer settings that are the Fetcher's (L{fetchSettings}).
FETCH_SETTINGS = ("downloads", "download_give_up")


def fetchSettings(config):
    """The Fetcher's settings from the buyer role's config: {} without
    --downloads."""
    if config.get("downloads") is None:
        return {}
    return {"downloads": config["downloads"],
            "download_give_up": config.get("download-give-up", DEFAULT_GIVE_UP)}
