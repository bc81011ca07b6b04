"""The file fields of offers: how shops describe them and how the index
keeps them."""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.core.market import offerDetails, offerFields
from twisted_bazaar.schemes.index.messages import Found
from twisted_bazaar.schemes.index.state import ItemIndex

SHA = "c" * 64


class Plain:
    """A shop of an older kind, with no describe()."""


class Describing:
    def describe(self, item):
        return {"size": 3, "sha256": SHA, "transfer": 9} if item == "f" else None


class OfferDetailsTests(SynchronousTestCase):
    def test_shopWithoutDescribe(self):
        self.assertEqual(offerDetails(Plain(), "f"),
                         {"size": None, "sha256": None, "transfer": None})

    def test_describedAndNot(self):
        self.assertEqual(offerDetails(Describing(), "f"),
                         {"size": 3, "sha256": SHA, "transfer": 9})
        self.assertEqual(offerDetails(Describing(), "apple"),
                         {"size": None, "sha256": None, "transfer": None})


class IndexDetailsTests(SynchronousTestCase):
    def test_keptPerSellerUntilUnregistered(self):
        index = ItemIndex(random.Random(0))
        index.register(1, "f", (3, SHA, 9))
        index.register(2, "f", (None, None, None))
        self.assertEqual(index.details(1, "f"), (3, SHA, 9))
        self.assertEqual(index.details(2, "f"), ())
        index.register(1, "f", (4, "d" * 64, 9))
        self.assertEqual(index.details(1, "f"), (4, "d" * 64, 9))
        index.unregister(1, "f")
        self.assertEqual(index.details(1, "f"), ())
        index.register(2, "f", (3, SHA, 9))
        index.forget(2)
        self.assertEqual(index.details(2, "f"), ())

    def test_foundEntriesBecomeOfferFields(self):
        self.assertEqual(offerFields(()), (None, None, 0))
        self.assertEqual(offerFields((3, SHA, 9)), (3, SHA, 9))
        self.assertEqual(Found("f", ((1, "h", 2, None, SHA, None),)).asDict()["sellers"],
                         [{"id": 1, "host": "h", "port": 2, "sha256": SHA}])
