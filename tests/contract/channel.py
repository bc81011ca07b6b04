"""
The encrypted channel of docs/protocol.md §2.1, written from that text and
the Noise specification alone, for the clients of the black-box suites:
nothing of twisted_bazaar is imported, only the standard library and the
``cryptography`` package's primitives.

L{open_channel} runs the opener's handshake on a connected socket (and
L{accept_channel} the acceptor's on an accepted one) and returns a
L{SecureSocket}, which seals what it sends and opens what it
receives, with the socket methods the clients use.
"""

import hashlib
import hmac
import socket

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

NAME = b"Noise_XX_25519_ChaChaPoly_SHA256"
PROLOGUE = b"twisted-bazaar/1"
SIGNED_PREFIX = b"bazaar-noise-static-key:"
LONGEST_PLAINTEXT = 65535 - 16


class ChannelBroken(ConnectionError):
    """The peer's bytes break the channel, or it closed during the handshake."""


def raw(public_key):
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def sha256(data):
    return hashlib.sha256(data).digest()


def hkdf2(ck, ikm):
    """Noise's HKDF with two outputs."""
    prk = hmac.digest(ck, ikm, "sha256")
    first = hmac.digest(prk, b"\x01", "sha256")
    return first, hmac.digest(prk, first + b"\x02", "sha256")


class Cipher:
    """A key and its message counter (n as 4 zero bytes + 8 little-endian)."""

    def __init__(self, key):
        self.aead = ChaCha20Poly1305(key)
        self.n = 0

    def _nonce(self):
        nonce = b"\x00\x00\x00\x00" + self.n.to_bytes(8, "little")
        self.n += 1
        return nonce

    def seal(self, ad, data):
        return self.aead.encrypt(self._nonce(), data, ad)

    def open(self, ad, data):
        try:
            return self.aead.decrypt(self._nonce(), data, ad)
        except Exception as e:
            raise ChannelBroken(f"a message did not decrypt ({type(e).__name__})") from e


class Transcript:
    """h, ck and the handshake's current cipher (Noise's SymmetricState)."""

    def __init__(self):
        self.h = NAME  # exactly 32 bytes: used as it is
        self.ck = NAME
        self.cipher = None
        self.absorb(PROLOGUE)

    def absorb(self, data):
        self.h = sha256(self.h + data)

    def mix(self, secret):
        self.ck, key = hkdf2(self.ck, secret)
        self.cipher = Cipher(key)

    def seal(self, data):
        out = data if self.cipher is None else self.cipher.seal(self.h, data)
        self.absorb(out)
        return out

    def open(self, data):
        out = data if self.cipher is None else self.cipher.open(self.h, data)
        self.absorb(data)
        return out


def identity_payload(signing_key, static_public):
    """An Ed25519 key and its signature of our static key; b"" keyless."""
    if signing_key is None:
        return b""
    return (raw(signing_key.public_key())
            + signing_key.sign(SIGNED_PREFIX + static_public))


def checked_key(payload, static_public):
    """The Ed25519 key a peer's payload proves, None for an empty one."""
    if payload == b"":
        return None
    if len(payload) != 96:
        raise ChannelBroken(f"an identity payload of {len(payload)} bytes")
    try:
        Ed25519PublicKey.from_public_bytes(payload[:32]).verify(
            payload[32:], SIGNED_PREFIX + static_public)
    except Exception:
        raise ChannelBroken("the identity payload does not verify") from None
    return payload[:32]


