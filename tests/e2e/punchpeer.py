"""
The processes of the live hole-punch test (tests/e2e/test_punch_live.py),
run as ``python punchpeer.py rendezvous PORT OPENER_HOST`` on the public net and
``python punchpeer.py peer ...`` at each home.

The rendezvous stands in for a relay: it takes two connections, tells
each where it saw that connection come from (as the tracker's ``reach``
does), where it saw the other's, and whether it opens the channel
between them (the one from the host it was given does), and then
carries bytes between them.
The peers run the encrypted channel end to end over it, each expecting
the other's key, and on it a link that carries the punch messages to a
L{twisted_bazaar.reach.punch.tcp.exchange.Puncher}.  The initiator punches; a
direct connection, once punched, carries a greeting each way through its
own channel.  Every line goes to standard output; a peer's exit status
is 0 once it read the other's greeting on the direct connection, 3 if
the punch failed, 4 if nothing came of it before its deadline.
"""

import json
import random
import sys
import time

from twisted.internet import endpoints, task
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger, globalLogBeginner, textFileLogObserver
from twisted.protocols.basic import NetstringReceiver

from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.handshake import channelKey
from twisted_bazaar.reach.punch.tcp.exchange import Puncher
from twisted_bazaar.transports.tcp.fromport import PunchDialer, ProvingProtocol
from twisted_bazaar.transports.tcp.transport import TcpTransport
from twisted_bazaar.reach.punch.tcp.mapping import mappingOf

log = Logger()


def say(text):
    print(text, flush=True)


# -- the rendezvous -----------------------------------------------------------------


class Spliced(Protocol):
    """One of the rendezvous's two connections."""

    def connectionMade(self):
        self.other = None
        self.factory.joined(self)

    def dataReceived(self, data):
        if self.other is not None:
            self.other.transport.write(data)

    def connectionLost(self, reason):
        if self.other is not None:
            self.other.transport.loseConnection()
        self.factory.left()


class Rendezvous(Factory):
    protocol = Spliced
    noisy = False

    def __init__(self, done, opener_host):
        self.ends = []
        self.done = done
        self.opener_host = opener_host

    def joined(self, end):
        self.ends.append(end)
        if len(self.ends) < 2:
            return
        first, second = self.ends
        first.other, second.other = second, first
        for end in (first, second):
            seen, other = end.transport.getPeer(), end.other.transport.getPeer()
            end.transport.write(json.dumps({
                "seenHost": seen.host, "seenPort": seen.port, "peerHost": other.host,
                "opener": seen.host == self.opener_host}).encode() + b"\n")
        say(f"rendezvous: spliced {first.transport.getPeer()} and "
            f"{second.transport.getPeer()}")

    def left(self):
        if not self.done.called:
            self.done.callback(None)


def rendezvous(reactor, port, opener_host):
    done = Deferred()
    endpoint = endpoints.TCP4ServerEndpoint(reactor, int(port))
    endpoint.listen(Rendezvous(done, opener_host)).addCallback(
        lambda listening: say(f"rendezvous listening on {listening.getHost().port}"))
    return done


# -- a peer --------------------------------------------------------------------------


class PipeLink(NetstringReceiver):
    """The link the punch is coordinated over: punch messages to the
    puncher, through the channel run over the rendezvous."""

    #: The peer's node id, as a node's link knows it (the puncher tells
    #: its answers' ends by it): none here, where nobody listens.
    peer_id = None

    def __init__(self, peer, inbound):
        self.peer = peer
        self.inbound = inbound

    @property
    def key(self):
        return channelKey(self.transport)

    def send(self, message):
        self.sendString(wire.encode(message))

    def peerLine(self, level, format, logger=None, **fields):
        (logger or log).emit(level, format, peer="the peer", **fields)

    def stringReceived(self, data):
        message = wire.decode(data)
        puncher = self.peer.puncher
        take = puncher.takes.get(type(message))
        if take is not None:
            take(puncher, self, message)
        elif isinstance(message, wire.Error):
            say(f"peer says {message.code}: {message.info}")
            self.peer.puncher.refused(self, message)

    def connectionLost(self, reason):
        self.peer.puncher.linkLost(self)
        self.peer.finish(4, "the link through the rendezvous closed")


