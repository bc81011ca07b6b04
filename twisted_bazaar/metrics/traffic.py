"""
L{Traffic}: what every link of one daemon counts, in plain dicts, for the
metrics.  A link calls it once per message, so each call is a couple of
dict updates; L{TrafficCollector} turns the dicts into Prometheus samples
at scrape time.
"""

from prometheus_client.core import CounterMetricFamily

def _framed(n):
    """A payload of n bytes as a netstring: its length's digits, a colon,
    the payload and a comma."""
    return n + len(str(n)) + 2


class Traffic:
    """
    Message counts of every link sharing one L{LinkSettings}.

    @ivar received: message type -> messages received (decoded).
    @ivar received_bytes: message type -> bytes of those, framing included.
    @ivar sent: message type -> messages sent.
    @ivar sent_bytes: message type -> bytes of those, framing included.
    @ivar dropped: (reason, message type) -> messages dropped.
    @ivar errors: error code -> protocol errors by peers.
    """

    def __init__(self):
        self.received = {}
        self.received_bytes = {}
        self.sent = {}
        self.sent_bytes = {}
        self.dropped = {}
        self.errors = {}

    def messageReceived(self, kind, size):
        self.received[kind] = self.received.get(kind, 0) + 1
        self.received_bytes[kind] = self.received_bytes.get(kind, 0) + _framed(size)

    def messageSent(self, kind, size):
        self.sent[kind] = self.sent.get(kind, 0) + 1
        self.sent_bytes[kind] = self.sent_bytes.get(kind, 0) + _framed(size)

    def messageDropped(self, reason, kind):
        """A message not taken or not sent: ``rate`` (over its rate limit),
        ``oversize`` (over the frame limit), ``slow-reader`` (its peer did
        not read), ``share`` (a flood not passed on: over its share of the
        node's forwarding budget)."""
        key = (reason, kind)
        self.dropped[key] = self.dropped.get(key, 0) + 1

    def protocolError(self, code):
        """A peer sent something wrong (an undecodable message, one out of
        turn, ...)."""
        self.errors[code] = self.errors.get(code, 0) + 1


class TrafficCollector:
    """The samples of one L{Traffic}."""

    def __init__(self, traffic):
        self.traffic = traffic

    def collect(self):
        traffic = self.traffic
        families = [
            ("bazaar_messages_received", "Messages received, by type",
             ["type"], traffic.received),
            ("bazaar_received_bytes", "Bytes received (framing included), by "
             "message type", ["type"], traffic.received_bytes),
            ("bazaar_messages_sent", "Messages sent, by type", ["type"],
             traffic.sent),
            ("bazaar_sent_bytes", "Bytes sent (framing included), by message type",
             ["type"], traffic.sent_bytes),
            ("bazaar_messages_dropped", "Messages dropped, by reason and type",
             ["reason", "type"], traffic.dropped),
            ("bazaar_protocol_errors", "Protocol errors by peers, by error code",
             ["code"], traffic.errors),
        ]
        for name, documentation, labels, counts in families:
            family = CounterMetricFamily(name, documentation, labels=labels)
            for key, value in sorted(dict(counts).items()):
                family.add_metric(key if isinstance(key, tuple) else (key,), value)
            yield family
