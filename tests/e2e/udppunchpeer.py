"""
The processes of the live UDP punch test (tests/e2e/test_udppunch_live.py),
run as ``python udppunchpeer.py rendezvous PORT`` on the public net and
``python udppunchpeer.py peer NAME HOST PORT`` at each home.

The rendezvous stands in for the tracker's UDP reach check and punch
(whose messages tests/tracker/test_udpreach.py covers): it takes on PORT
and PORT+1 one datagram from each of two peers' first socket, and once
it has all four, sends each peer, from PORT, where it saw its own and the
other's datagrams come from and a nonce, as JSON (``rendezvous PORT
LATE``: peer b's word LATE seconds after a's, as a tracker's go that
reaches one home later).  Each peer then plans
its punch (L{twisted_bazaar.reach.punch.udp.plan.plan}) and runs it on
real UDP sockets (L{UdpPunch}), on the reactor's clock (``peer NAME HOST
PORT full-ttl``: every probe at the sockets' own TTL, as the punch sent
them before issue 94; ``patient``: a patient plan, which outlasts the
entries a router keeps for what came unasked; ``unasked=S``: the
routers keep those entries S seconds, not Linux's default, and a patient
plan waits for that; ``again=S``: a punch that
missed is asked again S seconds later, patient, from the same socket, as
a node asks its tracker again; ``sound``: the plan is sounded,
L{twisted_bazaar.reach.punch.udp.sounding}, and follows its patient
plan once the sounding is answered from the peer's host; no word passes
between the peers here, so a waiting side tries L{WORD
<twisted_bazaar.reach.punch.udp.plan.WORD>} s after its answer).  Every line goes
to standard output; a peer's exit status is 0 once its punch met (it
heard the other and the other heard it), 3 if the punch failed, 4 if no
word came from the rendezvous before its deadline.
"""

import json
import random
import sys
import time
from types import SimpleNamespace

import attr

from twisted.internet import reactor
from twisted.internet.protocol import DatagramProtocol

from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.udp.run import write
from twisted_bazaar.reach.punch.udp.sounding import Sounding

#: Seconds a peer waits for everything, from its start (a patient plan's
#: wait on top).
DEADLINE = 30.0


def say(text):
    print(text, flush=True)


class Rendezvous(DatagramProtocol):
    """One of the rendezvous's two ports; both share ``seen``."""

    def __init__(self, index, seen, ports, late):
        self.index = index
        self.seen = seen
        self.ports = ports
        self.late = late

    def datagramReceived(self, data, address):
        name = data.decode("ascii", "replace")
        self.seen.setdefault(name, [None, None])[self.index] = address
        if len(self.seen) == 2 and all(all(both) for both in self.seen.values()):
            self.go()

    def go(self):
        (a, seen_a), (b, seen_b) = sorted(self.seen.items())
        nonce = random.randrange(1, 2**62)
        for seen, other, late in ((seen_a, seen_b, 0), (seen_b, seen_a, self.late)):
            word = {"mine": [seen[0][0], seen[0][1], seen[1][1]],
                    "peer": [other[0][0], other[0][1], other[1][1]], "nonce": nonce}
            reactor.callLater(late, self.tell, word, seen[0])
        self.seen.clear()

    def tell(self, word, address):
        self.ports[0].write(json.dumps(word).encode(), address)
        say(f"told {address}: {word}")


def rendezvous(port, late=0.0):
    seen, ports = {}, []
    for index in range(2):
        ports.append(reactor.listenUDP(port + index, Rendezvous(index, seen, ports, late)))
    say(f"rendezvous listening on {port} and {port + 1}")
    reactor.run()


class Socket(DatagramProtocol):
    """One of a peer's sockets: the first also hears the rendezvous."""

    def __init__(self, peer, index):
        self.peer = peer
        self.index = index

    def datagramReceived(self, data, address):
        if self.index == 0 and address == self.peer.rendezvous:
            self.peer.told(json.loads(data))
        elif self.peer.punch is not None:
            self.peer.punch.datagramReceived(self.index, address[0], address[1], data)


