"""
A transport's kind of path whose addresses travel, declared as a new
transport's package declares its own: its wire form and one
registration line, nothing else (L{tests.transports.test_fakekind}).
"""

from twisted_bazaar.wire.codec import intIn
from twisted_bazaar.wire.paths import KINDS, Form

__all__ = ["FAKE", "FakeForm"]


class FakeForm(Form):
    """A port of the fake transport: ``port`` 1 to 65535, required; at
    most two in a list."""

    most = 2
    _port = staticmethod(intIn(1, 65535, "from 1 to 65535"))

    def read(self, kind, entry, word, name):
        self._port(entry.get("port"), f"{name}.port")
        return super().read(kind, entry, word, name)


FAKE = KINDS.register("fake-carrier-pigeon", form=FakeForm())
