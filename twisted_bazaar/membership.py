"""
A node's side of the tracker: registering, and keeping enough neighbours.

:class:`Membership` owns the node's link to the tracker.  The connection
itself is kept up by a ClientService (see :mod:`twisted_bazaar.service`);
each time it comes up the node says thisisme with the id it already has,
so a restarted tracker gives it back.  Whenever the node has fewer links
than it wants, it asks the tracker for peers, backing off while the
tracker has nobody new to offer.
"""

from collections import deque

from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.link import Link

#: First and largest pause between asks when the tracker has no new peer.
RETRY_MIN = 1.0
RETRY_MAX = 60.0
TRACKER = "tracker"


class Membership:
    """The node's tracker session and neighbour upkeep."""

    log = Logger()

    def __init__(self, node):
        self.node = node
        self.clock = node.clock
        self.link = None
        self.factory = _TrackerClientFactory(self)
        self._asking = False
        self._retry_delay = RETRY_MIN
        self._retry_call = None
        #: Questions sent to the tracker and not yet answered, oldest first.
        self._questions = deque()
        node.membership = self
        node.addObserver(self)

    @property
    def wanted(self):
        config = self.node.config
        return min(config.neighbours, config.max_connections)

    # -- the tracker link --------------------------------------------------

    def linkMade(self, link):
        self.link = link
        self._asking = False
        self._questions = deque()
        node = self.node
        if not node.host:
            local = link.transport.getHost()
            node.host = getattr(local, "host", "") or ""
        # Only an explicit --host is advertised; without one the tracker
        # records the address it sees this connection come from.
        link.send(wire.ThisIsMe(-1 if node.id is None else node.id, node.port,
                                node.config.host))

    def linkLost(self, link, reason):
        if self.link is link:
            self.link = None
            questions, self._questions = self._questions, deque()
            for question in questions:
                if isinstance(question, defer.Deferred):
                    question.callback(None)
            if not self.node.stopping:
                self.log.info("lost the tracker: {why}", why=reason.getErrorMessage())

    def messageReceived(self, link, message):
        kind = type(message)
        if kind is wire.ThisIsYou and link.peer_id is None:
            link.identified(TRACKER)
            self.node.setId(message.id)
            self.log.info("registered with the tracker as node {id}", id=message.id)
            self.node.notify("trackerRegistered")
            self.seekNeighbours()
        elif kind is wire.NodeReply and link.peer_id is not None:
            # The tracker answers in order: the oldest question gets it.
            question = self._questions.popleft() if self._questions else None
            if isinstance(question, defer.Deferred):
                question.callback((message.host, message.port) if message.port
                                  else None)
            else:
                self._introduced(message)
        elif kind is wire.Error:
            self.log.info("tracker says {code}: {info}", code=message.code,
                          info=message.info)
        elif kind is wire.Dc:
            link.close("tracker said dc")
        elif link.peer_id is not None and self._forDiscovery(message):
            pass
        else:
            link.protocolError("wtf", f"a node does not expect {message.TYPE} "
                               "from the tracker")

    def _forDiscovery(self, message):
        """Hand the tracker's answers for the discovery scheme to it."""
        discovery = self.node.discovery
        handler = getattr(discovery, "trackerMessage", None)
        return handler is not None and type(message) in discovery.messages and \
            handler(message)

    @property
    def registered(self):
        """True while the tracker link is up and has said thisisyou."""
        return self.link is not None and self.link.peer_id is not None

    def sendToTracker(self, message):
        """Send to the tracker if registered; False if there is no tracker."""
        if not self.registered:
            return False
        self.link.send(message)
        return True

    # -- neighbours -------------------------------------------------------------

    def seekNeighbours(self):
        """
        Ask the tracker for one more peer if the node lacks any.  One
        question at a time: each answer's outcome asks the next, so the
        tracker always knows whom the node is already linked to.
        """
        node = self.node
        if self._asking or self.link is None or self.link.peer_id is None:
            return
        if node.stopping or node.linkCount() >= self.wanted:
            return
        self._asking = True
        self._questions.append("nodereq")
        self.link.send(wire.NodeReq(tuple(list(node.links)[: wire.MAX_EXCLUDE])))

    def whereIs(self, node_id):
        """
        Ask the tracker where a node is now (it may have restarted on
        another port).

        @return: a Deferred firing with (host, port), or None when the
            tracker does not know the node or cannot be asked.
        """
        if not self.registered:
            return defer.succeed(None)
        answer = defer.Deferred()
        self._questions.append(answer)
        self.link.send(wire.WhereIs(node_id))
        return answer

    def _introduced(self, reply):
        self._asking = False
        node = self.node
        if reply.id < 0 or reply.id == node.id or reply.id in node.links:
            self._retryLater()
            return
        d = node.connectTo(reply.host, reply.port, reply.id)
        d.addCallbacks(self._connected, self._failed, errbackArgs=(reply,))

    def _connected(self, peer_id):
        self._retry_delay = RETRY_MIN
        self.seekNeighbours()

    def _failed(self, reason, reply):
        self.log.info("could not link to node {id} at {host}:{port}: {why}",
                      id=reply.id, host=reply.host, port=reply.port,
                      why=reason.getErrorMessage())
        self._retryLater()

    def _retryLater(self):
        """Ask again later, with exponential backoff and jitter."""
        if self._retry_call is not None or self.node.stopping:
            return
        delay = self._retry_delay * (0.5 + self.node.rng.random())
        self._retry_delay = min(self._retry_delay * 2, RETRY_MAX)
        self._retry_call = self.clock.callLater(delay, self._retry)

    def _retry(self):
        self._retry_call = None
        self.seekNeighbours()

    # -- node events --------------------------------------------------------------

    def linkRemoved(self, peer_id):
        self.seekNeighbours()

    def nodeStopping(self):
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
        self._retry_call = None
        if self.link is not None:
            self.link.disconnect("node shutting down")


class _TrackerClientFactory(Factory):
    """What the ClientService uses to build each tracker connection."""

    noisy = False

    def __init__(self, membership):
        self.membership = membership

    def buildProtocol(self, addr):
        node = self.membership.node
        return Link(self.membership, node.clock, node.config.link, inbound=False)
