"""What the index, superpeer and chord clients share once a seller is
named with its record: a buy over a direct link (§6, §11, §17 step 6),
`ask` after a "lost" answer, and for a file its fetch (§19), checked by
its identity (§19.4)."""

import hashlib

from .client import fetchFile
from .wire import identityOf


def buyNamed(client, host, port, record):
    """Link to the seller named with ``record`` at host:port, buy one
    unit (a file by its content, when the record describes one), and ask
    about the same buy as after a lost answer; returns (seller, path,
    the buyOK)."""
    seller = client.link(host, port, purpose="direct")
    assert seller == record["seller"], (seller, record)
    path = [client.me.id, seller]
    content = {name: record[name] for name in ("sha256", "size") if name in record}
    buy = client.buyMessage("buy", path, record["item"], **content)
    sold = client.trade(seller, buy)
    assert sold["type"] == "buyOK", sold
    ask = client.buyMessage("ask", path, record["item"], buy["id"], buy["expires"],
                            **content)
    assert client.trade(seller, ask) == sold
    return seller, path, sold


def fetchChecked(host, record, sold, content):
    """Fetch the file a buyOK names from the record's transfer port, and
    check it by its identity (§19.4) and against ``content``."""
    about, pieces = fetchFile(host, record["transfer"], sold["sha256"], sold["size"])
    leaves = [bytes.fromhex(h) for h in about["pieces"]]
    assert identityOf(about["size"], about["pieceSize"], leaves) == sold["sha256"]
    for data, leaf in zip(pieces, leaves):
        assert hashlib.sha256(data).digest() == leaf
    assert b"".join(pieces) == content