class Greeting(Protocol):
    """The protocol of the punched connection: greet, and read the
    other's greeting."""

    def __init__(self, peer):
        self.peer = peer

    def connectionMade(self):
        self.transport.write(f"hello from {self.peer.name}\n".encode())

    def dataReceived(self, data):
        here, there = self.transport.getHost(), self.transport.getPeer()
        say(f"direct: read {data.decode().strip()!r} from {there.host}:{there.port} "
            f"at local port {here.port}")
        self.peer.finish(0, "punched")


class Hook:
    """Tells a callable once what a L{ProvingProtocol} settles with."""

    def __init__(self, callback):
        self.callback = callback

    def settle(self, result):
        callback, self.callback = self.callback, None
        if callback is not None:
            callback(result)


class Splitter(Protocol):
    """The rendezvous's line first, then the channel and the link."""

    def __init__(self, peer):
        self.peer = peer
        self.buffer = b""
        self.channel = None

    def dataReceived(self, data):
        if self.channel is not None:
            self.channel.dataReceived(data)
            return
        self.buffer += data
        line, newline, rest = self.buffer.partition(b"\n")
        if not newline:
            return
        told = json.loads(line)
        peer = self.peer
        local = self.transport.getHost().port
        peer.peerHost = told["peerHost"]
        say(f"seen from {told['seenHost']}:{told['seenPort']} (sent from local port "
            f"{local}); the peer seen from {told['peerHost']}")
        peer.puncher.setMapping(mappingOf(told["seenHost"], told["seenPort"], local))
        peer.link = PipeLink(peer, inbound=not told["opener"])
        self.channel = ProvingProtocol(peer.link, peer.channel, told["opener"],
                                       peer.reactor, 10.0, None, peer.expected)
        self.channel.factory = Hook(peer.linked)
        self.channel.makeConnection(self.transport)
        if rest:
            self.channel.dataReceived(rest)

    def connectionLost(self, reason):
        if self.channel is not None:
            self.channel.connectionLost(reason)


def _dialFound(transport):
    """No node here: a TCP transport that dials from a port by the daemon's
    PunchDialer stands in for a node's dialer, which dials the path a punch
    announces so (Sources.found, the option fromPort)."""
    return lambda found: transport.dial(found.path, found.key, found.protocol,
                                        found.options)


class Peer:
    def __init__(self, reactor, name, seed, peer_seed, initiator):
        self.reactor = reactor
        self.name = name
        identity = Identity.fromRandom(random.Random(seed))
        self.channel = ChannelKey.generate(identity)
        self.expected = decode(Identity.fromRandom(random.Random(peer_seed)).key)
        self.initiator = initiator
        self.done = Deferred()
        self.status = None
        self.link = None
        self.peerHost = None
        self.started = None
        found = _dialFound(TcpTransport(None, PunchDialer(
            reactor, self.channel, PeerLog(reactor))))
        self.puncher = Puncher(reactor, random.Random(), found,
                               lambda link: Greeting(self), lambda link: self.peerHost)

    def linked(self, result):
        if result is not self.link:
            return
        say("linked to the peer through the rendezvous")
        if self.initiator:
            self.started = time.monotonic()
            self.puncher.punch(self.link, self.peerHost).addCallbacks(
                self.punched, self.failed)

    def punched(self, protocol):
        say(f"punch done in {time.monotonic() - self.started:.3f} s")

    def failed(self, failure):
        say(f"no punch: {failure.getErrorMessage()}")
        self.finish(3, "no punch")

    def finish(self, status, why):
        if self.status is None:
            self.status = status
            say(f"ending ({status}): {why}")
            # The last greeting goes out before the reactor stops.
            self.reactor.callLater(0.5, self.done.callback, None)


def peer(reactor, name, rendezvous_at, seed, peer_seed, initiator, deadline):
    host, port = rendezvous_at.rsplit(":", 1)
    me = Peer(reactor, name, int(seed), int(peer_seed), initiator == "initiator")
    timer = reactor.callLater(float(deadline), me.finish, 4, "deadline")
    endpoint = endpoints.TCP4ClientEndpoint(reactor, host, int(port), timeout=10)
    endpoint.connect(Factory.forProtocol(lambda: Splitter(me))).addErrback(
        lambda failure: me.finish(4, f"no rendezvous: {failure.getErrorMessage()}"))

    def end(_):
        if timer.active():
            timer.cancel()
        sys.exit(me.status)

    return me.done.addCallback(end)


def main(reactor, kind, *args):
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)],
                                     redirectStandardIO=False)
    return {"rendezvous": rendezvous, "peer": peer}[kind](reactor, *args)


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
