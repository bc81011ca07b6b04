"""§20 against live daemons: the client joins no ring. It links to one
chord node (`purpose: "chord"`), sends a key-routed `chordRequest` for an
item with only its own id in `returnPath`, takes the `chordRecords`
routed back along the path (§10), checks each record (§11a), and buys
from the seller over a direct link (§6, §11), with `ask` after a lost
answer. A `chordFind` of the item's key names the same holder."""

import hashlib
import os

from .client import Client, ofType
from .direct import buyNamed, fetchChecked
from .wire import checkRecord


def itemKey(item):
    """§20 "The ring": an item's key, the first 128 bits of the SHA-256
    of its name, on the wire as 32 lowercase hex digits (the only ring
    arithmetic this client needs)."""
    return hashlib.sha256(item.encode("utf-8")).digest()[:16].hex()


def newId():
    return int.from_bytes(os.urandom(8), "big") >> 1 or 1


#: §20: a request may be dropped on its way (a finger link not up in
#: time, say) and its origin times out; "a new attempt is a new request
#: with a new id". Seconds one attempt waits, and attempts at most.
ATTEMPT_WAIT = 5.0
ATTEMPTS = 4


def routed(client, via, fields, answerType):
    """Send a key-routed request (§20) of these fields, with a new ``id``
    and only this client in its ``returnPath``, on the link to ``via``,
    again with a new id if no answer comes in time; return the answer,
    checked as §10 and §20 say."""
    conn = client.links[via]
    for attempt in range(ATTEMPTS):
        request = dict(fields, id=newId(), returnPath=[client.me.id])
        conn.send(request)
        try:
            answer = conn.waitFor(ofType(answerType, id=request["id"]),
                                  timeout=ATTEMPT_WAIT)
            break
        except TimeoutError:
            if attempt == ATTEMPTS - 1:
                raise
    assert answer["path"][-1] == client.me.id, answer
    assert 0 <= answer["hops"] <= 64, answer
    return answer


def lookup(client, via, item):
    """A chordRequest for item (the test first waits until the seller
    has stored its record); each record is checked as §11a says."""
    records = routed(client, via, {"type": "chordRequest", "item": item},
                     "chordRecords")
    assert records["item"] == item and records["path"][0] == records["holder"]
    sellers = records["sellers"]
    for record in sellers:
        checkRecord(record, record["seller"], item)
    assert len({r["seller"] for r in sellers}) == len(sellers), sellers
    return records


def test_buy_from_a_seller_the_ring_names(market):
    market.node("--discovery", "chord")
    seller, _, _ = market.node("--discovery", "chord", "--role", "seller",
                               "--sell", "apple=1")
    seller.waitFor(r"stored apple at node ")
    client = Client(market.trackerPort, "chord")
    try:
        client.register()
        where = client.nodeOfScheme()
        node = client.link(where["host"], where["port"], purpose="chord")
        assert node == where["id"]

        records = lookup(client, node, "apple")
        found = routed(client, node, {"type": "chordFind", "key": itemKey("apple")},
                       "chordFound")
        assert found["key"] == itemKey("apple"), found
        assert found["node"][0] == records["holder"], (found, records)

        [record] = records["sellers"]
        seller, path, _ = buyNamed(client, record["host"], record["port"], record)
        other = client.trade(seller, client.buyMessage("buy", path, "apple"))
        assert (other["type"], other["code"]) == ("error", "soldout"), other

        # §20 rule 1: a request whose returnPath does not end with the
        # sender gets error{wtf}, and the link stays open.
        conn = client.links[node]
        conn.send({"type": "chordRequest", "id": newId(), "item": "apple",
                   "returnPath": [node]})
        refused = conn.waitFor(ofType("error"))
        assert refused["code"] == "wtf", refused
        conn.send({"type": "ping", "nonce": 3})
        conn.waitFor(ofType("pong", nonce=3))
    finally:
        client.close()


def test_buy_and_fetch_a_file_the_ring_names(market, tmp_path):
    """§20 "Files": the holder names the seller with its record of the
    file; bought by its content and fetched (§19)."""
    content = os.urandom(70_000)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "song.ogg").write_bytes(content)
    seller, _, _ = market.node("--discovery", "chord", "--role", "seller",
                               "--share", str(shared))
    seller.waitFor(r"stored song\.ogg at node ")
    client = Client(market.trackerPort, "chord")
    try:
        client.register()
        where = client.nodeOfScheme()
        node = client.link(where["host"], where["port"], purpose="chord")
        [record] = lookup(client, node, "song.ogg")["sellers"]
        assert record["size"] == len(content)
        _, _, sold = buyNamed(client, record["host"], record["port"], record)
        fetchChecked(record["host"], record, sold, content)
    finally:
        client.close()
