"""
``/api/events``: the web view's Server-Sent Events, and what each costs
the tracker.

Each event carries the whole picture (the market, or with ``?node=ID``
that node), so a page that missed one loses nothing; that is what bounds
a stream's unsent bytes.  A picture the same as the last one sent is not
sent again: a stream carries changes only.  An id that is none answers
400, and one no node the view saw has 404, as JSON, before any stream; a
HEAD is answered as a GET would be, but opens none.  A stream is its connection's push producer: once
the connection's send buffer is full (the browser does not read), no
event is written, only noted as due, and the latest picture goes when the
buffer drains; so a stream holds at most the transport's buffer and one
event unsent.  A stream that has not drained for L{STALL} seconds while
an event is due does not read: it is dropped.

Streams are charged to the viewer's address group in an
L{twisted_bazaar.net.account.Account}: L{MAX_STREAMS} in all, at most
L{GROUP_STREAMS} from one group, shared max-min fairly (a newcomer group
takes the place of the newest stream of the group holding the most), and
a stream that does not read gives way first to any viewer of its group.
"""

from twisted.internet.interfaces import IPushProducer
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.account import Account
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.web.answers import JSONError, jsonBody, nodeId, nodePage, shownJSON

#: Most event streams open at once, and from one address group; past
#: them a viewer is answered 503.
MAX_STREAMS = 64
GROUP_STREAMS = 16
STREAMS_LIMIT = declare(
    "web.streams", MAX_STREAMS, "streams",
    "event streams open to viewers of the web view", group=GROUP_STREAMS,
    owner=__name__)
#: Seconds a stream may leave its events unread (its send buffer full)
#: before it is dropped.
STALL = 30.0


@implementer(IPushProducer)
class _Stream:
    """
    One open stream: writes an event when one is due and its connection
    takes bytes, notes it otherwise.

    @ivar stalled: since when the send buffer has been full (None: it
        drains).
    @ivar due: an event waits for the buffer to drain.
    """

    def __init__(self, request, name, data, clock):
        self.request = request
        self.name = name
        self.data = data
        self.clock = clock
        self.stalled = None
        self.due = False
        self.dropped = False
        #: The last picture sent: one the same as it is not sent again.
        self.sent = None

    def publish(self):
        """The picture changed: send it, or note it due."""
        if self.dropped:
            return
        if self.stalled is None:
            self._write()
            return
        self.due = True
        if self.clock.seconds() - self.stalled >= STALL:
            self.drop()

    def _write(self):
        self.due = False
        payload = shownJSON(self.data())
        if payload == self.sent:
            return
        self.sent = payload
        self.request.write(f"event: {self.name}\ndata: {payload}\n\n".encode("utf-8"))

    def drop(self):
        """Close the connection at once, whatever it has unsent."""
        if not self.dropped:
            self.dropped = True
            channel = self.request.channel
            if channel is not None and channel.transport is not None:
                channel.transport.abortConnection()

    def pauseProducing(self):
        if self.stalled is None:
            self.stalled = self.clock.seconds()

    def resumeProducing(self):
        self.stalled = None
        if self.due and not self.dropped:
            self._write()

    def stopProducing(self):
        self.dropped = True


def _streamHeaders(request):
    """An event stream's headers.  ``X-Accel-Buffering: no`` has a
    reverse proxy in front of the view (nginx, whose default buffers an
    answer until 4 or 8 KiB have come) pass each event on as it comes: a
    stream so buffered showed a page nothing for minutes."""
    request.setHeader(b"content-type", b"text/event-stream")
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"x-accel-buffering", b"no")


class EventStream(Resource):
    """
    ``/api/events``: Server-Sent Events, one at once and then one each
    time the view publishes a change, charged to the viewer's address
    group (L{streams}).
    """

    isLeaf = True

    def __init__(self, view, limit=MAX_STREAMS, group_limit=GROUP_STREAMS, streams=None):
        """
        @param streams: the L{Account} of streams, where it is shared with
            another view's (the operator's and the public one: one
            bound); None: one of its own, of ``limit`` and ``group_limit``.
        """
        super().__init__()
        self.view = view
        #: The open streams (L{_Stream}), by the viewers' address groups.
        self.streams = (Account.of(STREAMS_LIMIT, limit, group_limit) if streams is None
                        else streams)

    def _followed(self, request):
        """The event's name and the function drawing its picture, or the
        L{JSONError} that says why the request names nothing to follow."""
        if any(request.postpath):
            return JSONError(404, "the web view's API has no such path")
        if b"node" not in request.args:
            return "market", self.view.snapshot
        text = request.args[b"node"][0]
        found = nodePage(self.view, text)
        if isinstance(found, JSONError):
            return found
        node_id = nodeId(text)
        return "node", lambda: self.view.node(node_id)

    def render_HEAD(self, request):
        """What a GET would answer, without its body: no stream is opened,
        since none would be read."""
        followed = self._followed(request)
        if isinstance(followed, JSONError):
            return followed.render(request)
        _streamHeaders(request)
        return b""

    def render_GET(self, request):
        followed = self._followed(request)
        if isinstance(followed, JSONError):
            return followed.render(request)
        name, data = followed
        address = request.getClientAddress()
        group = addressGroup(getattr(address, "host", None) or "")
        victims = self._makeRoom(group)
        if victims is None:
            request.setResponseCode(503)
            return jsonBody(request, {"error": "too many event streams: "
                                   + self.streams.refusal(group, "streams")})
        _streamHeaders(request)
        stream = _Stream(request, name, data, self.view.clock)
        for victim in victims:
            self.streams.release(victim)
            victim.drop()
        self.streams.hold(stream, group)
        unsubscribe = self.view.subscribe(stream.publish)

        def ended(_):
            self.streams.release(stream)
            unsubscribe()

        request.notifyFinish().addBoth(ended)
        request.registerProducer(stream, True)
        stream.publish()
        return NOT_DONE_YET

    def _makeRoom(self, group):
        """The streams to drop for one more of group: those the account
        names, or else the stream that has not read for the longest (of
        group, if group holds its most); None if there is no room."""
        victims = self.streams.makeRoom(group)
        if victims is not None:
            return victims
        streams = self.streams
        if streams.group_limit is not None and streams.held(group) >= streams.group_limit:
            candidates = streams.holders(group)
        else:
            candidates = list(streams)
        stalled = [stream for stream in candidates if stream.stalled is not None]
        if not stalled:
            return None
        return [min(stalled, key=lambda stream: stream.stalled)]