class SecureSocket:
    """A connected socket inside the channel: sendall seals, recv opens."""

    def __init__(self, sock, send_cipher, receive_cipher, peer_key, leftover):
        self.sock = sock
        self.send_cipher = send_cipher
        self.receive_cipher = receive_cipher
        self.peer_key = peer_key
        self.incoming = bytearray(leftover)
        self.plain = bytearray()
        self.closed = False

    def __getattr__(self, name):
        return getattr(self.sock, name)

    def sealed(self, data):
        """The framed transport messages that carry data."""
        out = []
        for at in range(0, len(data), LONGEST_PLAINTEXT):
            message = self.send_cipher.seal(b"", data[at:at + LONGEST_PLAINTEXT])
            out.append(len(message).to_bytes(2, "big") + message)
        return b"".join(out)

    def sendall(self, data):
        self.sock.sendall(self.sealed(bytes(data)))

    def _open_what_arrived(self):
        while len(self.incoming) >= 2:
            size = int.from_bytes(self.incoming[:2], "big")
            if len(self.incoming) < 2 + size:
                return
            message = bytes(self.incoming[2:2 + size])
            del self.incoming[:2 + size]
            if size < 16:
                raise ChannelBroken(f"a transport message of {size} bytes")
            self.plain += self.receive_cipher.open(b"", message)

    def recv(self, size):
        self._open_what_arrived()
        while not self.plain and not self.closed:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                break
            self.incoming += data
            self._open_what_arrived()
        out = bytes(self.plain[:size])
        del self.plain[:size]
        return out

    def recv_into(self, view, size=0):
        data = self.recv(size or len(view))
        view[:len(data)] = data
        return len(data)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _read_message(sock, buffer, sizes, what):
    """One framed handshake message of one of the given sizes."""
    while True:
        if len(buffer) >= 2:
            size = int.from_bytes(buffer[:2], "big")
            if size not in sizes:
                raise ChannelBroken(f"{what} of {size} bytes (not {sizes}): "
                                    f"{bytes(buffer[:60])!r}")
            if len(buffer) >= 2 + size:
                message = bytes(buffer[2:2 + size])
                del buffer[:2 + size]
                return message
        data = sock.recv(65536)
        if not data:
            raise ChannelBroken(f"the peer closed the connection before {what}")
        buffer += data


def open_channel(sock, signing_key=None, static=None, ephemeral=None):
    """
    Run the opener's side of the handshake on a connected socket.

    @param signing_key: an Ed25519PrivateKey to prove, or None (keyless).
    @param static, ephemeral: X25519PrivateKeys to use (test vectors);
        fresh ones otherwise.
    """
    static = static or X25519PrivateKey.generate()
    e = ephemeral or X25519PrivateKey.generate()
    t = Transcript()
    e_public = raw(e.public_key())
    t.absorb(e_public)
    t.absorb(b"")  # message 1's empty payload, sealed with no key
    sock.sendall(len(e_public).to_bytes(2, "big") + e_public)
    buffer = bytearray()
    second = _read_message(sock, buffer, (96, 192), "handshake message 2")
    re = second[:32]
    t.absorb(re)
    t.mix(e.exchange(X25519PublicKey.from_public_bytes(re)))
    rs = t.open(second[32:80])
    t.mix(e.exchange(X25519PublicKey.from_public_bytes(rs)))
    peer_key = checked_key(t.open(second[80:]), rs)
    s_public = raw(static.public_key())
    third = t.seal(s_public)
    t.mix(static.exchange(X25519PublicKey.from_public_bytes(re)))
    third += t.seal(identity_payload(signing_key, s_public))
    sock.sendall(len(third).to_bytes(2, "big") + third)
    first_key, second_key = hkdf2(t.ck, b"")
    return SecureSocket(sock, Cipher(first_key), Cipher(second_key), peer_key, buffer)


def accept_channel(sock, signing_key=None, static=None, ephemeral=None):
    """Run the acceptor's side of the handshake on an accepted socket."""
    static = static or X25519PrivateKey.generate()
    e = ephemeral or X25519PrivateKey.generate()
    t = Transcript()
    buffer = bytearray()
    first = _read_message(sock, buffer, (32,), "handshake message 1")
    t.absorb(first)
    t.absorb(b"")
    e_public, s_public = raw(e.public_key()), raw(static.public_key())
    t.absorb(e_public)
    t.mix(e.exchange(X25519PublicKey.from_public_bytes(first)))
    second = e_public + t.seal(s_public)
    t.mix(static.exchange(X25519PublicKey.from_public_bytes(first)))
    second += t.seal(identity_payload(signing_key, s_public))
    sock.sendall(len(second).to_bytes(2, "big") + second)
    third = _read_message(sock, buffer, (64, 160), "handshake message 3")
    rs = t.open(third[:48])
    t.mix(e.exchange(X25519PublicKey.from_public_bytes(rs)))
    peer_key = checked_key(t.open(third[48:]), rs)
    first_key, second_key = hkdf2(t.ck, b"")
    return SecureSocket(sock, Cipher(second_key), Cipher(first_key), peer_key, buffer)


def connect(address, signing_key=None, timeout=None, source_address=None):
    """A L{SecureSocket} to address (host, port), handshake done."""
    sock = socket.create_connection(address, timeout=timeout,
                                    source_address=source_address)
    try:
        return open_channel(sock, signing_key)
    except BaseException:
        sock.close()
        raise
