"""
The channel's test vectors in docs/protocol.md §2.1, reproduced by this
suite's own implementation (tests/contract/channel.py), opener and
acceptor, byte for byte.  No daemon is needed.
"""

import os
import re
import socket
import threading

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .channel import accept_channel, open_channel

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "protocol.md")


def vectors():
    """name -> hex, from the test vectors' code blocks of §2.1."""
    text = open(DOC, encoding="utf-8").read()
    section = text[text.index("**Test vectors.**"):text.index("### 2.2")]
    blocks = re.findall(r"```\n(.*?)```", section, re.S)
    keyed, keyless = blocks[1], blocks[2]
    found = {}
    for line in keyed.splitlines():
        name, _, value = line.rpartition(" ")
        found[name.strip()] = value
    for line in keyless.splitlines():
        name, _, value = line.rpartition(" ")
        found["keyless " + name.strip()] = value
    return found


class Tap:
    """A socket that records what is sent on it."""

    def __init__(self, sock):
        self.sock = sock
        self.sent = []

    def sendall(self, data):
        self.sent.append(bytes(data))
        self.sock.sendall(data)

    def recv(self, size):
        return self.sock.recv(size)


def run(opener_keyed):
    x = X25519PrivateKey.from_private_bytes
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    tap_a, tap_b = Tap(a), Tap(b)
    accepted = {}
    acceptor = threading.Thread(target=lambda: accepted.update(s=accept_channel(
        tap_b, Ed25519PrivateKey.from_private_bytes(b"\x22" * 32),
        x(bytes(range(64, 96))), x(bytes(range(96, 128))))))
    acceptor.start()
    opener = open_channel(
        tap_a, Ed25519PrivateKey.from_private_bytes(b"\x11" * 32) if opener_keyed else None,
        x(bytes(range(32))), x(bytes(range(32, 64))))
    acceptor.join(10)
    hello = opener.sealed(b"5:hello,")
    world = accepted["s"].sealed(b"5:world,")
    a.close()
    b.close()
    return tap_a.sent, tap_b.sent, hello, world


def test_keyedVectors():
    v = vectors()
    (first, third), (second,), hello, world = run(True)
    assert first.hex() == v["message 1"]
    assert second.hex() == v["message 2"]
    assert third.hex() == v["message 3"]
    assert hello.hex() == v["opener's first transport message, plaintext 5:hello,"]
    assert world.hex() == v["acceptor's first transport message, plaintext 5:world,"]


def test_keylessOpenerVectors():
    v = vectors()
    (first, third), (second,), hello, world = run(False)
    assert third.hex() == v["keyless message 3"]
    assert hello.hex() == v["opener's first transport message, plaintext 5:hello,"]
