"""
The docs site (mkdocs.yml) builds with every warning an error, as
``make docs`` builds it: a broken link or anchor in the Markdown, a page
left out of the nav, or a docstring the API reference cannot render
fails ``make test`` here.

It needs MkDocs and its plugins (the ``docs`` extra, which the ``test``
extra includes); without them it is skipped with the reason.
"""

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a build may take (about 5 on a 2-core machine).
TIMEOUT = 300


def build(root, site):
    """``mkdocs build --strict`` of the site whose mkdocs.yml is in root,
    into site: (exit status, what it printed)."""
    if importlib.util.find_spec("mkdocs") is None:
        raise SkipTest("MkDocs is not installed (pip install '.[docs]')")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root, capture_output=True, text=True, timeout=TIMEOUT,
        stdin=subprocess.DEVNULL, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    return result.returncode, result.stdout + result.stderr


#: The whole site, built once a process: (its folder, status, output).
_built = []


def builtSite():
    """
    The site of this checkout, built whole once a process (its folder,
    mkdocs's status and what it printed), for the tests that read it: a
    build is some 5 CPU-s and tens of seconds on a loaded machine, and the
    files that read it are one group (tests/conftest.py), on one worker.
    """
    if not _built:
        folder = Path(tempfile.mkdtemp(prefix="bazaar-site-"))
        atexit.register(shutil.rmtree, folder, True)
        _built.append((folder, *build(ROOT, folder / "site")))
    return _built[0]


class DocsSiteTests(SynchronousTestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix="bazaar-site-"))
        self.addCleanup(shutil.rmtree, self.folder, True)

    def test_buildsWithoutWarnings(self):
        """The site builds in strict mode, with its pages (each a file, as
        a site read from disk needs), its search index (inlined too, for a
        page read from disk) and the shim its search worker needs there,
        and the API reference drawn from the docstrings."""
        folder, status, output = builtSite()
        site = folder / "site"
        self.assertEqual(status, 0, output)
        pages = ["index.html", "quickstart.html", "api.html", "protocol.html",
                 "search/search_index.json", "search/search_index.js"]
        if shutil.which("npm") is not None:
            # docs/hooks/offline_search.py fetches it with npm.
            pages.append("assets/javascripts/iframe-worker-shim.js")
        for page in pages:
            self.assertTrue((site / page).is_file(), page)
        api = (site / "api.html").read_text(encoding="utf-8")
        self.assertIn('id="twisted_bazaar.core.node.Node"', api)

    def test_aBrokenAnchorFailsTheBuild(self):
        """Strict mode is on: a link to an anchor no page has stops the
        build (so the test above can fail), and nothing else warns.  The
        site is this checkout's configuration (its theme, hook, plugins
        and validation) over two small pages of its own: the API
        reference (mkdocstrings) and the pages, which the test above
        builds, were some 5 CPU-s here, and no anchor of a page's own
        heading depends on them."""
        copy = self.folder / "copy"
        shutil.copytree(ROOT / "docs" / "stylesheets", copy / "docs" / "stylesheets")
        # The checkout's hook, which keeps the search's shim under its
        # build/ (a copy of it would fetch the shim again with npm).
        hook = "docs/hooks/offline_search.py"
        config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace(
            f"  - {hook}\n", f"  - {ROOT / hook}\n", 1)
        plugin = config.index("  - mkdocstrings:")
        config = config[:plugin] + config[config.index("\nmarkdown_extensions:", plugin):]
        config = config[:config.index("\nnav:\n")] + (
            "\nnav:\n  - Home: index.md\n  - Quick start: quickstart.md\n")
        (copy / "mkdocs.yml").write_text(config, encoding="utf-8")
        (copy / "docs" / "index.md").write_text(
            "# Home\n\n## A section\n\n[there](quickstart.md#running)\n", encoding="utf-8")
        (copy / "docs" / "quickstart.md").write_text(
            "# Quick start\n\n## Running\n\n[back](index.md#a-section)\n"
            "[nowhere](index.md#no-such-section)\n", encoding="utf-8")
        status, output = build(copy, self.folder / "site")
        self.assertNotEqual(status, 0, output)
        self.assertIn("does not contain an anchor '#no-such-section'", output)
        warned = [line for line in output.splitlines() if "WARNING" in line]
        self.assertEqual([line for line in warned if "#no-such-section" not in line], [],
                         output)
