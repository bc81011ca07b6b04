"""
A pytest plugin that makes collecting the suite's TestCase classes cheaper.

pytest looks for fixtures in each unittest class by walking every name of
an instance (C{FixtureManager.parsefactories}): some 170 on a trial
TestCase, nearly all its test framework's, which define no fixture.  Over
the suite's 1,900 classes that walk was 38 % of what each xdist worker
spent collecting.  Here the instance walked is of a subclass whose names
are only those its own classes define, below the frameworks'
(L{FRAMEWORKS}): every fixture a test class defines is still found, and
the tests run on instances of the class itself, as before.
"""

import inspect
import unittest

import pytest

try:
    from _pytest.unittest import UnitTestCase
except ImportError:  # pragma: no cover - a pytest whose internals moved
    UnitTestCase = None

#: The modules whose classes define no fixture: the test frameworks'.
FRAMEWORKS = ("builtins", "unittest", "twisted.trial")


def isFramework(cls):
    """Whether C{cls} is one of the test frameworks' own classes."""
    module = cls.__module__
    return any(module == name or module.startswith(name + ".") for name in FRAMEWORKS)


def ownNames(cls):
    """The names the classes of C{cls} define, but for the frameworks'."""
    return sorted({name for base in cls.__mro__ if not isFramework(base) for name in vars(base)})


def scanned(cls):
    """
    A subclass of C{cls} whose instances list L{ownNames} alone.  They say
    their class is C{cls}: pytest binds a fixture found on one to each
    test's own instance only if that is an instance of its C{__class__}.
    """
    names = ownNames(cls)
    return type(cls)(cls.__name__, (cls,), {
        "__dir__": lambda self: names,
        "__class__": property(lambda self: cls),
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
    })


class ScannedCase(UnitTestCase or object):
    """pytest's unittest class collector, its fixture walk over L{scanned}'s
    instance (C{newinstance} serves that walk alone; each test makes its
    own instance of the class)."""

    def newinstance(self):
        return scanned(self.obj)("runTest")


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    if UnitTestCase is None:
        return None  # collected as pytest collects it, only slower
    if inspect.isclass(obj) and issubclass(obj, unittest.TestCase) and not inspect.isabstract(obj):
        return ScannedCase.from_parent(collector, name=name, obj=obj)
    return None
