"""
Tests for L{twisted_bazaar.wire.codec}'s shortcuts: the encoder built
once, and ``fromDict``'s way of building a message.  What the codec
accepts and refuses is pinned by C{tests/wire/test_wire.py}.
"""

import json

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire import codec, trade
from twisted_bazaar.wire.codec import (
    REQUIRED,
    Message,
    ProtocolError,
    checkItem,
    frozen,
)
from twisted_bazaar.wire.core import Error, Ping
from twisted_bazaar.wire.ids import KEYED


class OneShotEncoderTests(SynchronousTestCase):
    """L{codec._oneShot} writes what C{JSONEncoder.encode} writes."""

    values = [
        {"type": "buy", "id": 2**63 - 1, "item": "pomme é 🍎", "path": ["1", "f" * 32]},
        {"b": [1.5, -0.0, True, False, None], "a": {"z": "\u2028\x00\"\\"}},
        {},
    ]

    def test_sameText(self):
        """Compact, canonical (sorted) and ASCII-escaped settings all give
        the text of the encoder they were built from."""
        for encoder in (codec._encoder, codec._canonical, json.JSONEncoder(sort_keys=True)):
            encode = codec._oneShot(encoder)
            for value in self.values:
                self.assertEqual(encode(value), encoder.encode(value))

    def test_sameRefusals(self):
        """NaN and values JSON has no form for are refused as by the
        encoder (ValueError, TypeError)."""
        encode = codec._oneShot(codec._encoder)
        self.assertRaises(ValueError, encode, {"x": float("nan")})
        self.assertRaises(TypeError, encode, {"x": object()})

    def test_withoutAccelerator(self):
        """Without the json module's C encoder, it is the encoder's own
        C{encode}."""
        self.patch(json.encoder, "c_make_encoder", None)
        self.assertEqual(codec._oneShot(codec._encoder), codec._encoder.encode)


@frozen
class _Converted(Message):
    """A message class (not registered) whose field has a converter."""

    item: str = attr.ib(converter=str.upper)


_, _Converted.fromDict = codec._compile(_Converted, "converted",
                                        [("item", "item", checkItem, REQUIRED)])


class DecodedBuildTests(SynchronousTestCase):
    """A message that C{fromDict} builds is the one its class builds."""

    def test_sameAsConstructed(self):
        """Equal, of equal hash, of the class itself, and still frozen."""
        path = (KEYED | 7, 12, KEYED | 2**100)
        for built in (trade.Buy(5, "apple", path),
                      trade.Buy(5, "apple", path, expires=9, quantity=3, key="k" * 43)):
            decoded = trade.Buy.fromDict(built.asDict())
            self.assertIs(type(decoded), trade.Buy)
            self.assertEqual(decoded, built)
            self.assertEqual(hash(decoded), hash(built))
            self.assertEqual(repr(decoded), repr(built))
            self.assertRaises(attr.exceptions.FrozenInstanceError,
                              setattr, decoded, "item", "pear")
            self.assertEqual(attr.evolve(decoded, item="pear").item, "pear")

    def test_converterStillRuns(self):
        """A class whose C{__init__} converts a field (an error's C{info}
        is clipped) is built by calling it."""
        self.assertIsNone(codec._decodedTwin(Error))
        self.assertIsNone(codec._decodedTwin(_Converted))
        self.assertEqual(_Converted.fromDict({"type": "converted", "item": "apple"}).item,
                         "APPLE")

    def test_twinOnlyForPlainClasses(self):
        """Classes that only store their arguments get a twin."""
        self.assertIsNotNone(codec._decodedTwin(trade.Buy))
        self.assertIsNotNone(codec._decodedTwin(Ping))

    def test_notAttrs(self):
        """A message class not made by attrs is built by calling it."""

        class Plain(Message):
            def __init__(self, item):
                self.item = item

        self.assertIsNone(codec._decodedTwin(Plain))
        _, fromDict = codec._compile(Plain, "plain", [("item", "item", checkItem, REQUIRED)])
        self.assertEqual(fromDict({"type": "plain", "item": "apple"}).item, "apple")

    def test_onlyRequiredFields(self):
        """An object with just its type and required fields leaves the
        optional ones unset; one with an unknown field too, or with no
        type (C{fromDict} may be called on any dict), is read in full."""
        path = ["1", "2"]
        plain = trade.Buy.fromDict({"type": "buy", "id": 1, "item": "a", "path": path})
        self.assertEqual(plain, trade.Buy(1, "a", (1, 2)))
        extra = trade.Buy.fromDict({"type": "buy", "id": 1, "item": "a", "path": path,
                                    "future": 1})
        self.assertEqual(extra, plain)
        untyped = trade.Buy.fromDict({"id": 1, "item": "a", "path": path, "quantity": 4})
        self.assertEqual(untyped.quantity, 4)

    def test_unknownIdsTakeTheFullCheck(self):
        """Ids not in the cache, and entries no dict can hold, go to the
        field-by-field check: fresh ids are accepted, junk refused."""
        fresh = format(0xabcdef, "032x")
        codec.ids.fromWireCache.pop(fresh, None)
        decoded = trade.Buy.fromDict({"type": "buy", "id": 1, "item": "a",
                                      "path": ["1", fresh]})
        self.assertEqual(decoded.path, (1, KEYED | 0xabcdef))
        for junk in ([["1"]], [{"1": 1}], ["1", 1], "12", {"1": 2}):
            self.assertRaises(ProtocolError, trade.Buy.fromDict,
                              {"type": "buy", "id": 1, "item": "a", "path": junk})
        self.assertRaises(ProtocolError, trade.Buy.fromDict,
                          {"type": "buy", "id": 1, "item": "a", "path": ["1", "1"]})

    def test_idListsKept(self):
        """A list of ids decoded again is the very tuple decoded before (a
        stream along one path converts it once), the first time's too (an
        id never seen takes the full check)."""
        fresh = format(0xfeed, "032x")
        codec.ids.fromWireCache.pop(fresh, None)
        first = trade.Buy.fromDict({"type": "buy", "id": 1, "item": "a",
                                    "path": ["7", "8", fresh]})
        again = trade.Buy.fromDict({"type": "buy", "id": 2, "item": "a",
                                    "path": ["7", "8", fresh]})
        self.assertEqual(first.path, (7, 8, KEYED | 0xfeed))
        self.assertIs(again.path, first.path)

    def test_idListsBounded(self):
        """The lists of ids kept are at most ID_LISTS_KEPT, each of at most
        ID_LIST_KEPT_IDS ids; a longer one is decoded all the same."""
        for n in range(codec.ID_LISTS_KEPT + 1):
            path = trade.Buy.fromDict({"type": "buy", "id": 1, "item": "a",
                                       "path": [str(n + 1), "1000000"]}).path
            self.assertEqual(path, (n + 1, 1000000))
            self.assertLessEqual(len(codec._idLists), codec.ID_LISTS_KEPT)
        self.assertIn((str(codec.ID_LISTS_KEPT + 1), "1000000"), codec._idLists)
        long = [str(n) for n in range(1, codec.ID_LIST_KEPT_IDS + 2)]
        for _ in range(3):
            path = trade.Buy.fromDict({"type": "buy", "id": 1, "item": "a",
                                       "path": long}).path
            self.assertEqual(path, tuple(range(1, codec.ID_LIST_KEPT_IDS + 2)))
        self.assertNotIn(tuple(long), codec._idLists)


