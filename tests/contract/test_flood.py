"""§17 against live daemons with the default scheme (`flood`): register,
link, search, buy, and recover a lost answer with `ask` (§11)."""

from .client import Client


def test_buy_then_ask_after_a_lost_answer(market):
    market.node("--role", "seller", "--sell", "apple=2")
    client = Client(market.trackerPort, "flood")
    try:
        client.register()
        where = client.nodeOfScheme()
        seller = client.link(where["host"], where["port"])
        assert seller == where["id"]
        reply = client.search(seller, "apple")
        assert reply["seller"] == seller and "record" not in reply
        path = list(reversed(reply["path"]))
        assert path == [client.me.id, seller]

        buy = client.buyMessage("buy", path, "apple")
        sold = client.trade(seller, buy)
        assert sold["type"] == "buyOK", sold

        # The answer "was lost": ask, then buy again. Both get the same
        # buyOK, and neither takes a unit.
        ask = client.buyMessage("ask", path, "apple", buy["id"], buy["expires"])
        assert client.trade(seller, ask) == sold
        assert client.trade(seller, buy) == sold
        # So the second unit is still there, and then none is.
        second = client.trade(seller, client.buyMessage("buy", path, "apple"))
        assert second["type"] == "buyOK"
        third = client.trade(seller, client.buyMessage("buy", path, "apple"))
        assert (third["type"], third["code"]) == ("error", "soldout"), third
        # §11 step 2: a closed buy stays closed.
        never = client.buyMessage("buy", path, "apple")
        asked = client.trade(seller, dict(client.buyMessage(
            "ask", path, "apple", never["id"], never["expires"])))
        assert (asked["type"], asked["code"]) == ("error", "unsold"), asked
        closed = client.trade(seller, never)
        assert (closed["type"], closed["code"]) == ("error", "soldout"), closed
    finally:
        client.close()
