"""
How the tools (``bazaar``, the web view) show a node's files to people:
the wire's ``sha256`` of a file is its content id (protocol.md §19.4),
not what ``sha256sum`` prints, so outside the wire it goes by that name.
"""

#: The key a file's content id has in the tools' JSON.
CONTENT_ID = "contentId"


def shownFile(entry):
    """A file entry of a ``nodestate`` (shared file or download) as the
    tools give it: the same, its ``sha256`` named ``contentId``."""
    return {CONTENT_ID if key == "sha256" else key: value for key, value in entry.items()}
