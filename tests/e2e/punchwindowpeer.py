"""
The process of the live punch window test (tests/e2e/test_punch_window_live.py),
run as ``python punchwindowpeer.py HOST WINDOW SECONDS``: a node's side of
UDP punches (L{twisted_bazaar.reach.punch.udp.plan.UdpPunch}) to HOST, where
nobody answers, in turn the hard side of a birthday plan (256 sockets,
rounds at 0, 1, 2 and 4 s) and the easy side (1,024 probes over 1.5 s),
on real UDP sockets and the reactor's clock, within the node's probe
budget (L{twisted_bazaar.reach.punch.budgets.probes.ProbeBudget}) over a
window of WINDOW seconds (the daemon's is 60: shorter, so that the test
takes seconds).  Each punch refused is asked again when the budget says
it would pass (L{ProbeBudget.wait}, as the node's retries ask), and a
new one is asked as soon as one starts: the budget is kept full for
SECONDS.  Each punch started is said on standard output (``started``).
"""

import random
import sys

from twisted.internet import reactor
from twisted.internet.protocol import DatagramProtocol

from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.budgets.probes import ProbeBudget
from twisted_bazaar.reach.punch.udp.run import write


#: The sockets of a hard side's punch (L{udppunch.plan}'s).
SOCKETS = 256


def say(text):
    print(text, flush=True)


def main(host, window, seconds):
    budget = ProbeBudget(reactor, window=window)
    endpoints = [DatagramProtocol() for _ in range(SOCKETS)]
    for endpoint in endpoints:
        reactor.listenUDP(0, endpoint, interface="127.0.0.1")
    rng = random.Random(7)
    nonces = iter(range(1, 10**6))
    # The two sides' mappings, as a tracker saw them: this node's, a
    # router's that draws a port for each flow (the hard side), or one
    # that keeps it (the easy side), and the peer's the other.
    hard, easy = (udppunch.mappingOf("127.0.0.1", 5000, 40000),
                  udppunch.mappingOf(host, 6000))
    sides = [(hard, easy), (udppunch.mappingOf("127.0.0.1", 6000),
                            udppunch.mappingOf(host, 5000, 40000))]

    def punch(turn):
        mine, peer = sides[turn % 2]
        plan = udppunch.plan(mine, peer, rng)
        attempt = udppunch.UdpPunch(
            reactor, plan, next(nonces),
            lambda socket, to, port, data, ttl=0: write(endpoints[socket], data, to,
                                                        port, ttl),
            budget=budget)
        refusal = []
        attempt.start().addErrback(ended, refusal)
        if refusal:
            reactor.callLater(budget.wait(host, plan.sends), punch, turn)
        else:
            say(f"started {plan.strategy} at {reactor.seconds():.6f}")
            reactor.callLater(0, punch, turn + 1)

    def ended(reason, refusal):
        if reason.check(udppunch.BudgetRefused):
            refusal.append(reason)
        elif not reason.check(udppunch.Missed):
            say(f"failed: {reason.getErrorMessage()}")

    reactor.callWhenRunning(punch, 0)
    reactor.callLater(seconds, reactor.stop)
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))
