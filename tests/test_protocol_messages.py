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
import json
import pkgutil
import re
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from twisted_bazaar import wire
from twisted_bazaar.wire.codec import ERROR_CODES, MESSAGE_TYPES, REQUIRED, ProtocolError

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


#: Where a fields cell's type text ends: its "(optional" note, if any.
OPTIONAL_NOTE = re.compile(r"\s*\(optional.*$", re.S)
#: A number as the document writes it: 1,000; 2^63−1; −(2^63−1); 10^6.
NUMBER = r"[−(]*[\d,]+(?:\^\d+)?(?:−\d+)?\)?"
RANGE = re.compile(rf"^(?:integer |ms )?({NUMBER}) … ({NUMBER})$")
#: A note in words after a type (``*id* (names this attempt)``), left
#: aside; one that starts with a sign or a number bounds the type, and
#: the field is not probed.
NOTE = re.compile(r"^(.*?\S)\s*\([A-Za-z`][^()]*\)(?::.*)?$", re.S)
TEXT_RANGE = re.compile(rf"^({NUMBER}) … ({NUMBER}) UTF-8 bytes$")
LIST_OF = re.compile(rf"^list of ({NUMBER}) … ({NUMBER}) \*(\w[\w ]*)s\*$")
ITALIC = re.compile(r'^\*([\w ]+)\*((?: or `?(?:null|"")`?)*)$')
LITERALS = re.compile(r'^`"\w+"`(?:,? or `"\w+"`)+$')
OBJECTS = re.compile(r"^at most \d+ `?\{(.*)\}`?$", re.S)
KEYED_ID = "7ba2183e6c3b2301a2fb4f577d019a22"


def number(text):
    """A number of the document's text as an int."""
    text = text.replace("−", "-").replace(",", "").replace("^", "**")
    if not re.fullmatch(r"[-\d*()]+", text):
        raise ValueError(text)
    return int(eval(text))  # only digits, minus, powers and brackets


def samples():
    """Each field type of §3 (and §20's *peer*) as (valid values, invalid
    values): what a client written from the table sends, and what it
    takes to be refused."""
    from tests.records import PLAIN_WIRE

    entry = {"id": "17", "host": "h", "port": 9001}
    return {
        "node id": ([KEYED_ID, "17"], [17, "007", KEYED_ID.upper(), KEYED_ID[:-1]]),
        "id": ([2**63 - 1, -(2**63 - 1)], [2**63, -(2**63), True, 1.0]),
        "port": ([0, 65535], [-1, 65536, "1"]),
        "ttl": ([0, 16], [-1, 17]),
        "item": (["a", "a" * 256], ["", "a" * 257, 1]),
        "host": (["", "h" * 255], ["h" * 256, None if False else 5]),
        "relay": (["10.0.0.1:7701", "[::1]:7701"], ["10.0.0.1", "10.0.0.1:0"]),
        "paths": ([[], [{"kind": "relayed", "relay": "10.0.0.1:7701"}],
                   [{"kind": "lan", "host": "10.0.0.2", "word": "claimed"},
                    {"kind": "udp", "port": 9002, "word": "seen"}],
                   [{"kind": "later", "what": 1}] * 16],
                  [[{"kind": "relayed"}], [{"kind": "udp", "port": 0}],
                   [{"kind": "lan", "host": "8.8.8.8"}], [{"kind": "udp", "port": 1,
                                                           "word": "mine"}],
                   [{"kind": "udp", "port": 1}] * 2, [{"host": "10.0.0.2"}],
                   [{"kind": "later"}] * 17]),
        "info": (["", "x" * 1024], [5]),
        "path": ([["17"], [str(n) for n in range(64)]],
                 [[], ["17", "17"], [str(n) for n in range(65)], [""]]),
        "ids": ([[], [str(n) for n in range(64)]], [[str(n) for n in range(65)],
                                                    ["17", "17"]]),
        "code": (["wtf", "notim"], ["nope", ""]),
        "name": (["x", "x" * 32], ["", "x" * 33]),
        "flag": ([True, False], [1, "true"]),
        "seller entries": ([[], [dict(entry, record=dict(PLAIN_WIRE, seller="17"))]],
                           [[entry], [dict(entry, record=PLAIN_WIRE)]]),
        "record": ([PLAIN_WIRE], ["x", dict(PLAIN_WIRE, port=-1)]),
        "count": ([0, 2**63 - 1], [-1, 2**63]),
        "size": ([0, 2**53], [-1, 2**53 + 1]),
        "question": ([1, 2**53], [0, 2**53 + 1, True]),
        "sha256": (["ab" * 32], ["AB" * 32, "ab" * 31]),
        "sha256 list": ([["ab" * 32]], [["ab"]]),
        "counts": ([{}, {"apple": 2**63 - 1}], [{"apple": -1}, {"": 1}]),
        "key": (["A" * 43], ["A" * 42, "A" * 44]),
        "nonce": (["n", "n" * 64], ["", "n" * 65]),
        "sig": (["s" * 86], ["s" * 85]),
        "proof": ([[], ["A" * 43] * 32], [["A" * 43] * 33]),
        "members": ([[], [dict(entry, scheme="flood")], [dict(entry, scheme="")]],
                    [[entry]]),
        "links": ([[], [dict(entry, purpose="overlay")],
                   [dict(entry, purpose="overlay", relayed=True)],
                   [dict(entry, purpose="overlay", quic=True)]], [[entry]]),
        "peer": ([["17", "h", 9001]], [["17", "h"], ["17", "h", 9001, 1]]),
    }


