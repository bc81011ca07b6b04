"""
docs/protocol.md §15 ("Limits") says every pool and rate a peer can fill
is declared once in the registry of limits, under a name: so its table
names each of them, in a row that states its default and the option that
sets it.  A limit declared and left out of the table (the relay's and the
punch's were) fails here, rather than leaving a reader of the protocol,
or a black-box test written from it, without the bound.
"""

import importlib
import pkgutil
import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from twisted_bazaar.base.limitregistry import LIMITS

PROTOCOL = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"


def declareAll():
    """Import every module of the package: each declares its limits."""
    for module in pkgutil.walk_packages(twisted_bazaar.__path__, "twisted_bazaar."):
        importlib.import_module(module.name)


def ours():
    """The names of the limits the package declares (not the tests')."""
    return sorted(limit.name for limit in LIMITS
                  if limit.owner.startswith("twisted_bazaar."))


def limitsSection():
    """The text of §15, from its heading to §16's."""
    text = PROTOCOL.read_text("utf-8")
    return text.split("\n## 15. Limits\n")[1].split("\n## 16.")[0]


def tableRows(section):
    """The rows of the section's tables (header and rule included)."""
    return [line for line in section.splitlines() if line.startswith("|")]


class ProtocolLimitsTests(SynchronousTestCase):
    def test_everyDeclaredLimitHasARow(self):
        """Each limit the package declares is named, in code quotes, in a
        row of §15's table."""
        declareAll()
        names = ours()
        self.assertGreaterEqual(len(names), 50)
        rows = "\n".join(tableRows(limitsSection()))
        self.assertEqual([name for name in names if f"`{name}`" not in rows], [])

    def test_everyNameInTheTableIsDeclared(self):
        """A name the table gives a row is one the registry holds (a
        renamed or removed limit fails here too)."""
        declareAll()
        declared = set(ours())
        owners = {name.split(".")[0] for name in declared}
        rows = "\n".join(tableRows(limitsSection()))
        named = {name for name in re.findall(r"`([a-z]+\.[a-z][a-z-]*)`", rows)
                 if name.split(".")[0] in owners}
        self.assertGreaterEqual(len(named), 1)
        self.assertEqual(sorted(named - declared), [])

    def test_eachRowStatesItsLimitsValuesAndFlag(self):
        """The value a limit is declared with (its default, a group's and
        a key's share) is a number of a row that names it, and the option
        that sets it is in that row's last column: a default changed in
        the code and not in the table (or the other way round) fails
        here."""
        declareAll()
        rows = [[cell.strip() for cell in row.strip().strip("|").split("|")]
                for row in tableRows(limitsSection())[2:]]
        wrong = []
        for limit in LIMITS:
            if not limit.owner.startswith("twisted_bazaar."):
                continue
            named = [row for row in rows if f"`{limit.name}`" in row[0]]
            values = set().union(*(numbers(row[1]) for row in named))
            for value in (limit.default, limit.group, limit.key):
                if isinstance(value, (int, float)) and float(value) not in values:
                    wrong.append((limit.name, value))
            if limit.flag and not any(f"`{limit.flag}`" in row[2] for row in named):
                wrong.append((limit.name, limit.flag))
        self.assertEqual(wrong, [])


def numbers(cell):
    """The numbers a default cell states (1,024 is 1024; `32 / 8 MiB` is
    32 and 8 MiB)."""
    scale = 1 << 20 if "MiB" in cell else 1 << 10 if "KiB" in cell else 1
    found = set()
    for number in re.findall(r"\d[\d,]*(?:\.\d+)?", cell):
        value = float(number.replace(",", ""))
        found |= {value, value * scale}
    return found
