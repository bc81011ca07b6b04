"""Parsers of the file options of the seller and buyer roles."""

import os


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
    """--downloads DIR: an existing, writable directory."""
    return _folder(text, "downloads", writable=True)


sharedFolder.coerceDoc = "An existing directory."
downloadsFolder.coerceDoc = "An existing, writable directory."
