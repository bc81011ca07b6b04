"""
A hostile chord node, for tests/e2e/test_chord_attacks_live.py only
(``--discovery chordcensor``): it keeps the ring as any chord node does
and registers as one, but hides every item whose key it holds: it
answers each request for sellers with none and each store with
chordStored, keeping nothing, and drops the records its neighbours hand
it.  Its periods and puzzle are those of the live tests (its key, from
its data dir, must solve the puzzle: the test draws one that does).
"""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.schemes import IDiscoveryPlugin
from twisted_bazaar.schemes.chord.messages import (
    ChordRecords,
    ChordRequest,
    ChordStore,
    ChordStored,
    ChordTransferred,
)
from twisted_bazaar.schemes.chord.settings import ChordSettings


def _censor():
    from twisted_bazaar.schemes.chord.node import ChordDiscovery

    class CensoringChord(ChordDiscovery):
        def _serve(self, request, path, hops):
            if type(request) is ChordRequest:
                return ChordRecords(request.id, request.item, path, hops, self.node.id, ())
            if type(request) is ChordStore:
                return ChordStored(request.id, request.item, path, hops, self.node.id)
            return super()._serve(request, path, hops)

        def _transferred(self, link, message):
            if message.nonce is not None:
                link.send(ChordTransferred(message.nonce, len(message.records)))

    return CensoringChord


@implementer(IPlugin, IDiscoveryPlugin)
class ChordCensor:
    name = "chordcensor"
    description = "a test chord node that hides the items it holds"
    options = ()

    def configure(self, config):
        return ChordSettings(stabilize=0.25, ping=0.25, fix_fingers=0.2, refresh=5.0,
                             expiry=20.0, probe=2.0, lookup_timeout=2.0, max_period=2.0,
                             puzzle=8)

    def build(self, node, settings):
        return _censor()(node, settings)


censor = ChordCensor()
