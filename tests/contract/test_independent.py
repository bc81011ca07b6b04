"""The contract client imports only the standard library, cryptography and
pytest, and its own modules: never twisted_bazaar (issue 26)."""

import ast
import pathlib
import sys

HERE = pathlib.Path(__file__).parent
ALLOWED = {"cryptography", "pytest"}


def importedRoots(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_imports_nothing_of_the_project():
    files = sorted(HERE.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        for root in importedRoots(path):
            assert root in sys.stdlib_module_names or root in ALLOWED, (path.name, root)
