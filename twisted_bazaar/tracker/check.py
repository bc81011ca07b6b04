"""
The tracker's connect-back check: before it introduces a node, or lists
what the node sells, the tracker connects to the address the node
advertised and asks ``whoareyou``; only a node there that answers with the
registered id passes, and, if the node registered a key, only one that
signs the check's nonce with that key.  A super-peer checks its leaves the
same way (L{twisted_bazaar.schemes.superpeer.superpeer}); it knows that a
leaf proved a key of its id, not the key itself, and asks for a key of
that id.
"""

from twisted.internet import defer

from twisted_bazaar import wire
from twisted_bazaar.identity.keys import helloText, keyOwns, newNonce, verify
from twisted_bazaar.net.link import Link


class AddressCheck:
    """
    One check of one address: the owner of the probing link.

    @ivar result: a Deferred firing with True if the node listening at
        the address says it is node_id, else False (never fails).
    """

    def __init__(self, node_id, key, clock, settings, keyed=False):
        """
        @param key: the key node_id proved, which the node at the address
            must sign with; or None.
        @param keyed: with no C{key}: node_id proved a key, unknown here;
            the node at the address must sign with a key of that id.
        """
        self.node_id = node_id
        #: The key node_id proved to the tracker, or None.
        self.key = key
        self.keyed = keyed or key is not None
        self.nonce = newNonce()
        self.clock = clock
        self.settings = settings
        self.link = None
        self._connecting = None
        self.result = defer.Deferred()

    def start(self, connector, host, port):
        """Connect to host:port and ask; returns L{result}."""
        self.link = Link(self, self.clock, self.settings, inbound=False)
        self._connecting = connector.connect(host, port, self.link)
        self._connecting.addErrback(self._failed)
        return self.result

    def cancel(self):
        """Give the check up: stop connecting, or close its connection;
        the result is False."""
        self._done(False)
        if not self._connecting.called:
            self._connecting.cancel()
        self.link.close("check abandoned", routine=True)

    def _failed(self, reason):
        self._done(False)

    def _done(self, passed):
        if not self.result.called:
            self.result.callback(passed)

    # -- the link's owner -----------------------------------------------------------

    def linkMade(self, link):
        link.send(wire.WhoAreYou(self.nonce if self.keyed else None))

    def messageReceived(self, link, message):
        self._done(type(message) is wire.ThisIsMe and message.id == self.node_id
                   and (not self.keyed or self._signed(message)))
        link.close("address checked", routine=True)

    def _signed(self, hello):
        """The answer signs our nonce with the key we know, or else with a
        key of the checked id."""
        key = hello.key
        if key is None or hello.sig is None:
            return False
        if self.key is not None and key != self.key:
            return False
        return (keyOwns(key, self.node_id)
                and verify(key, hello.sig, helloText(self.nonce, self.node_id)))

    def linkLost(self, link, reason):
        self._done(False)
