"""
The web view's graph library: vis-network
(https://visjs.github.io/vis-network/, Apache 2.0 or MIT), a maintained
library that lays out and draws a network, moves it as it changes and
lets a viewer drag and zoom it.  Its built script and style come from the
pyvis package, installed from PyPI with this project (setup.py), and are
served from pyvis's installed files: no copy of them is kept here.  pyvis
itself is never imported (it would import IPython, networkx and jinja2
for nothing): its folder is found by name.
"""

from importlib.util import find_spec
from pathlib import Path

#: The vis-network build pyvis ships that the page uses.
VERSION = "9.1.2"
#: The files the page loads, by the name it loads them under /static/.
FILES = ("vis-network.min.js", "vis-network.css")


class MissingLibrary(Exception):
    """pyvis, and so vis-network, is not installed."""


def libraryFiles():
    """
    {name: path} of vis-network's script and style in pyvis's installed
    files.

    @raise MissingLibrary: saying what to install.
    """
    spec = find_spec("pyvis")
    if spec is None or not spec.submodule_search_locations:
        raise MissingLibrary("the web view draws its graph with vis-network, which "
                             "the pyvis package ships: pip install 'pyvis>=0.3.2'")
    folder = Path(list(spec.submodule_search_locations)[0]) / "lib" / f"vis-{VERSION}"
    found = {name: folder / name for name in FILES}
    missing = [str(path) for path in found.values() if not path.is_file()]
    if missing:
        raise MissingLibrary(f"pyvis has no vis-network {VERSION} here ({', '.join(missing)}):"
                             " pip install 'pyvis>=0.3.2'")
    return found