class FieldDeclarationTests(SynchronousTestCase):
    """L{codec.message} reads a class's fields from its L{codec.field}
    attributes, or takes them as tuples for a class made by attrs."""

    def declare(self, type_name, cls, **flags):
        self.addCleanup(codec.MESSAGE_TYPES.pop, type_name, None)
        return codec.message(type_name, **flags)(cls)

    def test_fieldsFromAttributes(self):
        """Wire names are the attributes' in camelCase unless named; a field
        without a default is required, one with a default of None (or
        C{optional}) is left out while None, another default is always
        sent."""

        class Sample(Message):
            return_path: tuple = codec.field(codec.checkPath)
            flag: bool = codec.field(codec.checkFlag, wire="super", optional=True)
            host: str = codec.field(codec.checkHost, default="")
            seen_port: int = codec.field(codec.checkPort, default=None)

        Sample = self.declare("fieldsample", Sample, routed=False)
        self.assertEqual(Sample.FIELDS, (
            ("returnPath", "return_path", codec.checkPath, REQUIRED),
            ("super", "flag", codec.checkFlag, None),
            ("host", "host", codec.checkHost, ""),
            ("seenPort", "seen_port", codec.checkPort, None)))
        self.assertTrue(attr.has(Sample))
        self.assertRaises(TypeError, Sample, (1,))
        sample = Sample((1,), None)
        self.assertEqual(sample.asDict(), {"type": "fieldsample", "returnPath": ["1"],
                                           "host": ""})
        self.assertEqual(codec.decode(codec.encode(sample)), sample)
        self.assertRaises(attr.exceptions.FrozenInstanceError, setattr, sample, "host", "x")

    def test_undeclaredAttribute(self):
        """An attribute declared without C{field} is refused: the codec
        would not know how it travels."""

        class Half(Message):
            item: str = codec.field(checkItem)
            count: int = 0

        with self.assertRaises(ValueError) as caught:
            self.declare("halfdeclared", Half)
        self.assertIn("'count' is not declared with field()", str(caught.exception))
        self.assertNotIn("halfdeclared", codec.MESSAGE_TYPES)

    def test_declaredTwice(self):
        """A class whose fields come both as C{field} attributes and as
        tuples is refused."""

        @frozen
        class Twice(Message):
            item: str = codec.field(checkItem)

        with self.assertRaises(ValueError) as caught:
            self.declareTuples("twicedeclared", Twice)
        self.assertIn("declares its fields twice", str(caught.exception))

    def declareTuples(self, type_name, cls):
        self.addCleanup(codec.MESSAGE_TYPES.pop, type_name, None)
        return codec.message(type_name, ("item", "item", checkItem, REQUIRED))(cls)

    def test_tuplesStillDeclare(self):
        """An attrs class with its fields given as tuples, as plugins
        declare them, is declared as before."""

        @frozen
        class Old(Message):
            item: str

        Old = self.declareTuples("tupledeclared", Old)
        self.assertEqual(Old.FIELDS, (("item", "item", checkItem, REQUIRED),))
        self.assertEqual(codec.decode(b'{"type":"tupledeclared","item":"a"}'), Old("a"))