#: The nth of distinct values of a type, for a list at its longest (a
#: list of *peers* must not repeat a node).
DISTINCT = {"name": lambda n: f"n{n}", "peer": lambda n: [str(n + 1), "h", 9001]}


def probes(desc, types):
    """(valid values, invalid values) of a field whose type text is
    ``desc``, or None for one this reading does not follow."""
    desc = OPTIONAL_NOTE.sub("", desc).strip()
    noted = NOTE.match(desc)
    if noted:
        desc = noted.group(1)
    desc = re.sub(r":\s.*$", "", desc, flags=re.S)
    if desc.count("`") % 2:
        desc = desc.strip("`")
    if "(" in desc:
        return None
    if desc == "boolean":
        return types["flag"]
    italic = ITALIC.match(desc)
    if italic:
        valid, invalid = types[italic.group(1)]
        extra = italic.group(2)
        valid = valid + ([None] if "null" in extra else []) + (
            [""] if '""' in extra else [])
        return valid, [bad for bad in invalid if not (bad == "" and '""' in extra)]
    for pattern, make in ((RANGE, lambda n: n), (TEXT_RANGE, lambda n: "x" * n)):
        bounds = pattern.match(desc)
        if bounds:
            low, high = number(bounds.group(1)), number(bounds.group(2))
            return [make(low), make(high)], [make(high + 1)] + (
                [make(low - 1)] if low > 0 or pattern is RANGE else [])
    listed = LIST_OF.match(desc)
    if listed:
        low, high = number(listed.group(1)), number(listed.group(2))
        valid, invalid = types[listed.group(3)]
        full = [DISTINCT[listed.group(3)](n) for n in range(high)] if (
            listed.group(3) in DISTINCT) else valid[:1] * max(low, 1)
        return (([[]] if low == 0 else []) + [[valid[0]] * max(low, 1), full],
                ["x", [invalid[0]] * max(low, 1), [valid[0]] * (high + 1)])
    if LITERALS.match(desc):
        words = re.findall(r'`"(\w+)"`', desc)
        return words, ["zzz", ""]
    return None


