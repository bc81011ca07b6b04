"""
A MkDocs hook: the docs site's search works when the site is read from
disk (README: open site/index.html).

Material's offline plugin inlines the search index into the pages, but
the search runs in a Web Worker, which Chromium does not start from a
file:// page; the plugin then loads a shim (the iframe-worker package)
from a CDN, which a reader offline, or a machine that reaches only the
package registries, cannot reach.  This hook takes the shim from the npm
registry once, with npm, keeps it under build/, and serves it from the
site itself, with its licence beside it.  Without npm the site keeps the
CDN's address, and says so.
"""

import logging
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.offline_search")

#: The npm package and version of the shim.
PACKAGE = "iframe-worker@1.0.4"
#: Its files in the package: the shim, and the licence served beside it.
MEMBERS = {"package/shim/index.js": "iframe-worker-shim.js",
           "package/LICENSE": "iframe-worker-LICENSE.txt"}
#: Where the files are kept between builds.
CACHE = Path(__file__).resolve().parents[2] / "build" / "docs-vendor"
#: Where the site serves them.
SITE_FOLDER = "assets/javascripts"
#: Seconds npm may take to fetch the package.
NPM_TIMEOUT = 120


def fetched(cache=CACHE):
    """The cache folder with the shim's files in it, fetched with npm if
    they are not there yet; None if they cannot be had."""
    if all((cache / name).is_file() for name in MEMBERS.values()):
        return cache
    npm = shutil.which("npm")
    if npm is None:
        log.info("npm is not installed: the site's search, read from disk, "
                 "loads its worker shim from a CDN")
        return None
    with tempfile.TemporaryDirectory(prefix="bazaar-docs-") as scratch:
        try:
            subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=scratch, check=True,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=NPM_TIMEOUT)
            [tarball] = Path(scratch).glob("*.tgz")
            cache.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tarball) as archive:
                for member, name in MEMBERS.items():
                    (cache / name).write_bytes(archive.extractfile(member).read())
        except (OSError, ValueError, KeyError, tarfile.TarError,
                subprocess.SubprocessError) as reason:
            log.info("could not fetch %s with npm (%s): the site's search, read "
                     "from disk, loads its worker shim from a CDN", PACKAGE, reason)
            return None
    return cache


def on_config(config):
    if fetched() is None:
        return config
    polyfills = [url for url in config.extra.get("polyfills", [])
                 if "iframe-worker" not in url]
    config.extra["polyfills"] = [*polyfills, f"{SITE_FOLDER}/{MEMBERS['package/shim/index.js']}"]
    return config


def on_post_build(config):
    cache = fetched()
    if cache is None:
        return
    folder = Path(config.site_dir) / SITE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name in MEMBERS.values():
        shutil.copyfile(cache / name, folder / name)
