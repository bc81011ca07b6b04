"""
Run at a home of the live NAT test bed (tests/e2e/test_nat_live.py):
``python hellopeer.py RELAY NODE_ID`` opens a status link to node
NODE_ID (its wire id) through the relay at RELAY (``HOST:PORT``), as
``bazaar node`` does, and prints the node's ``thisisme`` as JSON on
standard output.  Exit status 0 once printed, 1 with the reason on
standard error otherwise.
"""

import sys

from twisted.internet import task

from twisted_bazaar import wire
from twisted_bazaar.base.address import Address
from twisted_bazaar.cli.webview import nodeTransports
from twisted_bazaar.status import client
from twisted_bazaar.status.messages import NodeState, State
from twisted_bazaar.wire.core import splitRelay
from twisted_bazaar.wire.ids import parseWireId

TIMEOUT = 15.0


def main(reactor, relay, node_id):
    heard = []
    checked = client.nodeRefusal

    def keeping(link, hello, dialled=None):
        """The client's own check of the node's thisisme, keeping it."""
        heard.append(hello)
        return checked(link, hello, dialled)

    client.nodeRefusal = keeping
    asked = client.askNode(reactor, Address.tcp(*splitRelay(relay)), State(), NodeState,
                           TIMEOUT, dialled=parseWireId(node_id), relay=relay,
                           transports=nodeTransports(reactor))

    def show(_):
        sys.stdout.write(wire.encode(heard[0]).decode() + "\n")

    def failed(reason):
        sys.stderr.write(f"hellopeer: {reason.getErrorMessage()}\n")
        raise SystemExit(1)

    return asked.addCallbacks(show, failed)


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
