"""
The HTTP requests UPnP makes of the router (its description, its SOAP
actions), through Twisted's Agent, each answer's body read up to a bound:
a router that sends more is cut off, and the request fails saying so.
"""

from io import BytesIO

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.web.client import (
    Agent,
    FileBodyProducer,
    HTTPConnectionPool,
    ResponseDone,
    _HTTP11ClientFactory,
)
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers

from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed
from twisted_bazaar.reach.reachable.portmap.upnp import LARGEST_BODY


class BoundedBody(Protocol):
    """Collects a response's body up to ``limit`` bytes into ``deferred``;
    past it, stops the transfer and fails."""

    def __init__(self, status, limit=LARGEST_BODY):
        self.status = status
        self.limit = limit
        self.parts = []
        self.size = 0
        self.deferred = defer.Deferred()

    def dataReceived(self, data):
        if self.deferred.called:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.deferred.errback(MappingFailed(
                f"UPnP: the router's answer is over {self.limit} bytes; cut off"))
            self.transport.stopProducing()
            return
        self.parts.append(data)

    def connectionLost(self, reason):
        if self.deferred.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.deferred.callback((self.status, b"".join(self.parts)))
        else:
            self.deferred.errback(MappingFailed(
                f"UPnP: the router's answer broke off: {reason.getErrorMessage()}"))


class _QuietFactory(_HTTP11ClientFactory):
    """The Agent's connection factory, without its two log lines a
    request ("Starting factory", "Stopping factory")."""

    noisy = False


def requester(reactor, limit=LARGEST_BODY):
    """The ``http`` function L{twisted_bazaar.reach.reachable.portmap.upnp.UPnP}
    takes, through an Agent on reactor (a connection a request, closed
    after it)."""
    pool = HTTPConnectionPool(reactor, persistent=False)
    pool._factory = _QuietFactory
    agent = Agent(reactor, pool=pool)

    def request(method, url, headers, body):
        producer = None if body is None else FileBodyProducer(BytesIO(body))
        d = agent.request(method, url.encode("ascii", "replace"),
                          Headers({b"Connection": [b"close"], **headers}), producer)

        def read(response):
            collector = BoundedBody(response.code, limit)
            response.deliverBody(collector)
            return collector.deferred

        def failed(reason):
            reason.trap(Exception)
            if reason.check(MappingFailed, defer.CancelledError):
                return reason
            raise MappingFailed(f"UPnP: HTTP to the router failed: "
                                f"{reason.getErrorMessage() or reason.type.__name__}")
        return d.addCallback(read).addErrback(failed)
    return request
