"""A file as goods (§19): found with a search, bought with its content
named, then fetched over the transfer port and checked by its identity,
computed here from §19.4."""

import hashlib
import os

from .client import Client, fetchFile
from .wire import identityOf, identityOfBytes, pieceCount, pieceSize

#: Three pieces of 1 MiB, the last short: the tree of §19.4 is padded.
CONTENT = os.urandom(2 * (1 << 20) + 12345)


def test_buy_and_fetch_a_shared_file(market, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "big.bin").write_bytes(CONTENT)
    market.node("--role", "seller", "--share", str(shared))
    client = Client(market.trackerPort, "flood")
    try:
        client.register()
        where = client.nodeOfScheme()
        seller = client.link(where["host"], where["port"])
        reply = client.search(seller, "big.bin")
        record = reply["record"]
        assert (record["seller"], record["item"]) == (seller, "big.bin")
        assert record["size"] == len(CONTENT)
        assert record["sha256"] == identityOfBytes(CONTENT)
        assert record["sha256"] != hashlib.sha256(CONTENT).hexdigest()

        path = list(reversed(reply["path"]))
        buy = client.buyMessage("buy", path, "big.bin", sha256=record["sha256"],
                                size=record["size"])
        sold = client.trade(seller, buy)
        assert sold["type"] == "buyOK", sold
        ask = client.buyMessage("ask", path, "big.bin", buy["id"], buy["expires"],
                                sha256=record["sha256"], size=record["size"])
        assert client.trade(seller, ask) == sold

        about, pieces = fetchFile(reply["host"] or where["host"], record["transfer"],
                                  sold["sha256"], sold["size"])
        # §19.4 "Checking": the about first, with hashes of hashes only ...
        size, piece = about["size"], about["pieceSize"]
        assert size == sold["size"] and piece == pieceSize(size)
        assert len(about["pieces"]) == pieceCount(size, piece) == 3
        leaves = [bytes.fromhex(h) for h in about["pieces"]]
        assert identityOf(size, piece, leaves) == sold["sha256"]
        # ... then each piece against its leaf.
        for data, leaf in zip(pieces, leaves):
            assert hashlib.sha256(data).digest() == leaf
        assert b"".join(pieces) == CONTENT
    finally:
        client.close()