def objectProbes(desc, types):
    """For a list of objects spelt out in the cell (``at most 32
    {ago integer …, dir …}``): (valid lists, invalid lists), each invalid
    one an element whose one key is made wrong."""
    desc = OPTIONAL_NOTE.sub("", desc).strip()
    objects = OBJECTS.match(desc)
    if not objects:
        return None
    keys = {}
    for part in topLevel(objects.group(1).replace("``", "`")):
        named = re.match(r"`?(\w+)`? (.*)$", part.replace("`}", ""), re.S)
        probe = probes(named.group(2), types)
        if probe is None:
            return None
        keys[named.group(1)] = probe
    element = {key: valid[0] for key, (valid, _) in keys.items()}
    valid = [[]] + [[dict(element, **{key: value})] for key, (values, _) in keys.items()
                    for value in values]
    invalid = [[dict(element, **{key: value})] for key, (_, values) in keys.items()
               for value in values]
    return valid, invalid


class FieldTypeTests(SynchronousTestCase):
    """
    The tables of messages against the codec, field by field: each value
    a field's type allows (its bounds, its form) is taken by the codec's
    checker of that field, and each it does not is refused.  §4 gave
    `nodestate`'s `recent[].peer` as an integer −1 … 2^63−1 while the
    codec read it (and §12a said it is) a node id or "": a client
    validating against §4 refused every operator `nodestate`.  A
    field whose type text this reading does not follow (a map, a note
    in brackets) is counted, not probed.
    """

    def setUp(self):
        declareAll()

    def test_everyTypedFieldTakesWhatItsTypeAllows(self):
        types = samples()
        wrong, probed, skipped = [], 0, 0
        for header, body in tables():
            if "fields" not in header:
                continue
            column = header.index("fields")
            for row in body:
                name = NAME.match(row[0])
                if not name or name.group(1) not in MESSAGE_TYPES or row[column] == "—":
                    continue
                checkers = {wire: checker
                            for wire, _, checker, _ in MESSAGE_TYPES[name.group(1)].FIELDS}
                for part in topLevel(row[column]):
                    named = re.match(r"`(\w+)` (.*)$", part, re.S)
                    if not named or named.group(1) not in checkers:
                        skipped += 1
                        continue
                    probe = (probes(named.group(2), types)
                             or objectProbes(named.group(2), types))
                    if probe is None:
                        skipped += 1
                        continue
                    probed += 1
                    where = f"{name.group(1)}.{named.group(1)}"
                    wrong += self.disagreements(checkers[named.group(1)], where, *probe)
        self.assertEqual(wrong, [])
        self.assertGreaterEqual(probed, 150)
        self.assertLess(skipped, probed / 3)

    def disagreements(self, checker, where, valid, invalid):
        """Where the checker refuses a valid value or takes an invalid one."""
        wrong = []
        for value in valid:
            try:
                checker(value, where)
            except ProtocolError as e:
                wrong.append((where, "refuses", _short(value), str(e)))
        for value in invalid:
            try:
                checker(value, where)
            except ProtocolError:
                continue
            wrong.append((where, "takes", _short(value)))
        return wrong


def _short(value):
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


class NestedRecordTests(SynchronousTestCase):
    """
    §3 left open how a record nested in a signed `reply` is encoded for
    its signature: its own `sig` stays, and a key inside it that §11a
    does not give is left out, as is an optional one sent as null, as
    the codec does.
    """

    def test_theRecordsSigStaysAndUnknownKeysGo(self):
        from tests.records import PLAIN_WIRE
        from twisted_bazaar.schemes.flood import messages  # noqa: F401 (declares reply)

        record = dict(PLAIN_WIRE, seller="7", extra=5, size=None)
        reply = wire.decode(json.dumps({
            "type": "reply", "id": 5, "item": "pear", "path": ["7", "42"],
            "seller": "7", "host": "h", "port": 9001, "record": record,
            "key": "k" * 43, "sig": "s" * 86}).encode())
        signed = json.loads(wire.canonical(reply)[len(b"bazaar-sig:"):])
        self.assertEqual(signed["record"], dict(PLAIN_WIRE, seller="7"))
        self.assertNotIn("sig", signed)
        self.assertEqual(signed["record"]["sig"], "s" * 86)
