"""§18 against live daemons: the client is a leaf that sells nothing
(port 0). It registers with the tracker as a leaf, links to the
super-peer the tracker names (`purpose: "leaf"`), registers an empty
inventory (which §18 allows, and needs not: another leaf queries
unregistered), asks `leafQuery` once the super-peer has checked the
seller leaf's address (its log says so), finds the seller named in
`leafHits`, checks its record (§11a), and buys from it over a direct
link (§6, §11), with `ask` after a lost answer."""

import os

import pytest

from .client import Client, ofType
from .direct import buyNamed, fetchChecked
from .wire import checkRecord


def leafQuery(client, superpeer, item):
    """§18 "Querying": ask the super-peer which sellers it names (the
    test first waits until it lists the seller); each seller's record is
    checked as §11a says. Returns the sellers."""
    conn = client.links[superpeer]
    queryId = int.from_bytes(os.urandom(8), "big") >> 1 or 1
    conn.send({"type": "leafQuery", "id": queryId, "item": item})
    hits = conn.waitFor(ofType("leafHits", id=queryId))
    assert hits["item"] == item, hits
    for seller in hits["sellers"]:
        assert seller["id"] != client.me.id and seller["port"] != 0, seller
        checkRecord(seller["record"], seller["id"], item)
    return hits["sellers"]


def superAndSeller(market, *selling):
    """A super-peer and a leaf selling, once the super-peer has checked
    the leaf's address and lists its items (§18 "The address check")."""
    superpeer, _, _ = market.node("--discovery", "superpeer", "--super")
    _, sellerId, _ = market.node("--discovery", "superpeer", "--role", "seller", *selling)
    superpeer.waitFor(rf"leaf {sellerId[:8]} listens at \S+ as it said: listing")


def test_leaf_buys_from_a_seller_its_superpeer_names(market):
    superAndSeller(market, "--sell", "apple=1")
    client = Client(market.trackerPort, "superpeer")
    try:
        client.register(super=False)
        where = client.nodeOfScheme(super=True)
        superpeer = client.link(where["host"], where["port"], purpose="leaf")
        assert superpeer == where["id"]
        conn = client.links[superpeer]
        conn.send({"type": "leafRegister", "seq": 1, "host": "", "port": 0,
                   "items": {}})
        ack = conn.waitFor(ofType("leafAck", seq=1))
        assert ack["items"] == 0, ack

        [entry] = leafQuery(client, superpeer, "apple")
        seller, path, _ = buyNamed(client, entry["host"], entry["port"],
                                   entry["record"])
        assert seller == entry["id"]
        other = client.trade(seller, client.buyMessage("buy", path, "apple"))
        assert (other["type"], other["code"]) == ("error", "soldout"), other

        # A leaf message on a link that is no leaf link: error{wtf}, and
        # the link stays open (§18).
        client.links[seller].send({"type": "leafQuery", "id": 7, "item": "apple"})
        refused = client.links[seller].waitFor(ofType("error"))
        assert refused["code"] == "wtf", refused
        client.links[seller].send({"type": "ping", "nonce": 2})
        client.links[seller].waitFor(ofType("pong", nonce=2))
    finally:
        client.close()


def test_leaf_buys_and_fetches_a_file(market, tmp_path):
    """§18 "Files": the record in `leafHits` describes the file as its
    seller signed it; bought by its content and fetched (§19)."""
    content = os.urandom(70_000)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "song.ogg").write_bytes(content)
    superAndSeller(market, "--share", str(shared))
    client = Client(market.trackerPort, "superpeer")
    try:
        client.register(super=False)
        where = client.nodeOfScheme(super=True)
        superpeer = client.link(where["host"], where["port"], purpose="leaf")
        [entry] = leafQuery(client, superpeer, "song.ogg")
        record = entry["record"]
        assert record["size"] == len(content)
        _, _, sold = buyNamed(client, entry["host"], entry["port"], record)
        assert (sold["sha256"], sold["size"]) == (record["sha256"], record["size"])
        fetchChecked(entry["host"], record, sold, content)
    finally:
        client.close()


def test_leaf_update_before_a_register_is_refused(market):
    """§18 "Registering": a leaf's link serves its queries unregistered,
    but a `leafUpdate` on a link whose leaf sent no `leafRegister` is
    refused with `error{unknown}`, and the link is closed."""
    market.node("--discovery", "superpeer", "--super")
    client = Client(market.trackerPort, "superpeer")
    try:
        client.register(super=False)
        where = client.nodeOfScheme(super=True)
        superpeer = client.link(where["host"], where["port"], purpose="leaf")
        conn = client.links[superpeer]
        conn.send({"type": "leafQuery", "id": 5, "item": "apple"})
        hits = conn.waitFor(ofType("leafHits", id=5))
        assert hits["sellers"] == [], hits
        conn.send({"type": "leafUpdate", "seq": 1, "items": {"apple": 0}})
        refused = conn.waitFor(ofType("error"))
        assert (refused["code"], refused["info"]) == (
            "unknown", "send leafRegister before leafUpdate"), refused
        with pytest.raises(ConnectionError):
            conn.send({"type": "ping", "nonce": 3})
            conn.waitFor(ofType("pong", nonce=3))
    finally:
        client.close()
