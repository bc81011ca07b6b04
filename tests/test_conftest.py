"""
Tests of tests/conftest.py's order of the suite (L{interleaved}): the
end-to-end modules spread among the others, each module whole, none lost.
"""

from types import SimpleNamespace

from twisted.trial.unittest import SynchronousTestCase

from tests.conftest import interleaved


def items(*modules):
    return [SimpleNamespace(nodeid=f"{module}::test_{n}")
            for module, count in modules for n in range(count)]


class InterleavedTests(SynchronousTestCase):
    def test_spreadWholeAndAll(self):
        found = items(("tests/a/test_1.py", 2), ("tests/a/test_2.py", 1),
                      ("tests/e2e/test_x.py", 3), ("tests/e2e/test_y.py", 1),
                      ("tests/b/test_3.py", 2), ("tests/test_4.py", 1))
        ordered = interleaved(found)
        self.assertEqual(sorted(item.nodeid for item in ordered),
                         sorted(item.nodeid for item in found))
        modules = [item.nodeid.split("::")[0] for item in ordered]
        runs = [module for i, module in enumerate(modules)
                if i == 0 or modules[i - 1] != module]
        self.assertEqual(runs, ["tests/a/test_1.py", "tests/e2e/test_x.py",
                                "tests/a/test_2.py", "tests/b/test_3.py",
                                "tests/e2e/test_y.py", "tests/test_4.py"])
        # Each module's tests in their own order.
        self.assertEqual([item.nodeid for item in ordered][:2],
                         ["tests/a/test_1.py::test_0", "tests/a/test_1.py::test_1"])

    def test_oneKindAlone(self):
        """Only unit tests, or only end-to-end ones: as found."""
        for found in (items(("tests/a/test_1.py", 2)), items(("tests/e2e/test_x.py", 2))):
            self.assertEqual(interleaved(found), found)
