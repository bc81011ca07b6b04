"""
A --share or --downloads folder that holds a daemon's state is refused,
by the node (``twistd bazaar-node``) and by ``bazaar buy`` alike: a
seller offered its own key file (its private key), its store and its
lock to any buyer, and a buyer's files would be written among them.
"""

import os

from twisted_bazaar.daemon.tracker import TRACKER_KEY_FILE
from twisted_bazaar.identity.keys import KEY_FILE
from twisted_bazaar.roles.files.options import downloadsFolder
from twisted_bazaar.store.records import DB_NAME

#: A file of a daemon's state -> what it is: a folder holding one is a
#: daemon's state.
STATE_FILES = {KEY_FILE: "a node's key", TRACKER_KEY_FILE: "a tracker's key",
               DB_NAME: "a node's store"}

#: --share and --downloads: (what a folder of the node's own state
#: would do, what another daemon's would, what to do instead).
FOLDERS = {
    "share": (f"it would offer the node's key ({KEY_FILE}) and its store to every buyer",
              "which sharing would offer to every buyer",
              "share a folder of the files alone"),
    "downloads": (f"the files bought would go among the node's key ({KEY_FILE}) and its "
                  "store",
                  "among which the files bought would go",
                  "give them a folder of their own"),
}


def refusal(option, folder, data_dir=None):
    """
    Why ``--option folder`` is refused, after its name (``D holds a
    node's key (KEY_FILE): ...``), or None.

    @param data_dir: the node's own --data-dir, or None.
    """
    ownHarm, harm, instead = FOLDERS[option]
    if data_dir is not None and os.path.realpath(folder) == os.path.realpath(data_dir):
        return f"{folder} is this node's --data-dir: {ownHarm}; {instead}"
    for name, what in STATE_FILES.items():
        if os.path.exists(os.path.join(folder, name)):
            return (f"{folder} holds {what} ({name}): it is a daemon's state, {harm}; "
                    f"{instead}")
    return None


def currentFolderRefusal(folder):
    """Why ``bazaar buy`` without --downloads may fetch no file into the
    current folder (its default), or None."""
    why = refusal("downloads", folder)
    return None if why is None else f"the current folder {why} (--downloads DIR)"


def clientDownloads(text):
    """``bazaar buy --downloads DIR``: a downloads folder
    (L{downloadsFolder}) that holds no daemon's state."""
    folder = downloadsFolder(text)
    why = refusal("downloads", folder)
    if why is not None:
        raise ValueError(why)
    return folder
