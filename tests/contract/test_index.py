"""The purchase of test_flood, the seller found through the tracker's
index (§12) and bought from over a direct link (§6, §11)."""

from .client import Client


def test_buy_from_a_seller_the_index_names(market):
    daemon, sellerId, sellerPort = market.node(
        "--discovery", "index", "--role", "seller", "--sell", "apple=1")
    # Its first register acknowledged, the index names the seller.
    daemon.waitFor(r"the tracker.s index lists apple")
    client = Client(market.trackerPort, "index")
    try:
        client.register()
        [entry] = client.lookup("apple")
        assert (entry["id"], entry["port"]) == (sellerId, sellerPort)
        seller = client.link(entry["host"], entry["port"], purpose="direct")
        assert seller == sellerId
        path = [client.me.id, seller]
        buy = client.buyMessage("buy", path, "apple")
        sold = client.trade(seller, buy)
        assert sold["type"] == "buyOK", sold
        ask = client.buyMessage("ask", path, "apple", buy["id"], buy["expires"])
        assert client.trade(seller, ask) == sold
        # The one unit went to buy["id"], once.
        other = client.trade(seller, client.buyMessage("buy", path, "apple"))
        assert (other["type"], other["code"]) == ("error", "soldout"), other
    finally:
        client.close()
