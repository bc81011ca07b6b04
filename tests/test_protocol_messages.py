"""
docs/protocol.md's tables of messages against the codec: a client
written from the document alone builds its messages from those tables,
and signs every field it sends that they give (§3, "Signed trades"), so
a field the code has and the table leaves out (`buy`'s `quantity` was),
a field the table gives and the code does not know (an `ask` with
`buy`'s `sha256`, whose signature then never verified), or a required
field the table calls optional, is a client that cannot trade.  The
error codes the document names are the ones the code can send.
"""

import importlib
import pkgutil
import re
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from twisted_bazaar.wire.codec import ERROR_CODES, MESSAGE_TYPES, REQUIRED

PROTOCOL = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
#: A name in code quotes, alone in its cell.
NAME = re.compile(r"^`(\w+)`$")
#: An answer of a row's "answered by" cell: its type and fields.
ANSWER = re.compile(r"^(\w+)\{([^}]*)\}")


def declareAll():
    """Import every module of the package: each declares its messages."""
    for module in pkgutil.walk_packages(twisted_bazaar.__path__, "twisted_bazaar."):
        importlib.import_module(module.name)


def ours():
    """The message types the package declares (not the tests', nor a test
    plugin's under twisted_bazaar.plugins)."""
    package = Path(twisted_bazaar.__file__).parent
    return {name for name, cls in MESSAGE_TYPES.items()
            if Path(sys.modules[cls.__module__].__file__).is_relative_to(package)}


def text():
    return PROTOCOL.read_text("utf-8")


def section(heading):
    """The text from a level-2 heading to the next."""
    return text().split(f"\n## {heading}\n")[1].split("\n## ")[0]


def topLevel(cell):
    """The parts of a fields cell, split at the ", " outside brackets (a
    comma in a number, 1,000, splits nothing)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(cell):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif cell.startswith(", ", index) and depth == 0:
            parts.append(cell[start:index])
            start = index + 1
    parts.append(cell[start:])
    return [part.strip() for part in parts if part.strip()]


def documentedFields(cell):
    """{wire name: optional?} of one row's fields cell ("—": none)."""
    fields = {}
    for part in topLevel(cell):
        named = re.match(r"`(\w+)`", part)
        if named:
            fields[named.group(1)] = "(optional" in part
    return fields


def cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def tables():
    """The header and rows of each table of the document."""
    table = []
    for line in text().splitlines() + [""]:
        if line.startswith("|"):
            table.append(cells(line))
        elif table:
            yield table[0], table[2:]
            table = []


def rows():
    """(type, {wire name: optional?}) of every row of a table of messages
    (one with a "fields" column) whose type the codec declares, and of
    the answers its "answered by" column spells out (§20's)."""
    found = []
    for header, body in tables():
        if "fields" not in header:
            continue
        column = header.index("fields")
        answers = header.index("answered by") if "answered by" in header else None
        for row in body:
            name = NAME.match(row[0])
            if name and name.group(1) in MESSAGE_TYPES:
                cell = row[column]
                found.append((name.group(1), documentedFields(cell) if cell != "—" else {}))
            answer = ANSWER.match(row[answers].replace("`", "")) if answers else None
            if answer:
                found.append((answer.group(1), {
                    part.split()[0]: "(optional" in part
                    for part in topLevel(re.sub(r"\*\w+\*", "", answer.group(2)))}))
    return found


def codeFields(name):
    """{wire name: optional?} of a declared message type."""
    return {wire: default is not REQUIRED
            for wire, _, _, default in MESSAGE_TYPES[name].FIELDS}


class MessageTableTests(SynchronousTestCase):
    def setUp(self):
        declareAll()

    def test_everyTypeHasARow(self):
        """Each message type the code declares has a row of its own, in
        §4's table or in its section's (§20's for `chord`)."""
        documented = {name for name, _ in rows()}
        self.assertGreaterEqual(len(documented), 60)
        self.assertEqual(sorted(ours() - documented), [])

    def test_everyRowNamesTheCodesFields(self):
        """Each row names exactly the fields the code reads and writes,
        with the code's word on which may be left out."""
        wrong = []
        for name, documented in rows():
            if documented != codeFields(name):
                wrong.append((name, documented, codeFields(name)))
        self.assertEqual(wrong, [])

    def test_errorCodes(self):
        """§13 has a row for each code the code can send, and §3's *code*
        type lists the same codes, and no other."""
        codes = sorted(ERROR_CODES)
        table = set(re.findall(r"^\| `(\w+)` \|", section("13. Error codes"), re.M))
        self.assertEqual(sorted(table), codes)
        line = next(line for line in section("3. Payload").splitlines()
                    if line.startswith("| *code* |"))
        self.assertEqual(sorted(set(re.findall(r"`(\w+)`(?! scheme)", line))), codes)
