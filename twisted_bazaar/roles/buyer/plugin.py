"""The ``buyer`` role's plugin: its options, as twistd and the simulator
find them."""

import unicodedata

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.options import boundedInt, seconds
from twisted_bazaar.base.text import unicodeFault
from twisted_bazaar.roles import IRolePlugin, RoleOption
from twisted_bazaar.roles.buyer.role import (
    DEFAULT_BUY_TIMEOUT,
    DEFAULT_SEARCH_WINDOW,
    Buyer,
)
from twisted_bazaar.roles.files.fetch import Fetcher
from twisted_bazaar.roles.want import DOUBT_LIMIT
from twisted_bazaar.roles.files.options import (
    FETCH_OPTIONS,
    FETCH_SETTINGS,
    fetchSettings,
)
from twisted_bazaar.files.names import HASH_PREFIX, itemHash, nameFault
from twisted_bazaar.wire.trade import MAX_QUANTITY


def parseItem(text):
    """An item to buy, in composed Unicode form (NFC: sellers offer files
    so, whatever form their folder holds a name in), with the reason for
    one no seller could offer: a name of blanks alone, ``sha256:`` and
    no file's content id, or a name with a blank at an end (which only a
    shared file's may have: a counted item's never does) that no file
    may have either."""
    fault = unicodeFault(text)
    if fault:
        raise ValueError(fault)
    text = unicodedata.normalize("NFC", text)
    size = len(text.encode("utf-8"))
    if not 1 <= size <= wire.MAX_ITEM_BYTES:
        raise ValueError(f"an item name is 1 to {wire.MAX_ITEM_BYTES} bytes")
    if text.isspace():
        raise ValueError(f"an item name of blanks alone ({text!r}) names nothing "
                         "on sale")
    fault = nameFault(text) if text != text.strip() else None
    if fault:
        raise ValueError(f"{text!r} begins or ends with a blank, which only a shared "
                         f"file's name may (a counted item's never does), and {fault}: "
                         f"for the item {text.strip()}, write {text.strip()!r}")
    if text.startswith(HASH_PREFIX) and itemHash(text) is None:
        raise ValueError(f"{text!r}: {HASH_PREFIX}HEX names a shared file by its "
                         "content id, 64 hex digits in lower case (bazaar list shows "
                         "it)")
    return text


@implementer(IPlugin, IRolePlugin)
class BuyerPlugin:
    """The ``buyer`` role, as twistd and the simulator find it."""

    name = "buyer"
    description = "buy what --want names, --quantity of each"
    options = (
        RoleOption("want", "ITEM to buy (repeatable)", parseItem, repeatable=True),
        RoleOption("quantity", "units of each wanted counted item to buy (a "
                   "shared file is bought once)", boundedInt(1, MAX_QUANTITY), 1),
        RoleOption("search-window", "seconds to collect replies to a search",
                   seconds, DEFAULT_SEARCH_WINDOW),
        RoleOption("buy-timeout", "seconds to wait for buyOK before resending",
                   seconds, DEFAULT_BUY_TIMEOUT),
        RoleOption("doubt-limit", "seconds one buy its seller has not answered may "
                   "hold its want back (the want's buys in doubt: twice this in "
                   "all, this much for the sellers of one address group)",
                   seconds, DOUBT_LIMIT),
        RoleOption("exit-when-done", "once every want is met, stop the node "
                   "(the daemon exits 0) instead of staying up as a relay",
                   flag=True),
        *FETCH_OPTIONS,
    )

    def configure(self, config):
        wants = list(dict.fromkeys(config["want"]))
        if not wants:
            raise ValueError("the buyer role needs at least one --want ITEM")
        settings = {"wants": wants, "quantity": config["quantity"],
                    "search_window": config["search-window"],
                    "buy_timeout": config["buy-timeout"],
                    "doubt_limit": config["doubt-limit"],
                    "exit_when_done": config["exit-when-done"]}
        settings.update(fetchSettings(config))
        return settings

    def build(self, node, settings):
        settings = dict(settings)
        fetch = {key: settings.pop(key) for key in FETCH_SETTINGS if key in settings}
        buyer = Buyer(node, **settings)
        if fetch:
            # Its files are a role of their own, plugged in after the
            # buyer (and so stopped before it).
            node.addRole(buyer)
            node.addRole(Fetcher.fromSettings(node, buyer, **fetch))
        return buyer
