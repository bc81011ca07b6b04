"""
The package's source, parsed once a process: a dozen tests check every
module of twisted_bazaar by its syntax tree (its dials, its writes onto
other objects, its imports, its log calls ...), and each parsing the
package for itself cost a worker 1.2 to 2 CPU-s a check.
"""

import ast
import functools
import pathlib

import twisted_bazaar

#: The package's folder.
PACKAGE = pathlib.Path(twisted_bazaar.__file__).parent


@functools.cache  # the source is fixed while the suite runs
def packageTrees():
    """module path under twisted_bazaar/ (``reach/sources.py``) -> its
    tree, for every module of the package, in path order.  The trees are
    shared: a check reads them and never changes one."""
    return {path.relative_to(PACKAGE).as_posix():
            ast.parse(path.read_text(encoding="utf-8"), str(path))
            for path in sorted(PACKAGE.rglob("*.py"))}


def dottedName(module):
    """``reach/sources.py`` -> ``twisted_bazaar.reach.sources`` (a
    package's ``__init__.py`` -> the package's name)."""
    return ".".join(("twisted_bazaar", *module.removesuffix(".py").split("/"))
                    ).removesuffix(".__init__")
