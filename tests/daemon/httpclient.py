"""
One HTTP request to a twisted.web Site over a fake connection, its head
written as the test gives it (two Host headers, none, one a browser would
never send): what each of a daemon's HTTP ports answers.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport


def ask(site, path=b"/", hosts=(b"127.0.0.1:9100",), headers=(), method=b"GET",
        version=b"HTTP/1.1"):
    """Send ``method path version``, a ``Host`` line for each of hosts and
    the other headers, from 127.0.0.1: (status, headers as a dict of
    lower-case names to lists of values, body)."""
    address = IPv4Address("TCP", "127.0.0.1", 40000)
    channel = site.buildProtocol(address)
    transport = StringTransport(peerAddress=address)
    channel.makeConnection(transport)
    lines = [method + b" " + path + b" " + version]
    lines += [b"Host: " + host for host in hosts]
    lines += [name + b": " + value for name, value in headers]
    channel.dataReceived(b"\r\n".join(lines) + b"\r\n\r\n")
    head, _, body = transport.value().partition(b"\r\n\r\n")
    status, *rows = head.split(b"\r\n")
    found = {}
    for row in rows:
        name, _, value = row.partition(b": ")
        found.setdefault(name.lower(), []).append(value)
    channel.connectionLost(None)
    return int(status.split()[1]), found, body