class Peer:
    def __init__(self, name, host, port, fullTtl=False, patient=False, again=None,
                 unasked=udppunch.UNASKED, sound=False):
        self.name = name
        self.sound = sound
        self.sounding = None
        self.fullTtl = fullTtl
        self.patient = patient
        self.again = again
        self.unasked = unasked
        self.rendezvous = (host, port)
        self.punch = None
        self.started = time.monotonic()
        #: When the rendezvous's word came (the punch's go).
        self.toldAt = None
        self.status = 4
        self.sockets = [reactor.listenUDP(0, Socket(self, 0))]
        self.ask()
        waits = udppunch.outlast(unasked) if patient else 0
        if again is not None:
            waits = udppunch.TIMEOUT + again + udppunch.outlast(unasked)
        if sound:
            waits = udppunch.SOUND + udppunch.outlast(unasked)
        reactor.callLater(DEADLINE + waits, self.end)

    def ask(self):
        """Tell the rendezvous where this peer is, from its first socket."""
        for index in range(2):
            self.sockets[0].write(self.name.encode(),
                                  (self.rendezvous[0], self.rendezvous[1] + index))

    def told(self, word):
        if self.punch is not None:
            return
        self.toldAt = time.monotonic()
        mine = udppunch.mappingOf(*word["mine"])
        peer = udppunch.mappingOf(*word["peer"])
        plan = udppunch.plan(mine, peer, random.Random(), patient=self.patient,
                             unasked=self.unasked, sound=self.sound)
        if self.fullTtl:
            plan = attr.evolve(plan, probes=tuple(attr.evolve(probe, ttl=0)
                                                  for probe in plan.probes))
        say(f"{self.name}: mine {mine.kind} {word['mine']}, peer {peer.kind} "
            f"{word['peer']}: {plan.strategy}, {len(plan.probes)} probes from "
            f"{plan.sockets} sockets")
        while len(self.sockets) < plan.sockets:
            self.sockets.append(reactor.listenUDP(0, Socket(self, len(self.sockets))))

        def send(socket, host, port, data, ttl=0):
            write(SimpleNamespace(transport=self.sockets[socket]), data, host, port, ttl)

        self.punch = udppunch.UdpPunch(reactor, plan, word["nonce"], send,
                                       sound=self.sounded)
        self.punch.start().addCallbacks(self.met, self.failed)

    def sounded(self, host, port, data):
        """Send the plan's sounding; answered from the peer's host, the
        punch follows its patient plan."""
        self.sounding = Sounding(reactor, host, port, data, self.near)
        why = self.sounding.start()
        if why:
            say(f"{self.name}: {why}")

    def near(self):
        answer = self.sounding.answer
        if self.punch.nearPeer():
            say(f"{self.name}: near: ICMP {answer.type}/{answer.code} from "
                f"{answer.offender} in {time.monotonic() - self.toldAt:.2f} s: "
                f"{self.punch.plan.strategy}")

    def met(self, met):
        say(f"{self.name}: met {met.host}:{met.port} from socket {met.socket} in "
            f"{time.monotonic() - self.started:.2f} s")
        self.status = 0
        # The other side may still want this side's ack: a moment more.
        reactor.callLater(1.0, self.end)

    def failed(self, failure):
        say(f"{self.name}: failed: {failure.getErrorMessage()}")
        self.status = 3
        if self.again is not None and not self.patient:
            # Asked again, patient, with the first socket alone.
            self.punch.stop()
            self.punch, self.patient = None, True
            for extra in self.sockets[1:]:
                extra.stopListening()
            del self.sockets[1:]
            reactor.callLater(self.again, self.ask)
            return
        self.end()

    def end(self):
        if self.punch is not None:
            self.punch.stop()
        if self.sounding is not None:
            self.sounding.stop()
        if reactor.running:
            reactor.stop()


def main(argv):
    if argv[1] == "rendezvous":
        rendezvous(int(argv[2]), float(argv[3]) if len(argv) > 3 else 0.0)
        return 0
    flags = set(argv[5:])
    valued = dict(flag.split("=", 1) for flag in flags if "=" in flag)
    peer = Peer(argv[2], argv[3], int(argv[4]), "full-ttl" in flags, "patient" in flags,
                float(valued["again"]) if "again" in valued else None,
                float(valued.get("unasked", udppunch.UNASKED)), "sound" in flags)
    reactor.run()
    return peer.status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
