"""Tests for the file options of the seller and buyer roles."""

import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.roles.files.options import downloadsFolder, sharedFolder
from twisted_bazaar.roles.buyer import BuyerPlugin
from twisted_bazaar.roles.seller import SellerPlugin
from tests.files.helpers import scratchDir, writeFile


class FolderOptionTests(SynchronousTestCase):
    def test_existingFolder(self):
        folder = scratchDir(self)
        self.assertEqual(sharedFolder(folder), os.path.abspath(folder))
        self.assertEqual(downloadsFolder(folder), os.path.abspath(folder))

    def test_badFolders(self):
        folder = scratchDir(self)
        path = writeFile(folder, "file", b"")
        for parse in (sharedFolder, downloadsFolder):
            for text, reason in [("", "wants the"),
                                 (os.path.join(folder, "none"), "not an existing"),
                                 (path, "not an existing")]:
                error = self.assertRaises(ValueError, parse, text)
                self.assertIn(reason, str(error))

    def test_downloadsWhosePrivateFolderIsALink(self):
        """A downloads folder where a link (or another user's folder)
        stands at the private folder's name is refused with the reason,
        before anything is bought."""
        folder = scratchDir(self)
        os.symlink(scratchDir(self), os.path.join(folder, ".bazaar-downloads"))
        error = self.assertRaises(ValueError, downloadsFolder, folder)
        self.assertEqual(str(error), f"{os.path.abspath(folder)}/.bazaar-downloads is a "
                         "symbolic link: it must be a folder only this user can write "
                         "to, where part files go (remove it, and the buyer makes one)")

    def test_downloadsTooDeep(self):
        """A downloads folder so deep that a part file's name in its private
        folder would pass PATH_MAX is refused before anything is bought,
        with the most it may be; it failed only once the file was bought.
        One a name's length shallower is taken."""
        most_name = os.pathconf("/", "PC_NAME_MAX")
        most_path = os.pathconf("/", "PC_PATH_MAX")
        deepest = most_path - 1 - most_name - len("/.bazaar-downloads/")
        folder = os.path.abspath(scratchDir(self))
        while len(os.fsencode(folder)) < deepest + 1:
            folder = os.path.join(folder, "d" * min(200, deepest - len(folder)))
            os.mkdir(folder)
        self.assertEqual(len(folder), deepest + 1)
        error = self.assertRaises(ValueError, downloadsFolder, folder)
        self.assertEqual(str(error), f"the folder's path is {deepest + 1:,} bytes, too "
                         f"long for the files fetched into it (a part file's name, up "
                         f"to {most_name} bytes, in .bazaar-downloads under it would "
                         f"pass the system's {most_path:,}): name a folder of at most "
                         f"{deepest:,} bytes")
        self.assertEqual(downloadsFolder(os.path.dirname(folder)),
                         os.path.dirname(folder))


class RoleOptionTests(SynchronousTestCase):
    def test_sellerShareOnly(self):
        settings = SellerPlugin().configure({"sell": [], "lease": 10.0, "share": "/d",
                                             "transfer-port": 9, "transfer-rate": 0})
        self.assertEqual(settings, {"stock": {}, "lease": 10.0, "share": "/d",
                                    "transfer_port": 9, "transfer_rate": 0})

    def test_transferOptionsNeedShare(self):
        for option in ("transfer-port", "transfer-rate"):
            error = self.assertRaises(ValueError, SellerPlugin().configure,
                                      {"sell": [("a", 1)], "lease": 10.0,
                                       "share": None, option: 5})
            self.assertEqual(str(error), f"--{option} needs --share DIR")

    def test_buyerDownloads(self):
        config = {"want": ["f"], "quantity": 1, "search-window": 1.0,
                  "buy-timeout": 2.0, "doubt-limit": 120.0, "exit-when-done": False,
                  "downloads": "/d"}
        self.assertEqual(BuyerPlugin().configure(config)["downloads"], "/d")

    def test_downloadsWithExitWhenDone(self):
        """--exit-when-done waits for the files (a want for a file is met
        once it is in place), so the two go together."""
        config = {"want": ["f"], "quantity": 1, "search-window": 1.0,
                  "buy-timeout": 2.0, "doubt-limit": 120.0, "exit-when-done": True,
                  "downloads": "/d",
                  "download-give-up": 30.0}
        settings = BuyerPlugin().configure(config)
        self.assertEqual((settings["exit_when_done"], settings["downloads"],
                          settings["download_give_up"]), (True, "/d", 30.0))


class FlagTests(SynchronousTestCase):
    """The flags as bazaar-node takes them: a clear usage error."""

    def parse(self, args):
        from twisted_bazaar.tap.node import Options

        options = Options()
        options.parseOptions(args)
        return options

    def test_missingShare(self):
        from twisted.python import usage

        error = self.assertRaises(usage.UsageError, self.parse,
                                  ["--role", "seller", "--share", "/no/such/folder"])
        self.assertEqual(str(error),
                         "--share: /no/such/folder is not an existing directory")

    def test_shareAndDownloads(self):
        folder = scratchDir(self)
        options = self.parse(["--role", "seller", "--share", folder, "--role", "buyer",
                              "--want", "f", "--downloads", folder])
        [(_, seller), (_, buyer)] = options.roles
        self.assertEqual((seller["share"], buyer["downloads"]), (folder, folder))
