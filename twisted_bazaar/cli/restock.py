"""
``bazaar restock --data-dir DIR ITEM=N ...``: set (or, with ``--add``,
raise) a running seller's stock, keeping its ledger, over the owner's
control socket in its data dir (L{twisted_bazaar.daemon.control}).  Only
the user who runs the node can open that socket, so only the node's owner
can restock it; nothing goes over the network.
"""

import errno
import fcntl
import json
import os

from twisted.internet import defer
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol

from twisted_bazaar.base.made import heldElsewhere
from twisted_bazaar.daemon.control import MAX_REQUEST, socketPath
from twisted_bazaar.daemon.tracker import TRACKER_KEY_FILE, isTrackersDir
from twisted_bazaar.net.framed import FramedProtocol
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.store.lock import LOCK_NAME


class _Restocker(FramedProtocol):
    """Send one request, take one answer."""

    MAX_LENGTH = MAX_REQUEST

    def __init__(self, request, done):
        self.request = request
        self.done = done

    def connectionMade(self):
        self.sendString(json.dumps(self.request).encode("utf-8"))

    def stringReceived(self, data):
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self._fail("the node's answer is not a JSON object")
        elif "error" in answer:
            self._fail(f"refused: {answer['error']}")
        elif not self.done.called:
            self.done.callback(answer)
        self.transport.loseConnection()

    def brokenFrame(self, reason):
        self._fail(f"the node's answer is no netstring: {reason}")
        self.transport.loseConnection()

    def _fail(self, why):
        if not self.done.called:
            self.done.errback(ClientError(why))

    def connectionLost(self, reason):
        self._fail("the node closed the connection before it answered (was it "
                   "stopping?)")


def nodeRuns(data_dir):
    """Whether a node holds the data dir's lock (L{DataDirLock}), asked
    without taking it: a shared lock cannot be had while a node holds
    its exclusive one; where locks cannot be had, taken as held."""
    return heldElsewhere(os.path.join(data_dir, LOCK_NAME), fcntl.LOCK_SH, unknown=True)


def _unreachable(data_dir, path, reason):
    """Why the control socket could not be opened, in words."""
    code = getattr(reason.value, "osError", None)
    code = getattr(code, "errno", code)
    if code == errno.ECONNREFUSED:
        return (f"no node is running with data dir {data_dir} (its control socket "
                f"{path} is left from a run that ended)")
    if code in (errno.EACCES, errno.EPERM):
        return (f"{path}: permission denied: only the user who runs the node may "
                "restock it")
    return f"cannot reach the node with data dir {data_dir}: {reason.getErrorMessage()}"


def request(reactor, data_dir, stock, add=False, timeout=10.0):
    """
    Ask the node with ``data_dir`` to restock.

    @return: a Deferred firing with {item: units before} once the node has
        the change on disk, or failing with L{ClientError} saying why.
    """
    path = socketPath(data_dir)
    if not os.path.isdir(data_dir):
        return defer.fail(ClientError(f"no data dir {data_dir}"))
    if not os.path.exists(path):
        if nodeRuns(data_dir):
            return defer.fail(ClientError(
                f"the node running with data dir {data_dir} has no control socket "
                f"({path}): its log says why"))
        if isTrackersDir(data_dir):
            return defer.fail(ClientError(
                f"{data_dir} is a tracker's state directory ({TRACKER_KEY_FILE}), not "
                "a node's data dir: restock speaks to a seller run with --data-dir"))
        return defer.fail(ClientError(
            f"no node is running with data dir {data_dir} (no {path}; a node "
            "listens there while it runs with --data-dir)"))
    done = defer.Deferred()
    protocol = _Restocker({"restock": stock, "add": add}, done)
    endpoint = UNIXClientEndpoint(reactor, path, timeout=max(1, int(timeout)))
    connecting = connectProtocol(endpoint, protocol)
    connecting.addErrback(lambda reason: done.called or done.errback(
        ClientError(_unreachable(data_dir, path, reason))))
    timer = reactor.callLater(timeout, lambda: done.called or done.errback(
        ClientError(f"the node with data dir {data_dir} did not answer within "
                    f"{timeout:g} s")))

    def finished(result):
        if timer.active():
            timer.cancel()
        if protocol.transport is not None:
            protocol.transport.loseConnection()
        connecting.cancel()
        return result

    return done.addBoth(finished).addCallback(lambda answer: answer["was"])


def restock(reactor, args):
    """``bazaar restock``: the answer as the command's object."""
    stock = dict(args.stock)
    d = request(reactor, args.data_dir, stock, args.add, args.timeout)
    return d.addCallback(restockObject, stock, args.add)


def restockObject(was, stock, add):
    now = {item: was.get(item, 0) + units if add else units
           for item, units in stock.items()}
    return {"stock": now, "was": {item: was.get(item, 0) for item in stock}}


def renderRestock(obj):
    changes = ", ".join(f"{item}={units} (was {obj['was'][item]})"
                        for item, units in sorted(obj["stock"].items()))
    return f"restocked {changes}; the ledger is kept"
