"""The examples of docs/protocol.md, checked by this client's reading of
the same document: every netstring shown is well framed, every signature
shown verifies, every id is its key's, and §19.4's identities come out."""

import hashlib
import pathlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .wire import (
    SIGNED_FIELDS, Identity, ProtocolError, b64url, checkSigned, decode, identityOf,
    identityOfBytes, keyId, proofText, recordText, verify)

DOC = (pathlib.Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
#: A wire line of the examples: `A → B   LEN:PAYLOAD,`.
WIRE_LINE = re.compile(r"^\S+ → \S+\s+(\d+):(\{.*\}),", re.M)


def examples():
    return [(int(length), payload.encode()) for length, payload in WIRE_LINE.findall(DOC)]


def test_every_example_is_a_netstring_of_a_message():
    assert len(examples()) > 40
    for length, payload in examples():
        assert length == len(payload), payload
        decode(payload)


def records(message):
    if "record" in message:
        yield message["record"]
    for seller in message.get("sellers", ()):
        # §4 *sellers* carry a record each; §20's chordRecords, records.
        yield seller["record"] if message["type"] != "chordRecords" else seller


def test_every_signature_shown_verifies():
    signed = checkedRecords = 0
    for _, payload in examples():
        message = decode(payload)
        for record in records(message):
            assert keyId(record["key"]) == record["seller"]
            assert verify(record["key"], record["sig"], recordText(record)), record
            checkedRecords += 1
        if message["type"] in SIGNED_FIELDS and "sig" in message:
            author = message["seller"] if message["type"] == "reply" else message["path"][0]
            checkSigned(message, author)
            signed += 1
    assert signed >= 5 and checkedRecords >= 4


def test_the_record_key_of_section_11a():
    """§11a's record of `song.ogg`, the 5 bytes `hello`, names the file's
    content id (§19.4), not `sha256sum`'s value, in the text it signs and
    the record it shows."""
    seller = Identity(Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32))
    assert (seller.key, seller.id) == (
        "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w", "7ba2183e6c3b2301a2fb4f577d019a22")
    record = {"item": "song.ogg", "seller": "7ba2183e6c3b2301a2fb4f577d019a22",
              "host": "10.0.0.4",
              "port": 9004, "issued": 1700000000000, "expires": 1700000600000,
              "key": seller.key, "size": 5, "sha256": identityOfBytes(b"hello"),
              "transfer": 9005}
    signature = seller.sign(recordText(record))
    assert signature == (
        "-gazg7gzXD-4mHR53RjG3m05qXpWNzFj8jqKsQl5n3YaisxzidN49TN2PEYZ5Vm0yYQYCgufPAECoz6UlTZGCg")
    section = DOC.split("\n## 11a. ")[1].split("\n## 12. ")[0]
    assert recordText(record).decode() in section
    assert f'"sig":"{signature}"' in section


S = "GuR0H53H4978ba02B8pqtQ9XvoS0N0QwpZl4cCK3Wac"
B = "M8GlRsU-W3A8g1eDnlJUIHBP8EELle9sICSbve8yZpA"
TRACKER = "iNeiTrullMzPK_a0_ZoM0sDqdP6KO2KUrhCxzcDnPVs"


def test_the_handshake_proofs_of_section_16():
    assert (keyId(S), keyId(B)) == ("94b669f0ef53731170c99189d94c8647",
                                    "1a97ae7ef0a56a39f124bbbfd0edbb3b")
    assert keyId("lWN9zbb_V0xTV3p8-8NXLXGBaOwHcXTxSVca7XpPKsk") == (
        "9a151c4f4fde9cf9cab93286af8726b3")
    assert keyId("B3aZ_5MnaAY_qwCsudWFLSZgXfGj2dNKhgLrWS_LD4E") == (
        "521212040e07807b4745807e958125f6")
    proofs = [
        (S, "06OwG71RH0VX9DhNATYfvvJMTy9N5go9y5H0-z4bUVJFWZELr7pHh5kVl0i6-1rG_Kw8J-jOi6RoB2bhp4KmCA",
         proofText("register", S, TRACKER, "z9x8c7v6b5n4m3l2k1j0hh", "q1w2e3r4t5y6u7i8o9p0aa")),
        (S, "61Ej2TsUEEohNJE4lICRJ5h7wZVPFRjC9c0iTcclcca15WEn3v03lAYFgwkhQLlkCD0GWlltzs4I4WQrD5OjBg",
         proofText("check", S, TRACKER, "a1a2a3a4a5a6a7a8a9a0aa", "c1c2c3c4c5c6c7c8c9c0cc")),
        (S, "Vhqp3vEKJXWBmjvRAzhC5BOaL61Zvdtit7XHBtEwuDV1FjYRxnkwAlazDYx-ppqjbLMjH7gZptz-Ur57E26jCw",
         proofText("link", S, B, "s1s2s3s4s5s6s7s8s9s0ss", "b1b2b3b4b5b6b7b8b9b0bb", "direct")),
        (B, "eMEjljk2M_uqKx4KOW7MJnkC8_dnJv6RdTLbeKVtfPz3HpPTuGF9v-_4nE164_U_TMvBvWPgYj2lunKWOrEoAQ",
         proofText("link", B, S, "b1b2b3b4b5b6b7b8b9b0bb", "s1s2s3s4s5s6s7s8s9s0ss", "direct")),
    ]
    for key, sig, text in proofs:
        assert text.decode() in DOC, text
        assert verify(key, sig, text), text
        # A proof made for one context is no proof for another.
        other = re.sub(rb'"context":"\w+"', b'"context":"other"', text)
        assert not verify(key, sig, other)


def test_file_identities_of_section_19():
    assert identityOfBytes(b"hello") == (
        "1a56ab0275278519c8a3aa258f26d006fdca57fa850f836cb0a47a983474c3d8")
    mib = 1 << 20
    leaves = [hashlib.sha256(b"a" * mib).digest(), hashlib.sha256(b"b" * mib).digest(),
              hashlib.sha256(b"hello").digest()]
    assert identityOf(2 * mib + 5, mib, leaves) == (
        "164027b582c5b774ddb482fe112df6b73a20af2fcacae557e4401111818dbe78")
    assert identityOfBytes(b"") == identityOf(0, mib, [hashlib.sha256(b"").digest()])


def test_a_batch_proof_bent_does_not_verify():
    """§3 "Batch signatures": §16's batch checks only with its own proof:
    another node in it, or a proof that is no list of nodes, and the
    buyOK is unsigned."""
    batched = [decode(payload) for _, payload in examples()
               if b'"proof"' in payload and decode(payload)["type"] == "buyOK"]
    assert len(batched) >= 2
    for message in batched:
        checkSigned(message, message["path"][0])
        bent = dict(message, proof=[b64url(hashlib.sha256(b"other").digest())]
                    + message["proof"][1:])
        with pytest.raises(ProtocolError):
            checkSigned(bent, message["path"][0])
        with pytest.raises(ProtocolError):
            checkSigned(dict(message, proof="nodes"), message["path"][0])
